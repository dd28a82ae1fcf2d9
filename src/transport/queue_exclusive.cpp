#include "transport/queue_exclusive.hpp"

#include <sched.h>

#include "transport/queue_barrier.hpp"

namespace mproc::detail::queue {

Exclusive::Exclusive(pthread_mutex_t* lock, std::atomic<std::uint32_t>& solo,
                     std::atomic<std::int32_t>& busy, const Deadline& deadline)
    : solo_word_(solo), busy_(busy) {
  if (enter_solo()) return;
  lock_.emplace(lock, deadline);
  if (!lock_->locked()) return;
  recovered_ = lock_->recovered();
  if (!settle(deadline)) lock_->unlock();
}

bool Exclusive::enter_solo() noexcept {
  if (!cheap_barriers()) return false;
  const ThreadIds ids = thread_ids();
  const std::uint32_t me = ids.tid;
  std::uint32_t owner = solo_word_.load(std::memory_order_relaxed);
  if (owner == 0 && solo_word_.compare_exchange_strong(owner, me, std::memory_order_acq_rel))
    owner = me;
  if (owner != me) return false;
  busy_.store(ids.pid, std::memory_order_relaxed);
  // Only a compiler barrier between the store of busy and the load of the claim: the thread that
  // ends solo mode pays with membarrier (see the file comment of queue_exclusive.hpp).
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (solo_word_.load(std::memory_order_relaxed) != me) {
    busy_.store(0, std::memory_order_release);
    return false;
  }
  std::atomic_thread_fence(std::memory_order_acquire);  // the side's state, as a lock would
  solo_ = true;
  return true;
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

void Exclusive::release() noexcept {
  if (solo_) {
    busy_.store(0, std::memory_order_release);  // also publishes the operation's stores
    solo_ = false;
  } else if (lock_) {
    lock_->unlock();
  }
}

}  // namespace mproc::detail::queue
