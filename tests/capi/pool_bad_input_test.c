/* Bad input to the pool's C ABI: NULL task, bad worker counts, chunksize 0, NULL and bad
 * pointers, destroyed / foreign / wrong-kind handles, result setters outside a task. Each gets its
 * code and a message naming the function; nothing is half-created and no worker is left behind
 * (the harness checks children and descriptors after each test). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pool_support.h"

static int g_marker;
#define UNTOUCHED_POOL ((mproc_pool_t *)(void *)&g_marker)
#define UNTOUCHED_FUTURE ((mproc_future_t *)(void *)&g_marker)
#define UNTOUCHED_ITERATOR ((mproc_pool_iterator_t *)(void *)&g_marker)
#define UNTOUCHED_RESULTS ((mproc_bytes_t *)(void *)&g_marker)

static void zero_or_negative_workers_are_einval(void) {
  const int counts[] = {0, -1, INT32_MIN};
  for (size_t i = 0; i < sizeof counts / sizeof counts[0]; ++i) {
    mproc_pool_options_t options;
    mproc_pool_options_init(&options);
    options.processes = counts[i];
    mproc_pool_t *pool = UNTOUCHED_POOL;
    CHECK_INT(mproc_pool_create(&options, &pool), -EINVAL);
    CHECK(contains(mproc_last_error_message(), "mproc_pool_create"));
    CHECK(contains(mproc_last_error_message(), "processes"));
    CHECK(pool == UNTOUCHED_POOL);
  }
  CHECK_INT(mproc_pool_create(NULL, NULL), -EINVAL);
  CHECK(contains(mproc_last_error_message(), "out"));
  mproc_pool_options_init(NULL); /* a no-op */
  mproc_task_options_init(NULL);
}

/* Every submission with a NULL task, a NULL output pointer, or bad inputs. */
static void null_task_and_bad_arguments_are_einval(void) {
  mproc_pool_t *pool = make_pool(1);
  REQUIRE(pool != NULL);
  mproc_bytes_t inputs[] = {{"a", 1}, {NULL, 3}};
  mproc_future_t *f = UNTOUCHED_FUTURE;
  mproc_pool_iterator_t *it = UNTOUCHED_ITERATOR;
  mproc_bytes_t *results = UNTOUCHED_RESULTS;

  CHECK_INT(mproc_pool_submit(pool, NULL, "a", 1, NULL, NULL, &f), -EINVAL);
  CHECK(contains(mproc_last_error_message(), "mproc_pool_submit: fn is NULL"));
  CHECK_INT(mproc_pool_submit(pool, task_reverse, "a", 1, NULL, NULL, NULL), -EINVAL);
  CHECK_INT(mproc_pool_submit(pool, task_reverse, NULL, 1, NULL, NULL, &f), -EINVAL);
  CHECK(contains(mproc_last_error_message(), "input is NULL"));
  CHECK(f == UNTOUCHED_FUTURE);

  CHECK_INT(mproc_pool_map(pool, NULL, NULL, inputs, 1, 1, NULL, &results), -EINVAL);
  CHECK(contains(mproc_last_error_message(), "mproc_pool_map: fn is NULL"));
  CHECK_INT(mproc_pool_map(pool, task_reverse, NULL, inputs, 1, 1, NULL, NULL), -EINVAL);
  CHECK_INT(mproc_pool_map(pool, task_reverse, NULL, NULL, 1, 1, NULL, &results), -EINVAL);
  CHECK_INT(mproc_pool_map(pool, task_reverse, NULL, inputs, 2, 1, NULL, &results), -EINVAL);
  CHECK(contains(mproc_last_error_message(), "inputs[1].data is NULL"));
  CHECK_INT(mproc_pool_map(pool, task_reverse, NULL, inputs, 1, 0, NULL, &results), -EINVAL);
  CHECK(contains(mproc_last_error_message(), "chunksize is 0"));
  CHECK(results == UNTOUCHED_RESULTS);

  CHECK_INT(mproc_pool_imap(pool, NULL, NULL, inputs, 1, 1, NULL, &it), -EINVAL);
  CHECK(contains(mproc_last_error_message(), "mproc_pool_imap: fn is NULL"));
  CHECK_INT(mproc_pool_imap(pool, task_reverse, NULL, inputs, 1, 0, NULL, &it), -EINVAL);
  CHECK(contains(mproc_last_error_message(), "chunksize is 0"));
  CHECK_INT(mproc_pool_imap_unordered(pool, NULL, NULL, inputs, 1, 1, NULL, &it), -EINVAL);
  CHECK_INT(mproc_pool_imap_unordered(pool, task_reverse, NULL, inputs, 1, 0, NULL, &it),
            -EINVAL);
  CHECK_INT(mproc_pool_imap_unordered(pool, task_reverse, NULL, inputs, 2, 1, NULL, &it),
            -EINVAL);
  CHECK_INT(mproc_pool_imap(pool, task_reverse, NULL, inputs, 1, 1, NULL, NULL), -EINVAL);
  CHECK(it == UNTOUCHED_ITERATOR);

  CHECK_INT(mproc_pool_completed_tasks(pool, NULL), -EINVAL);
  CHECK_INT(mproc_pool_worker_pids(pool, NULL, 1), -EINVAL);
  CHECK_INT(mproc_pool_worker_pids(pool, NULL, 0), 1); /* a count only */

  /* Nothing of the above ran a task. */
  size_t completed = 99;
  CHECK_INT(mproc_pool_completed_tasks(pool, &completed), 0);
  CHECK_INT(completed, 0);
  finish_pool(pool);
}

static void future_and_iterator_arguments_are_checked(void) {
  mproc_pool_t *pool = make_pool(1);
  REQUIRE(pool != NULL);
  mproc_future_t *f = NULL;
  REQUIRE_INT(mproc_pool_submit(pool, task_reverse, "ab", 2, NULL, NULL, &f), 0);
  size_t len = 0;
  void *out = NULL;
  CHECK_INT(mproc_future_get(f, TEST_WAIT_MS, NULL, &len), -EINVAL);
  CHECK(contains(mproc_last_error_message(), "mproc_future_get: out is NULL"));
  CHECK_INT(mproc_future_get(f, TEST_WAIT_MS, &out, NULL), -EINVAL);
  CHECK_INT(mproc_future_get(f, -2, &out, &len), -EINVAL);
  CHECK_INT(mproc_future_wait(f, -2), -EINVAL);
  CHECK_INT(mproc_future_wait(f, INT64_MIN), -EINVAL);
  check_output(f, "ba");
  CHECK_INT(mproc_future_destroy(f), 0);

  mproc_bytes_t inputs[] = {{"a", 1}};
  mproc_pool_iterator_t *it = NULL;
  REQUIRE_INT(mproc_pool_imap(pool, task_reverse, NULL, inputs, 1, 1, NULL, &it), 0);
  CHECK_INT(mproc_pool_iterator_next(it, TEST_WAIT_MS, NULL, &len), -EINVAL);
  CHECK_INT(mproc_pool_iterator_next(it, TEST_WAIT_MS, &out, NULL), -EINVAL);
  CHECK_INT(mproc_pool_iterator_next(it, -2, &out, &len), -EINVAL);
  CHECK(contains(mproc_last_error_message(), "mproc_pool_iterator_next"));
  /* None of those consumed the output. */
  CHECK_INT(mproc_pool_iterator_next(it, TEST_WAIT_MS, &out, &len), 0);
  mproc_buffer_free(out);
  CHECK_INT(mproc_pool_iterator_destroy(it), 0);
  finish_pool(pool);
}

/* Every function of each handle type rejects `pool`, `future` and `it` with MPROC_EBADHANDLE. */
static void check_rejected(mproc_pool_t *pool, mproc_future_t *future, mproc_pool_iterator_t *it) {
  void *out = NULL;
  size_t len = 0;
  int pids[2];
  mproc_bytes_t inputs[] = {{"a", 1}};
  mproc_bytes_t *results = UNTOUCHED_RESULTS;
  mproc_future_t *f = UNTOUCHED_FUTURE;
  mproc_pool_iterator_t *new_it = UNTOUCHED_ITERATOR;
  CHECK_INT(mproc_pool_submit(pool, task_reverse, "a", 1, NULL, NULL, &f), MPROC_EBADHANDLE);
  CHECK(contains(mproc_last_error_message(), "mproc_pool_submit"));
  CHECK(contains(mproc_last_error_message(), "mproc_pool_t"));
  CHECK_INT(mproc_pool_map(pool, task_reverse, NULL, inputs, 1, 1, NULL, &results),
            MPROC_EBADHANDLE);
  CHECK_INT(mproc_pool_imap(pool, task_reverse, NULL, inputs, 1, 1, NULL, &new_it),
            MPROC_EBADHANDLE);
  CHECK_INT(mproc_pool_imap_unordered(pool, task_reverse, NULL, inputs, 1, 1, NULL, &new_it),
            MPROC_EBADHANDLE);
  CHECK_INT(mproc_pool_close(pool), MPROC_EBADHANDLE);
  CHECK_INT(mproc_pool_join(pool), MPROC_EBADHANDLE);
  CHECK_INT(mproc_pool_terminate(pool), MPROC_EBADHANDLE);
  CHECK(contains(mproc_last_error_message(), "mproc_pool_terminate"));
  CHECK_INT(mproc_pool_processes(pool), MPROC_EBADHANDLE);
  CHECK_INT(mproc_pool_completed_tasks(pool, &len), MPROC_EBADHANDLE);
  CHECK_INT(mproc_pool_worker_pids(pool, pids, 2), MPROC_EBADHANDLE);
  CHECK(f == UNTOUCHED_FUTURE && results == UNTOUCHED_RESULTS && new_it == UNTOUCHED_ITERATOR);

  CHECK_INT(mproc_future_wait(future, 0), MPROC_EBADHANDLE);
  CHECK(contains(mproc_last_error_message(), "mproc_future_wait"));
  CHECK(contains(mproc_last_error_message(), "mproc_future_t"));
  CHECK_INT(mproc_future_ready(future), MPROC_EBADHANDLE);
  CHECK_INT(mproc_future_successful(future), MPROC_EBADHANDLE);
  CHECK_INT(mproc_future_get(future, 0, &out, &len), MPROC_EBADHANDLE);
  CHECK(contains(mproc_last_error_message(), "mproc_future_get"));
  CHECK_INT(mproc_future_get(future, 0, NULL, NULL), MPROC_EBADHANDLE); /* handle first */
  CHECK_INT(mproc_future_cancel(future), MPROC_EBADHANDLE);
  CHECK(out == NULL);

  CHECK_INT(mproc_pool_iterator_next(it, 0, &out, &len), MPROC_EBADHANDLE);
  CHECK(contains(mproc_last_error_message(), "mproc_pool_iterator_t"));
  CHECK(out == NULL);
}

/* A pool of one worker with a future and an iterator (each over the input "a"); NULL pool after
 * a failed check. */
static mproc_pool_t *make_three_handles(mproc_future_t **f, mproc_pool_iterator_t **it) {
  mproc_pool_t *pool = make_pool(1);
  if (pool == NULL) return NULL;
  mproc_bytes_t inputs[] = {{"a", 1}};
  CHECK_INT(mproc_pool_submit(pool, task_reverse, "a", 1, NULL, NULL, f), 0);
  CHECK_INT(mproc_pool_imap(pool, task_reverse, NULL, inputs, 1, 1, NULL, it), 0);
  return pool;
}

static void destroyed_handles_are_ebadhandle(void) {
  mproc_future_t *f = NULL;
  mproc_pool_iterator_t *it = NULL;
  mproc_pool_t *pool = make_three_handles(&f, &it);
  REQUIRE(pool != NULL);
  CHECK_INT(mproc_future_destroy(f), 0);
  CHECK_INT(mproc_pool_iterator_destroy(it), 0);
  CHECK_INT(mproc_pool_close(pool), 0);
  CHECK_INT(mproc_pool_join(pool), 0);
  CHECK_INT(mproc_pool_destroy(pool), 0);
  check_rejected(pool, f, it);
  CHECK_INT(mproc_pool_destroy(pool), MPROC_EBADHANDLE);
  CHECK(contains(mproc_last_error_message(), "mproc_pool_destroy"));
  CHECK_INT(mproc_future_destroy(f), MPROC_EBADHANDLE);
  CHECK(contains(mproc_last_error_message(), "mproc_future_destroy"));
  CHECK_INT(mproc_pool_iterator_destroy(it), MPROC_EBADHANDLE);
  CHECK(contains(mproc_last_error_message(), "mproc_pool_iterator_destroy"));
}

static void null_foreign_and_wrong_kind_handles_are_ebadhandle(void) {
  check_rejected(NULL, NULL, NULL);
  CHECK_INT(mproc_pool_destroy(NULL), 0);
  CHECK_INT(mproc_future_destroy(NULL), 0);
  CHECK_INT(mproc_pool_iterator_destroy(NULL), 0);

  int local = 0;
  check_rejected((mproc_pool_t *)(void *)&local, (mproc_future_t *)(void *)&local,
                 (mproc_pool_iterator_t *)(void *)&local);
  check_rejected((mproc_pool_t *)UINTPTR_MAX, (mproc_future_t *)UINTPTR_MAX,
                 (mproc_pool_iterator_t *)UINTPTR_MAX);
  CHECK_INT(local, 0);

  /* A live handle of another kind: a future as a pool, a pool as a future, and so on. */
  mproc_future_t *f = NULL;
  mproc_pool_iterator_t *it = NULL;
  mproc_pool_t *pool = make_three_handles(&f, &it);
  REQUIRE(pool != NULL);
  check_rejected((mproc_pool_t *)(void *)f, (mproc_future_t *)(void *)it,
                 (mproc_pool_iterator_t *)(void *)pool);
  CHECK_INT(mproc_pool_destroy((mproc_pool_t *)(void *)f), MPROC_EBADHANDLE);
  CHECK_INT(mproc_future_destroy((mproc_future_t *)(void *)pool), MPROC_EBADHANDLE);
  CHECK_INT(mproc_pool_iterator_destroy((mproc_pool_iterator_t *)(void *)f), MPROC_EBADHANDLE);
  /* ...and all three still work. */
  check_output(f, "a");
  void *out = NULL;
  size_t len = 0;
  CHECK_INT(mproc_pool_iterator_next(it, TEST_WAIT_MS, &out, &len), 0);
  mproc_buffer_free(out);
  CHECK_INT(mproc_future_destroy(f), 0);
  CHECK_INT(mproc_pool_iterator_destroy(it), 0);
  finish_pool(pool);
}

/* Calls the setters with bad pointers from inside a task; the output reports the codes. */
static int task_misuse_setters(const void *input, size_t len, void *user_data,
                               mproc_task_result_t *result) {
  (void)input;
  (void)len;
  (void)user_data;
  int codes[4];
  codes[0] = mproc_task_result_set(NULL, "x", 1);
  codes[1] = mproc_task_result_set(result, NULL, 1);
  codes[2] = mproc_task_result_fail((mproc_task_result_t *)(void *)&codes, "x");
  codes[3] = mproc_task_result_set(result, "", 0);
  return mproc_task_result_set(result, codes, sizeof codes);
}

static void result_setters_outside_their_task_are_rejected(void) {
  /* In the test process no task runs: every result pointer is refused, without being read. */
  int local = 0;
  CHECK_INT(mproc_task_result_set((mproc_task_result_t *)(void *)&local, "x", 1), MPROC_ESTATE);
  CHECK(contains(mproc_last_error_message(), "mproc_task_result_set"));
  CHECK(contains(mproc_last_error_message(), "not the result of a task running"));
  CHECK_INT(mproc_task_result_fail((mproc_task_result_t *)(void *)&local, "x"), MPROC_ESTATE);
  CHECK_INT(mproc_task_result_set(NULL, "x", 1), -EINVAL);
  CHECK_INT(mproc_task_result_fail(NULL, "x"), -EINVAL);
  CHECK_INT(local, 0);

  mproc_pool_t *pool = make_pool(1);
  REQUIRE(pool != NULL);
  mproc_future_t *f = NULL;
  CHECK_INT(mproc_pool_submit(pool, task_misuse_setters, "", 0, NULL, NULL, &f), 0);
  void *out = NULL;
  size_t len = 0;
  if (CHECK_INT(mproc_future_get(f, TEST_WAIT_MS, &out, &len), 0)) {
    int codes[4] = {0, 0, 0, 0};
    if (CHECK_INT(len, sizeof codes)) memcpy(codes, out, sizeof codes);
    CHECK_INT(codes[0], -EINVAL);
    CHECK_INT(codes[1], -EINVAL);
    CHECK_INT(codes[2], MPROC_ESTATE);
    CHECK_INT(codes[3], 0);
    mproc_buffer_free(out);
  }
  CHECK_INT(mproc_future_destroy(f), 0);
  finish_pool(pool);
}

static const test_case kTests[] = {
    {"zero_or_negative_workers_are_einval", zero_or_negative_workers_are_einval},
    {"null_task_and_bad_arguments_are_einval", null_task_and_bad_arguments_are_einval},
    {"future_and_iterator_arguments_are_checked", future_and_iterator_arguments_are_checked},
    {"destroyed_handles_are_ebadhandle", destroyed_handles_are_ebadhandle},
    {"null_foreign_and_wrong_kind_handles_are_ebadhandle",
     null_foreign_and_wrong_kind_handles_are_ebadhandle},
    {"result_setters_outside_their_task_are_rejected",
     result_setters_outside_their_task_are_rejected},
};

const test_group pool_bad_input_group = {"pool_bad_input", kTests,
                                         sizeof kTests / sizeof kTests[0]};
