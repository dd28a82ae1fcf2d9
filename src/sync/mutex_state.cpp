#include "sync/mutex_state.hpp"

#include <cerrno>
#include <ctime>
#include <linux/futex.h>
#include <string>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/spin_policy.hpp"
#include "log/logger.hpp"
#include "sync/futex.hpp"
#include "sync/thread_id.hpp"

namespace mproc::detail {
namespace {

// Spins before sleeping: a lock held for a few hundred nanoseconds by a process on another CPU
// is usually free again before a futex round trip would have completed. Between looks at the lock
// word the waiter backs off exponentially (up to kBackoffMax pauses, about 6 us): a waiter that
// polls the word at full speed keeps pulling its cache line away from the holder, whose release
// and next acquire then each wait for the line to come back (a counter incremented under the
// lock by two processes runs about twice as fast with the back-off). The spin ends after
// kSpinPauses pauses in all (about 50 us), then the waiter sleeps in the kernel.
constexpr int kBackoffMax = 256;
constexpr int kSpinPauses = 2048;

// glibc keeps a robust mutex's futex word in __data.__lock (a field of the public <pthread.h>
// type), laid out by the kernel's robust-futex protocol: the owner's thread id in the
// FUTEX_TID_MASK bits, FUTEX_OWNER_DIED and FUTEX_WAITERS above (futex(2), "Robust futexes").
// When the owner dies the kernel clears the id and sets FUTEX_OWNER_DIED.
std::uint32_t owner_tid(const pthread_mutex_t& m) noexcept {
  return static_cast<std::uint32_t>(__atomic_load_n(&m.__data.__lock, __ATOMIC_RELAXED)) &
         FUTEX_TID_MASK;
}

// True if the calling thread's robust list links this very mapping of `m`: the kernel's list
// (struct robust_list_head, futex(2)) holds the address of each held robust mutex's list node as
// the thread saw it when it locked. One process may map the same lock twice (two handles attached
// to one segment); a held lock must be released only through the mapping that locked it, and only
// before *that* mapping goes: unlocking through another address would leave the thread's robust
// list pointing at memory that is about to be unmapped, or unmapped under a live entry.
bool linked_through_this_mapping(const pthread_mutex_t& m) noexcept {
  robust_list_head* head = nullptr;
  std::size_t length = 0;
  if (::syscall(SYS_get_robust_list, 0, &head, &length) != 0 || head == nullptr) return true;
  // glibc links the address of __list.__next, and marks PI mutexes in the low bit.
  const auto node = reinterpret_cast<std::uintptr_t>(&m.__data.__list.__next);
  const auto unmarked = [](const void* p) {
    return reinterpret_cast<std::uintptr_t>(p) & ~std::uintptr_t{1};
  };
  if (unmarked(head->list_op_pending) == node) return true;
  const auto end = reinterpret_cast<std::uintptr_t>(&head->list);
  // Bounded: a thread holds few robust mutexes; the kernel itself stops at 2048 entries.
  auto entry = unmarked(head->list.next);
  for (int i = 0; i < 2048 && entry != 0 && entry != end; ++i) {
    if (entry == node) return true;
    entry = unmarked(reinterpret_cast<const robust_list*>(entry)->next);
  }
  return false;
}

void check(int rc, const char* what) {
  if (rc != 0) throw_errno(rc, what);
}

timespec monotonic_deadline(const Deadline& deadline) { return deadline.absolute_monotonic(); }

// Turns the result of a lock call into the state of the acquisition. EOWNERDEAD: the previous
// owner died holding the lock; we now hold it, and mark it consistent so that it stays usable.
Acquired took(MutexState& s, int rc, std::uint32_t depth, const char* type) {
  bool died = false;
  switch (rc) {
    case 0:
      break;
    case EOWNERDEAD:
      check(::pthread_mutex_consistent(&s.mutex), "pthread_mutex_consistent");
      died = true;
      logger(LogCategory::sync)
          .warn("{}: the previous owner died holding it; the lock was recovered", type);
      break;
    case EBUSY:
    case ETIMEDOUT:
      return Acquired::no;
    default:
      throw_errno(rc, std::string(type) + ".acquire: pthread_mutex_lock");
  }
  s.depth.store(depth, std::memory_order_relaxed);
  s.owner_died.store(died ? 1 : 0, std::memory_order_relaxed);
  return died ? Acquired::recovered : Acquired::yes;
}

}  // namespace

void MutexState::init(bool is_recursive) {
  pthread_mutexattr_t attr;
  check(::pthread_mutexattr_init(&attr), "pthread_mutexattr_init");
  int rc = ::pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  if (rc == 0) rc = ::pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  // Recursion is counted here (depth), not by pthread; ERRORCHECK turns a self-deadlock that we
  // failed to catch into EDEADLK rather than a hang.
  if (rc == 0) rc = ::pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
  if (rc == 0) rc = ::pthread_mutex_init(&mutex, &attr);
  ::pthread_mutexattr_destroy(&attr);
  check(rc, "pthread_mutex_init");
  recursive = is_recursive ? 1 : 0;
}

bool mutex_held_by_caller(const MutexState& s) noexcept {
  return owner_tid(s.mutex) == static_cast<std::uint32_t>(current_tid());
}

Acquired mutex_acquire(MutexState& s, bool block, std::optional<Seconds> timeout,
                       const char* type) {
  if (timeout) check_timeout(*timeout, type);
  const Deadline deadline = Deadline::from(timeout);
  if (mutex_held_by_caller(s)) {
    if (s.recursive) {
      s.depth.fetch_add(1, std::memory_order_relaxed);
      return Acquired::yes;
    }
    if (!block) return Acquired::no;
    throw Error(std::make_error_code(std::errc::resource_deadlock_would_occur),
                std::string(type) +
                    ".acquire: the calling thread already holds it (an RLock may be re-acquired)");
  }
  int rc = ::pthread_mutex_trylock(&s.mutex);
  // No spin where it cannot help (the holder shares our one CPU, or spins kept failing).
  thread_local SpinAdvisor advisor;
  if (rc == EBUSY && block && advisor.should_spin()) {
    for (int backoff = 1, spent = 0; spent < kSpinPauses && rc == EBUSY;) {
      for (int k = 0; k < backoff; ++k) cpu_relax();
      spent += backoff;
      if (backoff < kBackoffMax) backoff *= 2;
      if (owner_tid(s.mutex) == 0) rc = ::pthread_mutex_trylock(&s.mutex);
    }
    advisor.spun(rc != EBUSY);
  }
  if (rc == EBUSY && block) {
    if (deadline.infinite()) {
      rc = ::pthread_mutex_lock(&s.mutex);
    } else {
      // glibc retries after EINTR itself; the absolute deadline keeps the wait bounded.
      const timespec at = monotonic_deadline(deadline);
      rc = ::pthread_mutex_clocklock(&s.mutex, CLOCK_MONOTONIC, &at);
    }
  }
  return took(s, rc, 1, type);
}

void mutex_release(MutexState& s, const char* type) {
  if (!mutex_held_by_caller(s))
    throw Error(errc::bad_state,
                std::string(type) + ".release: the calling thread does not hold it");
  if (s.depth.load(std::memory_order_relaxed) > 1) {
    s.depth.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  s.depth.store(0, std::memory_order_relaxed);
  check(::pthread_mutex_unlock(&s.mutex), "pthread_mutex_unlock");
}

std::uint32_t mutex_release_all(MutexState& s) {
  const std::uint32_t depth = s.depth.load(std::memory_order_relaxed);
  s.depth.store(0, std::memory_order_relaxed);
  check(::pthread_mutex_unlock(&s.mutex), "pthread_mutex_unlock");
  return depth;
}

bool mutex_restore(MutexState& s, std::uint32_t depth) {
  return took(s, ::pthread_mutex_lock(&s.mutex), depth, s.recursive ? "RLock" : "Lock") ==
         Acquired::recovered;
}

void mutex_release_if_held(MutexState& s) noexcept {
  if (!mutex_held_by_caller(s) || !linked_through_this_mapping(s.mutex)) return;
  s.depth.store(0, std::memory_order_relaxed);
  ::pthread_mutex_unlock(&s.mutex);
}

}  // namespace mproc::detail
