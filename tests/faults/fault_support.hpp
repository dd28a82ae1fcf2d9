// Helpers for the fault tests: a process that stops (SIGSTOP) while it holds a lock, a watchdog
// that ends such a stall if the code under test fails to, and a stopwatch.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <dirent.h>
#include <mutex>
#include <string>
#include <vector>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "shm/segment.hpp"
#include "support/leak_check.hpp"

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

// The /dev/shm names of segments created by process `pid` (the library names them mproc-PID-...).
inline std::vector<std::string> shm_names_of(pid_t pid) {
  std::vector<std::string> out;
  const std::string prefix = "mproc-" + std::to_string(pid) + "-";
  if (DIR* dir = ::opendir("/dev/shm")) {
    while (const dirent* e = ::readdir(dir))
      if (std::string(e->d_name).rfind(prefix, 0) == 0) out.emplace_back(e->d_name);
    ::closedir(dir);
  }
  return out;
}

// The fixture of the fault tests: starts this process's segment tracker before the descriptor
// snapshot (its socket lives as long as the process, by design) and fails a test that leaves a
// segment of this process in /dev/shm, a child, or a descriptor.
class FaultTest : public LeakCheckedTest {
 protected:
  void SetUp() override {
    detail::shm::Segment::create(8, detail::shm::SegmentKind{1, 1, "warm-up"}, nullptr, nullptr)
        .destroy();
    LeakCheckedTest::SetUp();
  }
  void TearDown() override {
    LeakCheckedTest::TearDown();
    EXPECT_TRUE(shm_names_of(::getpid()).empty()) << "the test left a segment in /dev/shm";
  }
};

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace mproc::test
