#include "harness.h"
#include "mproc.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static int g_current_failed;

int harness_check(int ok, const char *file, int line, const char *expression) {
  if (!ok) {
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", file, line, expression);
    g_current_failed = 1;
  }
  return ok;
}

int harness_check_int(long long actual, long long expected, const char *file, int line,
                      const char *actual_text, const char *expected_text) {
  if (actual == expected) return 1;
  fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld vs %lld)\n", file, line, actual_text,
          expected_text, actual, expected);
  g_current_failed = 1;
  return 0;
}

int harness_check_str(const char *actual, const char *expected, const char *file, int line,
                      const char *actual_text, const char *expected_text) {
  if (actual != NULL && expected != NULL && strcmp(actual, expected) == 0) return 1;
  fprintf(stderr, "%s:%d: CHECK failed: %s == %s (\"%s\" vs \"%s\")\n", file, line, actual_text,
          expected_text, actual ? actual : "(null)", expected ? expected : "(null)");
  g_current_failed = 1;
  return 0;
}

int contains(const char *text, const char *part) {
  return text != NULL && strstr(text, part) != NULL;
}

/* ---- leak checks: the same rules as tests/support/leak_check.cpp --------------------------- */

enum { kMaxFds = 1024 };

typedef struct {
  unsigned char open[kMaxFds];
} fd_set_snapshot;

static void snapshot_fds(fd_set_snapshot *out) {
  memset(out, 0, sizeof *out);
  DIR *dir = opendir("/proc/self/fd");
  if (dir == NULL) return;
  const int own = dirfd(dir);
  const struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    if (entry->d_name[0] == '.') continue;
    const int fd = atoi(entry->d_name);
    if (fd != own && fd >= 0 && fd < kMaxFds) out->open[fd] = 1;
  }
  closedir(dir);
}

/* WNOWAIT: look without reaping. ECHILD means there is no child at all, running or zombie. */
static int has_children(void) {
  siginfo_t info;
  memset(&info, 0, sizeof info);
  return waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0 || errno != ECHILD;
}

static void check_no_leaks(const fd_set_snapshot *before, const char *test) {
  if (has_children()) {
    fprintf(stderr, "%s: left a child process behind (running or zombie)\n", test);
    g_current_failed = 1;
  }
  fd_set_snapshot after;
  snapshot_fds(&after);
  for (int fd = 0; fd < kMaxFds; ++fd) {
    if (after.open[fd] && !before->open[fd]) {
      fprintf(stderr, "%s: leaked file descriptor %d\n", test, fd);
      g_current_failed = 1;
    }
    if (!after.open[fd] && before->open[fd]) {
      fprintf(stderr, "%s: closed file descriptor %d that it did not own\n", test, fd);
      g_current_failed = 1;
    }
  }
}

/* ---- runner ---------------------------------------------------------------------------------- */

static void run_group(const test_group *group, int *passed, int *failed) {
  for (size_t i = 0; i < group->count; ++i) {
    const test_case *test = &group->tests[i];
    fd_set_snapshot before;
    snapshot_fds(&before);
    g_current_failed = 0;
    test->run();
    check_no_leaks(&before, test->name);
    printf("[%s] %s.%s\n", g_current_failed ? "FAIL" : " OK ", group->name, test->name);
    fflush(stdout);
    if (g_current_failed)
      ++*failed;
    else
      ++*passed;
  }
}

int harness_main(int argc, char **argv, const test_group *groups, size_t group_count) {
  /* The sync arena's first chunk (a memfd the process keeps open) is made before any snapshot. */
  mproc_lock_t *warm_up = NULL;
  if (mproc_lock_create(&warm_up) == 0) mproc_lock_destroy(warm_up);
  fd_set_snapshot at_start;
  snapshot_fds(&at_start);
  int passed = 0;
  int failed = 0;
  if (argc <= 1) {
    for (size_t g = 0; g < group_count; ++g) run_group(&groups[g], &passed, &failed);
  } else {
    for (int a = 1; a < argc; ++a) {
      size_t g = 0;
      while (g < group_count && strcmp(groups[g].name, argv[a]) != 0) ++g;
      if (g == group_count) {
        fprintf(stderr, "unknown test group \"%s\"\n", argv[a]);
        ++failed;
        continue;
      }
      run_group(&groups[g], &passed, &failed);
    }
  }
  /* The whole run, too: no child left, the same descriptors open as at the start. */
  g_current_failed = 0;
  check_no_leaks(&at_start, "after all tests");
  if (g_current_failed) ++failed;
  if (passed + failed == 0) ++failed; /* running nothing is not a pass */
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
