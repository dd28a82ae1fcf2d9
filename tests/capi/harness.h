/* A tiny test harness for the C ABI tests, in plain C11: CHECK records a failure and carries on,
 * REQUIRE records it and leaves the test function. harness_main runs the test functions of the
 * groups named on the command line (all groups without arguments), checks after each test that
 * it left no child process and no file descriptor behind, and ends with the line
 * "N passed, N failed" (counting test functions); it returns non-zero if any test failed. */
#ifndef MPROC_CAPI_TEST_HARNESS_H
#define MPROC_CAPI_TEST_HARNESS_H

#include <stddef.h>

/* Every wait on a child in these tests is bounded by this; it is never reached when they pass. */
#define TEST_WAIT_MS 60000

typedef struct {
  const char *name;
  void (*run)(void);
} test_case;

typedef struct {
  const char *name;
  const test_case *tests;
  size_t count;
} test_group;

/* Returns ok; on failure prints the location and expression and marks the current test failed. */
int harness_check(int ok, const char *file, int line, const char *expression);
int harness_check_int(long long actual, long long expected, const char *file, int line,
                      const char *actual_text, const char *expected_text);
int harness_check_str(const char *actual, const char *expected, const char *file, int line,
                      const char *actual_text, const char *expected_text);

#define CHECK(cond) harness_check((cond) != 0, __FILE__, __LINE__, #cond)
#define CHECK_INT(actual, expected)                                                       \
  harness_check_int((long long)(actual), (long long)(expected), __FILE__, __LINE__, #actual, \
                    #expected)
#define CHECK_STR(actual, expected) \
  harness_check_str((actual), (expected), __FILE__, __LINE__, #actual, #expected)
#define REQUIRE(cond)            \
  do {                           \
    if (!CHECK(cond)) return;    \
  } while (0)
#define REQUIRE_INT(actual, expected)         \
  do {                                        \
    if (!CHECK_INT(actual, expected)) return; \
  } while (0)

/* True if `text` contains `part` (NULL text never does). */
int contains(const char *text, const char *part);

int harness_main(int argc, char **argv, const test_group *groups, size_t group_count);

#endif /* MPROC_CAPI_TEST_HARNESS_H */
