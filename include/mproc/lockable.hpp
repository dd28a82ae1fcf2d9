// The std names for a type that has Python's acquire(block, timeout) / release(), so that
// std::lock_guard, std::unique_lock (with its timed operations) and std::scoped_lock work with it.
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/process.hpp>

#include <chrono>
#include <optional>

namespace mproc::detail {

template <class Derived>
class Lockable {
 public:
  void lock() { self().acquire(); }
  bool try_lock() { return self().acquire(false); }
  void unlock() { self().release(); }
  template <class Rep, class Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period>& timeout) {
    return self().acquire(true, std::chrono::duration_cast<Seconds>(
                                    timeout < timeout.zero() ? timeout.zero() : timeout));
  }
  template <class Clock, class Duration>
  bool try_lock_until(const std::chrono::time_point<Clock, Duration>& when) {
    return try_lock_for(when - Clock::now());
  }

 private:
  Derived& self() { return static_cast<Derived&>(*this); }
};

}  // namespace mproc::detail
