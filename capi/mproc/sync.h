/** @file
 * mproc's C ABI: synchronisation (Lock, RLock, Semaphore, Event, Condition, Barrier).
 * Part of <mproc.h>, the umbrella header, whose file comment gives the conventions every
 * function follows; this header may also be included on its own. */
#ifndef MPROC_SYNC_H
#define MPROC_SYNC_H

#include "mproc/base.h"

#ifdef __cplusplus
extern "C" {
#endif

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
MPROC_API int mproc_semaphore_value(mproc_semaphore_t *semaphore);
/** @deprecated The old name of mproc_semaphore_value() (getters are named mproc_<noun>_<property>). */
MPROC_API int mproc_semaphore_get_value(mproc_semaphore_t *semaphore)
    MPROC_DEPRECATED("use mproc_semaphore_value");

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
 * MPROC_HANDLE_MAX. An object made by the plain create has a handle too (its state is a cell of
 * the process's sync arena: the first such handle starts the process's descriptor sharer, a
 * thread); it is valid while some process holds the object and the process that made the handle
 * runs. Errors: MPROC_EBADHANDLE, -EINVAL (buf NULL with len > 0), -EMFILE and the other errors
 * of sharing the arena's descriptor. */
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

#ifdef __cplusplus
}
#endif

#endif /* MPROC_SYNC_H */
