#include "pool_support.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int pipes_open(task_pipes *p) {
  if (!CHECK(pipe2(p->gate, O_CLOEXEC) == 0)) return -1;
  if (!CHECK(pipe2(p->report, O_CLOEXEC) == 0)) {
    close(p->gate[0]);
    close(p->gate[1]);
    return -1;
  }
  return 0;
}

void pipes_close(task_pipes *p) {
  close(p->gate[0]);
  close(p->gate[1]);
  close(p->report[0]);
  close(p->report[1]);
}

void pipes_release(task_pipes *p, int n) {
  for (int i = 0; i < n; ++i) CHECK(write(p->gate[1], "g", 1) == 1);
}

int pipes_wait_started(task_pipes *p) {
  struct pollfd fd = {p->report[0], POLLIN, 0};
  if (!CHECK(poll(&fd, 1, TEST_WAIT_MS) == 1)) return -1;
  int pid = -1;
  if (!CHECK(read(p->report[0], &pid, sizeof pid) == (ssize_t)sizeof pid)) return -1;
  return pid;
}

int task_reverse(const void *input, size_t len, void *user_data, mproc_task_result_t *result) {
  (void)user_data;
  char buffer[256];
  if (len > sizeof buffer) return 1;
  const char *in = input;
  for (size_t i = 0; i < len; ++i) buffer[i] = in[len - 1 - i];
  return mproc_task_result_set(result, buffer, len) == 0 ? 0 : 2;
}

int task_fail(const void *input, size_t len, void *user_data, mproc_task_result_t *result) {
  (void)user_data;
  char message[128];
  snprintf(message, sizeof message, "bad input: %.*s", (int)len, (const char *)input);
  mproc_task_result_fail(result, message);
  return 0; /* fail wins over the return value */
}

int task_return_7(const void *input, size_t len, void *user_data, mproc_task_result_t *result) {
  (void)input;
  (void)len;
  (void)user_data;
  (void)result;
  return 7;
}

int task_pid(const void *input, size_t len, void *user_data, mproc_task_result_t *result) {
  (void)input;
  (void)len;
  (void)user_data;
  const int pid = getpid();
  return mproc_task_result_set(result, &pid, sizeof pid);
}

int task_block(const void *input, size_t len, void *user_data, mproc_task_result_t *result) {
  task_pipes *p = user_data;
  const int pid = getpid();
  if (write(p->report[1], &pid, sizeof pid) != (ssize_t)sizeof pid) return 1;
  char c;
  ssize_t n;
  while ((n = read(p->gate[0], &c, 1)) < 0 && errno == EINTR) {
  }
  if (n != 1) return 2;
  return mproc_task_result_set(result, input, len);
}

int task_block_if_b(const void *input, size_t len, void *user_data, mproc_task_result_t *result) {
  if (len > 0 && *(const char *)input == 'b') return task_block(input, len, user_data, result);
  return mproc_task_result_set(result, input, len);
}

mproc_pool_t *make_pool(int processes) {
  mproc_pool_options_t options;
  mproc_pool_options_init(&options);
  options.processes = processes;
  mproc_pool_t *pool = NULL;
  if (!CHECK_INT(mproc_pool_create(&options, &pool), 0)) return NULL;
  return pool;
}

void check_output(mproc_future_t *future, const char *expected) {
  void *out = NULL;
  size_t len = 0;
  if (!CHECK_INT(mproc_future_get(future, TEST_WAIT_MS, &out, &len), 0)) {
    fprintf(stderr, "  (%s)\n", mproc_last_error_message());
    return;
  }
  CHECK(out != NULL);
  CHECK_INT(len, strlen(expected));
  CHECK(len == strlen(expected) && memcmp(out, expected, len) == 0);
  mproc_buffer_free(out);
}

int get_code(mproc_future_t *future) {
  void *out = NULL;
  size_t len = 0;
  const int rc = mproc_future_get(future, TEST_WAIT_MS, &out, &len);
  if (rc == 0) mproc_buffer_free(out);
  return rc;
}

void finish_pool(mproc_pool_t *pool) {
  CHECK_INT(mproc_pool_close(pool), 0);
  CHECK_INT(mproc_pool_join(pool), 0);
  CHECK_INT(mproc_pool_destroy(pool), 0);
}
