#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "tests.h"

int test_return_code(void *user_data) { return user_data == NULL ? 0 : *(const int *)user_data; }

int gate_open(gate *g) {
  int fds[2];
  if (!CHECK(pipe2(fds, O_CLOEXEC) == 0)) return -1;
  g->read_fd = fds[0];
  g->write_fd = fds[1];
  return 0;
}

void gate_release(gate *g) {
  if (g->write_fd >= 0) close(g->write_fd);
  g->write_fd = -1;
}

void gate_close(gate *g) {
  gate_release(g);
  if (g->read_fd >= 0) close(g->read_fd);
  g->read_fd = -1;
}

int test_wait_on_gate(void *user_data) {
  gate *g = user_data;
  /* The child's copy of the write end would keep the pipe open forever. */
  close(g->write_fd);
  char byte;
  ssize_t n;
  while ((n = read(g->read_fd, &byte, 1)) < 0 && errno == EINTR) {
  }
  return n == 0 ? 0 : 100;
}

mproc_process_t *start_process(mproc_process_fn fn, void *user_data) {
  mproc_process_t *p = NULL;
  if (!CHECK_INT(mproc_process_create(fn, user_data, &p), 0)) return NULL;
  if (!CHECK_INT(mproc_process_start(p), 0)) {
    mproc_process_destroy(p);
    return NULL;
  }
  return p;
}
