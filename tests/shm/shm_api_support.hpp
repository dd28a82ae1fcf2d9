// Helpers for the public-API shared-memory tests: a fixture that checks /dev/shm, a pipe that
// carries handles to processes started before the objects existed, and error expectations.
#pragma once

#include <mproc/error.hpp>
#include <mproc/shared_memory.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <fcntl.h>
#include <poll.h>
#include <string>
#include <unistd.h>

#include "shm_names.hpp"
#include "support/leak_check.hpp"

namespace mproc::test {

// A name no other process uses: contains this process's pid.
inline std::string test_shm_name(const char* what) {
  return "/mproc-" + std::to_string(::getpid()) + "-test-" + what;
}

// Starts this process's shm tracker before the fd snapshot (its socket lives as long as the
// process), and fails a test that leaves a segment of this process behind.
class ShmApiTest : public LeakCheckedTest {
 protected:
  void SetUp() override {
    SharedMemory::create(1).unlink();
    LeakCheckedTest::SetUp();
  }
  void TearDown() override {
    LeakCheckedTest::TearDown();
    for (const auto& name : shm_entries_of(::getpid()))
      ADD_FAILURE() << "the test left /dev/shm/" << name;
  }
};

// Strings from one process to another, one per message (a handle is far below PIPE_BUF).
class HandlePipe {
 public:
  HandlePipe() {
    if (::pipe2(fds_, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  }
  ~HandlePipe() {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  HandlePipe(const HandlePipe&) = delete;
  HandlePipe& operator=(const HandlePipe&) = delete;
  void send(const std::string& text) const {
    const std::string line = text + "\n";
    while (::write(fds_[1], line.data(), line.size()) < 0 && errno == EINTR) {
    }
  }
  // The next string, or "" after 30 s.
  std::string receive() const {
    std::string out;
    for (;;) {
      pollfd pfd{fds_[0], POLLIN, 0};
      int rc;
      while ((rc = ::poll(&pfd, 1, 30000)) < 0 && errno == EINTR) {
      }
      char c;
      if (rc <= 0 || ::read(fds_[0], &c, 1) != 1) return "";
      if (c == '\n') return out;
      out.push_back(c);
    }
  }

 private:
  int fds_[2] = {-1, -1};
};

// Expects `body` to throw mproc::Error with `code` (an errc or std::errc).
template <class Code, class Body>
void expect_error(Code code, Body&& body) {
  using mproc::make_error_code;
  using std::make_error_code;
  try {
    body();
    ADD_FAILURE() << "expected mproc::Error " << make_error_code(code).message();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), make_error_code(code)) << e.what();
  }
}

}  // namespace mproc::test
