// Helpers for the synchronisation tests: shared pages, pipes to signal between processes, and a
// bounded poll for states that cannot be signalled (a process asleep inside a wait).
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

namespace mproc::test {

using namespace std::chrono_literals;

// Every wait in these tests is bounded by this; none is expected to come near it.
constexpr auto kLong = std::chrono::seconds(30);

// A T in an anonymous MAP_SHARED page, shared with children forked after it was made.
template <class T>
class SharedPage {
 public:
  SharedPage() {
    void* p = ::mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("mmap failed");
    value_ = new (p) T();
  }
  ~SharedPage() { ::munmap(value_, sizeof(T)); }
  SharedPage(const SharedPage&) = delete;
  SharedPage& operator=(const SharedPage&) = delete;
  T* operator->() const { return value_; }
  T& operator*() const { return *value_; }

 private:
  T* value_;
};

// A one-way signal between processes: notify() from one side, wait() on the other.
class Signal {
 public:
  Signal() {
    if (::pipe2(fds_, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  }
  ~Signal() {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  Signal(const Signal&) = delete;
  Signal& operator=(const Signal&) = delete;
  void notify() const {
    const char c = 1;
    while (::write(fds_[1], &c, 1) < 0 && errno == EINTR) {
    }
  }
  // True once notified (one notification is consumed), false after `timeout`.
  bool wait(std::chrono::milliseconds timeout = kLong) const {
    pollfd pfd{fds_[0], POLLIN, 0};
    int rc;
    while ((rc = ::poll(&pfd, 1, static_cast<int>(timeout.count()))) < 0 && errno == EINTR) {
    }
    if (rc <= 0) return false;
    char c;
    return ::read(fds_[0], &c, 1) == 1;
  }

 private:
  int fds_[2] = {-1, -1};
};

// Holds children back until the parent opens it, so that they start their work together: each
// child calls pass() (blocks until open() or the parent's death), the parent calls open().
class Gate {
 public:
  Gate() {
    if (::pipe2(fds_, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  }
  ~Gate() {
    open();
    ::close(fds_[0]);
  }
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;
  // In a child: drop the inherited write end, then wait for end-of-file.
  void pass() {
    open();
    char c;
    while (::read(fds_[0], &c, 1) < 0 && errno == EINTR) {
    }
  }
  void open() {
    if (fds_[1] >= 0) ::close(fds_[1]);
    fds_[1] = -1;
  }

 private:
  int fds_[2] = {-1, -1};
};

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

// Expects `body` to throw mproc::Error with `code`.
template <class Code, class Body>
void expect_error(Code code, Body&& body) {
  using mproc::make_error_code;
  using std::make_error_code;
  try {
    body();
    ADD_FAILURE() << "expected mproc::Error " << make_error_code(code).message();
  } catch (const mproc::Error& e) {
    EXPECT_EQ(e.code(), make_error_code(code)) << e.what();
  }
}

// The code `body` throws as mproc::Error, or 0 if it does not throw. For use in children, which
// report through their exit code.
template <class Body>
std::error_code error_of(Body&& body) {
  try {
    body();
  } catch (const mproc::Error& e) {
    return e.code();
  }
  return {};
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
