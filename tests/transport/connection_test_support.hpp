// Helpers shared by the pipe/connection tests.
#pragma once

#include <mproc/connection.hpp>
#include <mproc/process.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <fcntl.h>
#include <string>
#include <unistd.h>

namespace mproc::test {

using namespace std::chrono_literals;

// Every wait in these tests is bounded by this; a correct run never comes close.
inline constexpr Seconds kBound{60};

// Expects `body` to throw mproc::Error with `code`; returns the message.
template <class Body>
std::string expect_error(std::error_code code, Body&& body) {
  try {
    body();
    ADD_FAILURE() << "expected mproc::Error " << code.message();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    return e.what();
  }
  return {};
}
template <class Body>
std::string expect_error(errc code, Body&& body) {
  return expect_error(make_error_code(code), std::forward<Body>(body));
}
template <class Body>
std::string expect_error(std::errc code, Body&& body) {
  return expect_error(std::make_error_code(code), std::forward<Body>(body));
}

// Joins `child` (bounded) and expects it to have exited with code 0.
inline void expect_clean_exit(Process& child) {
  ASSERT_TRUE(child.join(kBound)) << child.name() << " did not finish";
  EXPECT_EQ(child.exitcode(), 0) << child.name() << " failed";
}

// A pattern that depends on the position and a seed, so that a lost, repeated or shifted byte
// is detected.
inline char pattern_byte(std::size_t index, unsigned seed) {
  return static_cast<char>((index * 131 + seed * 7 + (index >> 12)) & 0xff);
}
inline std::string pattern(std::size_t size, unsigned seed) {
  std::string bytes(size, '\0');
  for (std::size_t i = 0; i < size; ++i) bytes[i] = pattern_byte(i, seed);
  return bytes;
}
inline bool matches_pattern(const char* data, std::size_t size, unsigned seed) {
  for (std::size_t i = 0; i < size; ++i)
    if (data[i] != pattern_byte(i, seed)) return false;
  return true;
}

// Blocks a child until the parent releases it (closes the write end) or dies: keeps a child alive
// for exactly as long as a test needs, without sleeping.
struct Gate {
  int fds[2] = {-1, -1};
  Gate() { EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0); }
  ~Gate() {
    release();
    if (fds[0] >= 0) ::close(fds[0]);
  }
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;
  // In the child.
  void wait() const {
    ::close(fds[1]);
    char c;
    while (::read(fds[0], &c, 1) < 0 && errno == EINTR) {
    }
  }
  void release() {
    if (fds[1] >= 0) ::close(fds[1]);
    fds[1] = -1;
  }
};

}  // namespace mproc::test
