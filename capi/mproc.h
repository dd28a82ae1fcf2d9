/* mproc — Python's multiprocessing, natively: the C ABI.
 *
 * Conventions (the same for every function):
 *  - Names are mproc_<noun>_<verb>; objects are opaque mproc_<noun>_t handles, made by
 *    mproc_<noun>_create(..., &out) and released by mproc_<noun>_destroy(), which accepts NULL.
 *  - Every fallible function returns int: 0 (or a count, a pid, a file descriptor) on success, a
 *    negative code on failure: -errno for system errors (-EINVAL for bad arguments), or one of the
 *    MPROC_E* codes below. mproc_strerror() names the code for people, mproc_err_name() for
 *    programs, and mproc_last_error_message() gives the detail of the last failure on this thread.
 *  - A handle that is NULL, already destroyed, or not an mproc handle of the right type is
 *    rejected with MPROC_EBADHANDLE; the library never dereferences it.
 *  - Timeouts are int64_t milliseconds; MPROC_WAIT_FOREVER (-1) waits without limit; any other
 *    negative value is -EINVAL. Signals never shorten or stretch a wait.
 *  - No C++ exception ever crosses this boundary.
 *  - Thread-safety: functions may be called from any thread; a single handle may not be destroyed
 *    while another thread is using it.
 *
 * Since: 0.1 for everything in this header unless noted. */
#ifndef MPROC_H
#define MPROC_H

#include <stddef.h>
#include <stdint.h>

#include "mproc/errors.h"
#include "mproc/export.h"
#include "mproc/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------------
 * Errors and version
 * --------------------------------------------------------------------------------------------- */

/* mproc's own error codes, in the reserved range -1001 .. -1999 (see mproc/errors.h). */
enum mproc_error_code {
#define MPROC_ERROR_ENUM_(c_name, cpp_name, value, message) MPROC_##c_name = (value),
  MPROC_ERRNO_MAP(MPROC_ERROR_ENUM_)
#undef MPROC_ERROR_ENUM_
};

/* A sentence describing `code` (an MPROC_E* code, a negative errno, or 0). The string is static.
 * Never fails: an unknown code gives "unknown error". */
MPROC_API const char *mproc_strerror(int code);

/* The code's name: "MPROC_ETIMEDOUT", "EINVAL", "OK" for 0, "UNKNOWN" otherwise. Static. */
MPROC_API const char *mproc_err_name(int code);

/* The detailed message of the last call that failed on this thread ("" if none did). Valid until
 * the next failing mproc call on this thread. Never NULL. */
MPROC_API const char *mproc_last_error_message(void);

/* The library's version at run time, as MPROC_VERSION_HEX (0xMMmmpp) and as "M.m.p". Compare with
 * the header's macros to detect a header/library mismatch. */
MPROC_API unsigned mproc_version(void);
MPROC_API const char *mproc_version_string(void);

/* ------------------------------------------------------------------------------------------------
 * Logging: the "mproc" logger on stderr, with the pid in every line. The initial level comes from
 * the MPROC_LOG_LEVEL environment variable (off, error, warn, info, debug, trace; default warn).
 * --------------------------------------------------------------------------------------------- */

enum mproc_log_level {
  MPROC_LOG_TRACE = 0,
  MPROC_LOG_DEBUG = 1,
  MPROC_LOG_INFO = 2,
  MPROC_LOG_WARN = 3,
  MPROC_LOG_ERROR = 4,
  MPROC_LOG_OFF = 6
};

/* Errors: -EINVAL for a level that is not one of the above. */
MPROC_API int mproc_log_set_level(int level);
/* The current level (an mproc_log_level value). */
MPROC_API int mproc_log_get_level(void);

/* ------------------------------------------------------------------------------------------------
 * Processes
 * --------------------------------------------------------------------------------------------- */

#define MPROC_WAIT_FOREVER (-1)

/* fork(2) with the library's locks made safe in the child. Returns the child's pid in the parent,
 * 0 in the child. Errors: -errno of fork (-EAGAIN, -ENOMEM). */
MPROC_API int mproc_fork(void);
MPROC_API int mproc_getpid(void);
MPROC_API int mproc_getppid(void);
/* CPUs this process may run on (its affinity mask); at least 1. */
MPROC_API int mproc_cpu_count(void);

typedef struct mproc_process_s mproc_process_t;

/* The body of a child process. Runs in the child (a fork of the caller, so user_data points into
 * the child's own copy of the parent's memory). Its return value is the child's exit code
 * (0..255). The child exits after it returns: it never returns into the caller's code. */
typedef int (*mproc_process_fn)(void *user_data);

/* A process that will run fn(user_data) once started. It is named "Process-N" unless renamed.
 * Errors: -EINVAL (fn or out is NULL). On failure *out is untouched. */
MPROC_API int mproc_process_create(mproc_process_fn fn, void *user_data, mproc_process_t **out);

/* Errors: MPROC_EBADHANDLE, -EINVAL (name NULL). */
MPROC_API int mproc_process_set_name(mproc_process_t *process, const char *name);

/* Copies the NUL-terminated name into buf (truncated to size - 1 bytes) and returns the name's
 * full length, as snprintf does; buf may be NULL when size is 0.
 * Errors: MPROC_EBADHANDLE, -EINVAL (buf NULL with size > 0). */
MPROC_API int mproc_process_get_name(mproc_process_t *process, char *buf, size_t size);

/* A daemon child is terminated when its parent exits normally, and may not start children of its
 * own. Errors: MPROC_EBADHANDLE, MPROC_ESTATE (already started). */
MPROC_API int mproc_process_set_daemon(mproc_process_t *process, int daemon);

/* Forks the child. Errors: MPROC_EBADHANDLE, MPROC_ESTATE (started twice; or the caller is a
 * daemon process), MPROC_ECLOSED, -errno of fork. */
MPROC_API int mproc_process_start(mproc_process_t *process);

/* Waits for the child to end, at most timeout_ms (MPROC_WAIT_FOREVER: no limit). Returns 0 once it
 * has ended, MPROC_ETIMEDOUT if it is still running. Errors: MPROC_EBADHANDLE, MPROC_ESTATE (not
 * started, or not a child of the calling process), MPROC_ECLOSED, -EINVAL (timeout < -1). */
MPROC_API int mproc_process_join(mproc_process_t *process, int64_t timeout_ms);

/* 1 while the child runs, 0 before start and after it ended. Errors: MPROC_EBADHANDLE,
 * MPROC_ECLOSED. */
MPROC_API int mproc_process_is_alive(mproc_process_t *process);

/* The child's pid. Errors: MPROC_EBADHANDLE, MPROC_ESTATE (not started). */
MPROC_API int mproc_process_pid(mproc_process_t *process);

/* Returns 1 and stores the exit code in *exitcode once the child has ended (minus the signal
 * number if a signal ended it); returns 0 (and leaves *exitcode alone) before start and while it
 * runs. Errors: MPROC_EBADHANDLE, -EINVAL (exitcode NULL), MPROC_ECLOSED. */
MPROC_API int mproc_process_exitcode(mproc_process_t *process, int *exitcode);

/* SIGTERM / SIGKILL to the child, through its pidfd (never a recycled pid). No effect once the
 * child ended. Errors: MPROC_EBADHANDLE, MPROC_ESTATE (not started), MPROC_ECLOSED. */
MPROC_API int mproc_process_terminate(mproc_process_t *process);
MPROC_API int mproc_process_kill(mproc_process_t *process);

/* A file descriptor that becomes readable when the child ends (its pidfd), owned by the process
 * handle and valid until mproc_process_close or mproc_process_destroy. Errors: MPROC_EBADHANDLE,
 * MPROC_ESTATE (not started), MPROC_ECLOSED. */
MPROC_API int mproc_process_sentinel(mproc_process_t *process);

/* Releases the child's resources (its pidfd); afterwards only get_name, pid and destroy work.
 * Errors: MPROC_EBADHANDLE, MPROC_ESTATE (still running). Closing twice is a no-op. */
MPROC_API int mproc_process_close(mproc_process_t *process);

/* Destroys the handle. A child that is still running is stopped (SIGTERM, up to 1 s, SIGKILL) and
 * reaped: join it first to let it finish. NULL is a no-op (returns 0).
 * Errors: MPROC_EBADHANDLE (already destroyed, or not a process handle). */
MPROC_API int mproc_process_destroy(mproc_process_t *process);

#ifdef __cplusplus
}
#endif

#endif /* MPROC_H */
