// Where the shared state of a synchronisation object lives. Every primitive keeps its state in a
// small struct of atomics and integers (no pointers), constructible in place at any suitably
// aligned address of memory that the cooperating processes share. The default constructors place
// it in a private anonymous MAP_SHARED mapping, inherited by children forked later; the
// SharedPlacement constructors are the seam for other memory; the `attachable` constructors use it
// to place the state in a named segment (src/shm/named_placement.hpp).
// The size and alignment each state needs are those of detail::<Kind>State in src/sync/.
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <memory>
#include <string>

namespace mproc {

/// Selects the constructor that places an object in a named shared-memory segment, so that a
/// process that already runs (a pool worker, an unrelated process) can attach it by handle:
/// `Lock lock(mproc::attachable); ... Lock::attach(lock.handle())`. See sync.hpp.
/// Thread-safety: a value.
/// Errors: none.
/// Fork-safety: a tag value.
struct Attachable {
  explicit constexpr Attachable() = default;
};
inline constexpr Attachable attachable{};

}  // namespace mproc

namespace mproc::detail {

struct SharedPlacement {
  // Shared memory, aligned to at least 8 bytes (64 recommended), large enough for the state.
  void* address = nullptr;
  // Keeps the memory mapped for as long as a handle refers to it (may own nothing).
  std::shared_ptr<void> keepalive;
  // true: initialise a new object at `address`; false: attach to one initialised there before
  // (its header is checked: the wrong kind of object gives errc::bad_handle).
  bool construct = true;
  // The name of the segment that holds it, which is the object's handle() (empty: anonymous).
  std::string name{};
};

}  // namespace mproc::detail
