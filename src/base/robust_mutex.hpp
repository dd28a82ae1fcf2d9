// The library's one process-shared mutex: a pthread mutex with PTHREAD_PROCESS_SHARED and
// PTHREAD_MUTEX_ROBUST (pthread_mutexattr_setrobust(3)), so that a holder that dies is detected
// by the kernel and the next acquirer gets the lock with EOWNERDEAD instead of waiting forever.
// What that acquirer does then is the user's choice, made explicit at every acquisition by an
// OwnerDeath policy:
//   - repair_silently: the protected state is consistent at every instant (each change commits
//     with one store after its data is in place, as the queue's), so there is nothing to repair:
//     the lock is marked consistent and the acquisition says `recovered`, with no message;
//   - report: the protected state may be half-changed (a user's critical section), so the user
//     must hear of it: the lock is marked consistent, `tell(name)` runs (sync logs a warning), and
//     the acquisition says `recovered` (Lock's owner_died, a Manager container's repair).
// The type is the bare pthread_mutex_t (same size and layout), placed in shared memory and
// initialised there with init(); a layout that declares a plain pthread_mutex_t (the queue's, whose
// tests lock it directly) uses it through RobustMutex::of.
// Thread-safety: as a pthread mutex. Fork-safety: a held robust mutex is never copied held into a
// child that could use it: the child's only thread is not its owner.
#pragma once

#include <cerrno>
#include <cstdint>
#include <linux/futex.h>
#include <pthread.h>

#include "base/deadline.hpp"

namespace mproc::detail {

// What an acquisition found.
enum class Acquired { no, yes, recovered };

struct OwnerDeath {
  static constexpr OwnerDeath repair_silently() noexcept { return OwnerDeath{nullptr}; }
  static constexpr OwnerDeath report(void (*tell)(const char* name)) noexcept {
    return OwnerDeath{tell};
  }
  void (*tell)(const char* name);
};

class RobustMutex {
 public:
  // The robust mutex that `native` is (a standard-layout class and its first member share their
  // address).
  static RobustMutex& of(pthread_mutex_t& native) noexcept {
    return *reinterpret_cast<RobustMutex*>(&native);
  }

  // Initialises the mutex in place. `error_check`: PTHREAD_MUTEX_ERRORCHECK (a relock by the
  // holder is EDEADLK, not a hang). Errors: the errno of pthread_mutexattr_* / pthread_mutex_init.
  void init(bool error_check = false);

  // Without waiting: Acquired::no if another thread holds it. (Inline: the fast path of every
  // lock, and of sync's spin loop.)
  Acquired try_lock(OwnerDeath policy, const char* name) {
    const int rc = ::pthread_mutex_trylock(&mutex_);
    if (rc == 0) return Acquired::yes;
    if (rc == EBUSY) return Acquired::no;
    return took(rc, policy, name);
  }
  // Waits until the deadline (infinite: no limit); Acquired::no when it passed. `name` names the
  // object in errors and in the owner-death report. Errors: errc::internal if the mutex is
  // unrecoverable (an owner died and it was unlocked without being made consistent), other
  // errnos of pthread_mutex_lock / pthread_mutex_consistent.
  Acquired lock(const Deadline& deadline, OwnerDeath policy, const char* name);
  // Errors (returned): the errno of pthread_mutex_unlock (EPERM: the caller does not hold it).
  int unlock() noexcept { return ::pthread_mutex_unlock(&mutex_); }

  // The holder's thread id (0: free). glibc keeps the futex word of a robust mutex in
  // __data.__lock, laid out by the kernel's robust-futex protocol (futex(2), "Robust futexes").
  std::uint32_t owner_tid() const noexcept {
    return static_cast<std::uint32_t>(__atomic_load_n(&mutex_.__data.__lock, __ATOMIC_RELAXED)) &
           FUTEX_TID_MASK;
  }
  // True if the calling thread's robust list links this very mapping of the mutex: one process
  // may map the same lock twice, and a held lock must be released only through the mapping that
  // locked it, before that mapping goes (else the thread's robust list points at unmapped memory).
  bool linked_through_this_mapping() const noexcept;

 private:
  Acquired took(int rc, OwnerDeath policy, const char* name);

  pthread_mutex_t mutex_;
};
static_assert(sizeof(RobustMutex) == sizeof(pthread_mutex_t));
static_assert(alignof(RobustMutex) == alignof(pthread_mutex_t));

}  // namespace mproc::detail
