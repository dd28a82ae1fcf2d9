#include "base/deadline.hpp"

#include <cerrno>
#include <cmath>
#include <poll.h>
#include <string>

namespace mproc::detail {

std::uint64_t monotonic_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

void check_timeout(Seconds timeout, const char* operation) {
  if (std::isnan(timeout.count()) || timeout.count() < 0)
    throw Error(std::make_error_code(std::errc::invalid_argument),
                std::string(operation) + ": the timeout must be a non-negative number of seconds");
}

Deadline::Deadline(Seconds timeout) {
  // Clamp absurdly long timeouts (years) so the time_point arithmetic cannot overflow.
  constexpr double kMaxSeconds = 100.0 * 365 * 24 * 3600;
  const double seconds = std::min(timeout.count(), kMaxSeconds);
  end_ = std::chrono::steady_clock::now() +
         std::chrono::duration_cast<std::chrono::steady_clock::duration>(Seconds(seconds));
}

bool Deadline::expired() const noexcept {
  return !infinite() && std::chrono::steady_clock::now() >= end_;
}

timespec Deadline::remaining() const noexcept {
  auto left = end_ - std::chrono::steady_clock::now();
  if (left < decltype(left)::zero()) left = decltype(left)::zero();
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
  return timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

timespec Deadline::absolute_monotonic() const noexcept {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  const timespec left = remaining();
  timespec at{now.tv_sec + left.tv_sec, now.tv_nsec + left.tv_nsec};
  if (at.tv_nsec >= 1'000'000'000) {
    at.tv_sec += 1;
    at.tv_nsec -= 1'000'000'000;
  }
  return at;
}

thread_local bool InterruptibleWaits::active_ = false;

bool wait_readable(int fd, const Deadline& deadline) {
  for (;;) {
    pollfd pfd{fd, POLLIN, 0};
    timespec left{};
    if (!deadline.infinite()) left = deadline.remaining();
    const int rc = ::ppoll(&pfd, 1, deadline.infinite() ? nullptr : &left, nullptr);
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) throw_errno(errno, "ppoll");
    if (deadline.infinite() && InterruptibleWaits::active()) throw_errno(EINTR, "ppoll");
    if (deadline.expired()) return false;
  }
}

}  // namespace mproc::detail
