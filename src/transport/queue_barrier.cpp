#include "transport/queue_barrier.hpp"

#include <atomic>
#include <linux/membarrier.h>
#include <mutex>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace mproc::detail::queue {
namespace {

// 1: this process is registered (wakers use a compiler barrier); 0: not (yet); -1: cannot be.
std::atomic<int> g_registered{0};
// Whether the system offers the expedited global membarrier (for the sleepers' side).
std::atomic<bool> g_available{false};

int membarrier(int command) noexcept {
  return static_cast<int>(::syscall(__NR_membarrier, command, 0, 0));
}

void register_now() noexcept {
  g_registered.store(membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) == 0 ? 1 : -1,
                     std::memory_order_release);
}

// The registration belongs to the address space; a child of fork() registers its own at once
// (before fork() returns in it, so before it can put), as the parent had.
void register_in_child() noexcept {
  if (g_registered.load(std::memory_order_relaxed) == 1) register_now();
}

}  // namespace

void enable_cheap_wake_barrier() noexcept {
  static std::once_flag once;
  std::call_once(once, [] {
    const int commands = membarrier(MEMBARRIER_CMD_QUERY);
    const bool available = commands > 0 && (commands & MEMBARRIER_CMD_GLOBAL_EXPEDITED) != 0 &&
                           (commands & MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) != 0;
    g_available.store(available, std::memory_order_release);
    if (!available || ::pthread_atfork(nullptr, nullptr, register_in_child) != 0) {
      g_registered.store(-1, std::memory_order_release);
      return;
    }
    register_now();
  });
}

void waker_barrier() noexcept {
  if (g_registered.load(std::memory_order_relaxed) == 1) [[likely]]
    std::atomic_signal_fence(std::memory_order_seq_cst);
  else
    std::atomic_thread_fence(std::memory_order_seq_cst);
}

void sleeper_barrier() noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (g_available.load(std::memory_order_relaxed)) (void)membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED);
}

}  // namespace mproc::detail::queue
