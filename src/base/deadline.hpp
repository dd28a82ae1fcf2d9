// Timeouts measured on the monotonic clock, so that neither a signal (EINTR and a retry) nor a
// change of the wall clock stretches or shortens a wait.
#pragma once

#include <mproc/error.hpp>
#include <mproc/seconds.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <time.h>

namespace mproc::detail {

// Nanoseconds on CLOCK_MONOTONIC: a cheap clock (vDSO, no system call) for intervals.
std::uint64_t monotonic_ns() noexcept;

// Throws EINVAL for a negative or NaN timeout, naming `operation`.
void check_timeout(Seconds timeout, const char* operation);

class Deadline {
 public:
  // No timeout: never expires.
  Deadline() = default;
  explicit Deadline(Seconds timeout);
  static Deadline from(std::optional<Seconds> timeout) {
    return timeout ? Deadline(*timeout) : Deadline();
  }

  bool infinite() const noexcept { return end_ == kNever; }
  bool expired() const noexcept;
  // Time left, clamped at zero; only for a finite deadline.
  timespec remaining() const noexcept;
  // The deadline as an absolute CLOCK_MONOTONIC time (for pthread_mutex_clocklock and
  // FUTEX_WAIT_BITSET); only for a finite deadline.
  timespec absolute_monotonic() const noexcept;

 private:
  // One word, not an optional: a Deadline is made and copied on every queue and lock call, and
  // an optional's separate flag byte, stored and then copied with the time, stalled each copy.
  static constexpr std::chrono::steady_clock::time_point kNever =
      std::chrono::steady_clock::time_point::max();
  std::chrono::steady_clock::time_point end_ = kNever;
};

// Waits until `fd` is readable (or has hung up) or the deadline passes; true if readable.
// Restarts on EINTR with the time that is left, except in an InterruptibleWaits scope with an
// infinite deadline (EINTR thrown). Errors: the errno of ppoll.
bool wait_readable(int fd, const Deadline& deadline);

// While one lives, the waits without limit of this thread that honour it (a Connection's receive)
// throw EINTR when a signal interrupts them instead of restarting: the C ABI's
// MPROC_WAIT_INTERRUPTIBLE, for a caller that must run its signal handlers during a wait (Python's
// main thread: Ctrl-C) and then calls again, as Python's own blocking reads do (PEP 475). A
// message partly received when the signal came stays kept for the next call.
class InterruptibleWaits {
 public:
  InterruptibleWaits() noexcept : previous_(active_) { active_ = true; }
  ~InterruptibleWaits() { active_ = previous_; }
  InterruptibleWaits(const InterruptibleWaits&) = delete;
  InterruptibleWaits& operator=(const InterruptibleWaits&) = delete;
  static bool active() noexcept { return active_; }

 private:
  static thread_local bool active_;
  bool previous_;
};

}  // namespace mproc::detail
