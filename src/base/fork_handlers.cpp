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

struct ReferenceSlot {
  std::atomic<bool> claimed{false};
  std::atomic<bool> ready{false};  // set (release) once the handlers are written
  ChildReferenceHandlers handlers;
};

// Constant-initialised, as g_slots.
ReferenceSlot g_reference_slots[kStages];

// The handlers of each registered stage, last stage first.
template <class Call>
void for_each_reference_stage(Call call) noexcept {
  for (std::size_t i = kStages; i-- > 0;) {
    const ReferenceSlot& s = g_reference_slots[i];
    if (s.ready.load(std::memory_order_acquire)) call(s.handlers);
  }
}

thread_local bool t_releasing_child = false;
thread_local bool t_plain_forks = false;

void run_parent() { run_after(false); }
void run_child_handlers() {
  run_after(true);
  t_releasing_child = false;  // the child's own forks are marked by the guards it makes itself
}

}  // namespace

void register_child_reference_handlers(ForkStage stage,
                                       const ChildReferenceHandlers& handlers) noexcept {
  ReferenceSlot& s = g_reference_slots[static_cast<std::size_t>(stage)];
  if (s.claimed.exchange(true)) return;
  s.handlers = handlers;
  s.ready.store(true, std::memory_order_release);
}

void run_exit_handlers() noexcept {
  for_each_reference_stage([](const ChildReferenceHandlers& h) {
    if (h.before_exit != nullptr) h.before_exit();
  });
}

void adopt_fork_references(pid_t child) noexcept {
  for_each_reference_stage([child](const ChildReferenceHandlers& h) {
    if (h.adopt != nullptr) h.adopt(child);
  });
}

void release_child_references(pid_t child) noexcept {
  for_each_reference_stage([child](const ChildReferenceHandlers& h) {
    if (h.release != nullptr) h.release(child);
  });
}

ReleasingChildFork::ReleasingChildFork() noexcept : previous_(t_releasing_child) {
  t_releasing_child = !t_plain_forks;
}
ReleasingChildFork::~ReleasingChildFork() { t_releasing_child = previous_; }
PlainChildForks::PlainChildForks() noexcept : previous_(t_plain_forks) { t_plain_forks = true; }
PlainChildForks::~PlainChildForks() { t_plain_forks = previous_; }

bool fork_child_releases_at_exit() noexcept { return t_releasing_child; }

void register_fork_handlers(ForkStage stage, const ForkHandlers& handlers) noexcept {
  static const bool installed = ::pthread_atfork(run_prepare, run_parent, run_child_handlers) == 0;
  (void)installed;
  Slot& s = g_slots[static_cast<std::size_t>(stage)];
  if (s.claimed.exchange(true)) return;
  s.prepare = handlers.prepare;
  s.parent = handlers.parent;
  s.child = handlers.child;
  s.ready.store(true, std::memory_order_release);
}

}  // namespace mproc::detail
