// The shared state of a Barrier (placeable at any shared address; see shared_state.hpp).
// The action is not shared: each handle carries its own.
#pragma once

#include <atomic>
#include <cstdint>

#include "sync/shared_state.hpp"

namespace mproc::detail {

// The whole barrier is one 64-bit word, changed only by compare-and-swap, so no process can die
// half-way through an update and no internal lock is needed:
//   bits  0..15  count     callers arrived in the current round (== parties: the action runs)
//   bits 16..31  round     the round's number, modulo 2^16
//   bit  32      broken
//   bits 33..63  history   bit i: whether round (round - 1 - i) ended broken
// A waiter of round r that wakes to find a later round learns r's outcome from the history; no
// round has to wait for its waiters to leave (Python's "draining"), so a waiter that dies after the
// barrier released it cannot block the next round. `seq` is the futex word sleepers wait on; it
// changes after every transition that ends a wait.
//
// `arrivals[i]` says which process took arrival index i of which round (kArrivalValid | round << 32
// | pid), written right after that arrival's compare-and-swap, so that a waiter can notice a
// waiting party's death and break the barrier (barrier.cpp). Only the first kWatchedParties
// arrivals of a round are recorded.
inline constexpr std::uint32_t kWatchedParties = 64;
inline constexpr std::uint64_t kArrivalValid = std::uint64_t{1} << 63;
struct BarrierState {
  SyncHeader header;
  std::atomic<std::uint32_t> seq{0};
  std::uint32_t parties = 0;
  std::atomic<std::uint64_t> word{0};
  std::atomic<std::uint64_t> arrivals[kWatchedParties] = {};

  void init(std::uint32_t n) { parties = n; }
};
static_assert(std::is_standard_layout_v<BarrierState>);

}  // namespace mproc::detail
