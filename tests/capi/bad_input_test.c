/* Bad input through the C ABI: NULL, destroyed, stale and foreign handles, NULL arguments. Each
 * case gets its code and a message naming the function, and never touches freed memory (this file
 * runs under ASan in CI). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests.h"

enum { kUntouched = -12345 };

/* Every function that takes a process handle, called with harmless other arguments. */
typedef struct {
  const char *function;
  int (*call)(mproc_process_t *p);
} handle_call;

static int g_exitcode = kUntouched;
static char g_name[16];

static int call_set_name(mproc_process_t *p) { return mproc_process_set_name(p, "name"); }
static int call_get_name(mproc_process_t *p) {
  return mproc_process_name(p, g_name, sizeof g_name);
}
static int call_get_name_length(mproc_process_t *p) { return mproc_process_name(p, NULL, 0); }
static int call_set_daemon(mproc_process_t *p) { return mproc_process_set_daemon(p, 1); }
static int call_set_die_with_parent(mproc_process_t *p) {
  return mproc_process_set_die_with_parent(p, 1);
}
static int call_join_forever(mproc_process_t *p) {
  return mproc_process_join(p, MPROC_WAIT_FOREVER);
}
static int call_join_zero(mproc_process_t *p) { return mproc_process_join(p, 0); }
static int call_exitcode(mproc_process_t *p) { return mproc_process_exitcode(p, &g_exitcode); }
static int call_exitcode_null(mproc_process_t *p) { return mproc_process_exitcode(p, NULL); }

static const handle_call kCalls[] = {
    {"mproc_process_set_name", call_set_name},
    {"mproc_process_name", call_get_name},
    {"mproc_process_name", call_get_name_length},
    {"mproc_process_set_daemon", call_set_daemon},
    {"mproc_process_set_die_with_parent", call_set_die_with_parent},
    {"mproc_process_start", mproc_process_start},
    {"mproc_process_join", call_join_forever},
    {"mproc_process_join", call_join_zero},
    {"mproc_process_is_alive", mproc_process_is_alive},
    {"mproc_process_pid", mproc_process_pid},
    {"mproc_process_exitcode", call_exitcode},
    {"mproc_process_exitcode", call_exitcode_null}, /* the handle is checked first */
    {"mproc_process_terminate", mproc_process_terminate},
    {"mproc_process_kill", mproc_process_kill},
    {"mproc_process_sentinel", mproc_process_sentinel},
    {"mproc_process_close", mproc_process_close},
};
enum { kCallCount = sizeof kCalls / sizeof kCalls[0] };

/* Every function rejects `p` with MPROC_EBADHANDLE and a message naming it; nothing is written. */
static void check_rejected_everywhere(mproc_process_t *p) {
  for (int i = 0; i < kCallCount; ++i) {
    g_exitcode = kUntouched;
    memset(g_name, 'x', sizeof g_name);
    if (!CHECK_INT(kCalls[i].call(p), MPROC_EBADHANDLE))
      fprintf(stderr, "  (calling %s)\n", kCalls[i].function);
    CHECK(contains(mproc_last_error_message(), kCalls[i].function));
    CHECK(contains(mproc_last_error_message(), "mproc_process_t"));
    CHECK_INT(g_exitcode, kUntouched);
    CHECK(g_name[0] == 'x');
  }
}

static void null_handle_is_ebadhandle_everywhere(void) {
  check_rejected_everywhere(NULL);
  CHECK(contains(mproc_last_error_message(), "NULL"));
  CHECK_INT(mproc_process_destroy(NULL), 0);
}

static void destroyed_handle_is_ebadhandle_everywhere(void) {
  mproc_process_t *p = NULL;
  REQUIRE_INT(mproc_process_create(test_return_code, NULL, &p), 0);
  REQUIRE_INT(mproc_process_destroy(p), 0);
  check_rejected_everywhere(p);
  CHECK_INT(mproc_process_destroy(p), MPROC_EBADHANDLE);
  CHECK(contains(mproc_last_error_message(), "mproc_process_destroy"));
  CHECK_INT(mproc_process_destroy(p), MPROC_EBADHANDLE);
}

static void destroyed_handle_of_an_ended_child_is_ebadhandle(void) {
  mproc_process_t *p = start_process(test_return_code, NULL);
  REQUIRE(p != NULL);
  CHECK_INT(mproc_process_join(p, TEST_WAIT_MS), 0);
  REQUIRE_INT(mproc_process_destroy(p), 0);
  check_rejected_everywhere(p);
  CHECK_INT(mproc_process_destroy(p), MPROC_EBADHANDLE);
}

static void stale_handle_stays_invalid_when_its_slot_is_reused(void) {
  mproc_process_t *old = NULL;
  mproc_process_t *reused = NULL;
  REQUIRE_INT(mproc_process_create(test_return_code, NULL, &old), 0);
  REQUIRE_INT(mproc_process_destroy(old), 0);
  /* The next handle takes the freed slot; the old one must not reach the new object. */
  REQUIRE_INT(mproc_process_create(test_return_code, NULL, &reused), 0);
  CHECK(reused != old);
  CHECK_INT(mproc_process_set_name(reused, "the-new-one"), 0);
  check_rejected_everywhere(old);
  CHECK_INT(mproc_process_destroy(old), MPROC_EBADHANDLE);
  /* ...and none of those calls touched the live object. */
  char name[32];
  CHECK_INT(mproc_process_name(reused, name, sizeof name), 11);
  CHECK_STR(name, "the-new-one");
  CHECK_INT(mproc_process_is_alive(reused), 0);
  CHECK_INT(mproc_process_pid(reused), MPROC_ESTATE);
  CHECK_INT(mproc_process_destroy(reused), 0);
}

static void foreign_pointers_are_ebadhandle(void) {
  int local = 0;
  void *heap = malloc(64);
  REQUIRE(heap != NULL);
  memset(heap, 0xab, 64);
  mproc_process_t *const foreign[] = {
      (mproc_process_t *)(void *)&local,
      (mproc_process_t *)heap,
      (mproc_process_t *)(void *)&g_exitcode,
      (mproc_process_t *)(uintptr_t)1,
      (mproc_process_t *)UINTPTR_MAX,
  };
  for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; ++i) {
    check_rejected_everywhere(foreign[i]);
    CHECK_INT(mproc_process_destroy(foreign[i]), MPROC_EBADHANDLE);
  }
  /* Not written through. */
  CHECK_INT(local, 0);
  const unsigned char *bytes = heap;
  for (int i = 0; i < 64; ++i) CHECK(bytes[i] == 0xab);
  free(heap);
}

static void create_rejects_null_fn_and_null_out(void) {
  int marker = 0;
  mproc_process_t *const untouched = (mproc_process_t *)(void *)&marker;
  mproc_process_t *out = untouched;
  CHECK_INT(mproc_process_create(NULL, NULL, &out), -EINVAL);
  CHECK(out == untouched);
  CHECK(contains(mproc_last_error_message(), "mproc_process_create"));
  CHECK(contains(mproc_last_error_message(), "fn"));
  CHECK_INT(mproc_process_create(test_return_code, NULL, NULL), -EINVAL);
  CHECK(contains(mproc_last_error_message(), "out"));
  CHECK_INT(mproc_process_create(NULL, NULL, NULL), -EINVAL);
  CHECK(out == untouched);
}

static void null_arguments_on_a_live_handle_are_einval(void) {
  mproc_process_t *p = NULL;
  REQUIRE_INT(mproc_process_create(test_return_code, NULL, &p), 0);
  CHECK_INT(mproc_process_exitcode(p, NULL), -EINVAL); /* before start */
  CHECK(contains(mproc_last_error_message(), "mproc_process_exitcode"));
  CHECK(contains(mproc_last_error_message(), "exitcode"));
  CHECK_INT(mproc_process_set_name(p, NULL), -EINVAL);
  CHECK(contains(mproc_last_error_message(), "mproc_process_set_name"));
  CHECK_INT(mproc_process_name(p, NULL, 5), -EINVAL);
  CHECK(contains(mproc_last_error_message(), "mproc_process_name"));

  CHECK_INT(mproc_process_start(p), 0);
  CHECK_INT(mproc_process_join(p, TEST_WAIT_MS), 0);
  CHECK_INT(mproc_process_exitcode(p, NULL), -EINVAL); /* after the end too */
  int code = kUntouched;
  CHECK_INT(mproc_process_exitcode(p, &code), 1);
  CHECK_INT(code, 0);
  /* The name survived the rejected set_name. */
  char name[16];
  CHECK(mproc_process_name(p, name, sizeof name) > 0);
  CHECK(strncmp(name, "Process-", 8) == 0);
  CHECK_INT(mproc_process_destroy(p), 0);
}

static const test_case kTests[] = {
    {"null_handle_is_ebadhandle_everywhere", null_handle_is_ebadhandle_everywhere},
    {"destroyed_handle_is_ebadhandle_everywhere", destroyed_handle_is_ebadhandle_everywhere},
    {"destroyed_handle_of_an_ended_child_is_ebadhandle",
     destroyed_handle_of_an_ended_child_is_ebadhandle},
    {"stale_handle_stays_invalid_when_its_slot_is_reused",
     stale_handle_stays_invalid_when_its_slot_is_reused},
    {"foreign_pointers_are_ebadhandle", foreign_pointers_are_ebadhandle},
    {"create_rejects_null_fn_and_null_out", create_rejects_null_fn_and_null_out},
    {"null_arguments_on_a_live_handle_are_einval", null_arguments_on_a_live_handle_are_einval},
};

const test_group bad_input_group = {"bad_input", kTests, sizeof kTests / sizeof kTests[0]};
