/** @file
 * mproc's C ABI: the Pool, its futures and iterators, registered tasks, the forkserver.
 * Part of <mproc.h>, the umbrella header, whose file comment gives the conventions every
 * function follows; this header may also be included on its own. */
#ifndef MPROC_POOL_H
#define MPROC_POOL_H

#include "mproc/base.h"

#ifdef __cplusplus
extern "C" {
#endif

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
  /** NULL (default): none. Since 0.2. A plain function each worker runs when it starts, before
   * its first task (as initializer, but with no data and no result); unlike initializer it is
   * allowed with MPROC_START_FORKSERVER, whose workers run the server's copy of it: it must be
   * a function of a library loaded before the server started. Setting both initializer and
   * plain_initializer is -EINVAL. A host language uses it to make a worker forked by C code fit
   * to run that language (CPython: PyOS_AfterFork_Child, before any Python code runs). */
  void (*plain_initializer)(void);
} mproc_pool_options_t;

/** Fills *options with the defaults above (struct_size = sizeof(mproc_pool_options_t)).
 * NULL is a no-op. */
MPROC_API void mproc_pool_options_init(mproc_pool_options_t *options);

/** Creates a pool and forks its workers. options may be NULL for the defaults.
 * Errors: -EINVAL (out NULL; struct_size as described above; processes < 1; an unknown start
 * method; an initializer with MPROC_START_FORKSERVER, see below; both initializer and
 * plain_initializer), the -errno of fork / mmap /
 * eventfd. On failure *out is untouched and no worker is left running. */
MPROC_API int mproc_pool_create(const mproc_pool_options_t *options, mproc_pool_t **out);

/** The forkserver (MPROC_START_FORKSERVER): a small single-threaded process forked from this one
 * (no exec: function pointers stay valid) that forks the workers of forkserver pools, so that no
 * worker inherits a lock another thread of the caller held. Call mproc_forkserver_start at the top
 * of main, before starting threads; otherwise the first forkserver pool starts it. Workers are
 * copies of the program as it was when the server started: pointers in user_data refer to the
 * server's copy of memory. A forkserver pool takes no initializer (-EINVAL): the server was forked
 * before the initializer's user_data existed; a plain_initializer is fine. mproc_forkserver_stop kills and reaps the server
 * and the workers it started (destroy forkserver pools first); it never hangs and is a no-op when
 * none runs. The server also ends when this process exits or dies.
 * mproc_forkserver_start errors: the -errno of socketpair / fork / pidfd_open. */
MPROC_API int mproc_forkserver_start(void);
MPROC_API int mproc_forkserver_stop(void);
/** The forkserver's pid, 0 if none runs. */
MPROC_API int mproc_forkserver_pid(void);
/** @deprecated Old names of mproc_forkserver_start() and mproc_forkserver_stop() (renamed in 0.2
 * to the mproc_<noun>_<verb> pattern); they call them. */
MPROC_API int mproc_start_forkserver(void) MPROC_DEPRECATED("use mproc_forkserver_start");
MPROC_API int mproc_stop_forkserver(void) MPROC_DEPRECATED("use mproc_forkserver_stop");

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

#endif /* MPROC_POOL_H */
