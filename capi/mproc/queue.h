/** @file
 * mproc's C ABI: queues.
 * Part of <mproc.h>, the umbrella header, whose file comment gives the conventions every
 * function follows; this header may also be included on its own. */
#ifndef MPROC_QUEUE_H
#define MPROC_QUEUE_H

#include "mproc/base.h"

#ifdef __cplusplus
extern "C" {
#endif

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

/** The first ring's size of a queue bounded only by memory (capacity_bytes 0, the default): when it
 * fills, larger rings are chained, and messages above a quarter of it travel in their own region,
 * so any count and any size fit up to memory. A non-zero capacity_bytes makes one fixed
 * ring instead, in [MPROC_QUEUE_MIN_CAPACITY, MPROC_QUEUE_MAX_CAPACITY] bytes; each message then
 * takes 8 bytes plus its length rounded up to 8, and a put into a full ring waits for room. */
#define MPROC_QUEUE_DEFAULT_CAPACITY (1024 * 1024)
#define MPROC_QUEUE_MIN_CAPACITY 64
#define MPROC_QUEUE_MAX_CAPACITY (1024 * 1024 * 1024)
/** @deprecated Use MPROC_HANDLE_MAX (the same value), which holds a queue handle. */
#define MPROC_QUEUE_HANDLE_MAX MPROC_HANDLE_MAX

/** Options for mproc_queue_create. Set struct_size = sizeof(mproc_queue_options_t) (or call
 * mproc_queue_options_init) so that fields added later are recognised as absent. */
typedef struct mproc_queue_options {
  size_t struct_size;
  int kind;               /**< an mproc_queue_kind */
  int64_t maxsize;        /**< messages; 0 = no limit; negative is -EINVAL */
  int64_t capacity_bytes; /**< 0 = bounded only by memory; else one fixed ring of this size */
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
 * than MPROC_HANDLE_MAX. Errors: MPROC_EBADHANDLE, MPROC_ECLOSED, -EINVAL (buf NULL with
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
/** The longest message the queue accepts, in bytes (INT_MAX when it is larger: a queue bounded only
 * by memory). Errors: MPROC_EBADHANDLE, MPROC_ECLOSED. */
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

#ifdef __cplusplus
}
#endif

#endif /* MPROC_QUEUE_H */
