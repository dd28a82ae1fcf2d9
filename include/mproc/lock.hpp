// Lock and RLock: Python's multiprocessing.Lock / RLock, shared between processes, and safe when
// a holder dies.
//
// Sharing. A Lock is a handle to state in shared memory: copies of a Lock (and the copies that
// children forked later inherit) are the same lock. Lock() puts the state in this process's
// sync arena (shared with processes forked after it, and by handle with the others: sync.hpp).
// Lock(mproc::attachable) puts it in a named segment. Either way any process may then use
// Lock::attach(lock.handle()) (see sync.hpp).
//
// Owner death. The lock belongs to the thread that acquired it. If that thread's process dies (or
// the thread exits) while holding it, the kernel marks the lock, and the next acquire() takes it,
// repairs it and returns true; owner_died() then returns true until the lock is next acquired, so
// the new holder can check or repair the data the lock protects. acquire() does not throw in that
// case, because a lock() that throws after acquiring would leave std::lock_guard holding a lock it
// never releases. The C ABI reports it as MPROC_EOWNERDEAD, with the lock held.
//
// Fork. A child forked while one of the parent's threads holds a lock does not hold it: the owner
// is that thread of the parent, which is alive, so the child's acquire() waits (or times out) until
// the parent releases it, and the child may not release it. If the parent dies still holding it,
// the child's acquire() recovers it as above. The same holds for every process and thread.
//
// Departures from Python: release() by a thread that does not hold the lock is an error for Lock
// too (Python lets any process release a Lock), because ownership is what makes recovery from a
// dead holder possible. A blocking acquire() of a Lock the caller already holds throws EDEADLK
// instead of hanging (acquire(false) returns false, as in Python).
//
// Errors are thrown as mproc::Error (see error.hpp). Timeouts: a negative or NaN timeout is EINVAL.
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

class Condition;

namespace detail {

struct MutexState;

// What Lock and RLock share. Not used directly.
// Also Lockable and TimedLockable (lock, try_lock, unlock, try_lock_for, try_lock_until).
class MPROC_API MutexHandle : public Lockable<MutexHandle> {
 public:
  // Acquires the lock; with block=false it only tries. Without a timeout a blocking acquire waits
  // as long as it takes; with one it waits at most that long. Returns true once acquired (also
  // when it was recovered from a dead owner: see owner_died()), false if it was not.
  bool acquire(bool block = true, std::optional<Seconds> timeout = std::nullopt);
  // Errors: errc::bad_state if the calling thread does not hold the lock.
  void release();
  // True while the caller holds the lock if the acquisition that gave it recovered the lock from a
  // dead owner (the data it protects may be half-updated). Only meaningful to the holder.
  bool owner_died() const noexcept;
  // True if the calling thread holds the lock (Python's SemLock._is_mine()).
  bool is_mine() const noexcept;
  // The handle another process passes to attach(): the segment's name, or for a lock made without
  // mproc::attachable an arena handle (see sync.hpp). Errors: those of sharing the arena's chunk
  // (EMFILE, socket).
  std::string handle() const;

 protected:
  MutexHandle(SharedPlacement where, bool recursive, const char* type);
  static SharedPlacement attach_placement(std::string_view handle, const char* type);

 private:
  friend class mproc::Condition;
  // Attaches a Lock or an RLock, whichever `handle` names.
  static MutexHandle attach_any(std::string_view handle);

  std::shared_ptr<void> keepalive_;
  MutexState* state_;
  const char* type_;
  std::string handle_;
};

}  // namespace detail

/// A non-recursive lock. Thread-safety: all methods may be called from any thread or process; a
/// Lock is owned by the thread that acquired it.
/// Errors: throws mproc::Error (errno or mproc::errc code): EDEADLK (a blocking acquire of a Lock
/// this thread holds), errc::bad_state (release by a thread that does not hold it), EINVAL (a bad
/// timeout); a holder that died is recovered and logged, not thrown.
/// Fork-safety: a child forked while another thread holds it does not hold it (the owner is a
/// thread of the parent); a child forked after it was made uses the same object in shared memory;
/// any other process attaches by handle().
class MPROC_API Lock : public detail::MutexHandle {
 public:
  // A new, unlocked lock in an anonymous shared mapping. Errors: the errno of mmap.
  Lock();
  // A new, unlocked lock in a named segment, attachable by handle. Errors: as shm_open / mmap.
  explicit Lock(Attachable);
  // A lock whose state is (construct=true) or already was (construct=false) at where.address.
  explicit Lock(detail::SharedPlacement where);
  // The lock with this handle (from handle(), in any process). Errors: ENOENT (no such lock, or
  // its creator dropped it), EINVAL (malformed handle), errc::bad_handle (not a Lock).
  static Lock attach(std::string_view handle);
};

/// A recursive lock: the holding thread may acquire it again; it is free once released as many
/// times as acquired. Thread-safety: as Lock.
/// Errors: as Lock.
/// Fork-safety: as Lock.
class MPROC_API RLock : public detail::MutexHandle {
 public:
  RLock();
  explicit RLock(Attachable);
  explicit RLock(detail::SharedPlacement where);
  // Errors: as Lock::attach; errc::bad_handle if the handle is not an RLock's.
  static RLock attach(std::string_view handle);
};

// Passed to a Pool task, a lock travels by handle (see <mproc/by_handle.hpp>), attachable or not.
// A Process child gets a copy.
template <>
struct ByHandle<Lock> : ByHandleMembers<Lock> {};
template <>
struct ByHandle<RLock> : ByHandleMembers<RLock> {};

}  // namespace mproc
