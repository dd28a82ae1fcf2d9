// The test main: runs GoogleTest, then checks that the whole run left no child process behind.
#include <gtest/gtest.h>

#include <cstdio>

#include "support/leak_check.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const int result = RUN_ALL_TESTS();
  if (mproc::test::has_children()) {
    std::fprintf(stderr, "FAILED: the test run left a child process behind\n");
    return 1;
  }
  return result;
}
