// SharedMemory: Python's multiprocessing.shared_memory.SharedMemory — a named POSIX shared-memory
// segment (shm_open) that any process may attach by name.
//
// The segment is raw: buf() is the start of the file and size() its length, with no header of
// mproc's, so segments made by Python's SharedMemory, by shm_open(3) in any program, or by the C
// ABI are interchangeable. (Value, Array, Queue and the attachable locks use segments with a
// checked header instead; their handles are not SharedMemory names.)
//
// Names. "name" and "/name" are the same segment; name() returns the "/name" form, which is what
// appears in /dev/shm (without its slash). At most 251 characters, the slash included, and no other
// '/'. Created without a name, a segment gets a fresh one, "/mproc-<pid>-<counter>-<random>",
// which never collides with another live process's.
//
// Lifetime (Python's semantics, plus a guarantee Python gives only with a warning):
//  - close() drops this process's mapping; the destructor closes. Neither removes the name.
//  - unlink() removes the name (from any process, as in Python); mappings stay valid until
//    closed. A second unlink() of the same name is ENOENT. A name unlinked by another process
//    stays registered with its creator's tracker, which removes whatever bears that name when the
//    creator ends: do not create a segment of the same name while that creator lives.
//  - An attaching process never removes the name by itself.
//  - The creating process registers the name with its tracker (see src/shm/tracker.hpp): when that
//    process ends — normally or killed — without having unlinked it, the tracker unlinks it and
//    prints "mproc shm tracker: removed leaked shared memory <name> of process <pid>" on stderr.
//    Python's resource tracker does the same on exit. So a segment never outlives its creator in
//    /dev/shm: a process that must keep data after its creator exits should attach and copy.
//    (A crash in the microseconds between shm_open and the registration of a caller-chosen name
//    could leak it: the name is registered only once it is ours, never someone else's.)
//  - A child forked from the creator inherits the mapping (buf() stays valid there) but not the
//    ownership: its close() only unmaps and its end does not remove the name.
//
// Errors are thrown as mproc::Error: EINVAL (size 0, bad or too long name), ENOENT (attaching to a
// missing name), EEXIST (creating a name that exists), EACCES, ENOSPC / ENOMEM, errc::bad_state
// (attaching to a segment whose creator has not set its size after 2 s: it died while creating),
// errc::closed (buf() or unlink() after close(): see each method).
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/by_handle.hpp>
#include <mproc/error.hpp>
#include <mproc/export.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace mproc {

/// Thread-safety: a SharedMemory object is used by one thread at a time (the memory itself may be
/// used from any thread and process: synchronise it yourself, e.g. with a Lock).
/// Errors: throws mproc::Error (errno or mproc::errc code): EEXIST (create with a name in use),
/// ENOENT (attach of a missing name), EINVAL, EACCES, ENOSPC / ENOMEM, errc::closed (see the file
/// comment).
/// Fork-safety: a child forked from the creator inherits the mapping but not the ownership of the
/// name.
class MPROC_API SharedMemory {
 public:
  // Python's SharedMemory(name, create, size): creates a segment of `size` bytes (zero-filled)
  // when `create` is true — named `name`, or a fresh name when `name` is empty — or attaches to
  // the existing segment `name` (size must then be 0 or at most the segment's size; the whole
  // segment is mapped, as in Python).
  SharedMemory(std::string_view name, bool create, std::size_t size = 0);
  // Creates a segment of `size` bytes, named `name` (empty: a fresh name).
  static SharedMemory create(std::size_t size, std::string_view name = {});
  // Attaches to the existing segment `name`.
  static SharedMemory attach(std::string_view name);

  SharedMemory(SharedMemory&& other) noexcept;
  SharedMemory& operator=(SharedMemory&& other) noexcept;
  SharedMemory(const SharedMemory&) = delete;
  SharedMemory& operator=(const SharedMemory&) = delete;
  ~SharedMemory();

  // The mapping. Errors: errc::closed after close().
  void* buf() const;
  std::span<std::byte> span() const { return {static_cast<std::byte*>(buf()), size_}; }
  // The segment's size in bytes (kept after close()).
  std::size_t size() const noexcept { return size_; }
  // "/name", as given or generated.
  const std::string& name() const noexcept { return name_; }
  // True if this object created the segment, in this process, and has not unlinked it.
  bool is_creator() const noexcept;
  bool closed() const noexcept { return base_ == nullptr; }

  // Unmaps. Idempotent. Never throws.
  void close() noexcept;
  // Removes the name now. Allowed after close() (Python allows it too). Errors: ENOENT if the name
  // is already gone (unlinked twice, or by another process), the errno of shm_unlink.
  void unlink();

 private:
  SharedMemory() = default;
  std::string name_;
  void* base_ = nullptr;
  std::size_t size_ = 0;
  std::size_t mapped_ = 0;
  int creator_pid_ = 0;  // the pid that created it through this object, 0 for an attacher
};

/// A SharedMemory passed to a Pool task or a Process travels by name and is attached where it
/// arrives (that object is not its creator: see the file comment).
/// Errors: errc::closed for a closed object; where it arrives, those of attach().
/// Thread-safety: as name() and attach(). Fork-safety: stateless.
template <>
struct ByHandle<SharedMemory> {
  static std::string handle(const SharedMemory& segment) {
    if (segment.closed())
      throw Error(errc::closed, "SharedMemory " + segment.name() +
                                    " is closed: it cannot be passed to a task or a process");
    return segment.name();
  }
  static SharedMemory attach(std::string_view name) { return SharedMemory::attach(name); }
};

}  // namespace mproc
