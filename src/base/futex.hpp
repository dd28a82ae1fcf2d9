// Futex waits and wakes on 32-bit words (futex(2)): the library's only futex system calls.
//
// Scope: a `shared` word may live in memory shared between processes (a MAP_SHARED mapping, a
// named segment) at any address in each (the kernel keys shared futexes on the page, not on the
// virtual address). A `process_private` word is in memory of this process only (FUTEX_PRIVATE_FLAG:
// a cheaper lookup); a private wait never sees a shared wake and the reverse.
#pragma once

#include <atomic>
#include <cstdint>
#include <time.h>

#include "base/deadline.hpp"

namespace mproc::detail {

// The words live in shared memory, so they must be plain 32-bit memory without a lock beside them.
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
static_assert(std::atomic<std::int32_t>::is_always_lock_free);

enum class FutexScope : bool { shared, process_private };

// One FUTEX_WAIT: sleeps while `word` holds `expected`, at most `relative` (measured on
// CLOCK_MONOTONIC; nullptr: no limit). Returns 0 when woken, else the errno: EAGAIN (the word
// no longer held `expected`), EINTR, ETIMEDOUT. Callers re-check their condition in a loop.
int futex_wait_once(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                    const timespec* relative, FutexScope scope = FutexScope::shared) noexcept;

// Sleeps while `word` holds `expected`, until woken or the deadline passes. Returns false only
// when the deadline has passed; true when woken, when the word no longer held `expected`, or on a
// spurious wake-up, so callers re-check their condition in a loop. EINTR is absorbed: the wait
// restarts with the time that is left. Errors: an unexpected errno of futex(2).
bool futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected, const Deadline& deadline);

// One wait of at most `slice_ns` and at most until the deadline: for waits that must look at
// something else (a peer's liveness, a closed flag) every so often. Returns on wake, timeout,
// signal or a changed word, without saying which: callers re-check.
void futex_wait_slice(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                      std::int64_t slice_ns, const Deadline& deadline) noexcept;

// Wakes at most `count` waiters of `word`; returns how many were woken.
int futex_wake(std::atomic<std::uint32_t>& word, int count,
               FutexScope scope = FutexScope::shared) noexcept;
inline int futex_wake_all(std::atomic<std::uint32_t>& word,
                          FutexScope scope = FutexScope::shared) noexcept {
  return futex_wake(word, 0x7fffffff, scope);
}

}  // namespace mproc::detail
