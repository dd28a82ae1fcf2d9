/* Errors and version: mproc_strerror, mproc_err_name, mproc_last_error_message, mproc_version. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "mproc.h"
#include "tests.h"

typedef struct {
  int code;
  const char *name;
  const char *message;
} code_row;

static const code_row kCodes[] = {
#define CODE_ROW_(c_name, cpp_name, value, message) {MPROC_##c_name, "MPROC_" #c_name, message},
    MPROC_ERRNO_MAP(CODE_ROW_)
#undef CODE_ROW_
};
enum { kCodeCount = sizeof kCodes / sizeof kCodes[0] };

static void every_mproc_code_has_its_name_and_message(void) {
  CHECK_INT(kCodeCount, 17);
  for (int i = 0; i < kCodeCount; ++i) {
    const code_row *row = &kCodes[i];
    /* Pinned values: appended in order from -1001, never renumbered. */
    CHECK_INT(row->code, -1001 - i);
    CHECK_STR(mproc_err_name(row->code), row->name);
    CHECK_STR(mproc_strerror(row->code), row->message);
    CHECK(strcmp(mproc_strerror(row->code), "unknown error") != 0);
    for (int j = 0; j < i; ++j) CHECK(strcmp(mproc_strerror(kCodes[j].code), row->message) != 0);
  }
}

static void codes_are_pinned(void) {
  /* Written out by hand, not through the X-macro: a renumbering must fail here. */
  CHECK_INT(MPROC_EBADHANDLE, -1001);
  CHECK_INT(MPROC_ESTATE, -1002);
  CHECK_INT(MPROC_ETIMEDOUT, -1003);
  CHECK_INT(MPROC_ECLOSED, -1006);
  CHECK_INT(MPROC_EINTERNAL, -1016);
  CHECK_INT(MPROC_EAUTH, -1017);
  CHECK_STR(mproc_err_name(-1001), "MPROC_EBADHANDLE");
  CHECK_STR(mproc_err_name(-1003), "MPROC_ETIMEDOUT");
  CHECK_STR(mproc_err_name(-1016), "MPROC_EINTERNAL");
  CHECK_STR(mproc_strerror(-1003), "operation timed out");
}

static void zero_is_success(void) {
  CHECK_STR(mproc_err_name(0), "OK");
  CHECK_STR(mproc_strerror(0), "success");
}

static void negative_errno_is_named_like_errno(void) {
  CHECK_STR(mproc_err_name(-EINVAL), "EINVAL");
  CHECK_STR(mproc_strerror(-EINVAL), strerror(EINVAL));
  CHECK_STR(mproc_err_name(-ENOMEM), "ENOMEM");
  CHECK_STR(mproc_err_name(-EAGAIN), "EAGAIN");
  CHECK_STR(mproc_err_name(-ECHILD), "ECHILD");
  CHECK_STR(mproc_strerror(-ECHILD), strerror(ECHILD));
}

static void unknown_codes_are_unknown(void) {
  /* Unassigned codes in mproc's range, positive codes, huge negatives and the extremes. */
  const int unknown[] = {-1018, -1500, -1999, 1, 12345, -100000, INT_MAX, INT_MIN};
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; ++i) {
    CHECK_STR(mproc_err_name(unknown[i]), "UNKNOWN");
    CHECK_STR(mproc_strerror(unknown[i]), "unknown error");
  }
}

static void last_error_message_names_the_failing_function(void) {
  mproc_process_t *p = NULL;
  REQUIRE_INT(mproc_process_create(test_return_code, NULL, &p), 0);
  REQUIRE_INT(mproc_process_set_name(p, "named-in-message"), 0);
  CHECK_INT(mproc_process_join(p, 0), MPROC_ESTATE);
  const char *message = mproc_last_error_message();
  CHECK(message != NULL);
  CHECK(contains(message, "mproc_process_join"));
  CHECK(contains(message, "named-in-message"));
  CHECK(contains(message, "not been started"));

  /* A successful call leaves the message alone... */
  char name[64];
  CHECK_INT(mproc_process_name(p, name, sizeof name), 16);
  CHECK(contains(mproc_last_error_message(), "mproc_process_join"));
  /* ...the next failure replaces it. */
  CHECK_INT(mproc_process_pid(p), MPROC_ESTATE);
  CHECK(contains(mproc_last_error_message(), "mproc_process_pid"));
  CHECK(!contains(mproc_last_error_message(), "mproc_process_join"));
  CHECK_INT(mproc_log_set_level(5), -EINVAL);
  CHECK(contains(mproc_last_error_message(), "mproc_log_set_level"));
  CHECK_INT(mproc_process_destroy(p), 0);
}

/* The C function is named once, and the C++ operation behind it not at all. */
static void last_error_message_names_the_c_function_once(void) {
  mproc_process_t *p = NULL;
  REQUIRE_INT(mproc_process_create(test_return_code, NULL, &p), 0);
  CHECK_INT(mproc_process_join(p, 0), MPROC_ESTATE);
  const char *message = mproc_last_error_message();
  CHECK(strncmp(message, "mproc_process_join: ", 20) == 0);
  CHECK(!contains(message, "join: join") && !contains(message + 20, "join:"));
  CHECK_INT(mproc_process_start(p), 0);
  CHECK_INT(mproc_process_start(p), MPROC_ESTATE);
  message = mproc_last_error_message();
  CHECK(strncmp(message, "mproc_process_start: ", 21) == 0);
  CHECK(!contains(message + 21, "start:"));
  CHECK_INT(mproc_process_join(p, TEST_WAIT_MS), 0);
  CHECK_INT(mproc_process_destroy(p), 0);
  mproc_lock_t *lock = NULL;
  REQUIRE_INT(mproc_lock_create_attachable(&lock), 0);
  CHECK(mproc_lock_handle(lock, NULL, 8) < 0); /* no buffer */
  message = mproc_last_error_message();
  CHECK(strncmp(message, "mproc_lock_handle: ", 19) == 0);
  CHECK(!contains(message, "Lock.handle"));
  CHECK_INT(mproc_lock_destroy(lock), 0);
}

typedef struct {
  char initial_message[256]; /* copies: the thread's own message dies with the thread */
  int code;
  char message[256];
} thread_result;

static void *fail_in_thread(void *arg) {
  thread_result *result = arg;
  const char *initial = mproc_last_error_message();
  snprintf(result->initial_message, sizeof result->initial_message, "%s",
           initial == NULL ? "(null)" : initial);
  result->code = mproc_process_start(NULL);
  snprintf(result->message, sizeof result->message, "%s", mproc_last_error_message());
  return NULL;
}

static void last_error_message_is_per_thread(void) {
  CHECK_INT(mproc_process_is_alive(NULL), MPROC_EBADHANDLE);
  CHECK(contains(mproc_last_error_message(), "mproc_process_is_alive"));

  thread_result result;
  memset(&result, 0, sizeof result);
  pthread_t thread;
  REQUIRE_INT(pthread_create(&thread, NULL, fail_in_thread, &result), 0);
  REQUIRE_INT(pthread_join(thread, NULL), 0);
  /* A thread that never failed sees "", never NULL. */
  CHECK_STR(result.initial_message, "");
  CHECK_INT(result.code, MPROC_EBADHANDLE);
  CHECK(contains(result.message, "mproc_process_start"));
  CHECK(contains(result.message, "NULL"));
  /* The other thread's failure did not touch this thread's message. */
  CHECK(contains(mproc_last_error_message(), "mproc_process_is_alive"));
}

static void version_matches_the_header(void) {
  CHECK_INT(mproc_version(), MPROC_VERSION_HEX);
  CHECK_STR(mproc_version_string(), MPROC_VERSION_STRING);
  CHECK_INT(MPROC_VERSION_HEX,
            (MPROC_VERSION_MAJOR << 16) | (MPROC_VERSION_MINOR << 8) | MPROC_VERSION_PATCH);
  char expected[32];
  snprintf(expected, sizeof expected, "%u.%u.%u", (mproc_version() >> 16) & 0xffu,
           (mproc_version() >> 8) & 0xffu, mproc_version() & 0xffu);
  CHECK_STR(mproc_version_string(), expected);
}

static const test_case kTests[] = {
    {"every_mproc_code_has_its_name_and_message", every_mproc_code_has_its_name_and_message},
    {"codes_are_pinned", codes_are_pinned},
    {"zero_is_success", zero_is_success},
    {"negative_errno_is_named_like_errno", negative_errno_is_named_like_errno},
    {"unknown_codes_are_unknown", unknown_codes_are_unknown},
    {"last_error_message_names_the_failing_function",
     last_error_message_names_the_failing_function},
    {"last_error_message_names_the_c_function_once",
     last_error_message_names_the_c_function_once},
    {"last_error_message_is_per_thread", last_error_message_is_per_thread},
    {"version_matches_the_header", version_matches_the_header},
};

const test_group errors_group = {"errors", kTests, sizeof kTests / sizeof kTests[0]};
