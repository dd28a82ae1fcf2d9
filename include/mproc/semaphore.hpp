// Semaphore and BoundedSemaphore: Python's multiprocessing.Semaphore / BoundedSemaphore, shared
// between processes (a handle to shared state, like Lock: copies and forked children share it).
//
// A semaphore has no owner: if a process dies after acquire() and before release(), that unit is
// lost, as in Python. Errors are thrown as mproc::Error; a negative or NaN timeout is EINVAL.
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/by_handle.hpp>
#include <mproc/error.hpp>
#include <mproc/export.h>
#include <mproc/lockable.hpp>
#include <mproc/process.hpp>
#include <mproc/sync_placement.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mproc {

namespace detail {
struct SemaphoreState;
}

/// Also Lockable (lock, try_lock, unlock, try_lock_for, try_lock_until) for std::lock_guard.
/// Thread-safety: all methods may be called from any thread or process.
/// Errors: throws mproc::Error (errno or mproc::errc code): EINVAL (a negative value or timeout),
/// ENOENT / errc::bad_handle (attach).
/// Fork-safety: a child forked after it was made uses the same object in shared memory; any other
/// process attaches by handle().
class MPROC_API Semaphore : public detail::Lockable<Semaphore> {
 public:
  // The largest value a semaphore can hold (SEM_VALUE_MAX).
  static constexpr int kMaxValue = 0x7fffffff;

  // Errors: EINVAL if value is negative; the errno of mmap.
  explicit Semaphore(int value = 1);
  // In a named segment, attachable by handle (see sync.hpp).
  explicit Semaphore(Attachable, int value = 1);
  Semaphore(detail::SharedPlacement where, int value);
  // The semaphore (or bounded semaphore: it keeps its bound) with this handle.
  // Errors: ENOENT, EINVAL (malformed handle), errc::bad_handle (not a semaphore).
  static Semaphore attach(std::string_view handle);

  // Decrements the value, waiting while it is zero: with block=false not at all, with a timeout at
  // most that long. Returns true if it decremented.
  bool acquire(bool block = true, std::optional<Seconds> timeout = std::nullopt);
  // Increments the value and wakes one waiter. Errors: errc::bad_state for a BoundedSemaphore
  // already at its initial value (the value is unchanged); EOVERFLOW at kMaxValue.
  void release();
  // The current value (Python's get_value()).
  int get_value() const noexcept;
  // An arena handle if not created with mproc::attachable (see sync.hpp). Errors: those of
  // sharing the arena's chunk.
  std::string handle() const;

 protected:
  Semaphore(detail::SharedPlacement where, int value, bool bounded);

 private:
  std::shared_ptr<void> keepalive_;
  detail::SemaphoreState* state_;
  std::string handle_;
};

/// A Semaphore that may never be released above its initial value.
/// Thread-safety: as Semaphore.
/// Errors: as Semaphore, plus errc::bad_state (released above its initial value).
/// Fork-safety: a child forked after it was made uses the same object in shared memory; any other
/// process attaches by handle().
class MPROC_API BoundedSemaphore : public Semaphore {
 public:
  explicit BoundedSemaphore(int value = 1);
  explicit BoundedSemaphore(Attachable, int value = 1);
  BoundedSemaphore(detail::SharedPlacement where, int value);
  // Errors: as Semaphore::attach; errc::bad_handle if the handle is not a BoundedSemaphore's.
  static BoundedSemaphore attach(std::string_view handle);
};

// Passed to a Pool task, any semaphore travels by handle (<mproc/by_handle.hpp>).
template <>
struct ByHandle<Semaphore> : ByHandleMembers<Semaphore> {};
template <>
struct ByHandle<BoundedSemaphore> : ByHandleMembers<BoundedSemaphore> {};

}  // namespace mproc
