/** @file
 * mproc's C ABI: processes.
 * Part of <mproc.h>, the umbrella header, whose file comment gives the conventions every
 * function follows; this header may also be included on its own. */
#ifndef MPROC_PROCESS_H
#define MPROC_PROCESS_H

#include "mproc/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------------
 * Processes
 * --------------------------------------------------------------------------------------------- */

/** fork(2) with the library's locks made safe in the child. Returns the child's pid in the parent,
 * 0 in the child. Errors: -errno of fork (-EAGAIN, -ENOMEM). */
MPROC_API int mproc_fork(void);
MPROC_API int mproc_getpid(void);
MPROC_API int mproc_getppid(void);
/** CPUs this process may run on (its affinity mask); at least 1. */
MPROC_API int mproc_cpu_count(void);

typedef struct mproc_process_s mproc_process_t;

/** The body of a child process. Runs in the child (a fork of the caller, so user_data points into
 * the child's own copy of the parent's memory). Its return value is the child's exit code
 * (0..255). The child exits after it returns: it never returns into the caller's code. */
typedef int (*mproc_process_fn)(void *user_data);

/** A process that will run fn(user_data) once started. It is named "Process-N" unless renamed.
 * Errors: -EINVAL (fn or out is NULL). On failure *out is untouched. */
MPROC_API int mproc_process_create(mproc_process_fn fn, void *user_data, mproc_process_t **out);

/** Errors: MPROC_EBADHANDLE, -EINVAL (name NULL). */
MPROC_API int mproc_process_set_name(mproc_process_t *process, const char *name);

/** Copies the NUL-terminated name into buf (truncated to size - 1 bytes) and returns the name's
 * full length, as snprintf does; buf may be NULL when size is 0.
 * Errors: MPROC_EBADHANDLE, -EINVAL (buf NULL with size > 0). */
MPROC_API int mproc_process_name(mproc_process_t *process, char *buf, size_t size);
/** @deprecated The old name of mproc_process_name() (getters are named mproc_<noun>_<property>). */
MPROC_API int mproc_process_get_name(mproc_process_t *process, char *buf, size_t size)
    MPROC_DEPRECATED("use mproc_process_name");

/** A daemon child is terminated when its parent exits normally, and may not start children of its
 * own. Errors: MPROC_EBADHANDLE, MPROC_ESTATE (already started). */
MPROC_API int mproc_process_set_daemon(mproc_process_t *process, int daemon);

/** Opt-in (off by default, as in Python, where a child outlives a parent that is killed): with
 * die nonzero the child is killed (SIGKILL) as soon as the calling process ends, however it ends,
 * even while the child is busy. The child watches its parent process from a small thread of its
 * own. Errors: MPROC_EBADHANDLE, MPROC_ESTATE (already started). */
MPROC_API int mproc_process_set_die_with_parent(mproc_process_t *process, int die);

/** Forks the child. Errors: MPROC_EBADHANDLE, MPROC_ESTATE (started twice; or the caller is a
 * daemon process), MPROC_ECLOSED, -errno of fork. */
MPROC_API int mproc_process_start(mproc_process_t *process);

/** Waits for the child to end, at most timeout_ms (MPROC_WAIT_FOREVER: no limit). Returns 0 once it
 * has ended, MPROC_ETIMEDOUT if it is still running. Errors: MPROC_EBADHANDLE, MPROC_ESTATE (not
 * started, or not a child of the calling process), MPROC_ECLOSED, -EINVAL (timeout < -1). */
MPROC_API int mproc_process_join(mproc_process_t *process, int64_t timeout_ms);

/** 1 while the child runs, 0 before start and after it ended. Errors: MPROC_EBADHANDLE,
 * MPROC_ECLOSED. */
MPROC_API int mproc_process_is_alive(mproc_process_t *process);

/** The child's pid. Errors: MPROC_EBADHANDLE, MPROC_ESTATE (not started). */
MPROC_API int mproc_process_pid(mproc_process_t *process);

/** Returns 1 and stores the exit code in *exitcode once the child has ended (minus the signal
 * number if a signal ended it); returns 0 (and leaves *exitcode alone) before start and while it
 * runs. Errors: MPROC_EBADHANDLE, -EINVAL (exitcode NULL), MPROC_ECLOSED. */
MPROC_API int mproc_process_exitcode(mproc_process_t *process, int *exitcode);

/** SIGTERM / SIGKILL to the child, through its pidfd (never a recycled pid). No effect once the
 * child ended. Errors: MPROC_EBADHANDLE, MPROC_ESTATE (not started), MPROC_ECLOSED. */
MPROC_API int mproc_process_terminate(mproc_process_t *process);
MPROC_API int mproc_process_kill(mproc_process_t *process);

/** A file descriptor that becomes readable when the child ends (its pidfd), owned by the process
 * handle and valid until mproc_process_close or mproc_process_destroy. Errors: MPROC_EBADHANDLE,
 * MPROC_ESTATE (not started), MPROC_ECLOSED. */
MPROC_API int mproc_process_sentinel(mproc_process_t *process);

/** Releases the child's resources (its pidfd); afterwards only get_name, pid and destroy work.
 * Errors: MPROC_EBADHANDLE, MPROC_ESTATE (still running). Closing twice is a no-op. */
MPROC_API int mproc_process_close(mproc_process_t *process);

/** Destroys the handle. A child that is still running is detached, as Python does with a dropped
 * Process: it runs on, the library reaps it once it has ended (at the next mproc_process_start,
 * mproc_active_children or at exit), and at normal exit it is joined (or terminated, if daemon).
 * NULL is a no-op (returns 0).
 * Errors: MPROC_EBADHANDLE (already destroyed, or not a process handle). */
MPROC_API int mproc_process_destroy(mproc_process_t *process);

/** Waits for a child made with mproc_fork to end and reaps it, at most timeout_ms
 * (MPROC_WAIT_FOREVER: no limit): user code needs no waitpid. Stores its exit code (minus the
 * signal number if a signal ended it) in *exitcode when exitcode is not NULL. Waits on that pid only.
 * Returns 0 once reaped, MPROC_ETIMEDOUT if it still runs (it is not reaped). Errors: -EINVAL
 * (pid <= 0, timeout < -1), -ESRCH (no such process), -ECHILD (not a child of the caller, or
 * already reaped), MPROC_ESTATE (started by mproc_process_start: join that handle instead).
 * Since: 0.1. */
MPROC_API int mproc_wait_child(int pid, int64_t timeout_ms, int *exitcode);

/** The calling process, as Python's current_process(): copies its NUL-terminated name
 * ("MainProcess", or the name its Process was given) into buf (truncated to size - 1 bytes) and
 * returns the name's full length, as snprintf does; buf may be NULL when size is 0. Its pid is
 * mproc_getpid(). Errors: -EINVAL (buf NULL with size > 0). Since: 0.1. */
MPROC_API int mproc_current_process_name(char *buf, size_t size);
/** 1 if the calling process is a daemon child (Python's current_process().daemon), else 0.
 * Since: 0.1. */
MPROC_API int mproc_current_process_daemon(void);

/** The process that started the caller with mproc_process_start (Python's parent_process()).
 * Returns 1 and fills *pid (when not NULL) and buf (its name, as mproc_current_process_name) if
 * there is one; returns 0 in a process that was not started that way (the main process, or a
 * child of a raw mproc_fork). Errors: -EINVAL (buf NULL with size > 0). Since: 0.1. */
MPROC_API int mproc_parent_process(int *pid, char *buf, size_t size);

/** The children started by the caller (detached ones included) that are still running, as Python's
 * active_children(); as there, it reaps the ones that have ended. Stores up to `capacity` pids in
 * pids (which may be NULL when capacity is 0) and returns how many children run, which may be more
 * than capacity. Errors: -EINVAL (pids NULL with capacity > 0). Since: 0.1. */
MPROC_API int mproc_active_children(int *pids, size_t capacity);

#ifdef __cplusplus
}
#endif

#endif /* MPROC_PROCESS_H */
