/* Built against the installed package (pkg-config mproc-mpi): a task by name through a one-rank
 * pool (no mpirun). */
#include <mproc_mpi.h>

#include <stdio.h>
#include <string.h>

static int echo(const void *input, size_t len, void *user_data, mproc_task_result_t *result) {
  (void)user_data;
  return mproc_task_result_set(result, input, len);
}

static int program(int argc, char **argv, void *user_data) {
  (void)argc;
  (void)argv;
  (void)user_data;
  mproc_mpi_pool_t *pool = NULL;
  mproc_mpi_future_t *f = NULL;
  void *out = NULL;
  size_t len = 0;
  if (mproc_mpi_pool_create(NULL, &pool) != 0) return 1;
  if (mproc_mpi_pool_submit(pool, "echo", "ping", 4, NULL, &f) != 0) return 2;
  if (mproc_mpi_future_get(f, 30000, &out, &len) != 0 || len != 4 || memcmp(out, "ping", 4) != 0)
    return 3;
  mproc_buffer_free(out);
  mproc_mpi_future_destroy(f);
  mproc_mpi_pool_close(pool);
  mproc_mpi_pool_join(pool);
  mproc_mpi_pool_destroy(pool);
  return 0;
}

int main(int argc, char **argv) {
  int code = -1;
  if (mproc_register_task("echo", echo, NULL) != 0) return 10;
  if (mproc_mpi_run(argc, argv, program, NULL, NULL, &code) != 0) return 11;
  if (code == 0) printf("mpi C consumer: ok\n");
  return code;
}
