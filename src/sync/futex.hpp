// Futex waits and wakes on 32-bit words in memory shared between processes. The operations are
// the shared (not FUTEX_PRIVATE_FLAG) kind, so a word in a MAP_SHARED mapping or a named segment
// works between any processes that map it, at whatever address (the kernel keys shared futexes on
// the page, not on the virtual address). See futex(2).
#pragma once

#include <atomic>
#include <cstdint>

#include "common/deadline.hpp"

namespace mproc::detail {

// The words live in shared memory, so they must be plain 32-bit memory without a lock beside them.
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
static_assert(std::atomic<std::int32_t>::is_always_lock_free);

// Sleeps while `word` holds `expected`, until woken or the deadline passes. Returns false only
// when the deadline has passed; true when woken, when the word no longer held `expected`, or on a
// spurious wake-up, so callers re-check their condition in a loop. EINTR is absorbed: the wait
// restarts with the time that is left.
bool futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected, const Deadline& deadline);

// Wakes at most `count` waiters of `word`; returns how many were woken.
int futex_wake(std::atomic<std::uint32_t>& word, int count) noexcept;
inline int futex_wake_all(std::atomic<std::uint32_t>& word) noexcept {
  return futex_wake(word, 0x7fffffff);
}

// A CPU hint inside spin loops (PAUSE on x86).
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

}  // namespace mproc::detail
