// Holds children (forked processes, or pool tasks in forked workers) back until the test lets
// them through, so that no test needs a sleep to order events.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace mproc::test {

// A close-on-exec pipe, created before the children that pass it so that they inherit it.
// open(n) lets n passes through; open_all() closes the write end, which lets every pass through,
// now and later. A forked child that calls pass() first drops its inherited write end, so the
// death of the process that made the gate opens it too: a child never outlives its test.
class Gate {
 public:
  Gate() : creator_(::getpid()) {
    if (::pipe2(fds_, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  }
  ~Gate() {
    open_all();
    ::close(fds_[0]);
  }
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;

  // The read end, for a task that captures only an int (see pass(int)).
  int read_fd() const noexcept { return fds_[0]; }

  // Lets `times` passes through. Throws (failing the test) if the pipe refuses a byte.
  void open(int times = 1) const {
    for (int i = 0; i < times; ++i) {
      const char c = 'g';
      ssize_t n;
      while ((n = ::write(fds_[1], &c, 1)) < 0 && errno == EINTR) {
      }
      if (n != 1) throw std::system_error(errno, std::generic_category(), "Gate::open");
    }
  }
  // Lets every pass through, now and later.
  void open_all() {
    if (fds_[1] >= 0) ::close(fds_[1]);
    fds_[1] = -1;
  }

  // Waits for one open() or for open_all() (or, in a forked child, the creator's death).
  // Returns false on a read error.
  bool pass() {
    if (::getpid() != creator_) open_all();
    return pass(fds_[0]);
  }
  // The same from a pool task that was given read_fd().
  static bool pass(int read_fd) {
    char c = 0;
    for (;;) {
      if (::read(read_fd, &c, 1) >= 0) return true;
      if (errno != EINTR) return false;
    }
  }

 private:
  pid_t creator_;
  int fds_[2] = {-1, -1};
};

}  // namespace mproc::test
