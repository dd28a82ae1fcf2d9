#include "base/futex.hpp"

#include <mproc/error.hpp>

#include <cerrno>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace mproc::detail {
namespace {

long futex(std::atomic<std::uint32_t>& word, int op, FutexScope scope, std::uint32_t value,
           const timespec* timeout) noexcept {
  if (scope == FutexScope::process_private) op |= FUTEX_PRIVATE_FLAG;
  return ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), op, value, timeout, nullptr,
                   0);
}

}  // namespace

int futex_wait_once(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                    const timespec* relative, FutexScope scope) noexcept {
  return futex(word, FUTEX_WAIT, scope, expected, relative) == 0 ? 0 : errno;
}

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
    const int rc = futex_wait_once(word, expected, deadline.infinite() ? nullptr : &left);
    switch (rc) {
      case 0:
      case EAGAIN:  // the word changed before we slept
        return true;
      case EINTR:
        continue;
      case ETIMEDOUT:
        return false;
      default:
        throw_errno(rc, "futex(FUTEX_WAIT)");
    }
  }
}

void futex_wait_slice(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                      std::int64_t slice_ns, const Deadline& deadline) noexcept {
  std::int64_t ns = slice_ns;
  if (!deadline.infinite()) {
    const timespec left = deadline.remaining();
    const std::int64_t left_ns = left.tv_sec * 1'000'000'000LL + left.tv_nsec;
    if (left_ns < ns) ns = left_ns;
  }
  if (ns <= 0) return;
  const timespec relative{static_cast<time_t>(ns / 1'000'000'000),
                          static_cast<long>(ns % 1'000'000'000)};
  futex_wait_once(word, expected, &relative);
}

int futex_wake(std::atomic<std::uint32_t>& word, int count, FutexScope scope) noexcept {
  const long woken = futex(word, FUTEX_WAKE, scope, static_cast<std::uint32_t>(count), nullptr);
  return woken < 0 ? 0 : static_cast<int>(woken);
}

}  // namespace mproc::detail
