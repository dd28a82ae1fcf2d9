// Helpers for the pool tests: gates (pipes the test controls) that tasks block on, so that no
// test needs a sleep to order events.
#pragma once

#include <mproc/pool.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <fcntl.h>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

#include "support/leak_check.hpp"

// clang before 15 cannot instantiate libstdc++ 12's range views (std::views::iota ...: its
// view_interface constraints), so the checks that pass such views are left out there.
#if defined(__clang__) && __clang_major__ < 15 && defined(__GLIBCXX__)
#define MPROC_TEST_STD_VIEWS 0
#else
#define MPROC_TEST_STD_VIEWS 1
#endif

namespace mproc::test {

// A pipe created before the pool, so that every worker (a fork) inherits it. A task calls
// pass(fd) to block until the test calls open(); closing the write end releases all at once.
class Gate {
 public:
  Gate() {
    if (::pipe2(fds_, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
  }
  ~Gate() {
    ::close(fds_[0]);
    if (fds_[1] >= 0) ::close(fds_[1]);
  }
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;
  int read_fd() const { return fds_[0]; }
  void open(int times = 1) {
    for (int i = 0; i < times; ++i) {
      const char c = 'g';
      ASSERT_EQ(::write(fds_[1], &c, 1), 1);
    }
  }
  void release_all() {
    ::close(fds_[1]);
    fds_[1] = -1;
  }

  // In a task: waits for one open() (or release_all); returns false on error.
  static bool pass(int fd) {
    char c = 0;
    for (;;) {
      const ssize_t n = ::read(fd, &c, 1);
      if (n >= 0) return true;
      if (errno != EINTR) return false;
    }
  }

 private:
  int fds_[2] = {-1, -1};
};

// A pipe through which tasks report to the test (e.g. "I started").
class Signal {
 public:
  Signal() {
    if (::pipe2(fds_, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
  }
  ~Signal() {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  Signal(const Signal&) = delete;
  Signal& operator=(const Signal&) = delete;
  int write_fd() const { return fds_[1]; }
  static void send(int fd, char c = 's') { [[maybe_unused]] auto n = ::write(fd, &c, 1); }
  // Waits (bounded) for one byte.
  char wait() {
    pollfd p{fds_[0], POLLIN, 0};
    if (::poll(&p, 1, 30'000) != 1) return 0;
    char c = 0;
    return ::read(fds_[0], &c, 1) == 1 ? c : 0;
  }
  // True if a byte is waiting (without blocking).
  bool pending() {
    pollfd p{fds_[0], POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
  }

 private:
  int fds_[2] = {-1, -1};
};

using PoolTest = LeakCheckedTest;

// Asserts that `fn` throws mproc::Error with `code` and a message containing `text`.
template <class Fn>
void expect_error(Fn&& fn, std::error_code code, const std::string& text = "") {
  try {
    fn();
    ADD_FAILURE() << "no exception; expected " << code.message();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos)
        << "message '" << e.what() << "' lacks '" << text << "'";
  }
}

}  // namespace mproc::test
