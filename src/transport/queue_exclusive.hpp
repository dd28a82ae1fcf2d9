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
// SoloTurn is one operation of the solo thread (alone, it is the solo fast path's entry:
// queue_solo.cpp); Exclusive is a SoloTurn or else the lock.
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

// This process's note of which of its threads holds a side's solo claim, so that the owner
// knows itself by its thread pointer and the fork generation (two plain loads) instead of a
// thread-local lookup of its ids on every operation. Only the thread holding the claim writes
// it; the claim goes from nobody to one thread id to kSoloMany and never back, so no two live
// threads of a process can hold it. (A thread that reuses a dead owner's thread pointer takes
// over its claim: the dead one is not inside an operation, so exclusivity holds.)
class SoloOwner {
 public:
  // The owner's ids, when the calling thread is the owner noted since this process's last fork.
  bool mine(ThreadIds& ids) const noexcept {
    if (self_.load(std::memory_order_acquire) != current_thread() ||
        generation_.load(std::memory_order_relaxed) !=
            barrier_state::fork_generation.load(std::memory_order_relaxed))
      return false;
    ids = {tid_.load(std::memory_order_relaxed), pid_.load(std::memory_order_relaxed)};
    return true;
  }
  void remember(ThreadIds ids) noexcept {
    tid_.store(ids.tid, std::memory_order_relaxed);
    pid_.store(ids.pid, std::memory_order_relaxed);
    generation_.store(barrier_state::fork_generation.load(std::memory_order_relaxed),
                      std::memory_order_relaxed);
    self_.store(current_thread(), std::memory_order_release);
  }
  void forget() noexcept { self_.store(0, std::memory_order_relaxed); }

 private:
  // The calling thread, among the live threads of this process: its thread pointer (one register
  // read; pthread_self() is a call into libc).
  static std::uintptr_t current_thread() noexcept {
#if defined(__GNUC__) || defined(__clang__)
    return reinterpret_cast<std::uintptr_t>(__builtin_thread_pointer());
#else
    return static_cast<std::uintptr_t>(::pthread_self());
#endif
  }

  std::atomic<std::uintptr_t> self_{0};
  std::atomic<std::uint32_t> generation_{0};
  std::atomic<std::uint32_t> tid_{0};
  std::atomic<std::int32_t> pid_{0};
};

// One operation of a side's solo thread, lock-free: entered() when the calling thread holds the
// side's claim (taking it if nobody has yet) and announced itself in `busy`.
class SoloTurn {
 public:
  // Inline: the path of every put and get of a lone producer and consumer.
  [[gnu::always_inline]] SoloTurn(SoloOwner& owner, std::atomic<std::uint32_t>& solo,
                                  std::atomic<std::int32_t>& busy) noexcept
      : busy_(busy) {
    if (!cheap_barriers()) return;
    ThreadIds ids;
    if (!owner.mine(ids) && !claim(owner, solo, ids)) return;
    busy_.store(ids.pid, std::memory_order_relaxed);
    // Only a compiler barrier between the store of busy and the load of the claim: the thread
    // that ends solo mode pays with membarrier (see the file comment).
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (solo.load(std::memory_order_relaxed) != ids.tid) {
      busy_.store(0, std::memory_order_release);
      owner.forget();  // solo mode has ended for good
      return;
    }
    std::atomic_thread_fence(std::memory_order_acquire);  // the side's state, as a lock would
    entered_ = true;
  }
  ~SoloTurn() { leave(); }
  SoloTurn(const SoloTurn&) = delete;
  SoloTurn& operator=(const SoloTurn&) = delete;

  bool entered() const noexcept { return entered_; }
  void leave() noexcept {
    if (!entered_) return;
    busy_.store(0, std::memory_order_release);  // also publishes the operation's stores
    entered_ = false;
  }

 private:
  // The first operation of a thread on the side (or of any thread once solo mode ended): takes
  // the claim if nobody holds it. True (ids set, owner noted) when the calling thread holds it.
  static bool claim(SoloOwner& owner, std::atomic<std::uint32_t>& solo, ThreadIds& ids) noexcept;

  std::atomic<std::int32_t>& busy_;
  bool entered_ = false;
};

class Exclusive {
 public:
  // Solo, or waits for the lock until the deadline; held() is false on timeout.
  // Errors: those of RobustLock.
  Exclusive(pthread_mutex_t* lock, SoloOwner& owner, std::atomic<std::uint32_t>& solo,
            std::atomic<std::int32_t>& busy, const Deadline& deadline)
      : solo_word_(solo), busy_(busy), turn_(owner, solo, busy) {
    if (!turn_.entered()) take_lock(lock, deadline);
  }
  Exclusive(const Exclusive&) = delete;
  Exclusive& operator=(const Exclusive&) = delete;

  bool held() const noexcept { return turn_.entered() || (lock_ && lock_->locked()); }
  // The previous exclusive user died inside its operation (a robust lock's EOWNERDEAD, or a solo
  // thread's process gone with `busy` set).
  bool recovered() const noexcept { return recovered_; }
  void release() noexcept {
    turn_.leave();
    if (lock_) lock_->unlock();
  }

 private:
  // Not solo: takes the lock (held() false on timeout) and ends solo mode.
  void take_lock(pthread_mutex_t* lock, const Deadline& deadline);
  // Under the lock: ends solo mode and waits until no solo operation is in flight.
  bool settle(const Deadline& deadline);

  std::atomic<std::uint32_t>& solo_word_;
  std::atomic<std::int32_t>& busy_;
  std::optional<RobustLock> lock_;
  SoloTurn turn_;
  bool recovered_ = false;
};

}  // namespace mproc::detail::queue
