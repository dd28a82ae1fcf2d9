// The queue's private process-shared synchronisation: robust mutexes (PTHREAD_PROCESS_SHARED +
// PTHREAD_MUTEX_ROBUST) that repair themselves after a dead owner, and futex waits/wakes on words
// in shared memory. Internal to the queue; the public locks live in src/sync.
#pragma once

#include <atomic>
#include <cstdint>
#include <pthread.h>

#include "common/deadline.hpp"

namespace mproc::detail::queue {

// Initialises a mutex in shared memory. Errors: the errno of pthread_mutexattr_* / _init.
void init_robust_mutex(pthread_mutex_t* mutex);

// Holds a robust mutex for a scope. If the previous owner died holding it (EOWNERDEAD), the
// state it protects is already consistent — every change commits with one store after its data
// is in place — so the lock is marked consistent and `recovered()` is true.
// Thread-safety: one guard per thread.
class RobustLock {
 public:
  // Waits until the deadline (infinite: no limit); `locked()` is false on timeout.
  // Errors: errc::internal if the mutex is unrecoverable (never happens when every owner follows
  // the protocol above), other errnos of pthread_mutex_lock.
  RobustLock(pthread_mutex_t* mutex, const Deadline& deadline);
  ~RobustLock() {
    if (locked_) ::pthread_mutex_unlock(mutex_);
  }
  RobustLock(const RobustLock&) = delete;
  RobustLock& operator=(const RobustLock&) = delete;

  bool locked() const noexcept { return locked_; }
  bool recovered() const noexcept { return recovered_; }
  void unlock() noexcept {
    if (locked_) ::pthread_mutex_unlock(mutex_);
    locked_ = false;
  }

 private:
  pthread_mutex_t* mutex_;
  bool locked_ = false;
  bool recovered_ = false;
};

// FUTEX_WAIT on a shared word while it equals `expected`, for at most `timeout_ns` (and at most
// the deadline). Returns on wake, timeout, signal or a changed value: callers re-check.
void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected, std::int64_t timeout_ns,
                const Deadline& deadline) noexcept;
// FUTEX_WAKE: wakes up to `count` waiters.
void futex_wake(std::atomic<std::uint32_t>* word, int count) noexcept;

// A spin-wait pause (PAUSE on x86).
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace mproc::detail::queue
