// Tells the test that something happened in another process (a child, a pool task): a byte
// (notify / wait) or a line of text such as a handle (send / receive), over a pipe.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <string>

namespace mproc::test {

// Every wait in the tests is bounded by this; a correct run never comes near it.
inline constexpr std::chrono::milliseconds kLong{30'000};

// A close-on-exec pipe, created before the processes that use it. The sending side calls
// notify() or send(); the test waits with a bound. Bytes and lines must not be mixed on one
// Signal.
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

  // The write end, for a task that captures only an int (see notify(int, char)).
  int write_fd() const noexcept { return fds_[1]; }

  // Sends the byte `c` (not 0).
  void notify(char c = 's') const { notify(fds_[1], c); }
  static void notify(int write_fd, char c = 's') {
    while (::write(write_fd, &c, 1) < 0 && errno == EINTR) {
    }
  }
  // The next byte, or 0 if none came within `timeout`.
  char wait(std::chrono::milliseconds timeout = kLong) const {
    if (!readable(timeout)) return 0;
    char c = 0;
    return ::read(fds_[0], &c, 1) == 1 ? c : 0;
  }
  // True if a byte is waiting (does not block, does not consume it).
  bool pending() const { return readable(std::chrono::milliseconds(0)); }

  // Sends one line, not empty (a handle, a name: far below PIPE_BUF, so it arrives whole).
  void send(const std::string& text) const {
    const std::string line = text + '\n';
    while (::write(fds_[1], line.data(), line.size()) < 0 && errno == EINTR) {
    }
  }
  // The next line (without its newline), or "" if it did not come within `timeout`.
  std::string receive(std::chrono::milliseconds timeout = kLong) const {
    std::string line;
    for (;;) {
      char c = 0;
      if (!readable(timeout) || ::read(fds_[0], &c, 1) != 1) return "";
      if (c == '\n') return line;
      line.push_back(c);
    }
  }

 private:
  bool readable(std::chrono::milliseconds timeout) const {
    pollfd pfd{fds_[0], POLLIN, 0};
    int rc;
    while ((rc = ::poll(&pfd, 1, static_cast<int>(timeout.count()))) < 0 && errno == EINTR) {
    }
    return rc > 0;
  }

  int fds_[2] = {-1, -1};
};

}  // namespace mproc::test
