#include "sync/futex.hpp"

#include <mproc/error.hpp>

#include <cerrno>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace mproc::detail {
namespace {

long futex(std::atomic<std::uint32_t>& word, int op, std::uint32_t value,
           const timespec* timeout) noexcept {
  return ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), op, value, timeout, nullptr,
                   0);
}

}  // namespace

bool futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                const Deadline& deadline) {
  for (;;) {
    timespec left{};
    if (!deadline.infinite()) {
      left = deadline.remaining();
      if (left.tv_sec == 0 && left.tv_nsec == 0) return false;
    }
    // FUTEX_WAIT takes a relative timeout measured on CLOCK_MONOTONIC; recomputing it from the
    // deadline after EINTR keeps the total wait bounded.
    if (futex(word, FUTEX_WAIT, expected, deadline.infinite() ? nullptr : &left) == 0) return true;
    switch (errno) {
      case EAGAIN:  // the word changed before we slept
        return true;
      case EINTR:
        continue;
      case ETIMEDOUT:
        return false;
      default:
        throw_errno(errno, "futex(FUTEX_WAIT)");
    }
  }
}

int futex_wake(std::atomic<std::uint32_t>& word, int count) noexcept {
  const long woken = futex(word, FUTEX_WAKE, static_cast<std::uint32_t>(count), nullptr);
  return woken < 0 ? 0 : static_cast<int>(woken);
}

}  // namespace mproc::detail
