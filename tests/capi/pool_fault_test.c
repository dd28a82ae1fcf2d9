/* The pool's faults through the C ABI: a worker killed mid-task, a task that exits, per-task
 * timeouts, cancel, terminate and destroy with work outstanding, submissions after close. Each
 * resolves with its own code; nothing hangs; no worker is left behind (the harness checks). */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "pool_support.h"

static void a_worker_killed_mid_task_fails_that_task_only(void) {
  task_pipes pipes;
  REQUIRE(pipes_open(&pipes) == 0);
  mproc_pool_t *pool = make_pool(2);
  if (pool != NULL) {
    mproc_future_t *victim = NULL;
    CHECK_INT(mproc_pool_submit(pool, task_block, "v", 1, &pipes, NULL, &victim), 0);
    const int pid = pipes_wait_started(&pipes);
    int pids[2] = {0, 0};
    CHECK_INT(mproc_pool_worker_pids(pool, pids, 2), 2);
    CHECK(pid > 0 && (pids[0] == pid || pids[1] == pid));
    mproc_future_t *others[4] = {NULL, NULL, NULL, NULL};
    for (int i = 0; i < 4; ++i)
      CHECK_INT(mproc_pool_submit(pool, task_reverse, "ab", 2, NULL, NULL, &others[i]), 0);
    if (pid > 0) CHECK(kill(pid, SIGKILL) == 0);

    CHECK_INT(get_code(victim), MPROC_EWORKERDIED);
    CHECK(contains(mproc_last_error_message(), "signal 9"));
    CHECK_INT(mproc_future_successful(victim), 0);
    for (int i = 0; i < 4; ++i) {
      check_output(others[i], "ba");
      CHECK_INT(mproc_future_destroy(others[i]), 0);
    }
    /* The worker was replaced: the pool goes on, and join returns. */
    mproc_future_t *after = NULL;
    CHECK_INT(mproc_pool_submit(pool, task_reverse, "xy", 2, NULL, NULL, &after), 0);
    check_output(after, "yx");
    CHECK_INT(mproc_future_destroy(after), 0);
    CHECK_INT(mproc_future_destroy(victim), 0);
    finish_pool(pool);
  }
  pipes_close(&pipes);
}

static int task_exit_3(const void *input, size_t len, void *user_data,
                       mproc_task_result_t *result) {
  (void)input;
  (void)len;
  (void)user_data;
  (void)result;
  _exit(3);
}

static void a_task_that_exits_its_worker_is_worker_died(void) {
  mproc_pool_t *pool = make_pool(1);
  REQUIRE(pool != NULL);
  mproc_future_t *f = NULL;
  CHECK_INT(mproc_pool_submit(pool, task_exit_3, "", 0, NULL, NULL, &f), 0);
  CHECK_INT(get_code(f), MPROC_EWORKERDIED);
  CHECK(contains(mproc_last_error_message(), "exited with code 3"));
  CHECK_INT(mproc_future_destroy(f), 0);
  /* In a map: the chunk's error is the map's. */
  mproc_bytes_t inputs[] = {{"a", 1}, {"b", 1}};
  mproc_bytes_t *results = NULL;
  CHECK_INT(mproc_pool_map(pool, task_exit_3, NULL, inputs, 2, 2, NULL, &results),
            MPROC_EWORKERDIED);
  CHECK(results == NULL);
  finish_pool(pool);
}

static void a_task_past_its_timeout_is_stopped(void) {
  task_pipes pipes;
  REQUIRE(pipes_open(&pipes) == 0);
  mproc_pool_t *pool = make_pool(1);
  if (pool != NULL) {
    mproc_task_options_t options;
    mproc_task_options_init(&options);
    options.timeout_ms = 20;
    mproc_future_t *f = NULL;
    CHECK_INT(mproc_pool_submit(pool, task_block, "t", 1, &pipes, &options, &f), 0);
    /* The task never passes the gate: only its timeout ends it. */
    CHECK_INT(get_code(f), MPROC_ETIMEDOUT);
    CHECK(contains(mproc_last_error_message(), "timed out"));
    CHECK_INT(mproc_future_ready(f), 1); /* resolved: not the wait's own timeout */
    CHECK_INT(mproc_future_destroy(f), 0);

    /* The same through map and imap. */
    mproc_bytes_t inputs[] = {{"a", 1}};
    mproc_bytes_t *results = NULL;
    CHECK_INT(mproc_pool_map(pool, task_block, &pipes, inputs, 1, 1, &options, &results),
              MPROC_ETIMEDOUT);
    mproc_pool_iterator_t *it = NULL;
    CHECK_INT(mproc_pool_imap(pool, task_block, &pipes, inputs, 1, 1, &options, &it), 0);
    void *out = NULL;
    size_t len = 0;
    CHECK_INT(mproc_pool_iterator_next(it, TEST_WAIT_MS, &out, &len), MPROC_ETIMEDOUT);
    CHECK(contains(mproc_last_error_message(), "timed out after"));
    CHECK_INT(mproc_pool_iterator_next(it, TEST_WAIT_MS, &out, &len), MPROC_EEOF);
    CHECK_INT(mproc_pool_iterator_destroy(it), 0);
    finish_pool(pool);
  }
  pipes_close(&pipes);
}

static void get_with_a_timeout_then_cancel(void) {
  task_pipes pipes;
  REQUIRE(pipes_open(&pipes) == 0);
  mproc_pool_t *pool = make_pool(1);
  if (pool != NULL) {
    mproc_future_t *running = NULL;
    mproc_future_t *queued = NULL;
    mproc_future_t *done = NULL;
    CHECK_INT(mproc_pool_submit(pool, task_reverse, "ok", 2, NULL, NULL, &done), 0);
    check_output(done, "ko");
    CHECK_INT(mproc_pool_submit(pool, task_block, "r", 1, &pipes, NULL, &running), 0);
    CHECK(pipes_wait_started(&pipes) > 0);
    CHECK_INT(mproc_pool_submit(pool, task_reverse, "q", 1, NULL, NULL, &queued), 0);

    void *out = NULL;
    size_t len = 0;
    CHECK_INT(mproc_future_get(running, 10, &out, &len), MPROC_ETIMEDOUT);
    CHECK(out == NULL);
    CHECK_INT(mproc_future_ready(running), 0);
    CHECK_INT(mproc_future_wait(running, 0), MPROC_ETIMEDOUT);
    CHECK_INT(mproc_future_successful(running), MPROC_ESTATE);

    CHECK_INT(mproc_future_cancel(queued), 0);
    CHECK_INT(get_code(queued), MPROC_ECANCELLED);
    CHECK(contains(mproc_last_error_message(), "before it started"));
    CHECK_INT(mproc_future_cancel(running), 0);
    CHECK_INT(get_code(running), MPROC_ECANCELLED);
    CHECK(contains(mproc_last_error_message(), "killed and replaced"));
    /* A resolved future keeps its output. */
    CHECK_INT(mproc_future_cancel(done), 0);
    check_output(done, "ko");
    CHECK_INT(mproc_future_destroy(done), 0);
    CHECK_INT(mproc_future_destroy(queued), 0);
    CHECK_INT(mproc_future_destroy(running), 0);
    finish_pool(pool);
  }
  pipes_close(&pipes);
}

static void terminate_resolves_every_future(void) {
  task_pipes pipes;
  REQUIRE(pipes_open(&pipes) == 0);
  mproc_pool_t *pool = make_pool(1);
  if (pool != NULL) {
    mproc_future_t *futures[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3; ++i)
      CHECK_INT(mproc_pool_submit(pool, task_block, "t", 1, &pipes, NULL, &futures[i]), 0);
    CHECK(pipes_wait_started(&pipes) > 0);
    CHECK_INT(mproc_pool_terminate(pool), 0);
    for (int i = 0; i < 3; ++i) {
      CHECK_INT(mproc_future_ready(futures[i]), 1); /* already, without waiting */
      CHECK_INT(get_code(futures[i]), MPROC_ETERMINATED);
    }
    mproc_future_t *late = NULL;
    CHECK_INT(mproc_pool_submit(pool, task_reverse, "x", 1, NULL, NULL, &late), MPROC_ETERMINATED);
    CHECK(late == NULL);
    CHECK_INT(mproc_pool_terminate(pool), 0); /* idempotent */
    CHECK_INT(mproc_pool_join(pool), 0);
    CHECK_INT(mproc_pool_destroy(pool), 0);
    /* Futures outlive their pool. */
    for (int i = 0; i < 3; ++i) {
      CHECK_INT(get_code(futures[i]), MPROC_ETERMINATED);
      CHECK_INT(mproc_future_destroy(futures[i]), 0);
    }
  }
  pipes_close(&pipes);
}

static void destroy_with_work_outstanding_never_hangs(void) {
  task_pipes pipes;
  REQUIRE(pipes_open(&pipes) == 0);
  mproc_pool_t *pool = make_pool(2);
  if (pool != NULL) {
    mproc_future_t *blocked = NULL;
    mproc_future_t *finished = NULL;
    CHECK_INT(mproc_pool_submit(pool, task_reverse, "ab", 2, NULL, NULL, &finished), 0);
    CHECK_INT(mproc_future_wait(finished, TEST_WAIT_MS), 0);
    CHECK_INT(mproc_pool_submit(pool, task_block, "b", 1, &pipes, NULL, &blocked), 0);
    CHECK(pipes_wait_started(&pipes) > 0);
    CHECK_INT(mproc_pool_destroy(pool), 0); /* no close, no join */
    CHECK_INT(get_code(blocked), MPROC_ETERMINATED);
    check_output(finished, "ba"); /* a finished task keeps its output */
    CHECK_INT(mproc_future_destroy(blocked), 0);
    CHECK_INT(mproc_future_destroy(finished), 0);
  }
  pipes_close(&pipes);
}

static void submissions_after_close_are_eclosed(void) {
  mproc_pool_t *pool = make_pool(1);
  REQUIRE(pool != NULL);
  CHECK_INT(mproc_pool_join(pool), MPROC_ESTATE); /* not closed yet */
  CHECK(contains(mproc_last_error_message(), "mproc_pool_join"));
  mproc_future_t *before = NULL;
  CHECK_INT(mproc_pool_submit(pool, task_reverse, "ab", 2, NULL, NULL, &before), 0);
  CHECK_INT(mproc_pool_close(pool), 0);
  CHECK_INT(mproc_pool_close(pool), 0);

  mproc_future_t *f = NULL;
  CHECK_INT(mproc_pool_submit(pool, task_reverse, "x", 1, NULL, NULL, &f), MPROC_ECLOSED);
  CHECK(contains(mproc_last_error_message(), "mproc_pool_submit"));
  CHECK(f == NULL);
  mproc_bytes_t inputs[] = {{"a", 1}};
  mproc_bytes_t *results = NULL;
  CHECK_INT(mproc_pool_map(pool, task_reverse, NULL, inputs, 1, 1, NULL, &results),
            MPROC_ECLOSED);
  CHECK(results == NULL);
  mproc_pool_iterator_t *it = NULL;
  CHECK_INT(mproc_pool_imap(pool, task_reverse, NULL, inputs, 1, 1, NULL, &it), MPROC_ECLOSED);
  CHECK(contains(mproc_last_error_message(), "mproc_pool_imap"));
  CHECK(it == NULL);
  CHECK_INT(mproc_pool_imap_unordered(pool, task_reverse, NULL, inputs, 1, 1, NULL, &it),
            MPROC_ECLOSED);
  CHECK(it == NULL);

  /* What was submitted before close still runs; join waits for it. */
  CHECK_INT(mproc_pool_join(pool), 0);
  CHECK_INT(mproc_future_ready(before), 1);
  check_output(before, "ba");
  CHECK_INT(mproc_future_destroy(before), 0);
  CHECK_INT(mproc_pool_destroy(pool), 0);
}

static void an_iterator_made_before_close_finishes_its_inputs(void) {
  mproc_pool_t *pool = make_pool(2);
  REQUIRE(pool != NULL);
  mproc_bytes_t inputs[6];
  for (int i = 0; i < 6; ++i) inputs[i] = (mproc_bytes_t){"ab", 2};
  mproc_task_options_t options;
  mproc_task_options_init(&options);
  options.window = 1; /* most inputs are submitted after close */
  mproc_pool_iterator_t *it = NULL;
  REQUIRE_INT(mproc_pool_imap(pool, task_reverse, NULL, inputs, 6, 1, &options, &it), 0);
  CHECK_INT(mproc_pool_close(pool), 0);
  int got = 0;
  for (;;) {
    void *out = NULL;
    size_t len = 0;
    const int rc = mproc_pool_iterator_next(it, TEST_WAIT_MS, &out, &len);
    if (rc == MPROC_EEOF) break;
    if (!CHECK_INT(rc, 0)) break;
    CHECK(len == 2 && memcmp(out, "ba", 2) == 0);
    mproc_buffer_free(out);
    ++got;
  }
  CHECK_INT(got, 6);
  CHECK_INT(mproc_pool_iterator_destroy(it), 0);
  CHECK_INT(mproc_pool_join(pool), 0);
  CHECK_INT(mproc_pool_destroy(pool), 0);
}

static const test_case kTests[] = {
    {"a_worker_killed_mid_task_fails_that_task_only",
     a_worker_killed_mid_task_fails_that_task_only},
    {"a_task_that_exits_its_worker_is_worker_died", a_task_that_exits_its_worker_is_worker_died},
    {"a_task_past_its_timeout_is_stopped", a_task_past_its_timeout_is_stopped},
    {"get_with_a_timeout_then_cancel", get_with_a_timeout_then_cancel},
    {"terminate_resolves_every_future", terminate_resolves_every_future},
    {"destroy_with_work_outstanding_never_hangs", destroy_with_work_outstanding_never_hangs},
    {"submissions_after_close_are_eclosed", submissions_after_close_are_eclosed},
    {"an_iterator_made_before_close_finishes_its_inputs",
     an_iterator_made_before_close_finishes_its_inputs},
};

const test_group pool_faults_group = {"pool_faults", kTests, sizeof kTests / sizeof kTests[0]};
