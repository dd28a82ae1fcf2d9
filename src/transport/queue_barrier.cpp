#include "transport/queue_barrier.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <linux/membarrier.h>
#include <mutex>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/fork_handlers.hpp"

namespace mproc::detail::queue {
namespace {

std::atomic<int>& g_registered = barrier_state::registered;
// Whether the system offers the expedited global membarrier (for the sleepers' side).
std::atomic<bool> g_available{false};

int membarrier(int command) noexcept {
  return static_cast<int>(::syscall(__NR_membarrier, command, 0, 0));
}

void register_now() noexcept {
  g_registered.store(membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) == 0 ? 1 : -1,
                     std::memory_order_release);
}

std::atomic<std::uint32_t>& g_fork_generation = barrier_state::fork_generation;

// The registration belongs to the address space; a child of fork() registers its own at once
// (before fork() returns in it, so before it can put), as the parent had.
void register_in_child() noexcept {
  g_fork_generation.fetch_add(1, std::memory_order_relaxed);
  if (g_registered.load(std::memory_order_relaxed) == 1) register_now();
}

struct Ids {
  std::uint32_t generation = 0;
  std::uint32_t tid = 0;
  std::int32_t pid = 0;
};
thread_local Ids t_ids;

const Ids& ids() noexcept {
  const std::uint32_t generation = g_fork_generation.load(std::memory_order_relaxed);
  if (t_ids.generation != generation) [[unlikely]] {
    t_ids.tid = static_cast<std::uint32_t>(::gettid());
    t_ids.pid = ::getpid();
    t_ids.generation = generation;
  }
  return t_ids;
}

}  // namespace

void enable_cheap_wake_barrier() noexcept {
  static std::once_flag once;
  std::call_once(once, [] {
    const int commands = membarrier(MEMBARRIER_CMD_QUERY);
    const bool available = commands > 0 && (commands & MEMBARRIER_CMD_GLOBAL_EXPEDITED) != 0 &&
                           (commands & MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) != 0;
    g_available.store(available, std::memory_order_release);
    if (!available) {
      g_registered.store(-1, std::memory_order_release);
      return;
    }
    register_fork_handlers(ForkStage::queue_barrier, {nullptr, nullptr, register_in_child});
    register_now();
  });
}

void sleeper_barrier() noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (g_available.load(std::memory_order_relaxed)) (void)membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED);
}

}  // namespace mproc::detail::queue

namespace mproc::detail::queue {

void global_barrier() noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (g_available.load(std::memory_order_relaxed)) (void)membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED);
}

ThreadIds thread_ids() noexcept {
  const Ids& i = ids();
  return {i.tid, i.pid};
}

bool process_gone(std::int32_t pid) noexcept {
  if (pid <= 0) return true;
  if (::kill(pid, 0) != 0) return errno == ESRCH;
  // A zombie still answers kill(): read its state ("pid (comm) S ...").
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  FILE* f = std::fopen(path, "re");
  if (f == nullptr) return true;
  char buffer[512] = {};
  const std::size_t n = std::fread(buffer, 1, sizeof buffer - 1, f);
  std::fclose(f);
  const char* close = n > 0 ? std::strrchr(buffer, ')') : nullptr;
  return close != nullptr && close[1] == ' ' && (close[2] == 'Z' || close[2] == 'X');
}

}  // namespace mproc::detail::queue
