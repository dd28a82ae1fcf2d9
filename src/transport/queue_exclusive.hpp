// Exclusive use of one side of a queue (the producers' or the consumers'), without the side's
// lock while a single thread uses that side.
//
// Every put (get) needs to be alone among puts (gets). The robust mutex gives that at the price
// of two atomic read-modify-writes and glibc's robust-list bookkeeping per call, which the
// common case — one producer thread and one consumer thread — does not need. So the first thread
// to use a side claims it (`solo`, its thread id) and from then on only announces each operation
// (`busy`, its process id: plain stores) and checks the claim, with a compiler barrier between.
// The first other thread to use the side takes the lock, ends solo mode for good (solo = kMany),
// calls membarrier(GLOBAL_EXPEDITED) and waits until `busy` is clear: the barrier makes the
// asymmetric Dekker handshake sound (queue_barrier.hpp: either the solo thread sees kMany before
// its next operation, or its `busy` store is visible to the waiter). From then on every thread
// takes the lock, as before, and also waits out a `busy` left set (a switch that timed out).
//
// Crashes: a solo thread killed mid-operation leaves `busy` naming its process; the waiter sees
// that process gone (or a zombie), clears it and reports `recovered()`, as for a lock whose owner
// died: the commit protocol (one store) makes both cases the same. A thread that takes the lock
// after a holder died mid-switch does the barrier again. Solo mode is used only by processes
// registered for the membarrier (queue_barrier.hpp); elsewhere every call takes the lock.
// Limitation: `busy` names a process id, so the processes sharing a queue must share a pid
// namespace (as processes forked from one another do): a waiter in another namespace could take a
// live solo process for a dead one and write beside it.
// Thread-safety: one object per call, on the calling thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <pthread.h>

#include "base/deadline.hpp"
#include "transport/queue_barrier.hpp"
#include "transport/queue_layout.hpp"
#include "transport/queue_sync.hpp"

namespace mproc::detail::queue {

class Exclusive {
 public:
  // Solo, or waits for the lock until the deadline; held() is false on timeout.
  // Errors: those of RobustLock.
  Exclusive(pthread_mutex_t* lock, std::atomic<std::uint32_t>& solo,
            std::atomic<std::int32_t>& busy, const Deadline& deadline)
      : solo_word_(solo), busy_(busy) {
    if (!enter_solo()) take_lock(lock, deadline);
  }
  ~Exclusive() { release(); }
  Exclusive(const Exclusive&) = delete;
  Exclusive& operator=(const Exclusive&) = delete;

  bool held() const noexcept { return solo_ || (lock_ && lock_->locked()); }
  // The previous exclusive user died inside its operation (a robust lock's EOWNERDEAD, or a solo
  // thread's process gone with `busy` set).
  bool recovered() const noexcept { return recovered_; }
  void release() noexcept {
    if (solo_) {
      busy_.store(0, std::memory_order_release);  // also publishes the operation's stores
      solo_ = false;
    } else if (lock_) {
      lock_->unlock();
    }
  }

 private:
  // Inline: the path of every put and get of a lone producer and consumer.
  bool enter_solo() noexcept {
    if (!cheap_barriers()) return false;
    const ThreadIds ids = thread_ids();
    std::uint32_t owner = solo_word_.load(std::memory_order_relaxed);
    if (owner == 0 && solo_word_.compare_exchange_strong(owner, ids.tid, std::memory_order_acq_rel))
      owner = ids.tid;
    if (owner != ids.tid) return false;
    busy_.store(ids.pid, std::memory_order_relaxed);
    // Only a compiler barrier between the store of busy and the load of the claim: the thread
    // that ends solo mode pays with membarrier (see the file comment).
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (solo_word_.load(std::memory_order_relaxed) != ids.tid) {
      busy_.store(0, std::memory_order_release);
      return false;
    }
    std::atomic_thread_fence(std::memory_order_acquire);  // the side's state, as a lock would
    solo_ = true;
    return true;
  }
  // Not solo: takes the lock (held() false on timeout) and ends solo mode.
  void take_lock(pthread_mutex_t* lock, const Deadline& deadline);
  // Under the lock: ends solo mode and waits until no solo operation is in flight.
  bool settle(const Deadline& deadline);

  std::atomic<std::uint32_t>& solo_word_;
  std::atomic<std::int32_t>& busy_;
  std::optional<RobustLock> lock_;
  bool solo_ = false;
  bool recovered_ = false;
};

}  // namespace mproc::detail::queue
