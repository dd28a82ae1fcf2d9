// Helpers for the queue tests: the fixture (leak checks plus "no /dev/shm entry of ours is left"),
// gates between processes, and a shared anonymous memory block for results.
#pragma once

#include <mproc/queue.hpp>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "shm/shm_names.hpp"
#include "support/leak_check.hpp"

namespace mproc::test {

// The fixture of every queue test: starts this process's segment tracker before the fd snapshot
// (its socket stays open for the life of the process, by design), and fails a test that leaves a
// segment of this process in /dev/shm.
class QueueTest : public LeakCheckedTest {
 protected:
  void SetUp() override {
    { Queue warm_up(1); }
    LeakCheckedTest::SetUp();
    ASSERT_TRUE(shm_entries_of(::getpid()).empty());
  }
  void TearDown() override {
    LeakCheckedTest::TearDown();
    for (const auto& name : shm_entries_of(::getpid()))
      ADD_FAILURE() << "the test left /dev/shm/" << name;
  }
};

// A one-shot signal between processes over a pipe (close-on-exec). wait() is bounded.
class Gate {
 public:
  Gate() {
    if (::pipe2(fds_, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category());
  }
  ~Gate() {
    for (int fd : fds_)
      if (fd >= 0) ::close(fd);
  }
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;

  void open(const std::string& message = "x") {
    const std::string framed = message + '\n';
    (void)!::write(fds_[1], framed.data(), framed.size());
  }
  // The message passed to open(), or nullopt after `seconds`.
  std::optional<std::string> wait(int seconds = 30) {
    std::string got;
    for (;;) {
      pollfd pfd{fds_[0], POLLIN, 0};
      const int rc = ::poll(&pfd, 1, seconds * 1000);
      if (rc < 0 && errno == EINTR) continue;
      if (rc <= 0) return std::nullopt;
      char c;
      const ssize_t n = ::read(fds_[0], &c, 1);
      if (n <= 0) return std::nullopt;
      if (c == '\n') return got;
      got.push_back(c);
    }
  }

 private:
  int fds_[2] = {-1, -1};
};

// MAP_SHARED anonymous memory, inherited by forked children; zero-filled.
template <class T>
class SharedBlock {
 public:
  explicit SharedBlock(std::size_t count = 1) : bytes_(sizeof(T) * count) {
    void* p = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category());
    data_ = static_cast<T*>(p);
  }
  ~SharedBlock() { ::munmap(data_, bytes_); }
  SharedBlock(const SharedBlock&) = delete;
  SharedBlock& operator=(const SharedBlock&) = delete;
  T* get() const { return data_; }
  T* operator->() const { return data_; }
  T& operator[](std::size_t i) const { return data_[i]; }

 private:
  std::size_t bytes_;
  T* data_;
};

// Asserts that `statement` throws mproc::Error with the code `expected`.
#define EXPECT_MPROC_ERROR(statement, expected)                                              \
  do {                                                                                   \
    try {                                                                                \
      statement;                                                                         \
      ADD_FAILURE() << #statement " did not throw";                                      \
    } catch (const ::mproc::Error& e) {                                                  \
      using std::make_error_code;                                                        \
      EXPECT_EQ(e.code(), make_error_code(expected)) << #statement ": " << e.what();         \
    }                                                                                    \
  } while (0)

}  // namespace mproc::test
