/* The C ABI of libmproc_mpi under `mpirun -n 3` (and without mpirun): tasks registered by name,
 * submit / map / imap through the ranks, errors from remote ranks, and bad input — each bad
 * argument gets its error code and a message, never a crash or a hang. */
#include <mproc_mpi.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                          \
  do {                                                                       \
    ++checks;                                                                \
    if (!(cond)) {                                                           \
      ++failures;                                                            \
      fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, \
              __LINE__, #cond, mproc_last_error_message());                  \
    }                                                                        \
  } while (0)

/* Upper-cases its input. */
static int upper(const void *input, size_t len, void *user_data, mproc_task_result_t *result) {
  (void)user_data;
  char buf[256];
  if (len > sizeof buf) return 1;
  for (size_t i = 0; i < len; ++i) {
    char c = ((const char *)input)[i];
    buf[i] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
  }
  return mproc_task_result_set(result, buf, len);
}

static int refuse(const void *input, size_t len, void *user_data, mproc_task_result_t *result) {
  (void)input;
  (void)len;
  (void)user_data;
  return mproc_task_result_fail(result, "refused on a remote rank");
}

static int die(const void *input, size_t len, void *user_data, mproc_task_result_t *result) {
  (void)input;
  (void)len;
  (void)user_data;
  (void)result;
  raise(SIGKILL);
  return 0;
}

static int program(int argc, char **argv, void *user_data) {
  (void)argc;
  (void)argv;
  (void)user_data;
  mproc_mpi_pool_t *pool = NULL;

  /* Bad input before a pool exists. */
  CHECK(mproc_mpi_pool_create(NULL, NULL) == -22);
  mproc_mpi_pool_options_t bad;
  mproc_mpi_pool_options_init(&bad);
  bad.tasks_per_worker = 0;
  CHECK(mproc_mpi_pool_create(&bad, &pool) == -22 && pool == NULL);
  CHECK(strstr(mproc_last_error_message(), "tasks_per_worker") != NULL);
  mproc_mpi_pool_options_init(&bad);
  bad.struct_size = 3;
  CHECK(mproc_mpi_pool_create(&bad, &pool) == -22);
  CHECK(mproc_mpi_pool_submit(NULL, "upper", "x", 1, NULL, NULL) == MPROC_EBADHANDLE);
  CHECK(mproc_mpi_pool_submit((mproc_mpi_pool_t *)&bad, "upper", "x", 1, NULL, NULL) ==
        MPROC_EBADHANDLE);
  CHECK(mproc_mpi_pool_close(NULL) == MPROC_EBADHANDLE);
  CHECK(mproc_mpi_pool_destroy(NULL) == 0);
  CHECK(mproc_mpi_future_destroy(NULL) == 0);
  CHECK(mproc_mpi_iterator_destroy(NULL) == 0);
  CHECK(mproc_mpi_future_ready((mproc_mpi_future_t *)&bad) == MPROC_EBADHANDLE);

  CHECK(mproc_mpi_pool_create(NULL, &pool) == 0);
  CHECK(mproc_mpi_pool_processes(pool) >= 1);
  {
    /* A second pool beside the first. */
    mproc_mpi_pool_t *second = NULL;
    CHECK(mproc_mpi_pool_create(NULL, &second) == 0 && second != NULL);
    mproc_mpi_future_t *g = NULL;
    CHECK(mproc_mpi_pool_submit(second, "upper", "two", 3, NULL, &g) == 0);
    void *two = NULL;
    size_t two_len = 0;
    CHECK(mproc_mpi_future_get(g, 30000, &two, &two_len) == 0);
    CHECK(two_len == 3 && memcmp(two, "TWO", 3) == 0);
    mproc_buffer_free(two);
    CHECK(mproc_mpi_future_destroy(g) == 0);
    CHECK(mproc_mpi_pool_destroy(second) == 0);
  }

  /* Submit, get. */
  mproc_mpi_future_t *f = NULL;
  CHECK(mproc_mpi_pool_submit(pool, "upper", "hello", 5, NULL, &f) == 0);
  void *out = NULL;
  size_t len = 0;
  CHECK(mproc_mpi_future_get(f, 30000, &out, &len) == 0);
  CHECK(len == 5 && memcmp(out, "HELLO", 5) == 0);
  mproc_buffer_free(out);
  CHECK(mproc_mpi_future_get(f, 30000, NULL, &len) == -22);
  CHECK(mproc_mpi_future_get(f, -5, &out, &len) == -22);
  CHECK(mproc_mpi_future_ready(f) == 1);
  CHECK(mproc_mpi_future_destroy(f) == 0);
  /* A destroyed handle, and one handle passed as another kind: MPROC_EBADHANDLE, no crash. */
  CHECK(mproc_mpi_future_ready(f) == MPROC_EBADHANDLE);
  CHECK(mproc_mpi_future_destroy(f) == MPROC_EBADHANDLE);
  CHECK(mproc_mpi_future_ready((mproc_mpi_future_t *)pool) == MPROC_EBADHANDLE);
  CHECK(mproc_mpi_pool_processes((mproc_mpi_pool_t *)f) == MPROC_EBADHANDLE);
  CHECK(strstr(mproc_last_error_message(), "mproc_mpi_pool_processes: not a live") != NULL);
  CHECK(mproc_mpi_future_destroy(f) == MPROC_EBADHANDLE); /* a stale handle */

  /* Bad submissions. */
  CHECK(mproc_mpi_pool_submit(pool, NULL, "x", 1, NULL, &f) == -22);
  CHECK(mproc_mpi_pool_submit(pool, "upper", NULL, 3, NULL, &f) == -22);
  CHECK(mproc_mpi_pool_submit(pool, "upper", "x", 1, NULL, NULL) == -22);
  CHECK(mproc_mpi_pool_submit(pool, "no such task", "x", 1, NULL, &f) == -22);
  CHECK(strstr(mproc_last_error_message(), "no such task") != NULL);
  mproc_task_options_t topts;
  mproc_task_options_init(&topts);
  topts.timeout_ms = 0;
  CHECK(mproc_mpi_pool_submit(pool, "upper", "x", 1, &topts, &f) == -22);

  /* A failure on a remote rank, with its message; a worker killed there. */
  CHECK(mproc_mpi_pool_submit(pool, "refuse", "", 0, NULL, &f) == 0);
  CHECK(mproc_mpi_future_get(f, 30000, &out, &len) == MPROC_ETASKFAILED);
  CHECK(strstr(mproc_last_error_message(), "refused on a remote rank") != NULL);
  mproc_mpi_future_destroy(f);
  CHECK(mproc_mpi_pool_submit(pool, "die", "", 0, NULL, &f) == 0);
  CHECK(mproc_mpi_future_get(f, 30000, &out, &len) == MPROC_EWORKERDIED);
  mproc_mpi_future_destroy(f);

  /* map, in input order. */
  mproc_bytes_t inputs[4] = {{"a", 1}, {"bc", 2}, {"", 0}, {"def", 3}};
  mproc_bytes_t *results = NULL;
  CHECK(mproc_mpi_pool_map(pool, "upper", inputs, 4, MPROC_CHUNKSIZE_AUTO, NULL, &results) == 0);
  if (results != NULL) {
    CHECK(results[0].len == 1 && memcmp(results[0].data, "A", 1) == 0);
    CHECK(results[1].len == 2 && memcmp(results[1].data, "BC", 2) == 0);
    CHECK(results[2].len == 0);
    CHECK(results[3].len == 3 && memcmp(results[3].data, "DEF", 3) == 0);
    mproc_buffer_free(results);
  }
  CHECK(mproc_mpi_pool_map(pool, "upper", inputs, 4, 0, NULL, &results) == -22);
  CHECK(mproc_mpi_pool_map(pool, "upper", NULL, 4, 1, NULL, &results) == -22);
  mproc_bytes_t broken[1] = {{NULL, 4}};
  CHECK(mproc_mpi_pool_map(pool, "upper", broken, 1, 1, NULL, &results) == -22);
  CHECK(mproc_mpi_pool_map(pool, "refuse", inputs, 4, 1, NULL, &results) == MPROC_ETASKFAILED);

  /* imap_unordered: every output once, then EEOF. */
  mproc_mpi_iterator_t *it = NULL;
  CHECK(mproc_mpi_pool_imap_unordered(pool, "upper", inputs, 4, 1, NULL, &it) == 0);
  size_t total = 0;
  int n = 0;
  while (mproc_mpi_iterator_next(it, 30000, &out, &len) == 0) {
    total += len;
    ++n;
    mproc_buffer_free(out);
  }
  CHECK(n == 4 && total == 6);
  CHECK(mproc_mpi_iterator_next(it, 0, &out, &len) == MPROC_EEOF);
  CHECK(mproc_mpi_iterator_next(it, 0, NULL, &len) == -22);
  CHECK(mproc_mpi_iterator_destroy(it) == 0);
  CHECK(mproc_mpi_iterator_next(it, 0, &out, &len) == MPROC_EBADHANDLE);

  CHECK(mproc_mpi_pool_join(pool) == MPROC_ESTATE); /* not closed yet */
  CHECK(mproc_mpi_pool_close(pool) == 0);
  CHECK(mproc_mpi_pool_submit(pool, "upper", "x", 1, NULL, &f) == MPROC_ECLOSED);
  CHECK(mproc_mpi_pool_join(pool) == 0);
  size_t done = 0;
  CHECK(mproc_mpi_pool_completed_tasks(pool, &done) == 0 && done >= 15);
  CHECK(mproc_mpi_pool_completed_tasks(pool, NULL) == -22);
  CHECK(mproc_mpi_pool_destroy(pool) == 0);
  CHECK(mproc_mpi_pool_destroy(pool) == MPROC_EBADHANDLE);

  /* A pool destroyed without join is terminated; a new one works after it. */
  CHECK(mproc_mpi_pool_create(NULL, &pool) == 0);
  CHECK(mproc_mpi_pool_destroy(pool) == 0);
  printf("%d passed, %d failed\n", checks - failures, failures);
  return failures == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  if (mproc_register_task("upper", upper, NULL) != 0 ||
      mproc_register_task("refuse", refuse, NULL) != 0 ||
      mproc_register_task("die", die, NULL) != 0)
    return 2;
  if (mproc_register_task(NULL, upper, NULL) != -22 || mproc_register_task("x", NULL, NULL) != -22)
    return 3;
  int code = -1;
  if (mproc_mpi_run(argc, argv, NULL, NULL, NULL, &code) != -22) return 4;
  if (mproc_mpi_run(argc, argv, program, NULL, NULL, NULL) != -22) return 5;
  mproc_mpi_run_options_t options;
  mproc_mpi_run_options_init(&options);
  options.processes = 2;
  const int rc = mproc_mpi_run(argc, argv, program, NULL, &options, &code);
  if (rc != 0) {
    fprintf(stderr, "mproc_mpi_run: %s\n", mproc_last_error_message());
    return 6;
  }
  return code;
}
