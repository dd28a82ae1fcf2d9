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

/* ------------------------------------------------------------------------------------------------
 * Buffers: bytes the library hands out (mproc_queue_get, ...) are released by the caller with
 * mproc_buffer_free.
 * --------------------------------------------------------------------------------------------- */

/* Releases a buffer returned by the library. NULL is a no-op. Never fails. */
MPROC_API void mproc_buffer_free(void *buffer);

/* ------------------------------------------------------------------------------------------------
 * Queues: Python's multiprocessing.Queue / SimpleQueue / JoinableQueue, in shared memory.
 *
 * Messages are byte strings in a ring in a named shared-memory segment. Any number of producers
 * and consumers, in any processes, may use one queue at once; each producer's messages come out in
 * the order it put them; every message is delivered once. A queue created before fork() is
 * inherited by the child (use the same handle there). Another process attaches by handle:
 * mproc_queue_handle() gives a short string (the segment's name) to pass along, and
 * mproc_queue_attach() opens it.
 *
 * Crashes: a producer or consumer killed at any moment leaves the queue usable. A message whose
 * put returned is delivered exactly once, unless the consumer that took it was killed before its
 * get returned (it loses at most that message); a message whose producer was killed during put is
 * delivered whole or not at all; no consumer ever sees a torn message; nobody waits forever because
 * another process died.
 *
 * Lifetime: the segment's name (what mproc_queue_attach needs) exists until the creating handle is
 * closed or destroyed; if the creating process dies first, a tracker process removes it. Handles
 * that attached or were inherited through fork keep working after that (the memory lives while any
 * process maps it), but later attaches fail with -ENOENT.
 *
 * Timeouts (int64_t milliseconds): 0 = do not wait (put_nowait / get_nowait), MPROC_WAIT_FOREVER =
 * no limit. A put that finds no room reports MPROC_EFULL, a get that finds nothing MPROC_EEMPTY,
 * whether at once (timeout 0) or when the timeout passes, as Python's queue.Full / queue.Empty.
 * Thread-safety: every function may be called from any thread at once on the same queue, except
 * mproc_queue_destroy.
 * --------------------------------------------------------------------------------------------- */

typedef struct mproc_queue_s mproc_queue_t;

enum mproc_queue_kind {
  MPROC_QUEUE_QUEUE = 0,    /* multiprocessing.Queue */
  MPROC_QUEUE_SIMPLE = 1,   /* multiprocessing.SimpleQueue: no count limit (maxsize must be 0) */
  MPROC_QUEUE_JOINABLE = 2  /* multiprocessing.JoinableQueue: adds task_done / join */
};

/* Default ring size: 1 MiB. The ring is bounded to [MPROC_QUEUE_MIN_CAPACITY,
 * MPROC_QUEUE_MAX_CAPACITY] bytes; each message takes 8 bytes plus its length rounded up to 8. */
#define MPROC_QUEUE_DEFAULT_CAPACITY (1024 * 1024)
#define MPROC_QUEUE_MIN_CAPACITY 64
#define MPROC_QUEUE_MAX_CAPACITY (1024 * 1024 * 1024)
/* A buffer of this many bytes always holds a queue handle and its terminating NUL. */
#define MPROC_QUEUE_HANDLE_MAX 64

/* Options for mproc_queue_create. Set struct_size = sizeof(mproc_queue_options_t) (or call
 * mproc_queue_options_init) so that fields added later are recognised as absent. */
typedef struct mproc_queue_options {
  size_t struct_size;
  int kind;               /* an mproc_queue_kind */
  int64_t maxsize;        /* messages; 0 = no limit; negative is -EINVAL */
  int64_t capacity_bytes; /* ring bytes; 0 = MPROC_QUEUE_DEFAULT_CAPACITY */
} mproc_queue_options_t;

/* Fills *options with the defaults: a Queue, no count limit, the default capacity. NULL: no-op. */
MPROC_API void mproc_queue_options_init(mproc_queue_options_t *options);

/* Creates a queue (and its shared-memory segment). options may be NULL for the defaults.
 * Errors: -EINVAL (out NULL; struct_size 0 or larger than this library knows with unknown
 * non-zero fields; unknown kind; maxsize negative or above 2^31; capacity negative or outside
 * [MPROC_QUEUE_MIN_CAPACITY, MPROC_QUEUE_MAX_CAPACITY]; a SimpleQueue with a maxsize), the
 * -errno of shm_open / ftruncate / mmap (-ENOSPC, -EMFILE, ...). On failure *out is untouched. */
MPROC_API int mproc_queue_create(const mproc_queue_options_t *options, mproc_queue_t **out);

/* Opens the queue named by `handle` (from mproc_queue_handle, in any process) as a new handle of
 * the same kind. Errors: -EINVAL (handle or out NULL, malformed handle), -ENOENT (no such queue,
 * or its creator closed it), -EACCES, MPROC_EBADHANDLE (not an mproc queue, or another layout
 * version). On failure *out is untouched. */
MPROC_API int mproc_queue_attach(const char *handle, mproc_queue_t **out);

/* Copies the queue's handle, NUL-terminated, into buf (truncated to len - 1 bytes) and returns the
 * handle's full length, as snprintf does; buf may be NULL when len is 0. The handle is shorter
 * than MPROC_QUEUE_HANDLE_MAX. Errors: MPROC_EBADHANDLE, MPROC_ECLOSED, -EINVAL (buf NULL with
 * len > 0). */
MPROC_API int mproc_queue_handle(mproc_queue_t *queue, char *buf, size_t len);

/* Returns the queue's kind (an mproc_queue_kind). Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_queue_kind(mproc_queue_t *queue);

/* Puts a copy of data[0, len) (len may be 0; data may then be NULL), waiting up to timeout_ms for
 * room. Errors: MPROC_EBADHANDLE, -EINVAL (data NULL with len > 0; timeout below -1),
 * MPROC_ETOOBIG (longer than the ring can ever hold: see mproc_queue_max_message_size),
 * MPROC_EFULL (no room in time), MPROC_ECLOSED. */
MPROC_API int mproc_queue_put(mproc_queue_t *queue, const void *data, size_t len,
                              int64_t timeout_ms);

/* Takes the next message, waiting up to timeout_ms. On success *data is a buffer owned by the
 * caller, to release with mproc_buffer_free (never NULL, even for an empty message), and *len its
 * length. Errors: MPROC_EBADHANDLE, -EINVAL (data or len NULL; timeout below -1), MPROC_EEMPTY
 * (nothing in time), MPROC_ECLOSED, -ENOMEM (the message stays in the queue). On failure *data
 * and *len are untouched. */
MPROC_API int mproc_queue_get(mproc_queue_t *queue, int64_t timeout_ms, void **data, size_t *len);

/* Takes the next message into the caller's buffer[0, size) and stores its length in *len. If the
 * message is longer than size, nothing is taken: it stays first in the queue, *len receives its
 * length, and MPROC_ETOOBIG is returned. Errors: MPROC_EBADHANDLE, -EINVAL (len NULL; buffer NULL
 * with size > 0; timeout below -1), MPROC_ETOOBIG, MPROC_EEMPTY, MPROC_ECLOSED. */
MPROC_API int mproc_queue_get_into(mproc_queue_t *queue, void *buffer, size_t size, size_t *len,
                                   int64_t timeout_ms);

/* The approximate number of messages in the queue. Errors: MPROC_EBADHANDLE, MPROC_ECLOSED,
 * -EINVAL (a SimpleQueue, which has no qsize, as in Python). */
MPROC_API int mproc_queue_qsize(mproc_queue_t *queue);
/* 1 if empty, 0 if not. Errors: MPROC_EBADHANDLE, MPROC_ECLOSED. */
MPROC_API int mproc_queue_empty(mproc_queue_t *queue);
/* 1 if a put would find no room now (maxsize reached or the ring full), 0 if not.
 * Errors: MPROC_EBADHANDLE, MPROC_ECLOSED, -EINVAL (a SimpleQueue). */
MPROC_API int mproc_queue_full(mproc_queue_t *queue);
/* The longest message the queue accepts, in bytes. Errors: MPROC_EBADHANDLE, MPROC_ECLOSED. */
MPROC_API int mproc_queue_max_message_size(mproc_queue_t *queue);

/* JoinableQueue: marks one item taken with get as processed. Errors: MPROC_EBADHANDLE,
 * -EINVAL (not a joinable queue), MPROC_ESTATE (called more times than items were put),
 * MPROC_ECLOSED. */
MPROC_API int mproc_queue_task_done(mproc_queue_t *queue);
/* JoinableQueue: waits up to timeout_ms until every item put has been marked done. A consumer
 * killed between get and task_done never marks its item, so pass a timeout when consumers may die.
 * Errors: MPROC_EBADHANDLE, -EINVAL (not a joinable queue; timeout below -1), MPROC_ETIMEDOUT,
 * MPROC_ECLOSED. */
MPROC_API int mproc_queue_join(mproc_queue_t *queue, int64_t timeout_ms);

/* Closes this handle's use of the queue: its later calls (but destroy) return MPROC_ECLOSED, and
 * its reference to the segment is dropped (on the creating handle: the name is removed). Other handles
 * and processes are not affected; calls blocked on this handle in other threads return
 * MPROC_ECLOSED within 100 ms. Closing twice is a no-op. Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_queue_close(mproc_queue_t *queue);

/* Closes (if needed) and frees the handle. NULL is a no-op. Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_queue_destroy(mproc_queue_t *queue);

#ifdef __cplusplus
}
#endif

#endif /* MPROC_H */
