#include "transport/queue_exclusive.hpp"

#include <sched.h>

#include "transport/queue_barrier.hpp"

namespace mproc::detail::queue {

bool SoloTurn::claim(SoloOwner& owner, std::atomic<std::uint32_t>& solo, ThreadIds& ids) noexcept {
  ids = thread_ids();
  std::uint32_t claimed = solo.load(std::memory_order_relaxed);
  if (claimed == 0 && solo.compare_exchange_strong(claimed, ids.tid, std::memory_order_acq_rel))
    claimed = ids.tid;
  if (claimed != ids.tid) return false;
  owner.remember(ids);
  return true;
}

void Exclusive::take_lock(pthread_mutex_t* lock, const Deadline& deadline) {
  lock_.emplace(lock, deadline);
  if (!lock_->locked()) return;
  recovered_ = lock_->recovered();
  if (!settle(deadline)) lock_->unlock();
}

bool Exclusive::settle(const Deadline& deadline) {
  bool barrier = recovered_;  // a holder may have died between its switch and its barrier
  if (solo_word_.load(std::memory_order_relaxed) != kSoloMany)
    barrier = solo_word_.exchange(kSoloMany, std::memory_order_acq_rel) != 0 || barrier;
  if (barrier) global_barrier();
  for (unsigned spins = 0;; ++spins) {
    std::int32_t pid = busy_.load(std::memory_order_acquire);
    if (pid == 0) return true;
    if (spins % 64 == 63) {
      if (process_gone(pid)) {
        busy_.compare_exchange_strong(pid, 0, std::memory_order_acq_rel);
        recovered_ = true;
        continue;
      }
      if (deadline.expired()) return false;
      ::sched_yield();
    } else {
      cpu_relax();
    }
  }
}

}  // namespace mproc::detail::queue
