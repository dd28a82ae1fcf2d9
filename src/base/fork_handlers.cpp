#include "base/fork_handlers.hpp"

#include <atomic>
#include <cstddef>
#include <pthread.h>

namespace mproc::detail {
namespace {

constexpr std::size_t kStages = static_cast<std::size_t>(ForkStage::count_);

struct Slot {
  std::atomic<bool> claimed{false};
  std::atomic<bool> ready{false};  // set (release) once the three pointers are written
  void (*prepare)() = nullptr;
  void (*parent)() = nullptr;
  void (*child)() = nullptr;
};

// Constant-initialised: usable from any static initializer, whatever the order of their units.
Slot g_slots[kStages];

// Which stages the forking thread prepared: their parent/child handlers, and only theirs, run.
thread_local std::uint32_t t_prepared = 0;
static_assert(kStages <= 32);

void run_prepare() {
  t_prepared = 0;
  for (std::size_t i = 0; i < kStages; ++i) {
    Slot& s = g_slots[i];
    if (!s.ready.load(std::memory_order_acquire)) continue;
    t_prepared |= 1u << i;
    if (s.prepare != nullptr) s.prepare();
  }
}

void run_after(bool in_child) {
  for (std::size_t i = kStages; i-- > 0;) {
    const Slot& s = g_slots[i];
    if ((t_prepared & (1u << i)) == 0) continue;
    void (*handler)() = in_child ? s.child : s.parent;
    if (handler != nullptr) handler();
  }
}

void run_parent() { run_after(false); }
void run_child() { run_after(true); }

}  // namespace

void register_fork_handlers(ForkStage stage, const ForkHandlers& handlers) noexcept {
  static const bool installed = ::pthread_atfork(run_prepare, run_parent, run_child) == 0;
  (void)installed;
  Slot& s = g_slots[static_cast<std::size_t>(stage)];
  if (s.claimed.exchange(true)) return;
  s.prepare = handlers.prepare;
  s.parent = handlers.parent;
  s.child = handlers.child;
  s.ready.store(true, std::memory_order_release);
}

}  // namespace mproc::detail
