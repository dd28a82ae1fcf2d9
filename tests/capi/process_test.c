/* Processes through the C ABI: lifecycle, exit codes, signals, timeouts, names, close, fork. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests.h"

enum { kUntouched = -12345 };

/* Joins a child that is expected to end and returns its exit code (kUntouched on failure). */
static int join_exitcode(mproc_process_t *p) {
  int code = kUntouched;
  if (!CHECK_INT(mproc_process_join(p, TEST_WAIT_MS), 0)) return code;
  CHECK_INT(mproc_process_exitcode(p, &code), 1);
  return code;
}

static void exit_codes_0_and_7(void) {
  static const int seven = 7;
  mproc_process_t *zero = NULL;
  mproc_process_t *p7 = NULL;
  REQUIRE_INT(mproc_process_create(test_return_code, NULL, &zero), 0);
  REQUIRE_INT(mproc_process_create(test_return_code, (void *)&seven, &p7), 0);
  int code = kUntouched;
  /* Before start: not alive, no exit code, and *exitcode left alone. */
  CHECK_INT(mproc_process_is_alive(zero), 0);
  CHECK_INT(mproc_process_exitcode(zero, &code), 0);
  CHECK_INT(code, kUntouched);

  CHECK_INT(mproc_process_start(zero), 0);
  CHECK_INT(mproc_process_start(p7), 0);
  CHECK_INT(join_exitcode(zero), 0);
  CHECK_INT(join_exitcode(p7), 7);
  /* Joining an ended child again returns at once, also without a limit. */
  CHECK_INT(mproc_process_join(p7, MPROC_WAIT_FOREVER), 0);
  CHECK_INT(mproc_process_join(p7, 0), 0);
  CHECK_INT(mproc_process_is_alive(p7), 0);
  CHECK_INT(mproc_process_destroy(zero), 0);
  CHECK_INT(mproc_process_destroy(p7), 0);
}

static int abort_without_core(void *user_data) {
  (void)user_data;
  const struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core); /* the child's own limit: no core file in the build tree */
  abort();
}

static void abort_gives_minus_sigabrt(void) {
  mproc_process_t *p = start_process(abort_without_core, NULL);
  REQUIRE(p != NULL);
  CHECK_INT(join_exitcode(p), -SIGABRT);
  CHECK_INT(mproc_process_destroy(p), 0);
}

/* Starts a child blocked on `g`, checks it is running, sends it `signal_fn` and checks the code. */
static void check_signal_ends_child(int (*signal_fn)(mproc_process_t *), int expected) {
  gate g;
  if (gate_open(&g) != 0) return;
  mproc_process_t *p = start_process(test_wait_on_gate, &g);
  if (p != NULL) {
    CHECK_INT(mproc_process_is_alive(p), 1);
    CHECK_INT(signal_fn(p), 0);
    CHECK_INT(join_exitcode(p), expected);
    CHECK_INT(mproc_process_is_alive(p), 0);
    /* Once the child ended, signalling it has no effect (and no error). */
    CHECK_INT(mproc_process_terminate(p), 0);
    CHECK_INT(mproc_process_kill(p), 0);
    int code = kUntouched;
    CHECK_INT(mproc_process_exitcode(p, &code), 1);
    CHECK_INT(code, expected);
    CHECK_INT(mproc_process_destroy(p), 0);
  }
  gate_close(&g);
}

static void terminate_gives_minus_sigterm(void) {
  check_signal_ends_child(mproc_process_terminate, -SIGTERM);
}

static void kill_gives_minus_sigkill(void) {
  check_signal_ends_child(mproc_process_kill, -SIGKILL);
}

static void join_with_a_timeout_on_a_running_child_times_out(void) {
  gate g;
  REQUIRE(gate_open(&g) == 0);
  mproc_process_t *p = start_process(test_wait_on_gate, &g);
  if (p != NULL) {
    CHECK_INT(mproc_process_join(p, 0), MPROC_ETIMEDOUT);
    CHECK(contains(mproc_last_error_message(), "mproc_process_join"));
    CHECK_INT(mproc_process_join(p, 10), MPROC_ETIMEDOUT);
    CHECK_INT(mproc_process_is_alive(p), 1);
    int code = kUntouched;
    CHECK_INT(mproc_process_exitcode(p, &code), 0);
    CHECK_INT(code, kUntouched);
    gate_release(&g);
    CHECK_INT(join_exitcode(p), 0);
    CHECK_INT(mproc_process_destroy(p), 0);
  }
  gate_close(&g);
}

static void a_timeout_below_minus_one_is_einval(void) {
  gate g;
  REQUIRE(gate_open(&g) == 0);
  mproc_process_t *p = start_process(test_wait_on_gate, &g);
  if (p != NULL) {
    CHECK_INT(mproc_process_join(p, -2), -EINVAL);
    CHECK(contains(mproc_last_error_message(), "mproc_process_join"));
    CHECK_INT(mproc_process_join(p, INT64_MIN), -EINVAL);
    CHECK_INT(mproc_process_is_alive(p), 1);
    gate_release(&g);
    CHECK_INT(join_exitcode(p), 0);
    CHECK_INT(mproc_process_destroy(p), 0);
  }
  gate_close(&g);
}

typedef struct {
  int write_fd;
} report_pipe;

/* Writes the child's own pid and parent pid as the library sees them. */
static int report_pids(void *user_data) {
  const report_pipe *r = user_data;
  const int pids[2] = {mproc_getpid(), mproc_getppid()};
  return write(r->write_fd, pids, sizeof pids) == (ssize_t)sizeof pids ? 0 : 1;
}

static void pid_is_the_childs_pid(void) {
  int fds[2];
  REQUIRE(pipe2(fds, O_CLOEXEC) == 0);
  report_pipe r = {fds[1]};
  mproc_process_t *p = NULL;
  if (CHECK_INT(mproc_process_create(report_pids, &r, &p), 0)) {
    CHECK_INT(mproc_process_pid(p), MPROC_ESTATE);
    CHECK(contains(mproc_last_error_message(), "not been started"));
    CHECK_INT(mproc_process_start(p), 0);
    const int pid = mproc_process_pid(p);
    CHECK(pid > 0);
    CHECK(pid != mproc_getpid());
    CHECK_INT(mproc_getpid(), getpid());
    CHECK_INT(mproc_getppid(), getppid());
    int pids[2] = {0, 0};
    CHECK(read(fds[0], pids, sizeof pids) == (ssize_t)sizeof pids);
    CHECK_INT(pids[0], pid);
    CHECK_INT(pids[1], getpid());
    CHECK_INT(join_exitcode(p), 0);
    CHECK_INT(mproc_process_pid(p), pid); /* still known after the end */
    CHECK_INT(mproc_process_destroy(p), 0);
  }
  close(fds[0]);
  close(fds[1]);
}

static void sentinel_becomes_readable_when_the_child_ends(void) {
  gate g;
  REQUIRE(gate_open(&g) == 0);
  mproc_process_t *p = NULL;
  if (CHECK_INT(mproc_process_create(test_wait_on_gate, &g, &p), 0)) {
    CHECK_INT(mproc_process_sentinel(p), MPROC_ESTATE);
    CHECK_INT(mproc_process_start(p), 0);
    const int fd = mproc_process_sentinel(p);
    CHECK(fd >= 0);
    CHECK_INT(mproc_process_sentinel(p), fd); /* owned by the handle: the same fd each time */
    struct pollfd pfd = {fd, POLLIN, 0};
    CHECK_INT(poll(&pfd, 1, 0), 0); /* blocked on the gate: certainly still running */
    gate_release(&g);
    CHECK_INT(poll(&pfd, 1, TEST_WAIT_MS), 1);
    CHECK(pfd.revents & POLLIN);
    /* Readable means ended: a zero timeout join succeeds. */
    CHECK_INT(mproc_process_join(p, 0), 0);
    int code = kUntouched;
    CHECK_INT(mproc_process_exitcode(p, &code), 1);
    CHECK_INT(code, 0);
    CHECK_INT(mproc_process_destroy(p), 0);
  }
  gate_close(&g);
}

static void names_default_rename_and_truncate(void) {
  mproc_process_t *p = NULL;
  REQUIRE_INT(mproc_process_create(test_return_code, NULL, &p), 0);
  char buf[64];
  memset(buf, 'x', sizeof buf);
  const int length = mproc_process_name(p, buf, sizeof buf);
  CHECK(length > 8);
  CHECK_INT(strlen(buf), length);
  CHECK(strncmp(buf, "Process-", 8) == 0);
  CHECK_INT(mproc_process_name(p, NULL, 0), length);

  CHECK_INT(mproc_process_set_name(p, "worker-process"), 0);
  CHECK_INT(mproc_process_name(p, NULL, 0), 14);
  memset(buf, 'x', sizeof buf);
  CHECK_INT(mproc_process_name(p, buf, 7), 14);
  CHECK_STR(buf, "worker"); /* size - 1 bytes and the NUL */
  CHECK(buf[7] == 'x');     /* nothing written past size */
  CHECK_INT(mproc_process_name(p, buf, 1), 14);
  CHECK_STR(buf, "");
  CHECK_INT(mproc_process_name(p, buf, 15), 14);
  CHECK_STR(buf, "worker-process");
  /* A zero size with a real buffer writes nothing. */
  buf[0] = 'x';
  CHECK_INT(mproc_process_name(p, buf, 0), 14);
  CHECK(buf[0] == 'x');

  CHECK_INT(mproc_process_set_name(p, ""), 0);
  CHECK_INT(mproc_process_name(p, buf, sizeof buf), 0);
  CHECK_STR(buf, "");

  /* Renaming works after start too, as in Python. */
  CHECK_INT(mproc_process_start(p), 0);
  CHECK_INT(mproc_process_set_name(p, "renamed"), 0);
  CHECK_INT(mproc_process_name(p, buf, sizeof buf), 7);
  CHECK_STR(buf, "renamed");
  CHECK_INT(join_exitcode(p), 0);
  CHECK_INT(mproc_process_destroy(p), 0);
}

/* A child that tries to start a grandchild: the grandchild's exit code + 1, or 100 + the code of a
 * failed start (mapped into 0..255). */
static int start_grandchild(void *user_data) {
  (void)user_data;
  static const int five = 5;
  mproc_process_t *grandchild = NULL;
  if (mproc_process_create(test_return_code, (void *)&five, &grandchild) != 0) return 99;
  const int started = mproc_process_start(grandchild);
  if (started != 0) {
    mproc_process_destroy(grandchild);
    return started == MPROC_ESTATE ? 200 : 201;
  }
  int code = -1;
  if (mproc_process_join(grandchild, TEST_WAIT_MS) != 0 ||
      mproc_process_exitcode(grandchild, &code) != 1) {
    mproc_process_destroy(grandchild);
    return 98;
  }
  mproc_process_destroy(grandchild);
  return code + 1;
}

/* The opt-in is set before start; the C++ suite (tests/faults/parent_death_test.cpp) proves the
 * child dies with its parent. */
static void die_with_parent_is_set_before_start(void) {
  mproc_process_t *p = NULL;
  REQUIRE_INT(mproc_process_create(test_return_code, NULL, &p), 0);
  CHECK_INT(mproc_process_set_die_with_parent(p, 1), 0);
  CHECK_INT(mproc_process_start(p), 0);
  CHECK_INT(mproc_process_set_die_with_parent(p, 0), MPROC_ESTATE);
  CHECK(contains(mproc_last_error_message(), "mproc_process_set_die_with_parent"));
  CHECK_INT(join_exitcode(p), 0);
  CHECK_INT(mproc_process_destroy(p), 0);
}

static void daemon_flag_and_its_rule(void) {
  mproc_process_t *normal = NULL;
  mproc_process_t *daemon = NULL;
  REQUIRE_INT(mproc_process_create(start_grandchild, NULL, &normal), 0);
  REQUIRE_INT(mproc_process_create(start_grandchild, NULL, &daemon), 0);
  CHECK_INT(mproc_process_set_daemon(daemon, 1), 0);
  CHECK_INT(mproc_process_set_daemon(normal, 0), 0);
  CHECK_INT(mproc_process_start(normal), 0);
  CHECK_INT(mproc_process_start(daemon), 0);
  CHECK_INT(mproc_process_set_daemon(daemon, 0), MPROC_ESTATE);
  CHECK(contains(mproc_last_error_message(), "mproc_process_set_daemon"));
  CHECK_INT(mproc_process_set_daemon(normal, 1), MPROC_ESTATE);
  /* A normal child may have children of its own; a daemon may not (MPROC_ESTATE in the child). */
  CHECK_INT(join_exitcode(normal), 6);
  CHECK_INT(join_exitcode(daemon), 200);
  CHECK_INT(mproc_process_destroy(normal), 0);
  CHECK_INT(mproc_process_destroy(daemon), 0);
}

static void close_releases_and_then_refuses(void) {
  gate g;
  REQUIRE(gate_open(&g) == 0);
  mproc_process_t *p = start_process(test_wait_on_gate, &g);
  if (p != NULL) {
    CHECK_INT(mproc_process_close(p), MPROC_ESTATE);
    CHECK(contains(mproc_last_error_message(), "still running"));
    CHECK_INT(mproc_process_is_alive(p), 1); /* a refused close changes nothing */
    gate_release(&g);
    const int pid = mproc_process_pid(p);
    CHECK_INT(join_exitcode(p), 0);
    CHECK_INT(mproc_process_close(p), 0);
    CHECK_INT(mproc_process_close(p), 0); /* twice is a no-op */

    int code = kUntouched;
    CHECK_INT(mproc_process_join(p, TEST_WAIT_MS), MPROC_ECLOSED);
    CHECK(contains(mproc_last_error_message(), "mproc_process_join"));
    CHECK_INT(mproc_process_join(p, MPROC_WAIT_FOREVER), MPROC_ECLOSED);
    CHECK_INT(mproc_process_is_alive(p), MPROC_ECLOSED);
    CHECK_INT(mproc_process_exitcode(p, &code), MPROC_ECLOSED);
    CHECK_INT(code, kUntouched);
    CHECK_INT(mproc_process_sentinel(p), MPROC_ECLOSED);
    CHECK_INT(mproc_process_terminate(p), MPROC_ECLOSED);
    CHECK_INT(mproc_process_kill(p), MPROC_ECLOSED);
    CHECK_INT(mproc_process_start(p), MPROC_ECLOSED);
    /* What still works: the pid, the name, destroy. */
    CHECK_INT(mproc_process_pid(p), pid);
    CHECK(mproc_process_name(p, NULL, 0) > 0);
    CHECK_INT(mproc_process_destroy(p), 0);
  }
  gate_close(&g);
}

static void a_process_closed_before_start_cannot_start(void) {
  mproc_process_t *p = NULL;
  REQUIRE_INT(mproc_process_create(test_return_code, NULL, &p), 0);
  CHECK_INT(mproc_process_close(p), 0);
  CHECK_INT(mproc_process_start(p), MPROC_ECLOSED);
  CHECK_INT(mproc_process_join(p, 0), MPROC_ECLOSED);
  CHECK_INT(mproc_process_destroy(p), 0);
}

static void start_twice_is_estate(void) {
  static const int three = 3;
  mproc_process_t *p = start_process(test_return_code, (void *)&three);
  REQUIRE(p != NULL);
  const int pid = mproc_process_pid(p);
  CHECK_INT(mproc_process_start(p), MPROC_ESTATE);
  CHECK(contains(mproc_last_error_message(), "already started"));
  CHECK_INT(mproc_process_pid(p), pid); /* the first child is still the one tracked */
  CHECK_INT(join_exitcode(p), 3);
  CHECK_INT(mproc_process_start(p), MPROC_ESTATE); /* nor after it ended */
  CHECK_INT(mproc_process_destroy(p), 0);
}

static void operations_before_start(void) {
  mproc_process_t *p = NULL;
  REQUIRE_INT(mproc_process_create(test_return_code, NULL, &p), 0);
  int code = kUntouched;
  CHECK_INT(mproc_process_join(p, MPROC_WAIT_FOREVER), MPROC_ESTATE);
  CHECK_INT(mproc_process_join(p, 0), MPROC_ESTATE);
  CHECK_INT(mproc_process_pid(p), MPROC_ESTATE);
  CHECK_INT(mproc_process_sentinel(p), MPROC_ESTATE);
  CHECK_INT(mproc_process_terminate(p), MPROC_ESTATE);
  CHECK_INT(mproc_process_kill(p), MPROC_ESTATE);
  CHECK_INT(mproc_process_is_alive(p), 0);
  CHECK_INT(mproc_process_exitcode(p, &code), 0);
  CHECK_INT(code, kUntouched);
  /* A timeout below -1 is checked before the state. */
  CHECK_INT(mproc_process_join(p, -2), -EINVAL);
  CHECK_INT(mproc_process_destroy(p), 0);
}

static void many_children_on_one_gate(void) {
  enum { kChildren = 8 };
  gate g;
  REQUIRE(gate_open(&g) == 0);
  mproc_process_t *children[kChildren] = {NULL};
  for (int i = 0; i < kChildren; ++i) {
    children[i] = start_process(test_wait_on_gate, &g);
    if (children[i] != NULL) CHECK_INT(mproc_process_is_alive(children[i]), 1);
  }
  gate_release(&g);
  for (int i = 0; i < kChildren; ++i) {
    if (children[i] == NULL) continue;
    CHECK_INT(join_exitcode(children[i]), 0);
    CHECK_INT(mproc_process_destroy(children[i]), 0);
  }
  gate_close(&g);
}

/* Waits (bounded) until process `pid` has exited, without reaping it: polls a pidfd of its own. */
static int wait_exited_unreaped(int pid) {
  const int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (!CHECK(pidfd >= 0)) return 0;
  struct pollfd ended = {pidfd, POLLIN, 0};
  const int ok = CHECK_INT(poll(&ended, 1, TEST_WAIT_MS), 1);
  close(pidfd);
  return ok;
}

/* As Python: a destroyed handle's child runs on, listed by mproc_active_children, which reaps it
 * once it has ended. */
static void destroy_detaches_a_running_child(void) {
  gate g;
  REQUIRE(gate_open(&g) == 0);
  mproc_process_t *p = start_process(test_wait_on_gate, &g);
  if (p != NULL) {
    const int pid = mproc_process_pid(p);
    CHECK_INT(mproc_process_destroy(p), 0);
    int pids[4] = {0};
    CHECK_INT(mproc_active_children(pids, 4), 1);
    CHECK_INT(pids[0], pid);
    CHECK_INT(kill(pid, 0), 0); /* still running */
    gate_release(&g);
    if (wait_exited_unreaped(pid)) CHECK_INT(mproc_active_children(NULL, 0), 0);
    /* The harness's leak check proves the child was reaped: no zombie, no pidfd left. */
  }
  gate_close(&g);
}

static void active_children_counts_beyond_capacity_and_rejects_null(void) {
  gate g;
  REQUIRE(gate_open(&g) == 0);
  mproc_process_t *a = start_process(test_wait_on_gate, &g);
  mproc_process_t *b = start_process(test_wait_on_gate, &g);
  int one[1] = {0};
  CHECK_INT(mproc_active_children(one, 1), 2);
  CHECK(one[0] == mproc_process_pid(a) || one[0] == mproc_process_pid(b));
  CHECK_INT(mproc_active_children(NULL, 1), -EINVAL);
  CHECK(contains(mproc_last_error_message(), "mproc_active_children"));
  gate_release(&g);
  CHECK_INT(join_exitcode(a), 0);
  CHECK_INT(join_exitcode(b), 0);
  CHECK_INT(mproc_active_children(NULL, 0), 0);
  mproc_process_destroy(a);
  mproc_process_destroy(b);
  gate_close(&g);
}

/* A child reports what it knows of itself and its parent through its exit code:
 * bit 0 the name, bit 1 the daemon flag, bit 2 the parent's pid and name. */
static int report_identity(void *user_data) {
  const int parent_pid = *(const int *)user_data;
  char name[32];
  char parent_name[32];
  int pid = 0;
  int code = 0;
  if (mproc_current_process_name(name, sizeof name) == (int)strlen("who") &&
      strcmp(name, "who") == 0)
    code |= 1;
  if (mproc_current_process_daemon() == 1) code |= 2;
  if (mproc_parent_process(&pid, parent_name, sizeof parent_name) == 1 && pid == parent_pid &&
      strcmp(parent_name, "MainProcess") == 0)
    code |= 4;
  return code;
}

static void current_and_parent_process(void) {
  char name[32];
  CHECK_INT(mproc_current_process_name(name, sizeof name), (int)strlen("MainProcess"));
  CHECK_STR(name, "MainProcess");
  CHECK_INT(mproc_current_process_name(NULL, 0), (int)strlen("MainProcess"));
  CHECK_INT(mproc_current_process_name(NULL, 4), -EINVAL);
  CHECK(contains(mproc_last_error_message(), "mproc_current_process_name"));
  CHECK_INT(mproc_current_process_daemon(), 0);
  int pid = kUntouched;
  CHECK_INT(mproc_parent_process(&pid, NULL, 0), 0);
  CHECK_INT(pid, kUntouched);
  CHECK_INT(mproc_parent_process(NULL, NULL, 8), -EINVAL);

  const int me = mproc_getpid();
  mproc_process_t *p = NULL;
  REQUIRE_INT(mproc_process_create(report_identity, (void *)&me, &p), 0);
  CHECK_INT(mproc_process_set_name(p, "who"), 0);
  CHECK_INT(mproc_process_set_daemon(p, 1), 0);
  CHECK_INT(mproc_process_start(p), 0);
  CHECK_INT(join_exitcode(p), 7);
  CHECK_INT(mproc_process_destroy(p), 0);
}

static void wait_child_reaps_a_raw_fork_child(void) {
  const int pid = mproc_fork();
  if (pid == 0) _exit(9);
  REQUIRE(pid > 0);
  int code = kUntouched;
  CHECK_INT(mproc_wait_child(pid, TEST_WAIT_MS, &code), 0);
  CHECK_INT(code, 9);
  /* Reaped: a second wait finds no such child. */
  CHECK_INT(mproc_wait_child(pid, 0, &code), -ESRCH);

  gate g;
  REQUIRE(gate_open(&g) == 0);
  const int blocked = mproc_fork();
  if (blocked == 0) _exit(test_wait_on_gate(&g));
  REQUIRE(blocked > 0);
  CHECK_INT(mproc_wait_child(blocked, 0, &code), MPROC_ETIMEDOUT);
  CHECK(contains(mproc_last_error_message(), "mproc_wait_child"));
  CHECK_INT(kill(blocked, SIGKILL), 0);
  CHECK_INT(mproc_wait_child(blocked, MPROC_WAIT_FOREVER, NULL), 0);
  gate_close(&g);

  CHECK_INT(mproc_wait_child(0, 0, NULL), -EINVAL);
  CHECK_INT(mproc_wait_child(-5, 0, NULL), -EINVAL);
  CHECK_INT(mproc_wait_child(1, 0, NULL), -ECHILD); /* init is nobody's child here */
  CHECK_INT(mproc_wait_child(mproc_getpid(), -7, NULL), -EINVAL);

  /* A Process's child is joined through its handle, not here. */
  gate g2;
  REQUIRE(gate_open(&g2) == 0);
  mproc_process_t *p = start_process(test_wait_on_gate, &g2);
  if (p != NULL) {
    CHECK_INT(mproc_wait_child(mproc_process_pid(p), 0, NULL), MPROC_ESTATE);
    gate_release(&g2);
    CHECK_INT(join_exitcode(p), 0);
    mproc_process_destroy(p);
  }
  gate_close(&g2);
}

static void mproc_fork_returns_the_pid_and_zero(void) {
  const int parent = mproc_getpid();
  const int pid = mproc_fork();
  if (pid == 0) {
    /* The child: report through the exit code only; never return into the harness. */
    const int ok = mproc_getpid() == getpid() && mproc_getppid() == parent && parent != getpid();
    _exit(ok ? 42 : 1);
  }
  REQUIRE(pid > 0);
  int code = kUntouched;
  CHECK_INT(mproc_wait_child(pid, TEST_WAIT_MS, &code), 0);
  CHECK_INT(code, 42);
}

static void cpu_count_is_the_affinity_mask(void) {
  const int count = mproc_cpu_count();
  CHECK(count >= 1);
  cpu_set_t set;
  CPU_ZERO(&set);
  if (CHECK(sched_getaffinity(0, sizeof set, &set) == 0)) CHECK_INT(count, CPU_COUNT(&set));
}

static const test_case kTests[] = {
    {"exit_codes_0_and_7", exit_codes_0_and_7},
    {"abort_gives_minus_sigabrt", abort_gives_minus_sigabrt},
    {"terminate_gives_minus_sigterm", terminate_gives_minus_sigterm},
    {"kill_gives_minus_sigkill", kill_gives_minus_sigkill},
    {"join_with_a_timeout_on_a_running_child_times_out",
     join_with_a_timeout_on_a_running_child_times_out},
    {"a_timeout_below_minus_one_is_einval", a_timeout_below_minus_one_is_einval},
    {"pid_is_the_childs_pid", pid_is_the_childs_pid},
    {"sentinel_becomes_readable_when_the_child_ends",
     sentinel_becomes_readable_when_the_child_ends},
    {"names_default_rename_and_truncate", names_default_rename_and_truncate},
    {"daemon_flag_and_its_rule", daemon_flag_and_its_rule},
    {"die_with_parent_is_set_before_start", die_with_parent_is_set_before_start},
    {"close_releases_and_then_refuses", close_releases_and_then_refuses},
    {"a_process_closed_before_start_cannot_start", a_process_closed_before_start_cannot_start},
    {"start_twice_is_estate", start_twice_is_estate},
    {"operations_before_start", operations_before_start},
    {"many_children_on_one_gate", many_children_on_one_gate},
    {"destroy_detaches_a_running_child", destroy_detaches_a_running_child},
    {"active_children_counts_beyond_capacity_and_rejects_null",
     active_children_counts_beyond_capacity_and_rejects_null},
    {"current_and_parent_process", current_and_parent_process},
    {"wait_child_reaps_a_raw_fork_child", wait_child_reaps_a_raw_fork_child},
    {"mproc_fork_returns_the_pid_and_zero", mproc_fork_returns_the_pid_and_zero},
    {"cpu_count_is_the_affinity_mask", cpu_count_is_the_affinity_mask},
};

const test_group process_group = {"process", kTests, sizeof kTests / sizeof kTests[0]};
