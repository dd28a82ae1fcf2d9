// The shared state of a Condition (placeable at any shared address; see shared_state.hpp).
// The lock it is used with is separate state: the Condition handle holds a handle to it.
#pragma once

#include <atomic>
#include <cstdint>

#include "sync/shared_state.hpp"

namespace mproc::detail {

// The state is changed only by a thread that holds the condition's lock, so the counters need no
// lock of their own; they share one 64-bit word (waiting << 32 | tokens) so that a process killed
// half-way leaves them consistent. `waiting` counts the registered waiters, `tokens` the wake-ups
// granted by notify() and not yet taken; any registered waiter may take one, after it wakes and
// re-acquires the lock. `seq` is the futex word that sleepers wait on; notify() changes it.
struct ConditionState {
  SyncHeader header;
  std::atomic<std::uint32_t> seq{0};
  std::uint32_t reserved = 0;
  std::atomic<std::uint64_t> counts{0};

  void init() {}
};
static_assert(std::is_standard_layout_v<ConditionState>);

}  // namespace mproc::detail
