// Event: Python's multiprocessing.Event, shared between processes (a handle to shared state, like
// Lock: copies and forked children share it). Errors are thrown as mproc::Error; a negative or NaN
// timeout is EINVAL.
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/by_handle.hpp>
#include <mproc/error.hpp>
#include <mproc/export.h>
#include <mproc/process.hpp>
#include <mproc/sync_placement.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mproc {

namespace detail {
struct EventState;
}

/// Thread-safety: all methods may be called from any thread or process.
/// Errors: throws mproc::Error (errno or mproc::errc code): EINVAL (a bad timeout), the errno of
/// mmap / shm_open, ENOENT / errc::bad_handle (attach).
/// Fork-safety: a child forked after it was made uses the same object in shared memory; any other
/// process attaches by handle().
class MPROC_API Event {
 public:
  // A new, clear event. Errors: the errno of mmap.
  Event();
  // In a named segment, attachable by handle (see sync.hpp).
  explicit Event(Attachable);
  explicit Event(detail::SharedPlacement where);
  // Errors: ENOENT, EINVAL (malformed handle), errc::bad_handle (not an Event).
  static Event attach(std::string_view handle);

  // Sets the flag and wakes every waiter.
  void set();
  // Clears the flag.
  void clear() noexcept;
  bool is_set() const noexcept;
  // Waits until the flag is set, at most `timeout` if given. Returns true if it was set, including
  // when set() woke this waiter and clear() came before it ran (as in Python).
  bool wait(std::optional<Seconds> timeout = std::nullopt);
  // An arena handle if not created with mproc::attachable (see sync.hpp). Errors: those of
  // sharing the arena's chunk.
  std::string handle() const;

 private:
  std::shared_ptr<void> keepalive_;
  detail::EventState* state_;
  std::string handle_;
};

// Passed to a Pool task, any event travels by handle (<mproc/by_handle.hpp>).
template <>
struct ByHandle<Event> : ByHandleMembers<Event> {};

}  // namespace mproc
