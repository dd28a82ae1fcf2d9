// The test main: runs GoogleTest, then checks that the whole run left no child process behind.
#include <mproc/lock.hpp>

#include <gtest/gtest.h>

#include <cstdio>

#include "support/leak_check.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // The sync arena's first chunk (a memfd the process keeps open, as the shm tracker's socket) is
  // made before any test looks at the open descriptors.
  { const mproc::Lock warm_up; }
  const int result = RUN_ALL_TESTS();
  if (mproc::test::has_children()) {
    std::fprintf(stderr, "FAILED: the test run left a child process behind\n");
    return 1;
  }
  return result;
}
