// The queue's use of the library's process-shared primitives (src/base): its robust mutexes
// repair themselves silently after a dead owner, and its waits are futex waits on words in shared
// memory. Internal to the queue; the public locks live in src/sync.
#pragma once

#include <pthread.h>

#include "base/cpu_relax.hpp"
#include "base/deadline.hpp"
#include "base/futex.hpp"
#include "base/robust_mutex.hpp"

namespace mproc::detail::queue {

// Holds a queue lock for a scope. If the previous owner died holding it (EOWNERDEAD), the
// state it protects is already consistent — every change commits with one store after its data
// is in place — so the lock is repaired silently (OwnerDeath::repair_silently) and `recovered()`
// is true. Thread-safety: one guard per thread.
class RobustLock {
 public:
  // Waits until the deadline (infinite: no limit); `locked()` is false on timeout.
  // Errors: errc::internal if the mutex is unrecoverable (never happens when every owner follows
  // the protocol above), other errnos of pthread_mutex_lock.
  RobustLock(pthread_mutex_t* mutex, const Deadline& deadline);
  ~RobustLock() { unlock(); }
  RobustLock(const RobustLock&) = delete;
  RobustLock& operator=(const RobustLock&) = delete;

  bool locked() const noexcept { return locked_; }
  bool recovered() const noexcept { return recovered_; }
  void unlock() noexcept {
    if (locked_) mutex_->unlock();
    locked_ = false;
  }

 private:
  RobustMutex* mutex_;
  bool locked_ = false;
  bool recovered_ = false;
};

}  // namespace mproc::detail::queue
