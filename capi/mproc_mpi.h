/* mproc_mpi.h: the C ABI of libmproc_mpi — the same Pool across hosts, on MPI (Open MPI).
 *
 * Link with -lmproc_mpi -lmproc (pkg-config mproc-mpi). Errors are those of mproc.h: functions
 * return 0 (or a count) on success and a negative code on failure, with the detail in
 * mproc_last_error_message(); no C++ exception crosses this ABI.
 *
 * Use. Register every task by name with mproc_register_task (mproc.h) in main, on every rank,
 * then call mproc_mpi_run: rank 0 runs `program`, every other rank serves tasks through a local
 * pool of forked workers until rank 0's program returns. Launch with `mpirun -n N ./program`;
 * without mpirun the program runs with a one-rank pool of local workers (no MPI at all).
 *
 * Tasks: mproc_task_fn (mproc.h), found on each rank by the name it was registered under; the
 * input bytes travel to the rank, the output bytes back. Futures and iterators behave as
 * mproc.h's (mproc_future_*, mproc_pool_iterator_*), with the same error codes: MPROC_ETASKFAILED
 * with the task's message, MPROC_EWORKERDIED (a worker on some host died running it: it is
 * replaced and every other task goes on), MPROC_ETIMEDOUT (the per-task timeout, enforced by the
 * rank running it and by rank 0 even if that rank stops answering), MPROC_ETERMINATED. A whole
 * rank that dies ends the job: Open MPI aborts every rank.
 *
 * Thread-safety: as mproc.h's pool. Several pools may be alive at once (since 0.3), only
 * on rank 0 (MPROC_ESTATE on the others), only inside mproc_mpi_run's program (or without MPI).
 * Since: 0.2 for everything in this header. */
#ifndef MPROC_MPI_H
#define MPROC_MPI_H

#include <stddef.h>
#include <stdint.h>

#include "mproc.h"

#if defined(MPROC_MPI_BUILDING_LIBRARY)
#define MPROC_MPI_C_API __attribute__((visibility("default")))
#else
#define MPROC_MPI_C_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mproc_mpi_pool_s mproc_mpi_pool_t;
typedef struct mproc_mpi_future_s mproc_mpi_future_t;
typedef struct mproc_mpi_iterator_s mproc_mpi_iterator_t;

/* Rank 0's program: returns its exit code. */
typedef int (*mproc_mpi_program_fn)(int argc, char **argv, void *user_data);

/* Options of mproc_mpi_run; extensible as mproc_pool_options_t is (struct_size first, zero tail
 * accepted, -EINVAL otherwise). */
typedef struct mproc_mpi_run_options {
  size_t struct_size;
  int processes; /* workers of each serving rank; 0 (default): its host's cpu_count. The
                    environment variable MPROC_MPI_PROCESSES, when set, wins. */
  int64_t shutdown_timeout_ms; /* since 0.3: how long rank 0, once the program returned, waits
                                  for every rank's goodbye before it names the silent ones and
                                  aborts the job (MPI_Abort); 0 (default): 60 000 */
} mproc_mpi_run_options_t;

/* Fills *options with the defaults. NULL is a no-op. */
MPROC_MPI_C_API void mproc_mpi_run_options_init(mproc_mpi_run_options_t *options);

/* Starts the forkserver, then MPI (when launched by mpirun); rank 0 calls program(argc, argv,
 * user_data) and stores its result in *exit_code; other ranks serve, and store 0. Returns once
 * every rank has left MPI. Call once, from main, before starting threads.
 * Errors: -EINVAL (program or exit_code NULL; bad options), MPROC_ESTATE (already running),
 * MPROC_EINTERNAL (MPI failed to start; the message is MPI's). */
MPROC_MPI_C_API int mproc_mpi_run(int argc, char **argv, mproc_mpi_program_fn program,
                                  void *user_data, const mproc_mpi_run_options_t *options,
                                  int *exit_code);

/* This process's rank, and the number of ranks (0 and 1 without MPI). Never fail. */
MPROC_MPI_C_API int mproc_mpi_rank(void);
MPROC_MPI_C_API int mproc_mpi_size(void);

/* Options of mproc_mpi_pool_create; extensible as above. */
typedef struct mproc_mpi_pool_options {
  size_t struct_size;
  int local_processes;     /* workers on rank 0: -1 (default): none when other ranks serve, its
                              cpu_count when alone; otherwise this many */
  size_t tasks_per_worker; /* at most this many tasks per worker of a rank in flight; default 32,
                              >= 1 */
  mproc_pool_progress_fn on_progress; /* NULL (default): none; runs in the pool's MPI thread */
  void *progress_data;
  int64_t rank_timeout_ms; /* since 0.3: the longest rank 0 waits for a serving rank (its answer
                              to the pool's start, close or end; any sign of life while it has
                              tasks: a rank silent that long is lost, its tasks fail with
                              MPROC_EWORKERDIED); 0 (default): 60 000 */
} mproc_mpi_pool_options_t;

MPROC_MPI_C_API void mproc_mpi_pool_options_init(mproc_mpi_pool_options_t *options);

/* Starts a local pool on every serving rank (and on rank 0 if asked) and waits until they run.
 * Errors: -EINVAL (out NULL; bad options), MPROC_ESTATE (not rank 0), a rank's error in starting
 * its pool (the message names the rank), MPROC_ETIMEDOUT (a rank did not answer within the rank
 * timeout). On failure *out is untouched. */
MPROC_MPI_C_API int mproc_mpi_pool_create(const mproc_mpi_pool_options_t *options,
                                          mproc_mpi_pool_t **out);

/* Submits the task registered under `task` with input[0, len) (copied). Release *out with
 * mproc_mpi_future_destroy. Errors: MPROC_EBADHANDLE, -EINVAL (task or out NULL; input NULL with
 * len > 0; no task of that name; bad options), MPROC_ECLOSED, MPROC_ETERMINATED, -ENOMEM. */
MPROC_MPI_C_API int mproc_mpi_pool_submit(mproc_mpi_pool_t *pool, const char *task,
                                          const void *input, size_t len,
                                          const mproc_task_options_t *options,
                                          mproc_mpi_future_t **out);

/* As mproc_future_wait / _ready / _get / _destroy (mproc.h). */
MPROC_MPI_C_API int mproc_mpi_future_wait(mproc_mpi_future_t *future, int64_t timeout_ms);
MPROC_MPI_C_API int mproc_mpi_future_ready(mproc_mpi_future_t *future);
MPROC_MPI_C_API int mproc_mpi_future_get(mproc_mpi_future_t *future, int64_t timeout_ms,
                                         void **out, size_t *len);
MPROC_MPI_C_API int mproc_mpi_future_destroy(mproc_mpi_future_t *future);

/* As mproc_pool_map (mproc.h) for the task registered under `task`: *results is one buffer, freed
 * with mproc_buffer_free. chunksize MPROC_CHUNKSIZE_AUTO: count / (4 * workers of every rank),
 * rounded up, with at least 32 chunks and at most 16 KiB of input per chunk (since 0.3).
 * Errors: as mproc_mpi_pool_submit, with results for out; chunksize 0 is -EINVAL. */
MPROC_MPI_C_API int mproc_mpi_pool_map(mproc_mpi_pool_t *pool, const char *task,
                                       const mproc_bytes_t *inputs, size_t count,
                                       size_t chunksize, const mproc_task_options_t *options,
                                       mproc_bytes_t **results);

/* As mproc_pool_imap / _imap_unordered (mproc.h): the inputs' bytes must stay valid until the
 * iterator ends or is destroyed. */
MPROC_MPI_C_API int mproc_mpi_pool_imap(mproc_mpi_pool_t *pool, const char *task,
                                        const mproc_bytes_t *inputs, size_t count,
                                        size_t chunksize, const mproc_task_options_t *options,
                                        mproc_mpi_iterator_t **out);
MPROC_MPI_C_API int mproc_mpi_pool_imap_unordered(mproc_mpi_pool_t *pool, const char *task,
                                                  const mproc_bytes_t *inputs, size_t count,
                                                  size_t chunksize,
                                                  const mproc_task_options_t *options,
                                                  mproc_mpi_iterator_t **out);
/* As mproc_pool_iterator_next / _destroy (MPROC_EEOF at the end). */
MPROC_MPI_C_API int mproc_mpi_iterator_next(mproc_mpi_iterator_t *it, int64_t timeout_ms,
                                            void **out, size_t *len);
MPROC_MPI_C_API int mproc_mpi_iterator_destroy(mproc_mpi_iterator_t *it);

/* As mproc_pool_close / _join / _terminate / _destroy / _processes / _completed_tasks. join waits
 * for every task, then for every rank's local pool to end. */
MPROC_MPI_C_API int mproc_mpi_pool_close(mproc_mpi_pool_t *pool);
MPROC_MPI_C_API int mproc_mpi_pool_join(mproc_mpi_pool_t *pool);
MPROC_MPI_C_API int mproc_mpi_pool_terminate(mproc_mpi_pool_t *pool);
MPROC_MPI_C_API int mproc_mpi_pool_destroy(mproc_mpi_pool_t *pool);
/* Workers over every rank. Errors: MPROC_EBADHANDLE. */
MPROC_MPI_C_API int mproc_mpi_pool_processes(mproc_mpi_pool_t *pool);
MPROC_MPI_C_API int mproc_mpi_pool_completed_tasks(mproc_mpi_pool_t *pool, size_t *out);

#ifdef __cplusplus
}
#endif

#endif /* MPROC_MPI_H */
