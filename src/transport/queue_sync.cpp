#include "transport/queue_sync.hpp"

#include <mproc/error.hpp>

#include <cerrno>
#include <climits>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

namespace mproc::detail::queue {

void init_robust_mutex(pthread_mutex_t* mutex) {
  pthread_mutexattr_t attr;
  int rc = ::pthread_mutexattr_init(&attr);
  if (rc != 0) throw_errno(rc, "pthread_mutexattr_init");
  rc = ::pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  if (rc == 0) rc = ::pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  if (rc == 0) rc = ::pthread_mutex_init(mutex, &attr);
  ::pthread_mutexattr_destroy(&attr);
  if (rc != 0) throw_errno(rc, "pthread_mutex_init (process-shared, robust)");
}

RobustLock::RobustLock(pthread_mutex_t* mutex, const Deadline& deadline) : mutex_(mutex) {
  int rc;
  if (deadline.infinite()) {
    rc = ::pthread_mutex_lock(mutex);
  } else {
    // pthread_mutex_clocklock takes an absolute CLOCK_MONOTONIC time.
    const timespec until = deadline.absolute_monotonic();
    rc = ::pthread_mutex_clocklock(mutex, CLOCK_MONOTONIC, &until);
  }
  if (rc == ETIMEDOUT) return;
  if (rc == EOWNERDEAD) {
    // The owner died inside its critical section. Nothing to repair: its uncommitted writes lie
    // outside the committed region and are overwritten later (see queue_core.cpp).
    ::pthread_mutex_consistent(mutex);
    recovered_ = true;
    rc = 0;
  }
  if (rc == ENOTRECOVERABLE)
    throw Error(errc::internal, "queue lock is unrecoverable (a previous owner died and the lock "
                                "was released without repair)");
  if (rc != 0) throw_errno(rc, "pthread_mutex_lock (queue)");
  locked_ = true;
}

void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected, std::int64_t timeout_ns,
                const Deadline& deadline) noexcept {
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  std::int64_t ns = timeout_ns;
  if (!deadline.infinite()) {
    const timespec left = deadline.remaining();
    const std::int64_t left_ns = left.tv_sec * 1'000'000'000LL + left.tv_nsec;
    if (left_ns < ns) ns = left_ns;
  }
  if (ns <= 0) return;
  timespec relative{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  // Not FUTEX_PRIVATE_FLAG: the word is in a MAP_SHARED segment shared with other processes.
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT, expected, &relative,
            nullptr, 0);
}

void futex_wake(std::atomic<std::uint32_t>* word, int count) noexcept {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE, count, nullptr, nullptr,
            0);
}

}  // namespace mproc::detail::queue
