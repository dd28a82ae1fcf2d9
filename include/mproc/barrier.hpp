// Barrier: Python's multiprocessing.Barrier, shared between processes (a handle to shared state,
// like Lock: copies and forked children share it).
//
// Each wait() returns the caller's arrival index (0 .. parties-1) once `parties` callers have
// arrived; the barrier then starts over. Before the others are released, the last caller to arrive
// runs the action, if there is one (the action of its own handle: a forked child runs its copy).
// The barrier is broken, and every wait() of the current round, present or future, throws
// Error(errc::broken), when: a wait() times out (the barrier breaks for everyone, as in Python),
// abort() is called, the action throws (that caller gets the action's exception), or reset() is
// called while callers wait. reset() returns it to the empty, unbroken state.
//
// A party (a process) that dies while it waits in wait() breaks the barrier: the others' wait()
// throws Error(errc::broken) within about 100 ms (a waiter checks the processes that arrived
// before it, through their pidfds; the first 64 arrivals of a round are watched). A party that
// dies *before* it arrives cannot be told from one that is merely late: only a timeout (or the
// default timeout) catches that, so use one when a party may die. No wait is ever longer than its
// timeout. A thread that dies while the rest of its process lives is not noticed.
//
// Limits: parties in 1 .. kMaxParties. A caller woken by a round that ended is told the round's
// outcome (passed or broken) reliably as long as fewer than 32 rounds end before it runs again.
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/by_handle.hpp>
#include <mproc/error.hpp>
#include <mproc/export.h>
#include <mproc/process.hpp>
#include <mproc/sync_placement.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mproc {

namespace detail {
struct BarrierState;
}

/// Thread-safety: all methods may be called from any thread or process.
/// Errors: throws mproc::Error (errno or mproc::errc code): errc::broken (aborted, reset, a wait
/// timed out, the action threw), EINVAL, ENOENT / errc::bad_handle (attach).
/// Fork-safety: a child forked after it was made uses the same object in shared memory; any other
/// process attaches by handle().
class MPROC_API Barrier {
 public:
  static constexpr int kMaxParties = 32767;

  // Errors: EINVAL for parties outside 1 .. kMaxParties or an invalid default timeout; the errno
  // of mmap. `timeout` is the default for wait().
  explicit Barrier(int parties, std::function<void()> action = {},
                   std::optional<Seconds> timeout = std::nullopt);
  // In a named segment, attachable by handle (see sync.hpp).
  Barrier(Attachable, int parties, std::function<void()> action = {},
          std::optional<Seconds> timeout = std::nullopt);
  Barrier(detail::SharedPlacement where, int parties, std::function<void()> action = {},
          std::optional<Seconds> timeout = std::nullopt);
  // The barrier with this handle. The action and the default timeout are not shared (code and
  // settings of the creating process): give this handle's own. Errors: ENOENT, EINVAL (malformed
  // handle or timeout), errc::bad_handle (not a Barrier).
  static Barrier attach(std::string_view handle, std::function<void()> action = {},
                        std::optional<Seconds> timeout = std::nullopt);

  // Waits for the others; returns the arrival index. Without a timeout the default one applies.
  // Errors: errc::broken (see above); EINVAL for a negative or NaN timeout.
  int wait(std::optional<Seconds> timeout = std::nullopt);
  // Breaks the barrier: current and future waiters get errc::broken until reset().
  void abort();
  // Back to empty and unbroken; callers waiting now get errc::broken.
  void reset();

  int parties() const noexcept;
  // How many callers wait in the current round (0 while broken).
  int n_waiting() const noexcept;
  bool broken() const noexcept;
  // An arena handle if not created with mproc::attachable (see sync.hpp). Errors: those of
  // sharing the arena's chunk.
  std::string handle() const;

 private:
  std::shared_ptr<void> keepalive_;
  detail::BarrierState* state_;
  std::function<void()> action_;
  std::optional<Seconds> timeout_;
  std::string handle_;
};

// Passed to a Pool task, any barrier travels by handle (<mproc/by_handle.hpp>),
// without its action or default timeout (those are the creating process's: see attach()).
template <>
struct ByHandle<Barrier> : ByHandleMembers<Barrier> {};

}  // namespace mproc
