// Helpers for the synchronisation tests: a bounded poll for states that cannot be signalled (a
// process asleep inside a wait), and children's results. Gates, signals, shared blocks and
// expect_error come from tests/support.
#pragma once

#include <mproc/error.hpp>
#include <mproc/process.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <string>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>

#include "support/expect_error.hpp"
#include "support/gate.hpp"
#include "support/shared_block.hpp"
#include "support/signal.hpp"

namespace mproc::test {

using namespace std::chrono_literals;

// Polls `condition` until it holds or `timeout` passes. Only for states no process can announce,
// such as "is asleep in a futex wait"; everything else is signalled.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = kLong) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::yield();
  }
  return true;
}

// True while `pid` is asleep in the kernel, in a futex wait where /proc shows it.
inline bool sleeping_in_futex(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto paren = line.rfind(')');
  if (paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] != 'S')
    return false;
  std::ifstream wchan_file("/proc/" + std::to_string(pid) + "/wchan");
  std::string wchan;
  std::getline(wchan_file, wchan);
  return wchan.find("futex") != std::string::npos || wchan == "0" || wchan.empty();
}

// Joins `p` (bounded) and returns its exit code, or -1000 if it did not end in time.
inline int join_code(Process& p) {
  if (!p.join(kLong)) {
    p.kill();
    p.join();
    return -1000;
  }
  return p.exitcode().value_or(-1001);
}

}  // namespace mproc::test
