/* The pool through the C ABI: futures, map, imap in input and completion order, options
 * (initializer, progress, maxtasksperchild, start method, struct_size), close / join. */
#include <errno.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pool_support.h"

static void submit_get_ready_successful(void) {
  mproc_pool_t *pool = make_pool(2);
  REQUIRE(pool != NULL);
  CHECK_INT(mproc_pool_processes(pool), 2);
  mproc_future_t *f = NULL;
  CHECK_INT(mproc_pool_submit(pool, task_reverse, "hello", 5, NULL, NULL, &f), 0);
  CHECK_INT(mproc_future_wait(f, TEST_WAIT_MS), 0);
  CHECK_INT(mproc_future_ready(f), 1);
  CHECK_INT(mproc_future_successful(f), 1);
  check_output(f, "olleh");
  check_output(f, "olleh"); /* get again: a new copy */
  CHECK_INT(mproc_future_wait(f, 0), 0);
  CHECK_INT(mproc_future_wait(f, MPROC_WAIT_FOREVER), 0);
  void *out = NULL;
  size_t len = 99;
  CHECK_INT(mproc_future_get(f, MPROC_WAIT_FOREVER, &out, &len), 0);
  CHECK_INT(len, 5);
  mproc_buffer_free(out);
  CHECK_INT(mproc_future_destroy(f), 0);
  finish_pool(pool);
}

static void empty_input_and_output(void) {
  mproc_pool_t *pool = make_pool(1);
  REQUIRE(pool != NULL);
  mproc_future_t *f = NULL;
  CHECK_INT(mproc_pool_submit(pool, task_reverse, NULL, 0, NULL, NULL, &f), 0);
  void *out = NULL;
  size_t len = 99;
  CHECK_INT(mproc_future_get(f, TEST_WAIT_MS, &out, &len), 0);
  CHECK(out != NULL);
  CHECK_INT(len, 0);
  mproc_buffer_free(out);
  CHECK_INT(mproc_future_destroy(f), 0);
  finish_pool(pool);
}

static void many_futures_all_resolve(void) {
  enum { kCount = 200 };
  mproc_pool_t *pool = make_pool(2);
  REQUIRE(pool != NULL);
  mproc_future_t *futures[kCount];
  char inputs[kCount][12];  /* room for any int: the compiler cannot see that i < 1000 */
  for (int i = 0; i < kCount; ++i) {
    snprintf(inputs[i], sizeof inputs[i], "%03d", i);
    futures[i] = NULL;
    CHECK_INT(mproc_pool_submit(pool, task_reverse, inputs[i], 3, NULL, NULL, &futures[i]), 0);
  }
  for (int i = 0; i < kCount; ++i) {
    char expected[4] = {inputs[i][2], inputs[i][1], inputs[i][0], 0};
    check_output(futures[i], expected);
    CHECK_INT(mproc_future_destroy(futures[i]), 0);
  }
  size_t completed = 0;
  CHECK_INT(mproc_pool_completed_tasks(pool, &completed), 0);
  CHECK_INT(completed, kCount);
  finish_pool(pool);
}

/* What a future's callback saw. */
typedef struct {
  int calls;
  int code;
  char data[256];
  size_t len;
} seen_callback;

static void record_callback(int code, const void *data, size_t len, void *user_data) {
  seen_callback *seen = user_data;
  ++seen->calls;
  seen->code = code;
  seen->len = len;
  if (len < sizeof seen->data) memcpy(seen->data, data, len);
}

static void future_callbacks_see_the_output_or_the_error(void) {
  mproc_pool_t *pool = make_pool(1);
  REQUIRE(pool != NULL);
  seen_callback ok = {0, 1, {0}, 0};
  seen_callback failed = {0, 1, {0}, 0};
  seen_callback late = {0, 1, {0}, 0};
  mproc_future_t *f = NULL;
  mproc_future_t *g = NULL;
  CHECK_INT(mproc_pool_submit(pool, task_reverse, "abc", 3, NULL, NULL, &f), 0);
  CHECK_INT(mproc_future_on_done(f, record_callback, &ok), 0);
  CHECK_INT(mproc_pool_submit(pool, task_fail, "xyz", 3, NULL, NULL, &g), 0);
  CHECK_INT(mproc_future_on_done(g, record_callback, &failed), 0);
  /* Callbacks run before waiters wake. */
  CHECK_INT(mproc_future_wait(f, TEST_WAIT_MS), 0);
  CHECK_INT(mproc_future_wait(g, TEST_WAIT_MS), 0);
  CHECK_INT(ok.calls, 1);
  CHECK_INT(ok.code, 0);
  CHECK_INT(ok.len, 3);
  CHECK(memcmp(ok.data, "cba", 3) == 0);
  CHECK_INT(failed.calls, 1);
  CHECK_INT(failed.code, MPROC_ETASKFAILED);
  CHECK(contains(failed.data, "bad input: xyz"));
  /* Already resolved: the callback runs at once, in this thread. */
  CHECK_INT(mproc_future_on_done(f, record_callback, &late), 0);
  CHECK_INT(late.calls, 1);
  CHECK_INT(late.code, 0);
  /* Bad input. */
  CHECK_INT(mproc_future_on_done(f, NULL, NULL), -EINVAL);
  CHECK(contains(mproc_last_error_message(), "mproc_future_on_done"));
  CHECK_INT(mproc_future_on_done(NULL, record_callback, &late), MPROC_EBADHANDLE);
  CHECK_INT(mproc_future_destroy(f), 0);
  CHECK_INT(mproc_future_destroy(g), 0);
  finish_pool(pool);
}

static void task_failure_carries_its_message_and_the_worker_lives_on(void) {
  mproc_pool_t *pool = make_pool(1);
  REQUIRE(pool != NULL);
  int before = 0;
  CHECK_INT(mproc_pool_worker_pids(pool, &before, 1), 1);
  mproc_future_t *f = NULL;
  CHECK_INT(mproc_pool_submit(pool, task_fail, "xyz", 3, NULL, NULL, &f), 0);
  CHECK_INT(mproc_future_wait(f, TEST_WAIT_MS), 0);
  CHECK_INT(mproc_future_successful(f), 0);
  void *out = NULL;
  size_t len = 42;
  CHECK_INT(mproc_future_get(f, TEST_WAIT_MS, &out, &len), MPROC_ETASKFAILED);
  CHECK(contains(mproc_last_error_message(), "bad input: xyz"));
  CHECK(contains(mproc_last_error_message(), "mproc_future_get"));
  CHECK(out == NULL);
  CHECK_INT(len, 42);
  /* Each get reports it again. */
  CHECK_INT(get_code(f), MPROC_ETASKFAILED);
  CHECK_INT(mproc_future_destroy(f), 0);

  CHECK_INT(mproc_pool_submit(pool, task_return_7, "", 0, NULL, NULL, &f), 0);
  CHECK_INT(get_code(f), MPROC_ETASKFAILED);
  CHECK(contains(mproc_last_error_message(), "returned 7"));
  CHECK_INT(mproc_future_destroy(f), 0);

  /* Same worker, still serving. */
  CHECK_INT(mproc_pool_submit(pool, task_pid, "", 0, NULL, NULL, &f), 0);
  int pid = 0;
  CHECK_INT(mproc_future_get(f, TEST_WAIT_MS, &out, &len), 0);
  if (len == sizeof pid) memcpy(&pid, out, sizeof pid);
  mproc_buffer_free(out);
  CHECK_INT(pid, before);
  CHECK_INT(mproc_future_destroy(f), 0);
  finish_pool(pool);
}

static void map_gives_outputs_in_input_order_in_one_buffer(void) {
  enum { kCount = 50 };
  mproc_pool_t *pool = make_pool(2);
  REQUIRE(pool != NULL);
  char text[kCount][8];
  mproc_bytes_t inputs[kCount];
  for (int i = 0; i < kCount; ++i) {
    const int n = snprintf(text[i], sizeof text[i], "ab%d", i);
    inputs[i].data = text[i];
    inputs[i].len = (size_t)n;
  }
  const size_t chunksizes[] = {1, 7, MPROC_CHUNKSIZE_AUTO, 1000};
  for (size_t c = 0; c < sizeof chunksizes / sizeof chunksizes[0]; ++c) {
    mproc_bytes_t *results = NULL;
    if (!CHECK_INT(mproc_pool_map(pool, task_reverse, NULL, inputs, kCount, chunksizes[c], NULL,
                                  &results),
                   0))
      continue;
    for (int i = 0; i < kCount; ++i) {
      CHECK_INT(results[i].len, inputs[i].len);
      const char *in = inputs[i].data;
      const char *got = results[i].data;
      for (size_t k = 0; k < inputs[i].len && k < results[i].len; ++k)
        CHECK(got[k] == in[inputs[i].len - 1 - k]);
    }
    mproc_buffer_free(results); /* one buffer for the array and every output */
  }
  /* No input: an empty array, still a buffer. */
  mproc_bytes_t *empty = NULL;
  CHECK_INT(mproc_pool_map(pool, task_reverse, NULL, NULL, 0, 1, NULL, &empty), 0);
  CHECK(empty != NULL);
  mproc_buffer_free(empty);
  finish_pool(pool);
}

static int task_fail_if_b(const void *input, size_t len, void *user_data,
                          mproc_task_result_t *result) {
  if (len > 0 && *(const char *)input == 'b') return task_fail(input, len, user_data, result);
  return task_reverse(input, len, user_data, result);
}

static void map_reports_the_first_failure_in_input_order(void) {
  mproc_pool_t *pool = make_pool(2);
  REQUIRE(pool != NULL);
  mproc_bytes_t inputs[] = {{"ok", 2}, {"b1", 2}, {"b2", 2}, {"ok", 2}};
  mproc_bytes_t *results = (mproc_bytes_t *)(void *)&inputs; /* must stay untouched */
  CHECK_INT(mproc_pool_map(pool, task_fail_if_b, NULL, inputs, 4, 1, NULL, &results),
            MPROC_ETASKFAILED);
  CHECK(contains(mproc_last_error_message(), "bad input: b1"));
  CHECK(contains(mproc_last_error_message(), "mproc_pool_map"));
  CHECK(contains(mproc_last_error_message(), "input 1")); /* the index of the failed input */
  CHECK(results == (mproc_bytes_t *)(void *)&inputs);
  finish_pool(pool);
}

/* Reads the iterator to its end; returns the outputs concatenated with '|' into buf. */
static void drain(mproc_pool_iterator_t *it, char *buf, size_t size) {
  buf[0] = '\0';
  for (;;) {
    void *out = NULL;
    size_t len = 0;
    const int rc = mproc_pool_iterator_next(it, TEST_WAIT_MS, &out, &len);
    if (rc == MPROC_EEOF) break;
    if (!CHECK_INT(rc, 0)) break;
    const size_t used = strlen(buf);
    snprintf(buf + used, size - used, "%s%.*s", used ? "|" : "", (int)len, (const char *)out);
    mproc_buffer_free(out);
  }
}

static void imap_streams_in_input_order_then_eof(void) {
  mproc_pool_t *pool = make_pool(3);
  REQUIRE(pool != NULL);
  mproc_bytes_t inputs[] = {{"ab", 2}, {"cd", 2}, {"", 0}, {"efg", 3}, {"h", 1}};
  mproc_task_options_t options;
  mproc_task_options_init(&options);
  options.window = 2; /* fewer chunks in flight than inputs: fed as the outputs are taken */
  const size_t chunksizes[] = {1, 2, MPROC_CHUNKSIZE_AUTO};
  for (size_t c = 0; c < 3; ++c) {
    mproc_pool_iterator_t *it = NULL;
    if (!CHECK_INT(mproc_pool_imap(pool, task_reverse, NULL, inputs, 5, chunksizes[c], &options,
                                   &it),
                   0))
      continue;
    char got[64];
    drain(it, got, sizeof got);
    CHECK_STR(got, "ba|dc||gfe|h");
    /* The end is a distinct code, and stays the end. */
    void *out = NULL;
    size_t len = 0;
    CHECK_INT(mproc_pool_iterator_next(it, 0, &out, &len), MPROC_EEOF);
    CHECK(contains(mproc_last_error_message(), "mproc_pool_iterator_next"));
    CHECK_INT(mproc_pool_iterator_next(it, MPROC_WAIT_FOREVER, &out, &len), MPROC_EEOF);
    CHECK(out == NULL);
    CHECK_INT(mproc_pool_iterator_destroy(it), 0);
  }
  finish_pool(pool);
}

/* Input 0 blocks until released; input 1 finishes at once. imap_unordered gives input 1 first;
 * imap waits for input 0 (its next times out meanwhile), then gives both in order. */
static void imap_orders_and_imap_unordered_does_not(void) {
  task_pipes pipes;
  REQUIRE(pipes_open(&pipes) == 0);
  mproc_pool_t *pool = make_pool(2);
  if (pool != NULL) {
    mproc_bytes_t inputs[] = {{"blocked", 7}, {"quick", 5}};
    void *out = NULL;
    size_t len = 0;

    mproc_pool_iterator_t *it = NULL;
    CHECK_INT(mproc_pool_imap_unordered(pool, task_block_if_b, &pipes, inputs, 2, 1, NULL, &it),
              0);
    CHECK(pipes_wait_started(&pipes) > 0);
    if (CHECK_INT(mproc_pool_iterator_next(it, TEST_WAIT_MS, &out, &len), 0)) {
      CHECK(len == 5 && memcmp(out, "quick", 5) == 0);
      mproc_buffer_free(out);
    }
    CHECK_INT(mproc_pool_iterator_next(it, 0, &out, &len), MPROC_ETIMEDOUT);
    pipes_release(&pipes, 1);
    if (CHECK_INT(mproc_pool_iterator_next(it, TEST_WAIT_MS, &out, &len), 0)) {
      CHECK(len == 7 && memcmp(out, "blocked", 7) == 0);
      mproc_buffer_free(out);
    }
    CHECK_INT(mproc_pool_iterator_next(it, TEST_WAIT_MS, &out, &len), MPROC_EEOF);
    CHECK_INT(mproc_pool_iterator_destroy(it), 0);

    CHECK_INT(mproc_pool_imap(pool, task_block_if_b, &pipes, inputs, 2, 1, NULL, &it), 0);
    CHECK(pipes_wait_started(&pipes) > 0);
    CHECK_INT(mproc_pool_iterator_next(it, 20, &out, &len), MPROC_ETIMEDOUT);
    CHECK(contains(mproc_last_error_message(), "mproc_pool_iterator_next"));
    pipes_release(&pipes, 1);
    char got[64];
    drain(it, got, sizeof got);
    CHECK_STR(got, "blocked|quick");
    CHECK_INT(mproc_pool_iterator_destroy(it), 0);
    finish_pool(pool);
  }
  pipes_close(&pipes);
}

static void imap_failed_input_gives_its_error_and_goes_on(void) {
  mproc_pool_t *pool = make_pool(2);
  REQUIRE(pool != NULL);
  mproc_bytes_t inputs[] = {{"a", 1}, {"b", 1}, {"c", 1}};
  mproc_pool_iterator_t *it = NULL;
  REQUIRE_INT(mproc_pool_imap(pool, task_fail, NULL, inputs, 3, 1, NULL, &it), 0);
  for (int i = 0; i < 3; ++i) {
    void *out = NULL;
    size_t len = 0;
    char expected[32];
    snprintf(expected, sizeof expected, "bad input: %c", 'a' + i);
    CHECK_INT(mproc_pool_iterator_next(it, TEST_WAIT_MS, &out, &len), MPROC_ETASKFAILED);
    CHECK(contains(mproc_last_error_message(), expected));
  }
  void *out = NULL;
  size_t len = 0;
  CHECK_INT(mproc_pool_iterator_next(it, TEST_WAIT_MS, &out, &len), MPROC_EEOF);
  CHECK_INT(mproc_pool_iterator_destroy(it), 0);
  finish_pool(pool);
}

static void an_iterator_destroyed_early_and_one_outliving_its_pool(void) {
  task_pipes pipes;
  REQUIRE(pipes_open(&pipes) == 0);
  mproc_pool_t *pool = make_pool(1);
  if (pool != NULL) {
    mproc_bytes_t inputs[] = {{"b1", 2}, {"b2", 2}, {"b3", 2}};
    mproc_pool_iterator_t *early = NULL;
    mproc_pool_iterator_t *late = NULL;
    CHECK_INT(mproc_pool_imap(pool, task_reverse, NULL, inputs, 3, 1, NULL, &early), 0);
    CHECK_INT(mproc_pool_iterator_destroy(early), 0); /* its tasks run on, outputs dropped */
    CHECK_INT(mproc_pool_imap(pool, task_block, &pipes, inputs, 3, 1, NULL, &late), 0);
    CHECK(pipes_wait_started(&pipes) > 0);
    CHECK_INT(mproc_pool_destroy(pool), 0); /* terminates: the iterator's inputs fail */
    int terminated = 0;
    for (;;) {
      void *out = NULL;
      size_t len = 0;
      const int rc = mproc_pool_iterator_next(late, TEST_WAIT_MS, &out, &len);
      if (rc == MPROC_EEOF) break;
      if (!CHECK_INT(rc, MPROC_ETERMINATED)) break;
      ++terminated;
    }
    CHECK_INT(terminated, 3);
    CHECK_INT(mproc_pool_iterator_destroy(late), 0);
  }
  pipes_close(&pipes);
}

/* ---- options ---------------------------------------------------------------------------------- */

static int g_initialized; /* set in the workers only */

static int init_set_flag(void *user_data) {
  g_initialized = *(const int *)user_data;
  return 0;
}

static int task_read_flag(const void *input, size_t len, void *user_data,
                          mproc_task_result_t *result) {
  (void)input;
  (void)len;
  (void)user_data;
  return mproc_task_result_set(result, &g_initialized, sizeof g_initialized);
}

static void plain_init_set_flag(void) { g_initialized = 7; }

/* Both kinds of initializer run in every worker and not in the parent: `initializer` (with its
 * data; fork pools only) and `plain_initializer` (in a forkserver pool's workers too); with both
 * set the pool is refused. */
static void initializers_run_in_each_worker(void) {
  static const int value = 42;
  static const struct {
    int start_method;
    int plain; /* plain_initializer, else initializer with &value */
    int expected;
  } cases[] = {
      {MPROC_START_FORK, 0, 42},
      {MPROC_START_FORK, 1, 7},
      {MPROC_START_FORKSERVER, 1, 7},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
    mproc_pool_options_t options;
    mproc_pool_options_init(&options);
    options.processes = 2;
    options.start_method = cases[c].start_method;
    if (cases[c].plain) {
      options.plain_initializer = plain_init_set_flag;
    } else {
      options.initializer = init_set_flag;
      options.initializer_data = (void *)&value;
    }
    mproc_pool_t *pool = NULL;
    REQUIRE_INT(mproc_pool_create(&options, &pool), 0);
    mproc_bytes_t inputs[8] = {{"", 0}};
    for (int i = 0; i < 8; ++i) inputs[i].data = "";
    mproc_bytes_t *results = NULL;
    if (CHECK_INT(mproc_pool_map(pool, task_read_flag, NULL, inputs, 8, 1, NULL, &results), 0)) {
      for (int i = 0; i < 8; ++i) {
        int got = 0;
        CHECK_INT(results[i].len, sizeof got);
        memcpy(&got, results[i].data, sizeof got);
        CHECK_INT(got, cases[c].expected);
      }
      mproc_buffer_free(results);
    }
    CHECK_INT(g_initialized, 0); /* not in the parent */
    finish_pool(pool);
  }
  CHECK_INT(mproc_forkserver_stop(), 0);

  mproc_pool_options_t both;
  mproc_pool_options_init(&both);
  both.processes = 1;
  both.initializer = init_set_flag;
  both.plain_initializer = plain_init_set_flag;
  mproc_pool_t *pool = NULL;
  CHECK_INT(mproc_pool_create(&both, &pool), -EINVAL);
  CHECK(contains(mproc_last_error_message(), "not both"));
  CHECK(pool == NULL);
}

static int init_fail(void *user_data) {
  (void)user_data;
  return 5;
}

static void a_failing_initializer_breaks_the_pool_instead_of_respawning(void) {
  mproc_pool_options_t options;
  mproc_pool_options_init(&options);
  options.processes = 1;
  options.initializer = init_fail;
  mproc_pool_t *pool = NULL;
  REQUIRE_INT(mproc_pool_create(&options, &pool), 0);
  mproc_future_t *f = NULL;
  CHECK_INT(mproc_pool_submit(pool, task_reverse, "x", 1, NULL, NULL, &f), 0);
  CHECK_INT(get_code(f), MPROC_EBROKEN);
  CHECK(contains(mproc_last_error_message(), "initializer returned 5"));
  CHECK_INT(mproc_future_destroy(f), 0);
  CHECK_INT(mproc_pool_terminate(pool), 0);
  CHECK_INT(mproc_pool_join(pool), 0);
  CHECK_INT(mproc_pool_destroy(pool), 0);
}

static atomic_size_t g_progress;

static void on_progress(size_t completed, void *user_data) {
  (void)user_data;
  atomic_store(&g_progress, completed);
}

static void progress_callback_counts_finished_tasks(void) {
  atomic_store(&g_progress, 0);
  mproc_pool_options_t options;
  mproc_pool_options_init(&options);
  options.processes = 2;
  options.on_progress = on_progress;
  mproc_pool_t *pool = NULL;
  REQUIRE_INT(mproc_pool_create(&options, &pool), 0);
  mproc_bytes_t inputs[20];
  for (int i = 0; i < 20; ++i) inputs[i] = (mproc_bytes_t){"abc", 3};
  mproc_bytes_t *results = NULL;
  CHECK_INT(mproc_pool_map(pool, task_reverse, NULL, inputs, 20, 3, NULL, &results), 0);
  mproc_buffer_free(results);
  CHECK_INT(mproc_pool_close(pool), 0);
  CHECK_INT(mproc_pool_join(pool), 0); /* the dispatcher thread has ended: every call was made */
  CHECK_INT(atomic_load(&g_progress), 20);
  size_t completed = 0;
  CHECK_INT(mproc_pool_completed_tasks(pool, &completed), 0);
  CHECK_INT(completed, 20);
  CHECK_INT(mproc_pool_destroy(pool), 0);
}

static void maxtasksperchild_replaces_workers(void) {
  mproc_pool_options_t options;
  mproc_pool_options_init(&options);
  options.processes = 1;
  options.maxtasksperchild = 1;
  mproc_pool_t *pool = NULL;
  REQUIRE_INT(mproc_pool_create(&options, &pool), 0);
  int pids[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    mproc_future_t *f = NULL;
    CHECK_INT(mproc_pool_submit(pool, task_pid, "", 0, NULL, NULL, &f), 0);
    void *out = NULL;
    size_t len = 0;
    if (CHECK_INT(mproc_future_get(f, TEST_WAIT_MS, &out, &len), 0)) {
      if (CHECK_INT(len, sizeof(int))) memcpy(&pids[i], out, sizeof(int));
      mproc_buffer_free(out);
    }
    CHECK_INT(mproc_future_destroy(f), 0);
  }
  CHECK(pids[0] > 0 && pids[0] != pids[1] && pids[1] != pids[2] && pids[0] != pids[2]);
  finish_pool(pool);
}

static void start_methods(void) {
  mproc_pool_options_t options;
  mproc_pool_options_init(&options);
  CHECK_INT(options.processes, mproc_cpu_count());
  CHECK_INT(options.start_method, MPROC_START_FORK);
  options.processes = 1;
  mproc_pool_t *pool = NULL;
  CHECK_INT(mproc_pool_create(&options, &pool), 0);
  finish_pool(pool);

  /* forkserver: workers forked by a single-threaded server; a C task runs there the same way. */
  CHECK_INT(mproc_forkserver_pid(), 0);
  CHECK_INT(mproc_forkserver_start(), 0);
  const int server = mproc_forkserver_pid();
  CHECK(server > 0);
  options.start_method = MPROC_START_FORKSERVER;
  pool = NULL;
  CHECK_INT(mproc_pool_create(&options, &pool), 0);
  REQUIRE(pool != NULL);
  mproc_future_t *f = NULL;
  CHECK_INT(mproc_pool_submit(pool, task_reverse, "server", 6, NULL, NULL, &f), 0);
  CHECK_INT(mproc_future_wait(f, TEST_WAIT_MS), 0);
  check_output(f, "revres");
  CHECK_INT(mproc_future_destroy(f), 0);
  finish_pool(pool);

  /* The server was forked before this initializer's closure existed: refused, nothing created. */
  mproc_pool_t *const untouched = (mproc_pool_t *)(void *)&options;
  pool = untouched;
  options.initializer = init_set_flag;
  CHECK_INT(mproc_pool_create(&options, &pool), -EINVAL);
  CHECK(contains(mproc_last_error_message(), "forkserver"));
  CHECK(pool == untouched);
  options.initializer = NULL;
  CHECK_INT(mproc_forkserver_pid(), server);
  CHECK_INT(mproc_forkserver_stop(), 0);
  CHECK_INT(mproc_forkserver_pid(), 0);
  CHECK_INT(mproc_forkserver_stop(), 0); /* none runs: a no-op */
  options.start_method = 99;
  CHECK_INT(mproc_pool_create(&options, &pool), -EINVAL);
  CHECK(contains(mproc_last_error_message(), "start method 99"));
  CHECK(pool == untouched);
}

/* A caller built against a newer header: a bigger struct, new fields zero. */
typedef struct {
  mproc_pool_options_t known;
  int64_t future_field;
} newer_pool_options;

static void options_struct_size_is_handled_deliberately(void) {
  newer_pool_options newer;
  memset(&newer, 0, sizeof newer);
  mproc_pool_options_init(&newer.known);
  newer.known.struct_size = sizeof newer;
  newer.known.processes = 1;
  mproc_pool_t *pool = NULL;
  CHECK_INT(mproc_pool_create(&newer.known, &pool), 0);
  finish_pool(pool);

  pool = NULL;
  newer.future_field = 1; /* an option this library does not know: refused, not ignored */
  CHECK_INT(mproc_pool_create(&newer.known, &pool), -EINVAL);
  CHECK(contains(mproc_last_error_message(), "does not know"));
  CHECK(pool == NULL);

  mproc_pool_options_t options;
  mproc_pool_options_init(&options);
  options.processes = 1;
  options.struct_size = 0;
  CHECK_INT(mproc_pool_create(&options, &pool), -EINVAL);
  CHECK(contains(mproc_last_error_message(), "struct_size"));
  options.struct_size = sizeof(size_t) + sizeof(int);
  CHECK_INT(mproc_pool_create(&options, &pool), -EINVAL);
  CHECK(pool == NULL);
  /* A caller built against 0.1's header, before plain_initializer: accepted. */
  options.struct_size = offsetof(mproc_pool_options_t, plain_initializer);
  CHECK_INT(mproc_pool_create(&options, &pool), 0);
  finish_pool(pool);
  pool = NULL;

  /* Defaults with NULL options. */
  CHECK_INT(mproc_pool_create(NULL, &pool), 0);
  CHECK_INT(mproc_pool_processes(pool), mproc_cpu_count());
  CHECK_INT(mproc_pool_terminate(pool), 0);
  CHECK_INT(mproc_pool_destroy(pool), 0);

  /* The task options follow the same rules. */
  pool = make_pool(1);
  REQUIRE(pool != NULL);
  mproc_task_options_t task;
  mproc_task_options_init(&task);
  CHECK_INT(task.timeout_ms, MPROC_WAIT_FOREVER);
  CHECK_INT(task.window, 0);
  task.struct_size = 1;
  mproc_future_t *f = NULL;
  CHECK_INT(mproc_pool_submit(pool, task_reverse, "a", 1, NULL, &task, &f), -EINVAL);
  CHECK(contains(mproc_last_error_message(), "mproc_task_options_t"));
  CHECK(f == NULL);
  mproc_task_options_init(&task);
  task.timeout_ms = 0;
  CHECK_INT(mproc_pool_submit(pool, task_reverse, "a", 1, NULL, &task, &f), -EINVAL);
  CHECK(contains(mproc_last_error_message(), "timeout_ms"));
  task.timeout_ms = -2;
  CHECK_INT(mproc_pool_submit(pool, task_reverse, "a", 1, NULL, &task, &f), -EINVAL);
  CHECK(f == NULL);
  finish_pool(pool);
}

static const test_case kTests[] = {
    {"submit_get_ready_successful", submit_get_ready_successful},
    {"empty_input_and_output", empty_input_and_output},
    {"many_futures_all_resolve", many_futures_all_resolve},
    {"future_callbacks_see_the_output_or_the_error", future_callbacks_see_the_output_or_the_error},
    {"task_failure_carries_its_message_and_the_worker_lives_on",
     task_failure_carries_its_message_and_the_worker_lives_on},
    {"map_gives_outputs_in_input_order_in_one_buffer",
     map_gives_outputs_in_input_order_in_one_buffer},
    {"map_reports_the_first_failure_in_input_order", map_reports_the_first_failure_in_input_order},
    {"imap_streams_in_input_order_then_eof", imap_streams_in_input_order_then_eof},
    {"imap_orders_and_imap_unordered_does_not", imap_orders_and_imap_unordered_does_not},
    {"imap_failed_input_gives_its_error_and_goes_on",
     imap_failed_input_gives_its_error_and_goes_on},
    {"an_iterator_destroyed_early_and_one_outliving_its_pool",
     an_iterator_destroyed_early_and_one_outliving_its_pool},
    {"initializers_run_in_each_worker", initializers_run_in_each_worker},
    {"a_failing_initializer_breaks_the_pool_instead_of_respawning",
     a_failing_initializer_breaks_the_pool_instead_of_respawning},
    {"progress_callback_counts_finished_tasks", progress_callback_counts_finished_tasks},
    {"maxtasksperchild_replaces_workers", maxtasksperchild_replaces_workers},
    {"start_methods", start_methods},
    {"options_struct_size_is_handled_deliberately", options_struct_size_is_handled_deliberately},
};

const test_group pool_group = {"pool", kTests, sizeof kTests / sizeof kTests[0]};
