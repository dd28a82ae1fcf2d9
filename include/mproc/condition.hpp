// Condition: Python's multiprocessing.Condition, shared between processes (a handle to shared
// state, like Lock), built on a Lock or an RLock (a new RLock by default, as in Python).
//
// wait() and notify() must be called with the lock held by the calling thread. wait() releases
// the lock completely (whatever the RLock's recursion depth), sleeps, and re-acquires it at the
// same depth before returning, also on timeout; that re-acquisition has no time limit (as in
// Python and pthread_cond_timedwait), but it recovers the lock if its holder dies. notify(n)
// wakes n of the processes waiting at the time it is called (fewer if fewer wait); which ones is
// unspecified. A waiter that dies is skipped, never counted as woken in place of a live one.
//
// Errors are thrown as mproc::Error; a negative or NaN timeout is EINVAL.
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/by_handle.hpp>
#include <mproc/error.hpp>
#include <mproc/export.h>
#include <mproc/lock.hpp>
#include <mproc/lockable.hpp>
#include <mproc/process.hpp>
#include <mproc/sync_placement.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mproc {

namespace detail {
struct ConditionState;
}

/// Thread-safety: all methods may be called from any thread or process.
/// Errors: throws mproc::Error (errno or mproc::errc code): errc::bad_state (wait or notify
/// without holding the lock), EINVAL.
/// Fork-safety: a child forked after it was made uses the same object in shared memory; any other
/// process attaches by handle().
class MPROC_API Condition : public detail::Lockable<Condition> {
 public:
  // Over a new RLock. Errors: the errno of mmap.
  Condition();
  // Over `lock` (the Condition keeps a handle to it: the same lock as the caller's).
  explicit Condition(Lock lock);
  explicit Condition(RLock lock);
  Condition(detail::SharedPlacement where, Lock lock);
  Condition(detail::SharedPlacement where, RLock lock);
  // In a named segment, attachable by handle (see sync.hpp): over a new attachable RLock, or over
  // `lock`, which must be attachable too (its handle is stored with the condition). Errors: EINVAL
  // for a lock that is not attachable.
  explicit Condition(Attachable);
  Condition(Attachable, Lock lock);
  Condition(Attachable, RLock lock);
  // The condition with this handle, over its lock. Errors: ENOENT (no such condition, or its lock
  // or itself was dropped by its creator), EINVAL, errc::bad_handle (not a Condition).
  static Condition attach(std::string_view handle);

  // The underlying lock's acquire / release (and owner_died, is_mine); with them, Lockable.
  bool acquire(bool block = true, std::optional<Seconds> timeout = std::nullopt) {
    return lock_.acquire(block, timeout);
  }
  void release() { lock_.release(); }
  bool owner_died() const noexcept { return lock_.owner_died(); }
  bool is_mine() const noexcept { return lock_.is_mine(); }

  // Waits until notified or, with a timeout, at most that long. Returns true if notified, false
  // on timeout. Errors: errc::bad_state if the calling thread does not hold the lock.
  bool wait(std::optional<Seconds> timeout = std::nullopt);
  // Waits until predicate() is true, at most `timeout` in total if given; returns the last value
  // of predicate() (Python's wait_for). The predicate runs with the lock held.
  template <class Predicate>
  bool wait_for(Predicate predicate, std::optional<Seconds> timeout = std::nullopt) {
    return wait_for_impl([](void* p) { return static_cast<bool>((*static_cast<Predicate*>(p))()); },
                         &predicate, timeout);
  }
  // Wakes up to n waiters. Errors: errc::bad_state if the calling thread does not hold the lock.
  void notify(int n = 1);
  void notify_all();
  // An arena handle if not created with mproc::attachable (see sync.hpp). Errors: those of
  // sharing the arena's chunk.
  std::string handle() const;

 private:
  Condition(detail::SharedPlacement where, detail::MutexHandle lock);
  bool wait_for_impl(bool (*predicate)(void*), void* context, std::optional<Seconds> timeout);

  detail::MutexHandle lock_;
  std::shared_ptr<void> keepalive_;
  detail::ConditionState* state_;
  std::string handle_;
};

// Passed to a Pool task, any condition travels by handle (<mproc/by_handle.hpp>).
template <>
struct ByHandle<Condition> : ByHandleMembers<Condition> {};

}  // namespace mproc
