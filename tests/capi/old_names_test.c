/* The C names renamed in 0.2 (CHANGELOG.md, "Changed") still build, link and do what the new
 * names do: each old function is called beside its new name, each old constant compared with
 * its new one. This file is compiled with -Wno-deprecated-declarations: the warnings are the point
 * of the aliases everywhere else. */
#include <string.h>

#include "tests.h"

static void old_constants_equal_the_new_ones(void) {
  CHECK_INT(MPROC_HANDLE_MAX, 256); /* 64 before the plain create's sync objects had handles */
  CHECK_INT(MPROC_NAME_MAX, 256);
  CHECK_INT(MPROC_QUEUE_HANDLE_MAX, MPROC_HANDLE_MAX);
  CHECK_INT(MPROC_SHM_NAME_MAX, MPROC_NAME_MAX);
  CHECK_INT(MPROC_MANAGER_HANDLE_MAX, MPROC_NAME_MAX);
}

static void log_get_level_reads_the_level(void) {
  const int initial = mproc_log_level();
  REQUIRE_INT(mproc_log_set_level(MPROC_LOG_ERROR), 0);
  CHECK_INT(mproc_log_get_level(), MPROC_LOG_ERROR);
  CHECK_INT(mproc_log_get_level(), mproc_log_level());
  CHECK_INT(mproc_log_set_level(initial), 0);
}

static void process_get_name_reads_the_name(void) {
  mproc_process_t *p = NULL;
  REQUIRE_INT(mproc_process_create(test_return_code, NULL, &p), 0);
  CHECK_INT(mproc_process_set_name(p, "renamed-worker"), 0);
  char old_name[64] = "";
  char new_name[64] = "";
  CHECK_INT(mproc_process_get_name(p, old_name, sizeof old_name), 14);
  CHECK_INT(mproc_process_name(p, new_name, sizeof new_name), 14);
  CHECK_STR(old_name, "renamed-worker");
  CHECK_STR(new_name, "renamed-worker");
  /* The old name keeps the errors of the new one. */
  CHECK_INT(mproc_process_get_name(NULL, old_name, sizeof old_name), MPROC_EBADHANDLE);
  CHECK_INT(mproc_process_destroy(p), 0);
}

static void semaphore_get_value_reads_the_value(void) {
  mproc_semaphore_t *s = NULL;
  REQUIRE_INT(mproc_semaphore_create(3, 0, &s), 0);
  CHECK_INT(mproc_semaphore_get_value(s), 3);
  CHECK_INT(mproc_semaphore_acquire(s, 0), 0);
  CHECK_INT(mproc_semaphore_get_value(s), 2);
  CHECK_INT(mproc_semaphore_value(s), 2);
  CHECK_INT(mproc_semaphore_destroy(s), 0);
}

static void connection_get_max_message_size_reads_the_limit(void) {
  mproc_connection_t *a = NULL;
  mproc_connection_t *b = NULL;
  REQUIRE_INT(mproc_pipe_create(1, &a, &b), 0);
  CHECK_INT(mproc_connection_set_max_message_size(a, 1000), 0);
  uint64_t old_limit = 0;
  uint64_t new_limit = 0;
  CHECK_INT(mproc_connection_get_max_message_size(a, &old_limit), 0);
  CHECK_INT(mproc_connection_max_message_size(a, &new_limit), 0);
  CHECK_INT((long long)old_limit, 1000);
  CHECK_INT((long long)new_limit, 1000);
  CHECK_INT(mproc_connection_destroy(a), 0);
  CHECK_INT(mproc_connection_destroy(b), 0);
}

static void start_and_stop_forkserver_run_the_forkserver(void) {
  REQUIRE_INT(mproc_start_forkserver(), 0);
  CHECK(mproc_forkserver_pid() > 0);
  CHECK_INT(mproc_start_forkserver(), 0); /* already running: a no-op, as the new name */
  CHECK_INT(mproc_stop_forkserver(), 0);
  CHECK_INT(mproc_forkserver_pid(), 0);
}

static const test_case kTests[] = {
    {"old_constants_equal_the_new_ones", old_constants_equal_the_new_ones},
    {"log_get_level_reads_the_level", log_get_level_reads_the_level},
    {"process_get_name_reads_the_name", process_get_name_reads_the_name},
    {"semaphore_get_value_reads_the_value", semaphore_get_value_reads_the_value},
    {"connection_get_max_message_size_reads_the_limit",
     connection_get_max_message_size_reads_the_limit},
    {"start_and_stop_forkserver_run_the_forkserver", start_and_stop_forkserver_run_the_forkserver},
};

const test_group old_names_group = {"old_names", kTests, sizeof kTests / sizeof kTests[0]};
