// A fixture that fails a test which leaves a child process (running or zombie) or a file
// descriptor behind: every test that forks derives from it.
#pragma once

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace mproc::test {

// The descriptors open in this process now.
std::set<int> open_fds();
// True if this process has any child, running or not yet reaped.
bool has_children();

class LeakCheckedTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

 private:
  std::set<int> fds_before_;
};

}  // namespace mproc::test
