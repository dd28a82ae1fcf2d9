// Helpers for the fault tests: a process that stops (SIGSTOP) while it holds a lock, a watchdog
// that ends such a stall if the code under test fails to, and a stopwatch.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <string>
#include <vector>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "support/shm_leak_check.hpp"

namespace mproc::test {

// A forked child that runs `take` (which takes some lock) and then stops itself with SIGSTOP,
// holding it. The constructor returns once the child is stopped (waitpid WUNTRACED: no sleep);
// the destructor (or kill()) SIGKILLs and reaps it, which releases a robust lock.
class StoppedHolder {
 public:
  template <class Take>
  explicit StoppedHolder(Take take) {
    pid_ = ::fork();
    if (pid_ == 0) {
      take();
      ::raise(SIGSTOP);
      ::_exit(0);
    }
    EXPECT_GT(pid_, 0);
    int status = 0;
    EXPECT_EQ(::waitpid(pid_, &status, WUNTRACED), pid_);
    EXPECT_TRUE(WIFSTOPPED(status)) << "the holder did not stop, status " << status;
  }
  ~StoppedHolder() { kill(); }
  StoppedHolder(const StoppedHolder&) = delete;
  StoppedHolder& operator=(const StoppedHolder&) = delete;

  pid_t pid() const noexcept { return pid_; }
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

// Calls `rescue` from a thread if not disarmed within `limit`: a call that wrongly waits (on a
// stopped holder, say) is set free by it instead of hanging the suite, and fired() tells the test
// that the call under test did not return by itself.
class Watchdog {
 public:
  template <class Rescue>
  Watchdog(std::chrono::milliseconds limit, Rescue rescue)
      : thread_([this, limit, rescue]() mutable {
          std::unique_lock lock(mutex_);
          if (!cv_.wait_for(lock, limit, [this] { return disarmed_; })) {
            fired_ = true;
            rescue();
          }
        }) {}
  ~Watchdog() { disarm(); }
  void disarm() {
    {
      std::lock_guard lock(mutex_);
      disarmed_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  bool fired() {
    disarm();
    return fired_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool disarmed_ = false;
  bool fired_ = false;
  std::thread thread_;
};

// The fixture of the fault tests (starts the tracker; fails a test that leaves a segment, a child
// or a descriptor).
using FaultTest = ShmLeakCheckedTest;

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace mproc::test
