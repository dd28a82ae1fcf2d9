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

/* A new, unlocked, non-recursive lock. Errors: -EINVAL (out NULL), -ENOMEM. */
MPROC_API int mproc_lock_create(mproc_lock_t **out);

/* Acquires the lock, waiting at most timeout_ms. Returns 0 once acquired; MPROC_EOWNERDEAD once
 * acquired from a holder that died (the caller holds the lock); MPROC_ETIMEDOUT if not acquired.
 * Errors: MPROC_EBADHANDLE, -EINVAL (timeout_ms < -1), -EDEADLK (the calling thread already holds
 * it; with timeout_ms 0 the result is MPROC_ETIMEDOUT instead). */
MPROC_API int mproc_lock_acquire(mproc_lock_t *lock, int64_t timeout_ms);

/* Errors: MPROC_EBADHANDLE, MPROC_ESTATE (the calling thread does not hold the lock). */
MPROC_API int mproc_lock_release(mproc_lock_t *lock);

/* Destroys this process's handle; the lock itself lives on in the other processes that have it.
 * When this was the process's last reference to the lock (a condition created over it keeps one)
 * and the calling thread holds it, it is released first. NULL is a no-op.
 * Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_lock_destroy(mproc_lock_t *lock);

/* A recursive lock: the holding thread may acquire it again (returns 0 at once) and must release
 * it as many times. Same functions, errors and owner-death rule as the lock above (after a death,
 * the recovered lock is held once, whatever depth the dead holder had). A release by a thread
 * that does not hold it is MPROC_ESTATE. */
MPROC_API int mproc_rlock_create(mproc_rlock_t **out);
MPROC_API int mproc_rlock_acquire(mproc_rlock_t *rlock, int64_t timeout_ms);
MPROC_API int mproc_rlock_release(mproc_rlock_t *rlock);
MPROC_API int mproc_rlock_destroy(mproc_rlock_t *rlock);

/* A semaphore with the initial value `value` (0 .. INT32_MAX). With bounded != 0 it is a
 * BoundedSemaphore: it may never be released above `value`. Errors: -EINVAL (value < 0, out
 * NULL), -ENOMEM. A semaphore has no owner: a unit taken by a process that dies is lost. */
MPROC_API int mproc_semaphore_create(int value, int bounded, mproc_semaphore_t **out);

/* Decrements the value, waiting at most timeout_ms while it is 0. Returns 0 or MPROC_ETIMEDOUT.
 * Errors: MPROC_EBADHANDLE, -EINVAL (timeout_ms < -1). */
MPROC_API int mproc_semaphore_acquire(mproc_semaphore_t *semaphore, int64_t timeout_ms);

/* Increments the value and wakes one waiter. Errors: MPROC_EBADHANDLE, MPROC_ESTATE (a bounded
 * semaphore already at its initial value; the value is unchanged), -EOVERFLOW (at INT32_MAX). */
MPROC_API int mproc_semaphore_release(mproc_semaphore_t *semaphore);

/* The current value (>= 0). Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_semaphore_get_value(mproc_semaphore_t *semaphore);

/* NULL is a no-op. Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_semaphore_destroy(mproc_semaphore_t *semaphore);

/* A new, clear event. Errors: -EINVAL (out NULL), -ENOMEM. */
MPROC_API int mproc_event_create(mproc_event_t **out);
/* Sets the flag and wakes every waiter. Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_event_set(mproc_event_t *event);
/* Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_event_clear(mproc_event_t *event);
/* 1 if set, 0 if not. Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_event_is_set(mproc_event_t *event);
/* Waits at most timeout_ms for the flag. Returns 0 if it was set (also if set and cleared again
 * while this caller slept), MPROC_ETIMEDOUT if not. Errors: MPROC_EBADHANDLE, -EINVAL. */
MPROC_API int mproc_event_wait(mproc_event_t *event, int64_t timeout_ms);
/* NULL is a no-op. Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_event_destroy(mproc_event_t *event);

/* A condition variable over a new recursive lock (create), over `lock`, or over `rlock`. The
 * condition keeps its own reference to the lock: destroying the lock's handle afterwards is safe.
 * Errors: MPROC_EBADHANDLE (lock / rlock not a live handle of that type), -EINVAL (out NULL),
 * -ENOMEM. */
MPROC_API int mproc_condition_create(mproc_condition_t **out);
MPROC_API int mproc_condition_create_with_lock(mproc_lock_t *lock, mproc_condition_t **out);
MPROC_API int mproc_condition_create_with_rlock(mproc_rlock_t *rlock, mproc_condition_t **out);

/* Acquire and release the condition's lock, with the results of mproc_lock_acquire /
 * mproc_lock_release (MPROC_EOWNERDEAD included). */
MPROC_API int mproc_condition_acquire(mproc_condition_t *condition, int64_t timeout_ms);
MPROC_API int mproc_condition_release(mproc_condition_t *condition);

/* With the lock held: releases it completely, waits at most timeout_ms to be notified, and
 * re-acquires it (at the same recursion depth; the re-acquisition itself is not limited by
 * timeout_ms). Returns 0 if notified, MPROC_ETIMEDOUT if not, and MPROC_EOWNERDEAD if the lock had
 * to be recovered from a holder that died (notified or not: treat it as a wake-up and check).
 * The lock is held again in all three cases. Errors: MPROC_EBADHANDLE, MPROC_ESTATE (the calling
 * thread does not hold the lock), -EINVAL. */
MPROC_API int mproc_condition_wait(mproc_condition_t *condition, int64_t timeout_ms);

/* A predicate over the caller's data, called with the lock held; nonzero means true. */
typedef int (*mproc_predicate_fn)(void *user_data);

/* With the lock held: waits until predicate(user_data) is nonzero, at most timeout_ms in total.
 * Returns 0 once it is, MPROC_ETIMEDOUT if it was still 0 at the end (lock held in both cases).
 * Errors: MPROC_EBADHANDLE, MPROC_ESTATE (lock not held), -EINVAL (predicate NULL, timeout). */
MPROC_API int mproc_condition_wait_for(mproc_condition_t *condition, mproc_predicate_fn predicate,
                                       void *user_data, int64_t timeout_ms);

/* With the lock held: wakes up to n of the current waiters (notify_all: all of them). n <= 0 does
 * nothing. Errors: MPROC_EBADHANDLE, MPROC_ESTATE (the calling thread does not hold the lock). */
MPROC_API int mproc_condition_notify(mproc_condition_t *condition, int n);
MPROC_API int mproc_condition_notify_all(mproc_condition_t *condition);

/* NULL is a no-op. Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_condition_destroy(mproc_condition_t *condition);

/* Runs once per round, in the process (and on the thread) that arrives last, before the others
 * are released. user_data is that process's copy of the pointer given to create. */
typedef void (*mproc_barrier_action_fn)(void *user_data);

/* A barrier for `parties` callers (1 .. 32767). action may be NULL. timeout_ms is the default
 * timeout of mproc_barrier_wait (MPROC_WAIT_FOREVER: none). Errors: -EINVAL (parties out of
 * range, out NULL, timeout_ms < -1), -ENOMEM. */
MPROC_API int mproc_barrier_create(int parties, mproc_barrier_action_fn action, void *user_data,
                                   int64_t timeout_ms, mproc_barrier_t **out);

/* Waits until `parties` callers have arrived and returns this caller's arrival index
 * (0 .. parties - 1). timeout_ms: MPROC_WAIT_FOREVER uses the barrier's default timeout. Returns
 * MPROC_EBROKEN if the barrier is or becomes broken: abort, reset while waiting, or any waiter's
 * timeout, which breaks it for every waiter (including the one that timed out) until reset.
 * Errors: MPROC_EBADHANDLE, -EINVAL (timeout_ms < -1). */
MPROC_API int mproc_barrier_wait(mproc_barrier_t *barrier, int64_t timeout_ms);

/* Breaks the barrier: current and later waiters get MPROC_EBROKEN until reset.
 * Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_barrier_abort(mproc_barrier_t *barrier);
/* Back to empty and unbroken; callers waiting now get MPROC_EBROKEN. Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_barrier_reset(mproc_barrier_t *barrier);
/* The number of parties, the number of callers waiting now (0 while broken), and 1 if broken or 0
 * if not. Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_barrier_parties(mproc_barrier_t *barrier);
MPROC_API int mproc_barrier_n_waiting(mproc_barrier_t *barrier);
MPROC_API int mproc_barrier_broken(mproc_barrier_t *barrier);
/* NULL is a no-op. Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_barrier_destroy(mproc_barrier_t *barrier);

/* ------------------------------------------------------------------------------------------------
 * Buffers: memory that the library allocates and hands to the caller (a received message).
 * --------------------------------------------------------------------------------------------- */

/* Releases a buffer returned by the library (mproc_connection_recv_bytes and the queues' receive
 * functions). NULL is a no-op. Never fails. Releasing anything else is undefined behaviour. */
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

/* Creates a pipe: two connected ends in *a and *b. duplex != 0: both ends send and receive.
 * duplex == 0: *a only receives and *b only sends (using an end the other way is MPROC_ESTATE).
 * Release each end with mproc_connection_destroy.
 * Errors: -EINVAL (a or b NULL, or a == b), -EMFILE / -ENFILE (no descriptors left). On failure
 * *a and *b are untouched. */
MPROC_API int mproc_pipe_create(int duplex, mproc_connection_t **a, mproc_connection_t **b);

/* Sends one message of len bytes (len may be 0; data may be NULL when len is 0). Blocks while the
 * peer's buffer is full. The bytes are copied: data may be reused as soon as this returns.
 * Errors: MPROC_EBADHANDLE, MPROC_ECLOSED, -EINVAL (data NULL with len > 0), MPROC_ESTATE (a
 * receive-only end), MPROC_ETOOBIG (len above the end's maximum; nothing is sent, the connection
 * stays usable), -EPIPE (the peer end is closed). */
MPROC_API int mproc_connection_send_bytes(mproc_connection_t *c, const void *data, size_t len);

/* Receives the next message, waiting at most timeout_ms (MPROC_WAIT_FOREVER: no limit; 0: only
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

/* Receives the next message into buf[0 .. cap), waiting at most timeout_ms, and stores its size
 * in *len. If the message is longer than cap, returns MPROC_ETOOBIG with the size needed in *len
 * and keeps the message: a later call with a large enough buffer (or mproc_connection_recv_bytes)
 * receives it; buf's contents are then unspecified. buf may be NULL when cap is 0 (only an empty
 * message fits). Errors: as mproc_connection_recv_bytes, plus -EINVAL (len NULL, or buf NULL with
 * cap > 0) and MPROC_ETOOBIG as described. */
MPROC_API int mproc_connection_recv_bytes_into(mproc_connection_t *c, void *buf, size_t cap,
                                               size_t *len, int64_t timeout_ms);

/* 1 if a message (or end-of-file) is ready to be received, waiting at most timeout_ms for one;
 * 0 if not. Errors: MPROC_EBADHANDLE, MPROC_ECLOSED, MPROC_ESTATE (a send-only end), -EINVAL
 * (timeout_ms < -1). */
MPROC_API int mproc_connection_poll(mproc_connection_t *c, int64_t timeout_ms);

/* The end's socket descriptor (>= 0), owned by the connection, for poll/epoll: readable when a
 * message or end-of-file is waiting. Errors: MPROC_EBADHANDLE, MPROC_ECLOSED. */
MPROC_API int mproc_connection_fileno(mproc_connection_t *c);

/* The largest message this end sends or accepts (default 4 GiB). An incoming message above it is
 * MPROC_ETOOBIG and ends this end's receiving. Errors: MPROC_EBADHANDLE, MPROC_ECLOSED, -EINVAL
 * (max_size 0; out NULL). */
MPROC_API int mproc_connection_set_max_message_size(mproc_connection_t *c, uint64_t max_size);
MPROC_API int mproc_connection_get_max_message_size(mproc_connection_t *c, uint64_t *out);

/* Closes the end (its descriptor) and drops any kept message; the handle stays valid and every
 * other call on it then fails with MPROC_ECLOSED. Closing twice is a no-op.
 * Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_connection_close(mproc_connection_t *c);

/* Closes the end if needed and releases the handle. NULL is a no-op (returns 0).
 * Errors: MPROC_EBADHANDLE (already destroyed, or not a connection handle). */
MPROC_API int mproc_connection_destroy(mproc_connection_t *c);

/* One entry of mproc_wait: a connection to watch, or (when connection is NULL) a descriptor such
 * as mproc_process_sentinel()'s. The layout is fixed (like struct pollfd). */
typedef struct mproc_wait_item {
  mproc_connection_t *connection; /* in: a connection, or NULL to watch fd */
  int fd;                         /* in: when connection is NULL, a descriptor to watch */
  int ready;                      /* out: 1 if ready, 0 if not */
} mproc_wait_item_t;

/* Python's multiprocessing.connection.wait: waits until at least one item is ready or timeout_ms
 * passes, sets each item's ready flag and returns how many are ready (0 after a timeout). A
 * connection is ready when a message or end-of-file can be received, a process sentinel when the
 * process has ended, a descriptor when it is readable. Uses poll(2): any number of items and any
 * descriptor value. count may be 0 (items may then be NULL) to sleep for timeout_ms.
 * Errors: -EINVAL (items NULL with count > 0; count 0 with MPROC_WAIT_FOREVER; timeout_ms < -1;
 * count above INT_MAX), MPROC_EBADHANDLE (an item's connection is not a live handle),
 * MPROC_ECLOSED (a closed connection), MPROC_ESTATE (a send-only end), -EBADF (a negative or
 * closed descriptor). On failure the ready flags are unspecified. */
MPROC_API int mproc_wait(mproc_wait_item_t *items, size_t count, int64_t timeout_ms);

#ifdef __cplusplus
}
#endif

#endif /* MPROC_H */
