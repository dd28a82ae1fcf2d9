// Helpers for the Manager tests: the fixture and running a function in forked children.
#pragma once

#include <mproc/dict.hpp>
#include <mproc/process.hpp>

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <vector>

#include "support/shm_leak_check.hpp"

namespace mproc::test {

// The fixture of the Manager tests (starts the tracker; fails a test that leaves a segment).
using ManagerTest = ShmLeakCheckedTest;

// Runs body(i) in `n` forked children at once and expects each to exit 0 (a failed check in a
// child exits 1).
inline void run_children(int n, const std::function<void(int)>& body) {
  std::vector<pid_t> pids;
  for (int i = 0; i < n; ++i) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int code = 0;
      try {
        body(i);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "child %d: %s\n", i, e.what());
        code = 1;
      }
      ::_exit(code);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  }
}

// Throws in a child (run_children reports it).
inline void require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(what);
}

}  // namespace mproc::test
