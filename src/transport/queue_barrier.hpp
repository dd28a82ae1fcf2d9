// The sleeper handshake's barriers, made asymmetric with membarrier(2).
//
// A waker (a put that committed, a get that made room) stores its position and then loads the
// count of sleepers; a sleeper increments that count and then loads the position. Each side needs
// a full barrier between its store and its load (Dekker: otherwise both loads may miss both
// stores, and the sleeper sleeps through the commit). The wakers are the hot path (every put and
// every get); the sleepers are rare (they have spun ~50 us already and are about to make a futex
// system call). So the sleeper pays for both: it calls membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED),
// which runs a full barrier on every CPU that runs a thread of a process registered for it, and
// the waker needs only a compiler barrier — provided its process is registered. Why that is
// enough: take the moment the barrier runs on the waker's CPU (or the waker's context switch, also
// a full barrier). If the waker's load of the count comes after it, the count's increment (made
// before membarrier was entered) is visible to it, and it wakes. If the load comes before it, so
// does the waker's store in program order, and the barrier drains it from the store buffer before
// membarrier returns: the sleeper's load of the position, after membarrier returns, sees it and
// the sleeper does not sleep. Either way no wake-up is lost.
//
// A process whose registration failed (an old kernel, a seccomp filter) keeps a full fence on its
// waker side; where membarrier is missing the sleeper's side is a full fence too. Every sleep is
// bounded anyway (kWaitSlice), so even a missed wake-up would cost a delay, never a hang.
#pragma once

#include <atomic>
#include <cstdint>

namespace mproc::detail::queue {

namespace barrier_state {
// 1: this process is registered (wakers use a compiler barrier); 0: not (yet); -1: cannot be.
// Read inline on every put and get (waker_barrier, cheap_barriers); written by queue_barrier.cpp.
inline std::atomic<int> registered{0};
// Bumped in every child of fork() (while registered): ids cached before it are stale. Read inline
// by a solo thread's check that it is still the side's owner (queue_exclusive.hpp).
inline std::atomic<std::uint32_t> fork_generation{1};
}  // namespace barrier_state

// Registers this process for the sleepers' membarrier (once; again in a child after fork).
// Called by every queue object's construction, before its first put or get. Never fails: a
// process that cannot register uses full fences.
void enable_cheap_wake_barrier() noexcept;

// The waker's barrier between its commit and its load of the sleeper count.
inline void waker_barrier() noexcept {
  if (barrier_state::registered.load(std::memory_order_relaxed) == 1) [[likely]]
    std::atomic_signal_fence(std::memory_order_seq_cst);
  else
    std::atomic_thread_fence(std::memory_order_seq_cst);
}

// The sleeper's barrier between its increment of the sleeper count and its last check.
void sleeper_barrier() noexcept;

// True when this process is registered, so that another process's global_barrier() orders its
// plain stores and loads (queue_exclusive.hpp uses it for the single-producer path).
inline bool cheap_barriers() noexcept {
  return barrier_state::registered.load(std::memory_order_relaxed) == 1;
}
// membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED): a full barrier on every CPU running a thread of a
// registered process (a full fence where membarrier is missing).
void global_barrier() noexcept;

// This thread's id and this process's id, cached (and refreshed in a child after fork): one call
// and one thread-local access for both, on every operation of a solo producer or consumer.
struct ThreadIds {
  std::uint32_t tid;
  std::int32_t pid;
};
ThreadIds thread_ids() noexcept;
// True when process `pid` has ended (gone, or a zombie).
bool process_gone(std::int32_t pid) noexcept;

}  // namespace mproc::detail::queue
