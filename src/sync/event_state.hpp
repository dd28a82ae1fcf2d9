// The shared state of an Event (placeable at any shared address; see shared_state.hpp).
#pragma once

#include <atomic>
#include <cstdint>

#include "sync/shared_state.hpp"

namespace mproc::detail {

// The futex word holds the flag in bit 0 and, above it, the number of times set() raised it: a
// waiter that finds the count changed knows it was set while it slept, even if cleared since.
struct EventState {
  SyncHeader header;
  std::atomic<std::uint32_t> word{0};
  std::atomic<std::uint32_t> sleepers{0};  // as in SemaphoreState

  void init() {}
};
static_assert(std::is_standard_layout_v<EventState>);

}  // namespace mproc::detail
