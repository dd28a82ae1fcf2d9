// The shared state of a Semaphore: the value is the futex word; a count of sleepers lets release()
// skip the FUTEX_WAKE system call when nobody waits.
#pragma once

#include <mproc/process.hpp>

#include <atomic>
#include <cstdint>
#include <optional>

#include "sync/shared_state.hpp"

namespace mproc::detail {

struct SemaphoreState {
  SyncHeader header;
  std::atomic<std::uint32_t> value{0};
  // Processes inside futex_wait (or about to be). One that is killed there leaves this too high,
  // which costs a needless wake-up system call per release, never a lost wake-up.
  std::atomic<std::uint32_t> sleepers{0};
  std::uint32_t max_value = 0;  // the bound, or Semaphore::kMaxValue

  void init(std::uint32_t initial, std::uint32_t bound) {
    value.store(initial, std::memory_order_relaxed);
    max_value = bound;
  }
};
static_assert(std::is_standard_layout_v<SemaphoreState>);

// Errors: EINVAL for a negative or NaN timeout.
bool semaphore_acquire(SemaphoreState& s, bool block, std::optional<Seconds> timeout);
// Errors: errc::bad_state (bounded) or EOVERFLOW when the value is at its maximum.
void semaphore_release(SemaphoreState& s, bool bounded);

}  // namespace mproc::detail
