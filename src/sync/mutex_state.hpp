// The shared state behind Lock and RLock: the library's robust mutex (base/robust_mutex.hpp, with
// the "report" owner-death policy: a recovered lock is logged and flagged in owner_died), plus the
// recursion depth and the "owner died" report. The
// owner is the thread id in the mutex's futex word, which the kernel clears when that thread dies,
// so a recycled thread id can never be mistaken for the owner.
#pragma once

#include <mproc/seconds.hpp>

#include <atomic>
#include <cstdint>
#include <optional>
#include <pthread.h>

#include "base/robust_mutex.hpp"
#include "sync/shared_state.hpp"

namespace mproc::detail {

struct MutexState {
  SyncHeader header;
  RobustMutex mutex;
  // Written only by the holder, read by the holder (and, racily but harmlessly, by queries).
  std::atomic<std::uint32_t> depth{0};
  std::atomic<std::uint32_t> owner_died{0};  // the current holder recovered it from a dead owner
  std::uint32_t recursive = 0;

  void init(bool is_recursive);
};
static_assert(std::is_standard_layout_v<MutexState>);

// `type` names the object in error messages ("Lock", "RLock").
Acquired mutex_acquire(MutexState& s, bool block, std::optional<Seconds> timeout, const char* type);
// Errors: errc::bad_state if the calling thread does not hold the lock.
void mutex_release(MutexState& s, const char* type);
bool mutex_held_by_caller(const MutexState& s) noexcept;

// For Condition: releases the lock entirely (whatever its recursion depth) and returns the depth;
// the caller must hold it. mutex_restore re-acquires it, without a time limit, at that depth and
// returns true if it was recovered from a dead owner.
std::uint32_t mutex_release_all(MutexState& s);
bool mutex_restore(MutexState& s, std::uint32_t depth);

// Releases the lock if the calling thread holds it through this mapping, before that mapping is
// unmapped: a held robust mutex is linked into the thread's robust list, which must never point
// into unmapped memory. A lock held through another mapping of the same segment in this process
// (another handle attached to it) is left alone.
void mutex_release_if_held(MutexState& s) noexcept;

}  // namespace mproc::detail
