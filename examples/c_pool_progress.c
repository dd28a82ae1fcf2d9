/* A C program: a pool of worker processes squares 40 numbers while the main thread shows progress
 * (redrawn with '\r' on a terminal, a line per 25 % elsewhere), then prints the sum of the squares.
 * Build: cc -std=c11 c_pool_progress.c $(pkg-config --cflags --libs mproc) */
#define _POSIX_C_SOURCE 200809L
#include <mproc.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum { kCount = 40 };

/* Runs in a worker: the input is one int64_t, the output its square. */
static int square(const void *input, size_t len, void *user_data, mproc_task_result_t *result) {
  (void)user_data;
  int64_t x;
  if (len != sizeof x) return mproc_task_result_fail(result, "expected one int64_t");
  memcpy(&x, input, sizeof x);
  const int64_t y = x * x;
  return mproc_task_result_set(result, &y, sizeof y);
}

static int fail(const char *what, int rc) {
  fprintf(stderr, "%s: %s (%s)\n", what, mproc_err_name(rc), mproc_last_error_message());
  return 1;
}

int main(void) {
  mproc_pool_options_t options;
  mproc_pool_options_init(&options);
  options.processes = 2;
  mproc_pool_t *pool = NULL;
  int rc = mproc_pool_create(&options, &pool);
  if (rc < 0) return fail("mproc_pool_create", rc);

  int64_t numbers[kCount];
  mproc_bytes_t inputs[kCount];
  for (int i = 0; i < kCount; ++i) {
    numbers[i] = i + 1;
    inputs[i].data = &numbers[i];
    inputs[i].len = sizeof numbers[i];
  }
  mproc_pool_iterator_t *it = NULL;
  rc = mproc_pool_imap(pool, square, NULL, inputs, kCount, 1, NULL, &it);
  if (rc < 0) return fail("mproc_pool_imap", rc);

  const int terminal = isatty(STDOUT_FILENO);
  int64_t sum = 0;
  int done = 0, shown_quarter = 0;
  void *out = NULL;
  size_t len = 0;
  while ((rc = mproc_pool_iterator_next(it, 60000, &out, &len)) == 0) {
    int64_t y = 0;
    if (len == sizeof y) memcpy(&y, out, sizeof y);
    mproc_buffer_free(out);
    sum += y;
    ++done;
    if (terminal) {
      printf("\rprogress: %d/%d", done, kCount);
      if (done == kCount) printf("\n");
    } else if (done * 4 / kCount > shown_quarter) {
      shown_quarter = done * 4 / kCount;
      printf("progress: %d %% (%d/%d)\n", shown_quarter * 25, done, kCount);
    }
    fflush(stdout);
  }
  mproc_pool_iterator_destroy(it);
  if (rc != MPROC_EEOF) return fail("mproc_pool_iterator_next", rc);
  mproc_pool_close(pool);
  mproc_pool_join(pool);
  mproc_pool_destroy(pool);
  /* 1^2 + ... + 40^2 = 40 * 41 * 81 / 6 */
  printf("sum of squares 1..%d: %lld\n", kCount, (long long)sum);
  return sum == 22140 ? 0 : 1;
}
