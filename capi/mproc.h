/** @file mproc.h
 * mproc — Python's multiprocessing, natively: the C ABI.
 *
 * Conventions (the same for every function):
 *  - Names are `mproc_<noun>_<verb>`; objects are opaque `mproc_<noun>_t` handles, made by
 *    `mproc_<noun>_create(..., &out)` and released by `mproc_<noun>_destroy()`, which accepts NULL.
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

#include "mproc/platform.h" /* first: Linux 5.3+ and glibc, or one clear #error */
#include "mproc/errors.h"
#include "mproc/export.h"
#include "mproc/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------------
 * Errors and version
 * --------------------------------------------------------------------------------------------- */

/** mproc's own error codes, in the reserved range -1001 .. -1999 (see mproc/errors.h). */
enum mproc_error_code {
#define MPROC_ERROR_ENUM_(c_name, cpp_name, value, message) MPROC_##c_name = (value),
  MPROC_ERRNO_MAP(MPROC_ERROR_ENUM_)
#undef MPROC_ERROR_ENUM_
};

/** A sentence describing `code` (an MPROC_E* code, a negative errno, or 0). The string is static.
 * Never fails: an unknown code gives "unknown error". */
MPROC_API const char *mproc_strerror(int code);

/** The code's name: "MPROC_ETIMEDOUT", "EINVAL", "OK" for 0, "UNKNOWN" otherwise. Static. */
MPROC_API const char *mproc_err_name(int code);

/** The detailed message of the last call that failed on this thread ("" if none did). Valid until
 * the next failing mproc call on this thread. Never NULL. */
MPROC_API const char *mproc_last_error_message(void);

/** Records `message` (NULL: "") as this thread's last error message and returns `code`: for
 * libraries layered on mproc's C ABI (libmproc_mpi), so that mproc_last_error_message() gives
 * their errors' detail too. Never fails (without memory for the message, it is left empty).
 * Since: 0.2. */
MPROC_API int mproc_set_last_error(int code, const char *message);

/** The library's version at run time, as MPROC_VERSION_HEX (0xMMmmpp) and as "M.m.p". Compare with
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

/** Errors: -EINVAL for a level that is not one of the above. */
MPROC_API int mproc_log_set_level(int level);
/** The current level (an mproc_log_level value). */
MPROC_API int mproc_log_get_level(void);

/** The part of the library a log line comes from; each has a level of its own
 * (mproc_log_set_level_for), so that a host can hear one part in detail and keep the rest quiet. */
enum mproc_log_category {
  MPROC_LOG_CATEGORY_PROCESS = 0,   /**< processes, children, reaping */
  MPROC_LOG_CATEGORY_SYNC = 1,      /**< locks and the other synchronisation objects */
  MPROC_LOG_CATEGORY_SHM = 2,       /**< segments, shared memory, the segment tracker */
  MPROC_LOG_CATEGORY_TRANSPORT = 3, /**< connections, listeners, queues */
  MPROC_LOG_CATEGORY_POOL = 4,      /**< pools, their workers, the fork server */
  MPROC_LOG_CATEGORY_MANAGER = 5,   /**< the Manager and its containers */
  MPROC_LOG_CATEGORY_MPI = 6        /**< the MPI pool (libmproc_mpi) */
};

/** The level given to mproc_log_set_level_for() to make a category follow mproc_log_set_level()
 * again (every category's default). */
#define MPROC_LOG_FOLLOW_GLOBAL (-1)

/** Gives `category` (an mproc_log_category) a level of its own (an mproc_log_level): its lines are
 * written when at or above it, whatever mproc_log_set_level() says; MPROC_LOG_FOLLOW_GLOBAL makes
 * it follow that again. For example MPROC_LOG_CATEGORY_POOL at MPROC_LOG_DEBUG with the global
 * level at MPROC_LOG_WARN. The MPROC_LOG_LEVEL environment variable sets them too:
 * "warn,pool=debug,shm=off" (the global level, then CATEGORY=LEVEL parts).
 * Thread-safety: may be called from any thread.
 * Errors: -EINVAL (a category or level that is not one of the above). Since: 0.2. */
MPROC_API int mproc_log_set_level_for(int category, int level);
/** The level that applies to `category`: its own, else the global one (an mproc_log_level value).
 * Errors: -EINVAL (not a category). Since: 0.2. */
MPROC_API int mproc_log_get_level_for(int category);

/** Receives one of the library's log lines: `level` is an mproc_log_level, `message` the line's
 * text, NUL-terminated, without the time/pid prefix of the stderr format, valid only during the
 * call. `user_data` is the pointer given to mproc_log_set_handler(). */
typedef void (*mproc_log_handler_t)(int level, const char *message, void *user_data);

/** Routes the library's log lines (those at or above mproc_log_get_level()) to `handler` instead of
 * stderr, for a host program's own logger; handler NULL restores stderr. Since: 0.2.
 * Which thread: the handler runs on the thread that logs (the caller of an mproc function, a
 * pool's dispatcher thread, the thread that restarts a killed shared-memory tracker, or the main
 * thread of a child process), one line at a time (calls
 * never overlap), with the library's log lock held: it must not call mproc_log_set_handler() and
 * should return quickly.
 * Fork-safety: children forked by mproc (processes, pool workers) keep the handler (a fork copies
 * it) and never inherit the library's log lock held. Locks the handler takes itself must be
 * fork-safe too, or a child may block on one that another thread held at the fork (install such a
 * handler after starting children, or use the forkserver start method).
 * Thread-safety: may be called from any thread; each line goes whole to the old or the new handler.
 * Errors: none (returns 0). */
MPROC_API int mproc_log_set_handler(mproc_log_handler_t handler, void *user_data);

/* ------------------------------------------------------------------------------------------------
 * Processes
 * --------------------------------------------------------------------------------------------- */

#define MPROC_WAIT_FOREVER (-1)

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
MPROC_API int mproc_process_get_name(mproc_process_t *process, char *buf, size_t size);

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

/* ------------------------------------------------------------------------------------------------
 * Synchronisation: Python's Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition and Barrier,
 * shared between processes.
 *
 * Each object's state lives in shared memory made by its create function; processes forked after
 * that share it, and use it through their inherited copy of the handle (the handle is only valid in
 * the creating process and its forked descendants). Every handle is destroyed by its destroy
 * function in each process that holds it; the shared memory goes with the last one in that
 * process. Every blocking function takes timeout_ms (MPROC_WAIT_FOREVER: no limit; 0: only try).
 * Thread-safety: all these functions may be called from any thread or process at the same time.
 *
 * Locks belong to the thread that acquired them. If the holder's process dies (or the thread
 * exits) while holding one, the next acquirer gets the lock, repaired, and the code
 * MPROC_EOWNERDEAD: it holds the lock, and the data the lock protects may be half-updated. A child
 * forked while a thread of its parent holds a lock does not hold it: it waits for the parent to
 * release it (or to die).
 * --------------------------------------------------------------------------------------------- */

typedef struct mproc_lock_s mproc_lock_t;
typedef struct mproc_rlock_s mproc_rlock_t;
typedef struct mproc_semaphore_s mproc_semaphore_t;
typedef struct mproc_event_s mproc_event_t;
typedef struct mproc_condition_s mproc_condition_t;
typedef struct mproc_barrier_s mproc_barrier_t;

/** A new, unlocked, non-recursive lock. Errors: -EINVAL (out NULL), -ENOMEM. */
MPROC_API int mproc_lock_create(mproc_lock_t **out);

/** Acquires the lock, waiting at most timeout_ms. Returns 0 once acquired; MPROC_EOWNERDEAD once
 * acquired from a holder that died (the caller holds the lock); MPROC_ETIMEDOUT if not acquired.
 * Errors: MPROC_EBADHANDLE, -EINVAL (timeout_ms < -1), -EDEADLK (the calling thread already holds
 * it; with timeout_ms 0 the result is MPROC_ETIMEDOUT instead). */
MPROC_API int mproc_lock_acquire(mproc_lock_t *lock, int64_t timeout_ms);

/** Errors: MPROC_EBADHANDLE, MPROC_ESTATE (the calling thread does not hold the lock). */
MPROC_API int mproc_lock_release(mproc_lock_t *lock);

/** Destroys this process's handle; the lock itself lives on in the other processes that have it.
 * When this was the process's last reference to the lock (a condition created over it keeps one)
 * and the calling thread holds it, it is released first. NULL is a no-op.
 * Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_lock_destroy(mproc_lock_t *lock);

/** A recursive lock: the holding thread may acquire it again (returns 0 at once) and must release
 * it as many times. Same functions, errors and owner-death rule as the lock above (after a death,
 * the recovered lock is held once, whatever depth the dead holder had). A release by a thread
 * that does not hold it is MPROC_ESTATE. */
MPROC_API int mproc_rlock_create(mproc_rlock_t **out);
MPROC_API int mproc_rlock_acquire(mproc_rlock_t *rlock, int64_t timeout_ms);
MPROC_API int mproc_rlock_release(mproc_rlock_t *rlock);
MPROC_API int mproc_rlock_destroy(mproc_rlock_t *rlock);

/** A semaphore with the initial value `value` (0 .. INT32_MAX). With bounded != 0 it is a
 * BoundedSemaphore: it may never be released above `value`. Errors: -EINVAL (value < 0, out
 * NULL), -ENOMEM. A semaphore has no owner: a unit taken by a process that dies is lost. */
MPROC_API int mproc_semaphore_create(int value, int bounded, mproc_semaphore_t **out);

/** Decrements the value, waiting at most timeout_ms while it is 0. Returns 0 or MPROC_ETIMEDOUT.
 * Errors: MPROC_EBADHANDLE, -EINVAL (timeout_ms < -1). */
MPROC_API int mproc_semaphore_acquire(mproc_semaphore_t *semaphore, int64_t timeout_ms);

/** Increments the value and wakes one waiter. Errors: MPROC_EBADHANDLE, MPROC_ESTATE (a bounded
 * semaphore already at its initial value; the value is unchanged), -EOVERFLOW (at INT32_MAX). */
MPROC_API int mproc_semaphore_release(mproc_semaphore_t *semaphore);

/** The current value (>= 0). Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_semaphore_get_value(mproc_semaphore_t *semaphore);

/** NULL is a no-op. Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_semaphore_destroy(mproc_semaphore_t *semaphore);

/** A new, clear event. Errors: -EINVAL (out NULL), -ENOMEM. */
MPROC_API int mproc_event_create(mproc_event_t **out);
/** Sets the flag and wakes every waiter. Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_event_set(mproc_event_t *event);
/** Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_event_clear(mproc_event_t *event);
/** 1 if set, 0 if not. Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_event_is_set(mproc_event_t *event);
/** Waits at most timeout_ms for the flag. Returns 0 if it was set (also if set and cleared again
 * while this caller slept), MPROC_ETIMEDOUT if not. Errors: MPROC_EBADHANDLE, -EINVAL. */
MPROC_API int mproc_event_wait(mproc_event_t *event, int64_t timeout_ms);
/** NULL is a no-op. Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_event_destroy(mproc_event_t *event);

/** A condition variable over a new recursive lock (create), over `lock`, or over `rlock`. The
 * condition keeps its own reference to the lock: destroying the lock's handle afterwards is safe.
 * Errors: MPROC_EBADHANDLE (lock / rlock not a live handle of that type), -EINVAL (out NULL),
 * -ENOMEM. */
MPROC_API int mproc_condition_create(mproc_condition_t **out);
MPROC_API int mproc_condition_create_with_lock(mproc_lock_t *lock, mproc_condition_t **out);
MPROC_API int mproc_condition_create_with_rlock(mproc_rlock_t *rlock, mproc_condition_t **out);

/** Acquire and release the condition's lock, with the results of mproc_lock_acquire /
 * mproc_lock_release (MPROC_EOWNERDEAD included). */
MPROC_API int mproc_condition_acquire(mproc_condition_t *condition, int64_t timeout_ms);
MPROC_API int mproc_condition_release(mproc_condition_t *condition);

/** With the lock held: releases it completely, waits at most timeout_ms to be notified, and
 * re-acquires it (at the same recursion depth; the re-acquisition itself is not limited by
 * timeout_ms). Returns 0 if notified, MPROC_ETIMEDOUT if not, and MPROC_EOWNERDEAD if the lock had
 * to be recovered from a holder that died (notified or not: treat it as a wake-up and check).
 * The lock is held again in all three cases. Errors: MPROC_EBADHANDLE, MPROC_ESTATE (the calling
 * thread does not hold the lock), -EINVAL. */
MPROC_API int mproc_condition_wait(mproc_condition_t *condition, int64_t timeout_ms);

/** A predicate over the caller's data, called with the lock held; nonzero means true. */
typedef int (*mproc_predicate_fn)(void *user_data);

/** With the lock held: waits until predicate(user_data) is nonzero, at most timeout_ms in total.
 * Returns 0 once it is, MPROC_ETIMEDOUT if it was still 0 at the end (lock held in both cases).
 * Errors: MPROC_EBADHANDLE, MPROC_ESTATE (lock not held), -EINVAL (predicate NULL, timeout). */
MPROC_API int mproc_condition_wait_for(mproc_condition_t *condition, mproc_predicate_fn predicate,
                                       void *user_data, int64_t timeout_ms);

/** With the lock held: wakes up to n of the current waiters (notify_all: all of them). n <= 0 does
 * nothing. Errors: MPROC_EBADHANDLE, MPROC_ESTATE (the calling thread does not hold the lock). */
MPROC_API int mproc_condition_notify(mproc_condition_t *condition, int n);
MPROC_API int mproc_condition_notify_all(mproc_condition_t *condition);

/** NULL is a no-op. Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_condition_destroy(mproc_condition_t *condition);

/** Runs once per round, in the process (and on the thread) that arrives last, before the others
 * are released. user_data is that process's copy of the pointer given to create. */
typedef void (*mproc_barrier_action_fn)(void *user_data);

/** A barrier for `parties` callers (1 .. 32767). action may be NULL. timeout_ms is the default
 * timeout of mproc_barrier_wait (MPROC_WAIT_FOREVER: none). Errors: -EINVAL (parties out of
 * range, out NULL, timeout_ms < -1), -ENOMEM. */
MPROC_API int mproc_barrier_create(int parties, mproc_barrier_action_fn action, void *user_data,
                                   int64_t timeout_ms, mproc_barrier_t **out);

/** Waits until `parties` callers have arrived and returns this caller's arrival index
 * (0 .. parties - 1). timeout_ms: MPROC_WAIT_FOREVER uses the barrier's default timeout. Returns
 * MPROC_EBROKEN if the barrier is or becomes broken: abort, reset while waiting, or any waiter's
 * timeout, which breaks it for every waiter (including the one that timed out) until reset.
 * Errors: MPROC_EBADHANDLE, -EINVAL (timeout_ms < -1). */
MPROC_API int mproc_barrier_wait(mproc_barrier_t *barrier, int64_t timeout_ms);

/** Breaks the barrier: current and later waiters get MPROC_EBROKEN until reset.
 * Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_barrier_abort(mproc_barrier_t *barrier);
/** Back to empty and unbroken; callers waiting now get MPROC_EBROKEN. Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_barrier_reset(mproc_barrier_t *barrier);
/** The number of parties, the number of callers waiting now (0 while broken), and 1 if broken or 0
 * if not. Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_barrier_parties(mproc_barrier_t *barrier);
MPROC_API int mproc_barrier_n_waiting(mproc_barrier_t *barrier);
MPROC_API int mproc_barrier_broken(mproc_barrier_t *barrier);
/** NULL is a no-op. Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_barrier_destroy(mproc_barrier_t *barrier);

/** Attachable synchronisation objects: a process that already runs (a pool worker, a process not
 * forked from the creator) opens the same object by handle. `mproc_<noun>_create_attachable`
 * makes the object in a named shared-memory segment (the plain create functions use an anonymous
 * mapping, shared only with processes forked after it, and cheaper to make);
 * `mproc_<noun>_handle` copies its handle, a short string, out; `mproc_<noun>_attach` opens it in
 * any process as a new handle, used and destroyed with the same functions as above.
 *
 * The handle's name exists while the creating process holds a handle to the object (the last one
 * destroyed, or the process dead, it is removed — by the shm tracker if the process was killed).
 * Processes that attached keep working after that; later attach calls fail with -ENOENT.
 *
 * create_attachable: arguments and errors as the matching create, plus the -errno of shm_open /
 * ftruncate / mmap. The condition is over a new attachable recursive lock.
 * attach: Errors: -EINVAL (handle or out NULL, malformed handle), -ENOENT (no such object, or its
 * creator dropped it), MPROC_EBADHANDLE (the handle names another kind of object; a semaphore
 * handle attaches a bounded or plain semaphore alike). On failure *out is untouched. A barrier's
 * action and default timeout are not shared: mproc_barrier_attach takes this handle's own.
 * handle: copies the handle, NUL-terminated, into buf (truncated to len - 1 bytes) and returns its
 * full length, as snprintf does; buf may be NULL when len is 0. The handle is shorter than
 * MPROC_HANDLE_MAX. Errors: MPROC_EBADHANDLE, MPROC_ESTATE (the object was made by the plain
 * create: it has no handle), -EINVAL (buf NULL with len > 0). */
#define MPROC_HANDLE_MAX 64
MPROC_API int mproc_lock_create_attachable(mproc_lock_t **out);
MPROC_API int mproc_lock_attach(const char *handle, mproc_lock_t **out);
MPROC_API int mproc_lock_handle(mproc_lock_t *lock, char *buf, size_t len);
MPROC_API int mproc_rlock_create_attachable(mproc_rlock_t **out);
MPROC_API int mproc_rlock_attach(const char *handle, mproc_rlock_t **out);
MPROC_API int mproc_rlock_handle(mproc_rlock_t *rlock, char *buf, size_t len);
MPROC_API int mproc_semaphore_create_attachable(int value, int bounded, mproc_semaphore_t **out);
MPROC_API int mproc_semaphore_attach(const char *handle, mproc_semaphore_t **out);
MPROC_API int mproc_semaphore_handle(mproc_semaphore_t *semaphore, char *buf, size_t len);
MPROC_API int mproc_event_create_attachable(mproc_event_t **out);
MPROC_API int mproc_event_attach(const char *handle, mproc_event_t **out);
MPROC_API int mproc_event_handle(mproc_event_t *event, char *buf, size_t len);
MPROC_API int mproc_condition_create_attachable(mproc_condition_t **out);
MPROC_API int mproc_condition_attach(const char *handle, mproc_condition_t **out);
MPROC_API int mproc_condition_handle(mproc_condition_t *condition, char *buf, size_t len);
MPROC_API int mproc_barrier_create_attachable(int parties, mproc_barrier_action_fn action,
                                              void *user_data, int64_t timeout_ms,
                                              mproc_barrier_t **out);
MPROC_API int mproc_barrier_attach(const char *handle, mproc_barrier_action_fn action,
                                   void *user_data, int64_t timeout_ms, mproc_barrier_t **out);
MPROC_API int mproc_barrier_handle(mproc_barrier_t *barrier, char *buf, size_t len);

/* ------------------------------------------------------------------------------------------------
 * Shared memory: Python's multiprocessing.shared_memory.SharedMemory. A named POSIX segment
 * (shm_open), raw: the buffer is the whole file, with no header, so segments made by Python's
 * SharedMemory or by shm_open in any program attach alike. Names: "name" and "/name" are the same
 * segment; at most 251 characters, the slash included, and no other '/'.
 *
 * Lifetime, as in Python: mproc_shm_close drops this process's mapping; mproc_shm_unlink removes
 * the name (from any process; mappings stay valid). An attaching process never removes the name
 * by itself. The creating process's shm tracker removes a name its creator did not unlink when
 * that process ends, however it ends (a line on stderr reports it), so nothing is left in
 * /dev/shm; a child forked from the creator does not own the name.
 * Thread-safety: a handle is used by one thread at a time; the memory by anyone, synchronised by
 * the caller.
 * --------------------------------------------------------------------------------------------- */

typedef struct mproc_shm_s mproc_shm_t;

/** A buffer of this many bytes always holds a segment name and its terminating NUL. */
#define MPROC_SHM_NAME_MAX 256

/** Creates a zero-filled segment of `size` bytes named `name`, or with a fresh unique name
 * ("/mproc-<pid>-<n>-<random>") when name is NULL or "". Errors: -EINVAL (out NULL, size <= 0,
 * malformed or too long name), -EEXIST (the name exists), -EACCES, -ENOSPC, -ENOMEM, -EMFILE.
 * On failure *out is untouched. */
MPROC_API int mproc_shm_create(const char *name, int64_t size, mproc_shm_t **out);

/** Maps the whole existing segment `name`. Errors: -EINVAL (name or out NULL, malformed name),
 * -ENOENT (no such segment), -EACCES, MPROC_ESTATE (the segment is empty: its creator never set
 * its size). On failure *out is untouched. */
MPROC_API int mproc_shm_attach(const char *name, mproc_shm_t **out);

/** *out = the start of the mapping, valid until mproc_shm_close / destroy of this handle.
 * Errors: MPROC_EBADHANDLE, MPROC_ECLOSED (closed), -EINVAL (out NULL). */
MPROC_API int mproc_shm_buf(mproc_shm_t *shm, void **out);

/** *out = the segment's size in bytes (also after close). Errors: MPROC_EBADHANDLE, -EINVAL. */
MPROC_API int mproc_shm_size(mproc_shm_t *shm, size_t *out);

/** Copies the name ("/name") as mproc_lock_handle copies a handle; shorter than
 * MPROC_SHM_NAME_MAX. Errors: MPROC_EBADHANDLE, -EINVAL (buf NULL with len > 0). */
MPROC_API int mproc_shm_name(mproc_shm_t *shm, char *buf, size_t len);

/** Unmaps; the handle stays valid (for name, size, unlink). Closing twice is a no-op.
 * Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_shm_close(mproc_shm_t *shm);

/** Removes the name now; mappings stay valid. Errors: MPROC_EBADHANDLE, -ENOENT (already removed:
 * a second unlink, or another process's), -EACCES. */
MPROC_API int mproc_shm_unlink(mproc_shm_t *shm);

/** Closes (but does not unlink) and frees the handle. NULL is a no-op. Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_shm_destroy(mproc_shm_t *shm);

/* ------------------------------------------------------------------------------------------------
 * Shared values and arrays: Python's multiprocessing.Value / Array / RawValue / RawArray, as bytes.
 * An array is `count` elements of `element_size` bytes (a Value is an array of one element,
 * created with count 1), zero-filled, 64-byte aligned, in its own named segment, with an optional
 * recursive lock in the same segment. Any process attaches it by handle; the handle's lifetime is
 * that of the attachable locks above. get / set copy one element under the lock (when there is
 * one); mproc_array_data gives the memory itself, never locked: hold the lock with
 * mproc_array_acquire / mproc_array_release across several accesses. The lock is recovered when its
 * holder dies, as mproc_rlock's (MPROC_EOWNERDEAD). C++'s Value<T> / Array<T> attach the handles
 * made here when the element size and alignment match.
 * Thread-safety: every function may be called from any thread, except destroy.
 * --------------------------------------------------------------------------------------------- */

typedef struct mproc_array_s mproc_array_t;

enum mproc_array_flags {
  MPROC_ARRAY_LOCK = 1 /**< give it a lock (Python's default); without it: RawValue / RawArray */
};

/** Creates an array. element_align is the alignment of one element (a power of two up to 64; 0
 * means the largest power of two dividing element_size, up to 16). flags: MPROC_ARRAY_LOCK or 0.
 * Errors: -EINVAL (out NULL, element_size 0, bad alignment, unknown flags, a total size over
 * 1 TiB), the -errno of shm_open / ftruncate / mmap. On failure *out is untouched. */
MPROC_API int mproc_array_create(size_t element_size, size_t element_align, size_t count,
                                 int flags, mproc_array_t **out);

/** Opens the array (or value) with this handle. Errors: -EINVAL (NULL, malformed handle), -ENOENT,
 * MPROC_EBADHANDLE (not a value or array). On failure *out is untouched. */
MPROC_API int mproc_array_attach(const char *handle, mproc_array_t **out);

/** As mproc_lock_handle. Errors: MPROC_EBADHANDLE, -EINVAL. */
MPROC_API int mproc_array_handle(mproc_array_t *array, char *buf, size_t len);

/** The element size, the count, and 1 if it has a lock (0 if not). Errors: MPROC_EBADHANDLE,
 * -EINVAL (out NULL). */
MPROC_API int mproc_array_element_size(mproc_array_t *array, size_t *out);
MPROC_API int mproc_array_count(mproc_array_t *array, size_t *out);
MPROC_API int mproc_array_has_lock(mproc_array_t *array);

/** Copies element `index` to out[0, size) / from data[0, size), under the lock if there is one.
 * size must be the element size. Errors: MPROC_EBADHANDLE, -EINVAL (NULL, size not the element
 * size), -ERANGE (index >= count). */
MPROC_API int mproc_array_get(mproc_array_t *array, size_t index, void *out, size_t size);
MPROC_API int mproc_array_set(mproc_array_t *array, size_t index, const void *data, size_t size);

/** *out = the first element in this process's mapping (valid until destroy). Not locked.
 * Errors: MPROC_EBADHANDLE, -EINVAL (out NULL). */
MPROC_API int mproc_array_data(mproc_array_t *array, void **out);

/** The array's lock, with mproc_rlock_acquire / release's results (MPROC_EOWNERDEAD included).
 * Errors: MPROC_EBADHANDLE, MPROC_ESTATE (created without a lock, or release by a thread that
 * does not hold it), -EINVAL. */
MPROC_API int mproc_array_acquire(mproc_array_t *array, int64_t timeout_ms);
MPROC_API int mproc_array_release(mproc_array_t *array);

/** Frees this process's handle. NULL is a no-op. Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_array_destroy(mproc_array_t *array);

/* ------------------------------------------------------------------------------------------------
 * Buffers: memory that the library allocates and hands to the caller (a received message).
 * --------------------------------------------------------------------------------------------- */

/** Releases a buffer returned by the library (mproc_connection_recv_bytes, the queues' receive
 * functions, and the pool's outputs: mproc_future_get, mproc_pool_map, mproc_pool_iterator_next). NULL is a no-op. Never fails. Releasing anything else is undefined behaviour. */
MPROC_API void mproc_buffer_free(void *buffer);

/* ------------------------------------------------------------------------------------------------
 * Pipes and connections: Python's multiprocessing.Pipe / Connection. A connection is one end of
 * a pipe that carries whole messages: messages never merge or split, an empty message is
 * delivered, and any size up to the end's maximum (4 GiB by default) works.
 *
 * A dead or closed peer is an error, never a hang or a signal: receiving reports MPROC_EEOF once
 * no message is left, sending reports -EPIPE, and the process never receives SIGPIPE (its SIGPIPE
 * disposition is not changed). A signal never interrupts a call (no -EINTR) nor stretches a
 * timeout.
 *
 * Fork: connections are inherited by forked children (mproc_fork, mproc_process_start) and work
 * there. The end-of-file of an end is seen once every copy of the peer end is closed: close the
 * ends a process does not use.
 *
 * Thread-safety: one thread may send while another receives on the same connection; two threads
 * sending (or two receiving) on one connection at the same time must be serialised by the caller.
 * mproc_connection_close and _destroy must not race with other calls on the same connection.
 * --------------------------------------------------------------------------------------------- */

typedef struct mproc_connection_s mproc_connection_t;

/** Creates a pipe: two connected ends in *a and *b. duplex != 0: both ends send and receive.
 * duplex == 0: *a only receives and *b only sends (using an end the other way is MPROC_ESTATE).
 * Release each end with mproc_connection_destroy.
 * Errors: -EINVAL (a or b NULL, or a == b), -EMFILE / -ENFILE (no descriptors left). On failure
 * *a and *b are untouched. */
MPROC_API int mproc_pipe_create(int duplex, mproc_connection_t **a, mproc_connection_t **b);

/** Makes a connection of `fd`, an AF_UNIX SOCK_SEQPACKET socket whose peer is a connection (an end
 * of mproc_pipe_create obtained by another process: inherited across exec, received over a unix
 * socket, or taken with pidfd_getfd(2)). The connection owns fd from then on; readable / writable
 * != 0 say which ways it is used. Errors: -EINVAL (out NULL; fd not such a socket; neither
 * readable nor writable), -EBADF (fd negative), -ENOMEM (then fd is closed). On the other failures
 * fd is left open and *out is untouched.
 * Since: 0.2. */
MPROC_API int mproc_connection_from_fd(int fd, int readable, int writable,
                                       mproc_connection_t **out);

/** Sends one message of len bytes (len may be 0; data may be NULL when len is 0). Blocks while the
 * peer's buffer is full. The bytes are copied: data may be reused as soon as this returns.
 * Errors: MPROC_EBADHANDLE, MPROC_ECLOSED, -EINVAL (data NULL with len > 0), MPROC_ESTATE (a
 * receive-only end), MPROC_ETOOBIG (len above the end's maximum; nothing is sent, the connection
 * stays usable), -EPIPE (the peer end is closed). */
MPROC_API int mproc_connection_send_bytes(mproc_connection_t *c, const void *data, size_t len);

/** Receives the next message, waiting at most timeout_ms (MPROC_WAIT_FOREVER: no limit; 0: only
 * if one is already there). On success *out points to a new buffer of *len bytes that the caller
 * releases with mproc_buffer_free; *out is not NULL even for an empty message.
 * Errors: MPROC_EBADHANDLE, MPROC_ECLOSED, -EINVAL (out or len NULL, timeout_ms < -1),
 * MPROC_ESTATE (a send-only end; or this end can no longer receive after an oversized or
 * malformed message), MPROC_ETIMEDOUT (no whole message in time; a message begun is kept for the
 * next call), MPROC_EEOF (the peer closed its end and no message is left), MPROC_ETOOBIG (the
 * incoming message announces more than this end's maximum: this end can no longer receive),
 * -EPROTO (bytes on the socket that no connection sent: this end can no longer receive), -ENOMEM.
 * On failure *out and *len are untouched. */
MPROC_API int mproc_connection_recv_bytes(mproc_connection_t *c, int64_t timeout_ms, void **out,
                                          size_t *len);

/** Receives the next message into buf[0 .. cap), waiting at most timeout_ms, and stores its size
 * in *len. If the message is longer than cap, returns MPROC_ETOOBIG with the size needed in *len
 * and keeps the message: a later call with a large enough buffer (or mproc_connection_recv_bytes)
 * receives it; buf's contents are then unspecified. buf may be NULL when cap is 0 (only an empty
 * message fits). Errors: as mproc_connection_recv_bytes, plus -EINVAL (len NULL, or buf NULL with
 * cap > 0) and MPROC_ETOOBIG as described. */
MPROC_API int mproc_connection_recv_bytes_into(mproc_connection_t *c, void *buf, size_t cap,
                                               size_t *len, int64_t timeout_ms);

/** 1 if a message (or end-of-file) is ready to be received, waiting at most timeout_ms for one;
 * 0 if not. Errors: MPROC_EBADHANDLE, MPROC_ECLOSED, MPROC_ESTATE (a send-only end), -EINVAL
 * (timeout_ms < -1). */
MPROC_API int mproc_connection_poll(mproc_connection_t *c, int64_t timeout_ms);

/** The end's socket descriptor (>= 0), owned by the connection, for poll/epoll: readable when a
 * message or end-of-file is waiting. Errors: MPROC_EBADHANDLE, MPROC_ECLOSED. */
MPROC_API int mproc_connection_fileno(mproc_connection_t *c);

/** The largest message this end sends or accepts (default 4 GiB). An incoming message above it is
 * MPROC_ETOOBIG and ends this end's receiving. Errors: MPROC_EBADHANDLE, MPROC_ECLOSED, -EINVAL
 * (max_size 0; out NULL). */
MPROC_API int mproc_connection_set_max_message_size(mproc_connection_t *c, uint64_t max_size);
MPROC_API int mproc_connection_get_max_message_size(mproc_connection_t *c, uint64_t *out);

/** Closes the end (its descriptor) and drops any kept message; the handle stays valid and every
 * other call on it then fails with MPROC_ECLOSED. Closing twice is a no-op.
 * Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_connection_close(mproc_connection_t *c);

/** Python's Connection.closed / readable / writable: 1 or 0. A closed end is neither readable nor
 * writable. Errors: MPROC_EBADHANDLE. Since: 0.2. */
MPROC_API int mproc_connection_closed(mproc_connection_t *c);
MPROC_API int mproc_connection_readable(mproc_connection_t *c);
MPROC_API int mproc_connection_writable(mproc_connection_t *c);

/** Descriptor passing (Python's send_handle / recv_handle, SCM_RIGHTS): send_handle passes the open
 * file `fd` to the process at the other end as one message; the caller's fd stays open and its own.
 * recv_handle waits at most timeout_ms for that message and returns a new descriptor (>= 0,
 * close-on-exec) for the same open file, which the caller closes.
 * send_handle errors: MPROC_EBADHANDLE, MPROC_ECLOSED, MPROC_ESTATE (receive-only end), -EBADF
 * (fd not open), -EPIPE. recv_handle errors: MPROC_EBADHANDLE, MPROC_ECLOSED, MPROC_ESTATE
 * (send-only end, or a message partly received), MPROC_EEOF, MPROC_ETIMEDOUT, MPROC_ECODEC (the
 * next message is not a handle; it stays queued for mproc_connection_recv_bytes), -EPROTO,
 * -EINVAL (timeout_ms < -1). Since: 0.2. */
MPROC_API int mproc_connection_send_handle(mproc_connection_t *c, int fd);
MPROC_API int mproc_connection_recv_handle(mproc_connection_t *c, int64_t timeout_ms);

/** Listener and client (Python's multiprocessing.connection.Listener / Client): processes that share
 * no ancestry meet by address and get an mproc_connection_t each.
 *
 * An address is `address_len` bytes: a Unix socket path (no NUL inside, under 108 bytes), or an
 * abstract name starting with a NUL byte (it lives in the network namespace, not the file system,
 * and goes away with its listener). With an authkey (authkey_len > 0), both sides prove they hold
 * it with HMAC-SHA256 challenge-response (Python's deliver_challenge / answer_challenge); a peer
 * without it is refused with MPROC_EAUTH on both sides. authkey NULL or authkey_len 0: no
 * authentication (as Python's authkey=None). The key never crosses the socket.
 *
 * Thread-safety: one thread at a time per listener. Fork: the listening socket is inherited; only
 * the creating process removes a path listener's socket file. */
typedef struct mproc_listener_s mproc_listener_t;

/** Listens at the address; address NULL (or address_len 0) picks a fresh abstract name, which
 * mproc_listener_address gives. Release with mproc_listener_destroy.
 * Errors: -EINVAL (out NULL; authkey NULL with authkey_len > 0; a bad address), -EADDRINUSE,
 * -errno of socket / bind / listen. On failure *out is untouched. Since: 0.2. */
MPROC_API int mproc_listener_create(const char *address, size_t address_len, const void *authkey,
                                    size_t authkey_len, mproc_listener_t **out);

/** Waits at most timeout_ms for a process to connect, authenticates it if a key was given, and
 * gives its end in *out (release with mproc_connection_destroy). A peer that fails authentication
 * is MPROC_EAUTH (its connection closed; the listener stays usable). The timeout covers the
 * authentication: a peer still silent at it is dropped and the call is MPROC_ETIMEDOUT.
 * Errors: MPROC_EBADHANDLE, -EINVAL (out NULL, timeout_ms < -1), MPROC_ECLOSED, MPROC_ETIMEDOUT,
 * MPROC_EAUTH, -errno of accept4. Since: 0.2. */
MPROC_API int mproc_listener_accept(mproc_listener_t *listener, int64_t timeout_ms,
                                    mproc_connection_t **out);

/** Copies the address (bytes, possibly starting with NUL) into buf, truncated to size - 1 bytes and
 * NUL-terminated, and returns its full length; buf may be NULL when size is 0.
 * Errors: MPROC_EBADHANDLE, -EINVAL (buf NULL with size > 0). Since: 0.2. */
MPROC_API int mproc_listener_address(mproc_listener_t *listener, char *buf, size_t size);

/** The listening socket (>= 0), readable when a connection waits. Errors: MPROC_EBADHANDLE,
 * MPROC_ECLOSED. Since: 0.2. */
MPROC_API int mproc_listener_fileno(mproc_listener_t *listener);

/** Stops listening (and removes a path listener's socket file); the handle stays valid and accept
 * then fails with MPROC_ECLOSED. Closing twice is a no-op. Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_listener_close(mproc_listener_t *listener);

/** Closes and releases the handle. NULL is a no-op. Errors: MPROC_EBADHANDLE. Since: 0.2. */
MPROC_API int mproc_listener_destroy(mproc_listener_t *listener);

/** Connects to the listener at the address (authenticating both ways if authkey_len > 0) and gives
 * the connection in *out. Errors: -EINVAL (address or out NULL, address_len 0, authkey NULL with
 * authkey_len > 0, a bad address), -ENOENT / -ECONNREFUSED (nobody listens there), MPROC_EAUTH,
 * MPROC_EEOF, -errno of socket / connect. On failure *out is untouched. Since: 0.2. */
MPROC_API int mproc_client_connect(const char *address, size_t address_len, const void *authkey,
                                   size_t authkey_len, mproc_connection_t **out);

/** Closes the end if needed and releases the handle. NULL is a no-op (returns 0).
 * Errors: MPROC_EBADHANDLE (already destroyed, or not a connection handle). */
MPROC_API int mproc_connection_destroy(mproc_connection_t *c);

/** One entry of mproc_wait: a connection to watch, or (when connection is NULL) a descriptor such
 * as mproc_process_sentinel()'s. The layout is fixed (like struct pollfd). */
typedef struct mproc_wait_item {
  mproc_connection_t *connection; /**< in: a connection, or NULL to watch fd */
  int fd;                         /**< in: when connection is NULL, a descriptor to watch */
  int ready;                      /**< out: 1 if ready, 0 if not */
} mproc_wait_item_t;

/** Python's multiprocessing.connection.wait: waits until at least one item is ready or timeout_ms
 * passes, sets each item's ready flag and returns how many are ready (0 after a timeout). A
 * connection is ready when a message or end-of-file can be received, a process sentinel when the
 * process has ended, a descriptor when it is readable. Uses poll(2): any number of items and any
 * descriptor value. count may be 0 (items may then be NULL) to sleep for timeout_ms.
 * Errors: -EINVAL (items NULL with count > 0; count 0 with MPROC_WAIT_FOREVER; timeout_ms < -1;
 * count above INT_MAX), MPROC_EBADHANDLE (an item's connection is not a live handle),
 * MPROC_ECLOSED (a closed connection), MPROC_ESTATE (a send-only end), -EBADF (a negative or
 * closed descriptor). On failure the ready flags are unspecified. */
MPROC_API int mproc_wait(mproc_wait_item_t *items, size_t count, int64_t timeout_ms);

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
 * A call that could not take the queue's lock in time (another process stopped, SIGSTOP or a
 * debugger, while it held it) reports MPROC_ETIMEDOUT instead: the queue was not looked at. With
 * timeout 0 that lock wait is bounded by about a millisecond (its holders hold it for one copy).
 * Thread-safety: every function may be called from any thread at once on the same queue, except
 * mproc_queue_destroy.
 * --------------------------------------------------------------------------------------------- */

typedef struct mproc_queue_s mproc_queue_t;

enum mproc_queue_kind {
  MPROC_QUEUE_QUEUE = 0,    /**< multiprocessing.Queue */
  MPROC_QUEUE_SIMPLE = 1,   /**< multiprocessing.SimpleQueue: no count limit (maxsize must be 0) */
  MPROC_QUEUE_JOINABLE = 2  /**< multiprocessing.JoinableQueue: adds task_done / join */
};

/** Default ring size: 1 MiB. The ring is bounded to [MPROC_QUEUE_MIN_CAPACITY,
 * MPROC_QUEUE_MAX_CAPACITY] bytes; each message takes 8 bytes plus its length rounded up to 8. */
#define MPROC_QUEUE_DEFAULT_CAPACITY (1024 * 1024)
#define MPROC_QUEUE_MIN_CAPACITY 64
#define MPROC_QUEUE_MAX_CAPACITY (1024 * 1024 * 1024)
/** A buffer of this many bytes always holds a queue handle and its terminating NUL. */
#define MPROC_QUEUE_HANDLE_MAX 64

/** Options for mproc_queue_create. Set struct_size = sizeof(mproc_queue_options_t) (or call
 * mproc_queue_options_init) so that fields added later are recognised as absent. */
typedef struct mproc_queue_options {
  size_t struct_size;
  int kind;               /**< an mproc_queue_kind */
  int64_t maxsize;        /**< messages; 0 = no limit; negative is -EINVAL */
  int64_t capacity_bytes; /**< ring bytes; 0 = MPROC_QUEUE_DEFAULT_CAPACITY */
} mproc_queue_options_t;

/** Fills *options with the defaults: a Queue, no count limit, the default capacity. NULL: no-op. */
MPROC_API void mproc_queue_options_init(mproc_queue_options_t *options);

/** Creates a queue (and its shared-memory segment). options may be NULL for the defaults.
 * Errors: -EINVAL (out NULL; struct_size 0 or larger than this library knows with unknown
 * non-zero fields; unknown kind; maxsize negative or above 2^31; capacity negative or outside
 * [MPROC_QUEUE_MIN_CAPACITY, MPROC_QUEUE_MAX_CAPACITY]; a SimpleQueue with a maxsize), the
 * -errno of shm_open / ftruncate / mmap (-ENOSPC, -EMFILE, ...). On failure *out is untouched. */
MPROC_API int mproc_queue_create(const mproc_queue_options_t *options, mproc_queue_t **out);

/** Opens the queue named by `handle` (from mproc_queue_handle, in any process) as a new handle of
 * the same kind. Errors: -EINVAL (handle or out NULL, malformed handle), -ENOENT (no such queue,
 * or its creator closed it), -EACCES, MPROC_EBADHANDLE (not an mproc queue, or another layout
 * version). On failure *out is untouched. */
MPROC_API int mproc_queue_attach(const char *handle, mproc_queue_t **out);

/** Copies the queue's handle, NUL-terminated, into buf (truncated to len - 1 bytes) and returns the
 * handle's full length, as snprintf does; buf may be NULL when len is 0. The handle is shorter
 * than MPROC_QUEUE_HANDLE_MAX. Errors: MPROC_EBADHANDLE, MPROC_ECLOSED, -EINVAL (buf NULL with
 * len > 0). */
MPROC_API int mproc_queue_handle(mproc_queue_t *queue, char *buf, size_t len);

/** Returns the queue's kind (an mproc_queue_kind). Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_queue_kind(mproc_queue_t *queue);

/** Puts a copy of data[0, len) (len may be 0; data may then be NULL), waiting up to timeout_ms for
 * room. Errors: MPROC_EBADHANDLE, -EINVAL (data NULL with len > 0; timeout below -1),
 * MPROC_ETOOBIG (longer than the ring can ever hold: see mproc_queue_max_message_size),
 * MPROC_EFULL (no room in time), MPROC_ECLOSED, MPROC_ETIMEDOUT (another process held the queue's
 * lock until the timeout: a stopped one; nothing was put). */
MPROC_API int mproc_queue_put(mproc_queue_t *queue, const void *data, size_t len,
                              int64_t timeout_ms);

/** Takes the next message, waiting up to timeout_ms. On success *data is a buffer owned by the
 * caller, to release with mproc_buffer_free (never NULL, even for an empty message), and *len its
 * length. Errors: MPROC_EBADHANDLE, -EINVAL (data or len NULL; timeout below -1), MPROC_EEMPTY
 * (nothing in time), MPROC_ECLOSED, -ENOMEM (the message stays in the queue), MPROC_ETIMEDOUT
 * (another process held the queue's lock until the timeout: nothing was taken). On failure *data
 * and *len are untouched. */
MPROC_API int mproc_queue_get(mproc_queue_t *queue, int64_t timeout_ms, void **data, size_t *len);

/** Takes the next message into the caller's buffer[0, size) and stores its length in *len. If the
 * message is longer than size, nothing is taken: it stays first in the queue, *len receives its
 * length, and MPROC_ETOOBIG is returned. Errors: MPROC_EBADHANDLE, -EINVAL (len NULL; buffer NULL
 * with size > 0; timeout below -1), MPROC_ETOOBIG, MPROC_EEMPTY, MPROC_ECLOSED, MPROC_ETIMEDOUT (as
 * mproc_queue_get). */
MPROC_API int mproc_queue_get_into(mproc_queue_t *queue, void *buffer, size_t size, size_t *len,
                                   int64_t timeout_ms);

/** The approximate number of messages in the queue. Errors: MPROC_EBADHANDLE, MPROC_ECLOSED,
 * -EINVAL (a SimpleQueue, which has no qsize, as in Python). */
MPROC_API int mproc_queue_qsize(mproc_queue_t *queue);
/** 1 if empty, 0 if not. Errors: MPROC_EBADHANDLE, MPROC_ECLOSED. */
MPROC_API int mproc_queue_empty(mproc_queue_t *queue);
/** 1 if a put would find no room now (maxsize reached or the ring full), 0 if not.
 * Errors: MPROC_EBADHANDLE, MPROC_ECLOSED, -EINVAL (a SimpleQueue). */
MPROC_API int mproc_queue_full(mproc_queue_t *queue);
/** The longest message the queue accepts, in bytes. Errors: MPROC_EBADHANDLE, MPROC_ECLOSED. */
MPROC_API int mproc_queue_max_message_size(mproc_queue_t *queue);

/** JoinableQueue: marks one item taken with get as processed. Errors: MPROC_EBADHANDLE,
 * -EINVAL (not a joinable queue), MPROC_ESTATE (called more times than items were put),
 * MPROC_ECLOSED. */
MPROC_API int mproc_queue_task_done(mproc_queue_t *queue);
/** JoinableQueue: waits up to timeout_ms until every item put has been marked done. A consumer
 * killed between get and task_done never marks its item, so pass a timeout when consumers may die.
 * Errors: MPROC_EBADHANDLE, -EINVAL (not a joinable queue; timeout below -1), MPROC_ETIMEDOUT,
 * MPROC_ECLOSED. */
MPROC_API int mproc_queue_join(mproc_queue_t *queue, int64_t timeout_ms);

/** Closes this handle's use of the queue: its later calls (but destroy) return MPROC_ECLOSED, and
 * its reference to the segment is dropped (on the creating handle: the name is removed). Other handles
 * and processes are not affected; calls blocked on this handle in other threads return
 * MPROC_ECLOSED within 100 ms. Closing twice is a no-op. Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_queue_close(mproc_queue_t *queue);

/** Closes (if needed) and frees the handle. NULL is a no-op. Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_queue_destroy(mproc_queue_t *queue);

/* ------------------------------------------------------------------------------------------------
 * Manager: Python's multiprocessing.Manager, without a server. Its dict, list and Namespace live
 * in shared memory (one growable segment each), so an operation costs a lock and a copy, not a
 * socket round trip. Keys, values and attributes' values are bytes (any length, 0 included, up
 * to 4 GiB - 1; an attribute name is a NUL-terminated string).
 *
 * Sharing: every container has a handle (a short string: mproc_dict_handle, ...) that any process
 * opens with mproc_dict_attach (...). A Manager has a name (mproc_manager_name) that any process
 * opens with mproc_manager_attach; containers created through the owning Manager with a name are
 * found by that name from any process (an attached Manager finds names but does not create them:
 * -ENOENT). Handles are inherited by forked children and work there.
 *
 * Crashes: every operation takes the container's robust process-shared lock. A process killed at
 * any moment, even inside an update, leaves the container consistent (each update is there or not)
 * and the lock is recovered by the next user: never a hang, never a torn value.
 *
 * Lifetime: the creating object (the Manager handle that made a container, or mproc_dict_create's
 * handle) owns the names: mproc_manager_shutdown / _destroy (or the owner's death: a tracker
 * process) removes them. Handles already open keep working; only later attach calls fail with
 * -ENOENT.
 *
 * Bytes out: functions that return bytes store in *value a buffer that the caller releases with
 * mproc_buffer_free (never NULL on success, even for 0 bytes) and its length in *len. Lists of
 * byte strings (keys, items, snapshot) come packed in one such buffer: each string is a uint64_t
 * length (native byte order, unaligned) followed by its bytes; items alternate key and value.
 *
 * Errors common to every function below: MPROC_EBADHANDLE (NULL, destroyed or foreign handle),
 * -EINVAL (a NULL pointer argument, a NULL data pointer with a nonzero length), MPROC_ECLOSED
 * (after the owning Manager's shutdown, for the Manager itself), MPROC_ETOOBIG (a key or value of
 * 4 GiB or more), -ENOSPC / -ENOMEM (growing the shared memory failed).
 * Thread-safety: every function may be called from any thread at once on the same handle, except
 * _destroy (and mproc_manager_shutdown).
 * Since: 0.1.
 * --------------------------------------------------------------------------------------------- */

typedef struct mproc_manager_s mproc_manager_t;
typedef struct mproc_dict_s mproc_dict_t;
typedef struct mproc_list_s mproc_list_t;
typedef struct mproc_namespace_s mproc_namespace_t;

/** A buffer of this many bytes always holds a Manager's name or a container's handle and its
 * terminating NUL. */
#define MPROC_MANAGER_HANDLE_MAX 256

/** Creates a Manager owned by this handle. Errors: -ENOSPC, -EMFILE (shm_open / mmap). */
MPROC_API int mproc_manager_create(mproc_manager_t **out);
/** Opens the Manager named `name` (from mproc_manager_name, in any process). Errors: -ENOENT (no
 * such Manager, or it was shut down), -EINVAL (malformed name), MPROC_EBADHANDLE (not a
 * Manager). */
MPROC_API int mproc_manager_attach(const char *name, mproc_manager_t **out);
/** Copies the Manager's name, NUL-terminated, into buf (truncated to len - 1 bytes) and returns
 * its full length; buf may be NULL when len is 0. */
MPROC_API int mproc_manager_name(mproc_manager_t *manager, char *buf, size_t len);
/** The containers. `name` NULL or "": a new unnamed container, owned by this Manager handle. A
 * name: the container registered under it (created the first time, through the owning Manager
 * only). Errors: -ENOENT (an attached Manager and no such name), MPROC_EBADHANDLE (the name holds
 * another kind of container). The new handle is released with its own _destroy. */
MPROC_API int mproc_manager_dict(mproc_manager_t *manager, const char *name, mproc_dict_t **out);
MPROC_API int mproc_manager_list(mproc_manager_t *manager, const char *name, mproc_list_t **out);
MPROC_API int mproc_manager_namespace(mproc_manager_t *manager, const char *name,
                                      mproc_namespace_t **out);
/** A queue (see the Queues section; released with mproc_queue_destroy). maxsize: 0 = no limit;
 * a named queue keeps the maxsize it was created with. Errors: also -EINVAL (maxsize < 0). */
MPROC_API int mproc_manager_queue(mproc_manager_t *manager, const char *name, int64_t maxsize,
                                  mproc_queue_t **out);
/** A Value or Array (see the Arrays section: arguments as mproc_array_create's; a Value is an array
 * of count 1), or an attachable Lock (see the Locks section), owned and named like the containers;
 * released with mproc_array_destroy / mproc_lock_destroy. A named array keeps the shape it was
 * created with. Errors: also those of mproc_array_create. */
MPROC_API int mproc_manager_array(mproc_manager_t *manager, const char *name, size_t element_size,
                                  size_t element_align, size_t count, int flags,
                                  mproc_array_t **out);
MPROC_API int mproc_manager_lock(mproc_manager_t *manager, const char *name, mproc_lock_t **out);
/** Removes the names of everything this Manager handle created, and the Manager's own name. Open
 * handles keep working. Later calls on this Manager handle: MPROC_ECLOSED. Idempotent. */
MPROC_API int mproc_manager_shutdown(mproc_manager_t *manager);
/** Shuts down (if needed) and frees the handle. NULL is a no-op. */
MPROC_API int mproc_manager_destroy(mproc_manager_t *manager);

/** Dict: Python's dict of bytes to bytes. _create makes one owned by the handle (no Manager). */
MPROC_API int mproc_dict_create(mproc_dict_t **out);
/** Errors: -ENOENT (no such dict), -EINVAL (malformed handle), MPROC_EBADHANDLE (not a dict). */
MPROC_API int mproc_dict_attach(const char *handle, mproc_dict_t **out);
/** As mproc_manager_name, for the dict's handle. */
MPROC_API int mproc_dict_handle(mproc_dict_t *dict, char *buf, size_t len);
/** d[key] = value. */
MPROC_API int mproc_dict_set(mproc_dict_t *dict, const void *key, size_t key_len,
                             const void *value, size_t value_len);
/** d[key] into a library-owned buffer. Errors: -ENOENT (no such key; *value is then NULL). */
MPROC_API int mproc_dict_get(mproc_dict_t *dict, const void *key, size_t key_len, void **value,
                             size_t *len);
/** 1 if the key is there, 0 if not. */
MPROC_API int mproc_dict_contains(mproc_dict_t *dict, const void *key, size_t key_len);
/** Removes the key; its value goes to *value / *len unless value is NULL (then len may be NULL).
 * Errors: -ENOENT (no such key). */
MPROC_API int mproc_dict_pop(mproc_dict_t *dict, const void *key, size_t key_len, void **value,
                             size_t *len);
/** d.setdefault(key, default): the value for key, set to `default_value` first if missing (one
 * atomic step). */
MPROC_API int mproc_dict_setdefault(mproc_dict_t *dict, const void *key, size_t key_len,
                                    const void *default_value, size_t default_len, void **value,
                                    size_t *len);
/** The number of entries, in *size. */
MPROC_API int mproc_dict_size(mproc_dict_t *dict, size_t *size);
MPROC_API int mproc_dict_clear(mproc_dict_t *dict);
/** Every key (or key and value, alternating), packed (see above), and the entry count in *count. */
MPROC_API int mproc_dict_keys(mproc_dict_t *dict, void **packed, size_t *len, size_t *count);
MPROC_API int mproc_dict_items(mproc_dict_t *dict, void **packed, size_t *len, size_t *count);
/** NULL is a no-op. The owning handle's destroy removes the dict's name. */
MPROC_API int mproc_dict_destroy(mproc_dict_t *dict);
/** How long each later call through this handle waits for the container's lock before it fails
 * with MPROC_ETIMEDOUT (MPROC_WAIT_FOREVER, the default: no limit; 0: only try). A live holder
 * keeps the lock for microseconds; a stopped one (SIGSTOP, a debugger) for as long as it is
 * stopped. Per handle: other handles of the same container keep their own. Thread-safe.
 * Errors: MPROC_EBADHANDLE, -EINVAL (timeout_ms < -1), MPROC_ECLOSED. */
MPROC_API int mproc_dict_set_timeout(mproc_dict_t *dict, int64_t timeout_ms);
/** The same for the Manager's own operations (finding or registering a name) and for every
 * container it returns afterwards. */
MPROC_API int mproc_manager_set_timeout(mproc_manager_t *manager, int64_t timeout_ms);
MPROC_API int mproc_list_set_timeout(mproc_list_t *list, int64_t timeout_ms);
MPROC_API int mproc_namespace_set_timeout(mproc_namespace_t *ns, int64_t timeout_ms);

/** List: Python's list of bytes. Indexes run from 0 to size - 1 (insert also accepts size); a
 * negative or larger index is -ERANGE (Python's IndexError) and changes nothing. */
MPROC_API int mproc_list_create(mproc_list_t **out);
/** Errors: -ENOENT, -EINVAL (malformed handle), MPROC_EBADHANDLE (not a list). */
MPROC_API int mproc_list_attach(const char *handle, mproc_list_t **out);
MPROC_API int mproc_list_handle(mproc_list_t *list, char *buf, size_t len);
MPROC_API int mproc_list_append(mproc_list_t *list, const void *value, size_t len);
/** l[index] into a library-owned buffer. Errors: -ERANGE. */
MPROC_API int mproc_list_get(mproc_list_t *list, int64_t index, void **value, size_t *len);
/** l[index] = value. Errors: -ERANGE. */
MPROC_API int mproc_list_set(mproc_list_t *list, int64_t index, const void *value, size_t len);
/** l.insert(index, value), 0 <= index <= size. Errors: -ERANGE. */
MPROC_API int mproc_list_insert(mproc_list_t *list, int64_t index, const void *value, size_t len);
/** l.pop(index) into a library-owned buffer (value NULL: just remove). Errors: -ERANGE. */
MPROC_API int mproc_list_pop(mproc_list_t *list, int64_t index, void **value, size_t *len);
MPROC_API int mproc_list_size(mproc_list_t *list, size_t *size);
MPROC_API int mproc_list_clear(mproc_list_t *list);
/** Every element at one instant, packed (see above); their number in *count. */
MPROC_API int mproc_list_snapshot(mproc_list_t *list, void **packed, size_t *len, size_t *count);
MPROC_API int mproc_list_destroy(mproc_list_t *list);

/** Namespace: named attributes holding bytes (Python's Namespace; ns.attr = value). */
MPROC_API int mproc_namespace_create(mproc_namespace_t **out);
/** Errors: -ENOENT, -EINVAL (malformed handle), MPROC_EBADHANDLE (not a Namespace). */
MPROC_API int mproc_namespace_attach(const char *handle, mproc_namespace_t **out);
MPROC_API int mproc_namespace_handle(mproc_namespace_t *ns, char *buf, size_t len);
MPROC_API int mproc_namespace_set(mproc_namespace_t *ns, const char *attribute, const void *value,
                                  size_t len);
/** Errors: -ENOENT (the attribute was never set: Python's AttributeError). */
MPROC_API int mproc_namespace_get(mproc_namespace_t *ns, const char *attribute, void **value,
                                  size_t *len);
/** 1 if the attribute is set, 0 if not. */
MPROC_API int mproc_namespace_has(mproc_namespace_t *ns, const char *attribute);
/** del ns.attribute. Errors: -ENOENT (not set). */
MPROC_API int mproc_namespace_del(mproc_namespace_t *ns, const char *attribute);
MPROC_API int mproc_namespace_destroy(mproc_namespace_t *ns);

/* ------------------------------------------------------------------------------------------------
 * Pool: Python's multiprocessing.Pool — worker processes that run tasks, with futures, map and
 * streamed iteration — and, unlike Python's, one that never hangs.
 *
 * Tasks. A task is a C function (mproc_task_fn) called in a worker with one input byte string and
 * a user_data pointer. Workers are forks of the calling process, so fn and user_data are valid
 * there: user_data points into the worker's copy of the caller's memory as it was when the worker
 * was forked (workers are forked at create, and again whenever one is replaced). A task produces
 * its output bytes with mproc_task_result_set, and fails with mproc_task_result_fail (the message
 * reaches the caller) or by returning nonzero.
 *
 * Futures. mproc_pool_submit returns an mproc_future_t: wait / ready / successful / get / cancel,
 * then destroy. Every future is resolved exactly once: with the task's output, or with an error —
 * MPROC_ETASKFAILED (the task failed; the message is the task's), MPROC_EWORKERDIED (the worker
 * running it died: signal, exit, crash; the worker is replaced and every other task goes on),
 * MPROC_ETIMEDOUT (it ran past its per-task timeout: its worker was killed and replaced),
 * MPROC_ECANCELLED (mproc_future_cancel), MPROC_ETERMINATED (the pool was terminated or destroyed
 * first), MPROC_EBROKEN (the initializer keeps failing). A future does not need its pool once
 * resolved, and mproc_pool_terminate / _destroy resolve every future before they return: a future
 * may be used and destroyed after its pool.
 *
 * Lifetime. close: no new tasks; join (after close or terminate): waits for every submitted task
 * and for the workers to exit; terminate: kills the workers now and resolves everything left with
 * MPROC_ETERMINATED. destroy terminates a pool that was not joined: it never waits for a task and
 * never leaves a worker behind.
 *
 * Callbacks (the initializer, the progress hook) and tasks must not use the pool that runs them.
 * Thread-safety: every function may be called from any thread at once, except that a handle may
 * not be destroyed while another thread uses it, and one iterator is used by one thread at a time.
 * A pool belongs to the process that created it: in a forked child its functions fail with
 * MPROC_ESTATE.
 * --------------------------------------------------------------------------------------------- */

typedef struct mproc_pool_s mproc_pool_t;
typedef struct mproc_future_s mproc_future_t;
typedef struct mproc_pool_iterator_s mproc_pool_iterator_t;
/** The output slot of one running task; valid only during that task's call, in its worker. */
typedef struct mproc_task_result_s mproc_task_result_t;

/** A byte string: an input of mproc_pool_map / _imap, or a result of mproc_pool_map. */
typedef struct mproc_bytes {
  const void *data;
  size_t len;
} mproc_bytes_t;

/** A task. Runs in a worker process, on its only thread, with input[0, len) (input is not NULL,
 * even when len is 0) and the user_data given at submission. Sets its output with
 * mproc_task_result_set (none set: empty output) and returns 0; or fails: returns nonzero, or calls
 * mproc_task_result_fail (which makes the task fail whatever it returns). The input buffer and
 * `result` are valid only until the task returns. A task that ends its process (exit, a signal, a
 * crash) fails with MPROC_EWORKERDIED. */
typedef int (*mproc_task_fn)(const void *input, size_t len, void *user_data,
                             mproc_task_result_t *result);

/** In a task: sets its output to a copy of data[0, len) (replacing an output set before). data may
 * be NULL when len is 0. Errors: -EINVAL (result NULL; data NULL with len > 0), MPROC_ESTATE
 * (result is not that of the task running on this thread: a stale or foreign pointer is rejected
 * without being read), -ENOMEM. */
MPROC_API int mproc_task_result_set(mproc_task_result_t *result, const void *data, size_t len);

/** In a task: marks it failed with `message` (copied; NULL: a generic one): its future's get
 * returns MPROC_ETASKFAILED and mproc_last_error_message() contains the message. The worker lives
 * on. Errors: -EINVAL (result NULL), MPROC_ESTATE (as mproc_task_result_set), -ENOMEM. */
MPROC_API int mproc_task_result_fail(mproc_task_result_t *result, const char *message);

/** Registers fn (with user_data) under `name`, as C++'s mproc::register_task does: a process that
 * is not a fork of this one (an MPI rank of the same program, libmproc_mpi's
 * mproc_mpi_pool_submit) finds the task by its name. Register the same names in every process,
 * before they start (mproc_mpi_run). Registering a name again replaces it. user_data is used in
 * each process as that process registered it.
 * Errors: -EINVAL (name NULL or empty, fn NULL), -ENOMEM. Since: 0.2. */
MPROC_API int mproc_register_task(const char *name, mproc_task_fn fn, void *user_data);

/* Runs in each worker when it starts, before its first task; nonzero means failure. A pool whose
 * initializer keeps failing becomes broken after a few attempts (no endless respawning): its
 * outstanding and later tasks fail with MPROC_EBROKEN. */
typedef int (*mproc_pool_initializer_fn)(void *user_data);

/** Called in the pool's dispatcher thread (a thread of the creating process) after each finished
 * task — or chunk of a map — with the number of tasks finished so far, failed ones included. Must
 * be quick, and must not call the pool's functions. */
typedef void (*mproc_pool_progress_fn)(size_t completed, void *user_data);

enum mproc_start_method {
  MPROC_START_FORK = 0,      /**< workers are forked from the pool's dispatcher thread */
  MPROC_START_FORKSERVER = 1 /**< workers are forked by a single-threaded server process */
};

/** Options of mproc_pool_create: fill them with mproc_pool_options_init, then set fields.
 *
 * struct_size makes the struct extensible: fields are only ever appended. A caller built against
 * an older header passes a smaller struct_size: the fields it does not have keep their defaults.
 * A caller built against a newer header passes a larger one: accepted if every byte past the
 * fields this library knows is zero (new options left at their "absent" value), else -EINVAL
 * naming the problem — never silently ignored. A struct_size below the first version's size
 * (that of 0.1) is -EINVAL. */
typedef struct mproc_pool_options {
  size_t struct_size;
  int processes;           /**< worker processes, >= 1; default mproc_cpu_count() */
  int start_method;        /**< an mproc_start_method; default MPROC_START_FORK */
  size_t maxtasksperchild; /**< a worker is replaced after this many tasks (a map chunk counts as
                              one); 0 (default): never */
  mproc_pool_initializer_fn initializer; /**< NULL (default): none */
  void *initializer_data;
  mproc_pool_progress_fn on_progress; /**< NULL (default): none */
  void *progress_data;
} mproc_pool_options_t;

/** Fills *options with the defaults above (struct_size = sizeof(mproc_pool_options_t)).
 * NULL is a no-op. */
MPROC_API void mproc_pool_options_init(mproc_pool_options_t *options);

/** Creates a pool and forks its workers. options may be NULL for the defaults.
 * Errors: -EINVAL (out NULL; struct_size as described above; processes < 1; an unknown start
 * method; an initializer with MPROC_START_FORKSERVER, see below), the -errno of fork / mmap /
 * eventfd. On failure *out is untouched and no worker is left running. */
MPROC_API int mproc_pool_create(const mproc_pool_options_t *options, mproc_pool_t **out);

/** The forkserver (MPROC_START_FORKSERVER): a small single-threaded process forked from this one
 * (no exec: function pointers stay valid) that forks the workers of forkserver pools, so that no
 * worker inherits a lock another thread of the caller held. Call mproc_start_forkserver at the top
 * of main, before starting threads; otherwise the first forkserver pool starts it. Workers are
 * copies of the program as it was when the server started: pointers in user_data refer to the
 * server's copy of memory. A forkserver pool takes no initializer (-EINVAL): the server was forked
 * before the initializer's user_data existed. mproc_stop_forkserver kills and reaps the server
 * and the workers it started (destroy forkserver pools first); it never hangs and is a no-op when
 * none runs. The server also ends when this process exits or dies.
 * mproc_start_forkserver errors: the -errno of socketpair / fork / pidfd_open. */
MPROC_API int mproc_start_forkserver(void);
MPROC_API int mproc_stop_forkserver(void);
/** The forkserver's pid, 0 if none runs. */
MPROC_API int mproc_forkserver_pid(void);

/** Per-call options of submit, map and imap; NULL means the defaults. Extensible as
 * mproc_pool_options_t is. */
typedef struct mproc_task_options {
  size_t struct_size;
  /* A task (a chunk of a map) running longer than this is stopped — its worker is killed and
   * replaced — and fails with MPROC_ETIMEDOUT. Counted from the moment a worker starts it.
   * MPROC_WAIT_FOREVER (default): no limit; otherwise > 0. */
  int64_t timeout_ms;
  /* imap / imap_unordered: at most this many chunks submitted and not yet taken by next, so
   * memory stays bounded whatever the input's length. 0 (default): 4 per worker, at least 16. */
  size_t window;
} mproc_task_options_t;

/** Fills *options with the defaults. NULL is a no-op. */
MPROC_API void mproc_task_options_init(mproc_task_options_t *options);

/** Submits fn(input, user_data) (Python's apply_async). The input bytes are copied: they may be
 * reused as soon as this returns. Release *out with mproc_future_destroy.
 * Errors: MPROC_EBADHANDLE, -EINVAL (fn or out NULL; input NULL with len > 0; bad options),
 * MPROC_ECLOSED (after mproc_pool_close), MPROC_ETERMINATED (after mproc_pool_terminate),
 * MPROC_ESTATE (in a forked child), -ENOMEM. On failure *out is untouched and nothing runs. */
MPROC_API int mproc_pool_submit(mproc_pool_t *pool, mproc_task_fn fn, const void *input,
                                size_t len, void *user_data, const mproc_task_options_t *options,
                                mproc_future_t **out);

/** Waits at most timeout_ms for the future to be resolved. Returns 0 once it is (whether the task
 * succeeded or not), MPROC_ETIMEDOUT if not yet. Errors: MPROC_EBADHANDLE, -EINVAL
 * (timeout_ms < -1). */
MPROC_API int mproc_future_wait(mproc_future_t *future, int64_t timeout_ms);

/** 1 if resolved, 0 if not. Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_future_ready(mproc_future_t *future);

/** 1 if resolved with an output, 0 if resolved with an error. Errors: MPROC_EBADHANDLE,
 * MPROC_ESTATE (not resolved yet, as Python's ValueError). */
MPROC_API int mproc_future_successful(mproc_future_t *future);

/** Waits at most timeout_ms, then gives the task's output: *out is a new buffer of *len bytes
 * (never NULL, even when empty) that the caller releases with mproc_buffer_free. May be called
 * again (a new copy each time). Returns the future's error if the task failed — MPROC_ETASKFAILED
 * (the task's message in mproc_last_error_message()), MPROC_EWORKERDIED, MPROC_ETIMEDOUT (the
 * per-task timeout), MPROC_ECANCELLED, MPROC_ETERMINATED, MPROC_EBROKEN — each time it is called.
 * Errors: MPROC_EBADHANDLE, -EINVAL (out or len NULL, timeout_ms < -1), MPROC_ETIMEDOUT (not
 * resolved within timeout_ms: the task goes on; mproc_future_ready tells the two timeouts apart),
 * -ENOMEM. On failure *out and *len are untouched. */
MPROC_API int mproc_future_get(mproc_future_t *future, int64_t timeout_ms, void **out,
                               size_t *len);

/** Asks the pool to cancel the task: one not started yet is dropped, a running one has its worker
 * killed (and replaced). The future then resolves with MPROC_ECANCELLED — unless the task had
 * finished first, in which case it keeps its output. Returns at once; wait to see which.
 * No effect on a resolved future. Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_future_cancel(mproc_future_t *future);

/** The callback of mproc_future_on_done. */
typedef void (*mproc_future_callback)(int code, const void *data, size_t len, void *user_data);
/** Called once when a future is resolved (Python's callback and error_callback in one): code 0
 * with the task's output in data[0, len), or the future's error code (as mproc_future_get would
 * return it) with its message in data (len bytes, NUL-terminated). data is valid only during the
 * call. It runs in the pool's dispatcher thread before waiters are woken, or at once in the
 * calling thread if the future is already resolved; it must be quick and must not wait for
 * another future of the same pool. It runs even if the future's handle was destroyed meanwhile:
 * user_data must stay valid until it has run. A later call replaces a callback that has not run.
 * Errors: MPROC_EBADHANDLE, -EINVAL (fn NULL). Since: 0.2. */
MPROC_API int mproc_future_on_done(mproc_future_t *future, mproc_future_callback fn,
                                   void *user_data);

/** Releases the handle. The task is not cancelled: it runs on, its output is dropped. NULL is a
 * no-op. Errors: MPROC_EBADHANDLE (already destroyed, or not a future). */
MPROC_API int mproc_future_destroy(mproc_future_t *future);

/** The default chunksize, as in Python: for mproc_pool_map count / (4 * processes) rounded up,
 * for mproc_pool_imap and _imap_unordered 1. (A chunksize of 0 is -EINVAL.) */
#define MPROC_CHUNKSIZE_AUTO SIZE_MAX

/** fn(inputs[i], user_data) for every i < count, in chunks of `chunksize` inputs sent to a worker
 * together, waited for (Python's map). On success *results is one buffer, released with a single
 * mproc_buffer_free(*results): an array of count mproc_bytes_t in input order whose data point into
 * the same buffer (never NULL, even for an empty output). If any task fails, returns the error of
 * the first failed input in input order (as mproc_future_get would) and *results is untouched.
 * The inputs are read while the call runs and not kept afterwards. At most the pool's imap window
 * of chunks is in flight at a time. count 0 gives an empty array (still to be freed).
 * Errors: MPROC_EBADHANDLE, -EINVAL (fn or results NULL; inputs NULL with count > 0; an input's
 * data NULL with len > 0; chunksize 0; bad options), MPROC_ECLOSED, MPROC_ETERMINATED,
 * MPROC_ESTATE (in a forked child), -ENOMEM, and the tasks' errors as above. */
MPROC_API int mproc_pool_map(mproc_pool_t *pool, mproc_task_fn fn, void *user_data,
                             const mproc_bytes_t *inputs, size_t count, size_t chunksize,
                             const mproc_task_options_t *options, mproc_bytes_t **results);

/** fn(inputs[i], user_data) for every i, streamed: take the outputs one by one with
 * mproc_pool_iterator_next — in input order (imap) or in completion order (imap_unordered).
 * Chunks are submitted as outputs are taken, at most the options' window ahead. The array
 * `inputs` is copied, but the bytes it points to are read as the iteration goes: they must stay
 * valid and unchanged until the iterator ends or is destroyed. An iterator created before
 * mproc_pool_close still submits its remaining inputs until mproc_pool_join is called; inputs not
 * submitted by then end with MPROC_ECLOSED. Release *out with mproc_pool_iterator_destroy.
 * Errors: as mproc_pool_map, with out in place of results. On failure *out is untouched. */
MPROC_API int mproc_pool_imap(mproc_pool_t *pool, mproc_task_fn fn, void *user_data,
                              const mproc_bytes_t *inputs, size_t count, size_t chunksize,
                              const mproc_task_options_t *options, mproc_pool_iterator_t **out);
MPROC_API int mproc_pool_imap_unordered(mproc_pool_t *pool, mproc_task_fn fn, void *user_data,
                                        const mproc_bytes_t *inputs, size_t count,
                                        size_t chunksize, const mproc_task_options_t *options,
                                        mproc_pool_iterator_t **out);

/** The next output, waiting at most timeout_ms: *out is a new buffer of *len bytes (never NULL)
 * released with mproc_buffer_free. Returns MPROC_EEOF once every output was taken (and again on
 * later calls). A failed task gives its error (MPROC_ETASKFAILED, MPROC_EWORKERDIED, ...) for its
 * input, and the iteration goes on with the next one, as in Python.
 * Errors: MPROC_EBADHANDLE, -EINVAL (out or len NULL, timeout_ms < -1), MPROC_ETIMEDOUT (nothing
 * ready in time; call again), -ENOMEM. On failure *out and *len are untouched. */
MPROC_API int mproc_pool_iterator_next(mproc_pool_iterator_t *it, int64_t timeout_ms, void **out,
                                       size_t *len);

/** Releases the iterator. Chunks still running finish (or fail) in the pool; their outputs are
 * dropped; inputs not yet submitted never are. NULL is a no-op.
 * Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_pool_iterator_destroy(mproc_pool_iterator_t *it);

/** No more submissions (later ones: MPROC_ECLOSED); the workers exit once the submitted tasks are
 * done. Closing twice is a no-op. Errors: MPROC_EBADHANDLE, MPROC_ESTATE (in a forked child). */
MPROC_API int mproc_pool_close(mproc_pool_t *pool);

/** Waits until every submitted task has finished and the workers have exited. Never hangs on a
 * dead worker. Errors: MPROC_EBADHANDLE, MPROC_ESTATE (neither close nor terminate was called; or
 * called from a progress callback; or in a forked child). */
MPROC_API int mproc_pool_join(mproc_pool_t *pool);

/** Kills the workers now and resolves every outstanding future (MPROC_ETERMINATED unless its task
 * had finished) before returning (bounded time). Idempotent. Errors: MPROC_EBADHANDLE,
 * MPROC_ESTATE (from a progress callback; in a forked child). */
MPROC_API int mproc_pool_terminate(mproc_pool_t *pool);

/** Terminates the pool unless it was joined (see mproc_pool_terminate), then releases the handle.
 * Futures and iterators stay valid (resolved) and are destroyed separately. NULL is a no-op.
 * Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_pool_destroy(mproc_pool_t *pool);

/** The number of worker processes the pool keeps. Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_pool_processes(mproc_pool_t *pool);

/** Tasks finished so far, failed ones included (map inputs count one each): poll it to draw a
 * progress bar. Errors: MPROC_EBADHANDLE, -EINVAL (out NULL). */
MPROC_API int mproc_pool_completed_tasks(mproc_pool_t *pool, size_t *out);

/** Copies the pids of the live workers (they change as workers are replaced) into pids[0, cap)
 * and returns how many there are, as snprintf does; pids may be NULL when cap is 0.
 * Errors: MPROC_EBADHANDLE, -EINVAL (pids NULL with cap > 0). */
MPROC_API int mproc_pool_worker_pids(mproc_pool_t *pool, int *pids, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* MPROC_H */
