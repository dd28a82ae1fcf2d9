#include "sync/mutex_state.hpp"

#include <cerrno>
#include <string>

#include "base/cpu_relax.hpp"
#include "base/spin_policy.hpp"
#include "log/logger.hpp"
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

// The "report" owner-death policy: the state the lock protects may be half-changed, so say so.
void warn_owner_died(const char* type) {
  logger(LogCategory::sync).warn("{}: the previous owner died holding it; the lock was recovered", type);
}
constexpr OwnerDeath kReport = OwnerDeath::report(warn_owner_died);

void check(int rc, const char* what) {
  if (rc != 0) throw_errno(rc, what);
}

// Records what an acquisition found in the state.
Acquired took(MutexState& s, Acquired how, std::uint32_t depth) {
  if (how == Acquired::no) return how;
  s.depth.store(depth, std::memory_order_relaxed);
  s.owner_died.store(how == Acquired::recovered ? 1 : 0, std::memory_order_relaxed);
  return how;
}

}  // namespace

void MutexState::init(bool is_recursive) {
  // Recursion is counted here (depth), not by pthread; ERRORCHECK turns a self-deadlock that we
  // failed to catch into EDEADLK rather than a hang.
  mutex.init(/*error_check=*/true);
  recursive = is_recursive ? 1 : 0;
}

bool mutex_held_by_caller(const MutexState& s) noexcept {
  return s.mutex.owner_tid() == static_cast<std::uint32_t>(current_tid());
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
  Acquired how = s.mutex.try_lock(kReport, type);
  // No spin where it cannot help (the holder shares our one CPU, or spins kept failing).
  thread_local SpinAdvisor advisor;
  if (how == Acquired::no && block && advisor.should_spin()) {
    for (int backoff = 1, spent = 0; spent < kSpinPauses && how == Acquired::no;) {
      for (int k = 0; k < backoff; ++k) cpu_relax();
      spent += backoff;
      if (backoff < kBackoffMax) backoff *= 2;
      if (s.mutex.owner_tid() == 0) how = s.mutex.try_lock(kReport, type);
    }
    advisor.spun(how != Acquired::no);
  }
  if (how == Acquired::no && block) how = s.mutex.lock(deadline, kReport, type);
  return took(s, how, 1);
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
  check(s.mutex.unlock(), "pthread_mutex_unlock");
}

std::uint32_t mutex_release_all(MutexState& s) {
  const std::uint32_t depth = s.depth.load(std::memory_order_relaxed);
  s.depth.store(0, std::memory_order_relaxed);
  check(s.mutex.unlock(), "pthread_mutex_unlock");
  return depth;
}

bool mutex_restore(MutexState& s, std::uint32_t depth) {
  return took(s, s.mutex.lock(Deadline(), kReport, s.recursive ? "RLock" : "Lock"), depth) ==
         Acquired::recovered;
}

void mutex_release_if_held(MutexState& s) noexcept {
  if (!mutex_held_by_caller(s) || !s.mutex.linked_through_this_mapping()) return;
  s.depth.store(0, std::memory_order_relaxed);
  s.mutex.unlock();
}

}  // namespace mproc::detail
