// A fixture that also fails a test which leaves a /dev/shm segment of this process behind.
#pragma once

#include <sys/types.h>

#include <set>
#include <string>
#include <vector>

#include "support/leak_check.hpp"

namespace mproc::test {

// The /dev/shm entries created by process `pid` (the library names them mproc-<pid>-...).
std::vector<std::string> shm_entries_of(pid_t pid);
// True if the segment `name` ("/mproc-...") exists.
bool shm_exists(const std::string& name);

// LeakCheckedTest, plus: this process's segment tracker is started before the descriptor
// snapshot (its socket lives as long as the process, by design), /dev/shm is read before and
// after the test, and every segment of this process that the test left is a failure.
class ShmLeakCheckedTest : public LeakCheckedTest {
 protected:
  void SetUp() override;
  void TearDown() override;

 private:
  std::set<std::string> shm_before_;
};

}  // namespace mproc::test
