/* Logging: mproc_log_set_level / mproc_log_level, and that the level really filters. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests.h"

static const int kLevels[] = {MPROC_LOG_TRACE, MPROC_LOG_DEBUG, MPROC_LOG_INFO,
                              MPROC_LOG_WARN,  MPROC_LOG_ERROR, MPROC_LOG_OFF};

static void levels_are_pinned(void) {
  CHECK_INT(MPROC_LOG_TRACE, 0);
  CHECK_INT(MPROC_LOG_DEBUG, 1);
  CHECK_INT(MPROC_LOG_INFO, 2);
  CHECK_INT(MPROC_LOG_WARN, 3);
  CHECK_INT(MPROC_LOG_ERROR, 4);
  CHECK_INT(MPROC_LOG_OFF, 6);
}

static void every_valid_level_can_be_set_and_read_back(void) {
  const int initial = mproc_log_level();
  for (size_t i = 0; i < sizeof kLevels / sizeof kLevels[0]; ++i) {
    CHECK_INT(mproc_log_set_level(kLevels[i]), 0);
    CHECK_INT(mproc_log_level(), kLevels[i]);
  }
  CHECK_INT(mproc_log_set_level(initial), 0);
  CHECK_INT(mproc_log_level(), initial);
}

static void an_invalid_level_is_einval_and_changes_nothing(void) {
  const int initial = mproc_log_level();
  REQUIRE_INT(mproc_log_set_level(MPROC_LOG_ERROR), 0);
  /* 5 is the gap between ERROR and OFF (spdlog's "critical", not part of the C ABI). */
  const int invalid[] = {5, 7, -1, -EINVAL, INT_MAX, INT_MIN};
  for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; ++i) {
    CHECK_INT(mproc_log_set_level(invalid[i]), -EINVAL);
    CHECK(contains(mproc_last_error_message(), "mproc_log_set_level"));
    CHECK_INT(mproc_log_level(), MPROC_LOG_ERROR);
  }
  CHECK_INT(mproc_log_set_level(initial), 0);
}

/* Starts and joins a child returning 0 with stderr redirected into a pipe, and returns what was
 * written there: at debug level the parent logs "started ..." and "... ended with exit code 0". */
static void run_child_capturing_stderr(char *out, size_t size) {
  out[0] = '\0';
  int fds[2];
  if (!CHECK(pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0)) return;
  const int saved_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 0);
  CHECK(saved_stderr >= 0);
  CHECK(dup2(fds[1], STDERR_FILENO) == STDERR_FILENO);
  mproc_process_t *p = NULL;
  int joined = -1;
  if (mproc_process_create(test_return_code, NULL, &p) == 0 && mproc_process_start(p) == 0)
    joined = mproc_process_join(p, TEST_WAIT_MS);
  CHECK(dup2(saved_stderr, STDERR_FILENO) == STDERR_FILENO);
  close(saved_stderr);
  close(fds[1]);
  CHECK_INT(joined, 0);
  CHECK_INT(mproc_process_destroy(p), 0);
  /* The child has ended, so every write end is closed: read until EOF. */
  size_t used = 0;
  ssize_t n;
  while (used + 1 < size && (n = read(fds[0], out + used, size - 1 - used)) > 0) used += (size_t)n;
  out[used] = '\0';
  close(fds[0]);
}

static void the_level_filters_what_is_written(void) {
  const int initial = mproc_log_level();
  char captured[4096];

  REQUIRE_INT(mproc_log_set_level(MPROC_LOG_DEBUG), 0);
  run_child_capturing_stderr(captured, sizeof captured);
  CHECK(contains(captured, "[mproc] [debug]"));
  CHECK(contains(captured, "started Process-"));
  CHECK(contains(captured, "ended with exit code 0"));

  REQUIRE_INT(mproc_log_set_level(MPROC_LOG_INFO), 0);
  run_child_capturing_stderr(captured, sizeof captured);
  CHECK_STR(captured, "");
  CHECK_INT(mproc_log_set_level(initial), 0);
}

/* A category's own level lets its lines through (or holds them back) whatever the global level
 * says, and only its own: a child's start and end are the process category's debug lines. */
static void a_category_has_a_level_of_its_own(void) {
  const int initial = mproc_log_level();
  char captured[4096];

  REQUIRE_INT(mproc_log_set_level(MPROC_LOG_WARN), 0);
  CHECK_INT(mproc_log_set_level_for(MPROC_LOG_CATEGORY_PROCESS, MPROC_LOG_DEBUG), 0);
  CHECK_INT(mproc_log_level_for(MPROC_LOG_CATEGORY_PROCESS), MPROC_LOG_DEBUG);
  CHECK_INT(mproc_log_level_for(MPROC_LOG_CATEGORY_POOL), MPROC_LOG_WARN);
  run_child_capturing_stderr(captured, sizeof captured);
  CHECK(contains(captured, "started Process-"));

  /* Another category's level does not let the process category's lines through. */
  CHECK_INT(mproc_log_set_level_for(MPROC_LOG_CATEGORY_PROCESS, MPROC_LOG_FOLLOW_GLOBAL), 0);
  CHECK_INT(mproc_log_set_level_for(MPROC_LOG_CATEGORY_POOL, MPROC_LOG_DEBUG), 0);
  CHECK_INT(mproc_log_level_for(MPROC_LOG_CATEGORY_PROCESS), MPROC_LOG_WARN);
  run_child_capturing_stderr(captured, sizeof captured);
  CHECK_STR(captured, "");

  /* A global level below a category's own leaves the category where it is. */
  REQUIRE_INT(mproc_log_set_level(MPROC_LOG_DEBUG), 0);
  CHECK_INT(mproc_log_set_level_for(MPROC_LOG_CATEGORY_PROCESS, MPROC_LOG_OFF), 0);
  run_child_capturing_stderr(captured, sizeof captured);
  CHECK_STR(captured, "");

  const int bad_categories[] = {-1, 7, INT_MAX, INT_MIN};
  for (size_t i = 0; i < sizeof bad_categories / sizeof bad_categories[0]; ++i) {
    CHECK_INT(mproc_log_set_level_for(bad_categories[i], MPROC_LOG_DEBUG), -EINVAL);
    CHECK(contains(mproc_last_error_message(), "mproc_log_set_level_for"));
    CHECK_INT(mproc_log_level_for(bad_categories[i]), -EINVAL);
  }
  CHECK_INT(mproc_log_set_level_for(MPROC_LOG_CATEGORY_POOL, 5), -EINVAL);
  CHECK_INT(mproc_log_set_level_for(MPROC_LOG_CATEGORY_POOL, -2), -EINVAL);
  CHECK_INT(mproc_log_level_for(MPROC_LOG_CATEGORY_POOL), MPROC_LOG_DEBUG);

  CHECK_INT(mproc_log_set_level_for(MPROC_LOG_CATEGORY_PROCESS, MPROC_LOG_FOLLOW_GLOBAL), 0);
  CHECK_INT(mproc_log_set_level_for(MPROC_LOG_CATEGORY_POOL, MPROC_LOG_FOLLOW_GLOBAL), 0);
  CHECK_INT(mproc_log_set_level(initial), 0);
}

/* ---- mproc_log_set_handler ------------------------------------------------------------------ */

/* The handler under test: writes "<level>|<message>\n" to the pipe whose write end user_data
 * points at. A pipe, not a buffer, so that lines logged in a forked child reach the parent too. */
static void pipe_handler(int level, const char *message, void *user_data) {
  char line[512];
  const int n = snprintf(line, sizeof line, "%d|%s\n", level, message);
  if (n <= 0) return;
  const size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
  const ssize_t ignored = write(*(const int *)user_data, line, len);
  (void)ignored;
}

/* Reads what the handler wrote once every write end is closed. */
static void read_all(int fd, char *out, size_t size) {
  size_t used = 0;
  ssize_t n;
  while (used + 1 < size && (n = read(fd, out + used, size - 1 - used)) > 0) used += (size_t)n;
  out[used] = '\0';
}

static void the_handler_receives_the_lines_instead_of_stderr(void) {
  const int initial = mproc_log_level();
  int fds[2];
  REQUIRE(pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
  REQUIRE_INT(mproc_log_set_handler(pipe_handler, &fds[1]), 0);
  REQUIRE_INT(mproc_log_set_level(MPROC_LOG_DEBUG), 0);
  char on_stderr[4096];
  run_child_capturing_stderr(on_stderr, sizeof on_stderr);
  CHECK_INT(mproc_log_set_handler(NULL, NULL), 0);
  CHECK_INT(mproc_log_set_level(initial), 0);
  close(fds[1]);
  char received[8192];
  read_all(fds[0], received, sizeof received);
  close(fds[0]);
  CHECK_STR(on_stderr, "");
  /* Level first, then the bare message: no time, "[mproc]" or pid prefix. */
  CHECK(contains(received, "1|started Process-"));
  CHECK(contains(received, "ended with exit code 0"));
  CHECK(!contains(received, "[mproc]"));
}

static void a_null_handler_restores_stderr(void) {
  const int initial = mproc_log_level();
  int fds[2];
  REQUIRE(pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
  REQUIRE_INT(mproc_log_set_handler(pipe_handler, &fds[1]), 0);
  REQUIRE_INT(mproc_log_set_handler(NULL, NULL), 0);
  REQUIRE_INT(mproc_log_set_level(MPROC_LOG_DEBUG), 0);
  char on_stderr[4096];
  run_child_capturing_stderr(on_stderr, sizeof on_stderr);
  CHECK_INT(mproc_log_set_level(initial), 0);
  close(fds[1]);
  char received[4096];
  read_all(fds[0], received, sizeof received);
  close(fds[0]);
  CHECK_STR(received, "");
  CHECK(contains(on_stderr, "[mproc] [debug]"));
  CHECK(contains(on_stderr, "started Process-"));
}

/* A child that starts and joins a grandchild: at debug level, the child's own thread logs
 * "started ..." through the handler it inherited. */
static int start_a_grandchild(void *user_data) {
  (void)user_data;
  mproc_process_t *p = NULL;
  int rc = mproc_process_create(test_return_code, NULL, &p);
  if (rc == 0) rc = mproc_process_start(p);
  if (rc == 0) rc = mproc_process_join(p, TEST_WAIT_MS);
  mproc_process_destroy(p);
  return rc == 0 ? 0 : 1;
}

static void a_forked_child_logs_through_the_inherited_handler(void) {
  const int initial = mproc_log_level();
  int fds[2];
  REQUIRE(pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
  REQUIRE_INT(mproc_log_set_handler(pipe_handler, &fds[1]), 0);
  REQUIRE_INT(mproc_log_set_level(MPROC_LOG_DEBUG), 0);
  mproc_process_t *child = start_process(start_a_grandchild, NULL);
  int exitcode = -1;
  if (child != NULL) {
    CHECK_INT(mproc_process_join(child, TEST_WAIT_MS), 0);
    CHECK_INT(mproc_process_exitcode(child, &exitcode), 1);
    CHECK_INT(mproc_process_destroy(child), 0);
  }
  CHECK_INT(mproc_log_set_handler(NULL, NULL), 0);
  CHECK_INT(mproc_log_set_level(initial), 0);
  close(fds[1]);
  char received[8192];
  read_all(fds[0], received, sizeof received);
  close(fds[0]);
  CHECK_INT(exitcode, 0);
  /* The parent starts Process-N; the child then starts its own Process-1 (numbering is per
   * process, as in Python) and logs it from its own thread. Two "started" lines in all. */
  const char *first = strstr(received, "1|started Process-");
  CHECK(first != NULL);
  CHECK(first != NULL && strstr(first + 1, "1|started Process-") != NULL);
}

static const test_case kTests[] = {
    {"levels_are_pinned", levels_are_pinned},
    {"every_valid_level_can_be_set_and_read_back", every_valid_level_can_be_set_and_read_back},
    {"an_invalid_level_is_einval_and_changes_nothing",
     an_invalid_level_is_einval_and_changes_nothing},
    {"the_level_filters_what_is_written", the_level_filters_what_is_written},
    {"a_category_has_a_level_of_its_own", a_category_has_a_level_of_its_own},
    {"the_handler_receives_the_lines_instead_of_stderr",
     the_handler_receives_the_lines_instead_of_stderr},
    {"a_null_handler_restores_stderr", a_null_handler_restores_stderr},
    {"a_forked_child_logs_through_the_inherited_handler",
     a_forked_child_logs_through_the_inherited_handler},
};

const test_group log_group = {"log", kTests, sizeof kTests / sizeof kTests[0]};
