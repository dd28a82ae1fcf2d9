// The shared memory between the pool's dispatcher thread and one worker: a task ring
// (dispatcher -> worker), a result ring (worker -> dispatcher), a slot table and a few control
// words, in one anonymous MAP_SHARED mapping created before the worker is forked. Only this pair
// of processes uses it, so each ring has one producer and one consumer and needs no lock; when a
// worker dies its channel is simply unmapped (its replacement gets a fresh one), so nothing in it
// ever needs repairing.
//
// Slots: every task message names a slot. The dispatcher fills the slot with the task's id before
// sending; the worker claims it (kStarted) before running the task, the dispatcher cancels it
// (kCancelled) — one compare-and-swap decides which wins, so a cancelled task that the worker has
// not started is never run. When a worker dies, a slot in kStarted names the task it was running
// (that task fails), the others were not started (they are re-dispatched).
//
// Waking: nobody sleeps while the other side is awake. A side about to sleep raises its flag,
// re-checks, then sleeps (the worker on a futex word of the channel, the dispatcher in poll() on an
// eventfd "doorbell" shared by all workers); the other side, after publishing, calls the system
// only if it sees the flag (Dekker-style, seq_cst on both sides).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "base/deadline.hpp"  // monotonic_ns
#include "sync/arena.hpp"

namespace mproc::detail::pool {

// Slot states, in the high bits of the slot word; the low 48 bits hold the task id's low bits.
inline constexpr uint64_t kSlotFree = 0;
inline constexpr uint64_t kStarted = uint64_t{1} << 62;
inline constexpr uint64_t kCancelled = uint64_t{1} << 61;
inline constexpr uint64_t kSlotIdMask = (uint64_t{1} << 48) - 1;
inline constexpr uint32_t kSlots = 1024;
inline constexpr size_t kRingBytes = size_t{64} << 10;  // per direction, a power of two

struct alignas(64) RingIndex {
  std::atomic<uint64_t> value{0};
};

struct ChannelHeader {
  RingIndex task_write, task_read, result_write, result_read;
  alignas(64) std::atomic<uint32_t> worker_wake{0};  // futex word, bumped to wake the worker
  std::atomic<uint32_t> worker_sleeping{0};
  std::atomic<uint32_t> stop{0};                     // the worker exits when it has no task left
  alignas(64) std::atomic<uint32_t> running_slot{0};
  std::atomic<uint64_t> running_since_ns{0};         // CLOCK_MONOTONIC when it started
  alignas(64) std::atomic<uint64_t> slots[kSlots];
  // The sync arena references the worker holds of its own (a task's plain lock, attached there):
  // given back by the dispatcher once the worker has died, however it died (sync/arena.hpp).
  alignas(64) arena::Ledger arena_ledger;
};
static_assert(std::atomic<uint64_t>::is_always_lock_free);
static_assert(std::atomic<uint32_t>::is_always_lock_free);

// The page shared by the dispatcher and all workers of a pool. A worker that publishes a result
// wakes whoever collects results in the parent and sleeps: the dispatcher thread (parent_sleeping:
// the doorbell eventfd) or a user thread waiting for its own result in its place (guest_sleeping:
// a futex on guest_wake; see guest.cpp). Both flags on one line: one cache miss per result.
struct PoolControl {
  alignas(64) std::atomic<uint32_t> parent_sleeping{0};
  std::atomic<uint32_t> guest_sleeping{0};
  std::atomic<uint32_t> guest_wake{0};
};

// One direction of a channel: a byte stream, like a pipe without system calls. Messages larger
// than the ring go through in pieces; the reader reassembles.
//
// Trust: the other process may write anything into the shared header, so each side keeps its own
// index (the producer's write index, the consumer's read index) in private memory (`mine`) and
// only publishes it to the shared word; the peer's index is loaded once per call and checked
// (0 <= write - read <= kRingBytes), and the shared copy of mine compared with my own, before any
// byte is touched. A violation returns kCorrupt:
// the peer is not to be trusted any more (nothing outside the ring is ever read or written).
class Ring {
 public:
  static constexpr size_t kCorrupt = SIZE_MAX;

  // `mine`: this process's copy of the index it owns (write for a producer, read for a consumer).
  Ring(RingIndex* write, RingIndex* read, uint64_t* mine, char* data)
      : write_(write), read_(read), mine_(mine), data_(data) {}
  // Producer: copies as much of [data, data + size) as fits; returns the count and publishes it,
  // or kCorrupt.
  size_t write_some(const char* data, size_t size) noexcept;
  // Producer: the bytes write_some would take now, or kCorrupt.
  size_t free_space() const noexcept;
  // Consumer: appends every published byte to `out` and releases the space; returns the count,
  // or kCorrupt (then `out` is unchanged). `filled`, if given, is set when the ring was full
  // before this read released it (the producer may be waiting for room: a doorbell is owed),
  // including when it filled up between this read's load of the write index and its release.
  // Errors: bad_alloc.
  size_t read_all(std::string& out, bool* filled = nullptr);
  // Consumer: false if there is something to read, or the producer's index is corrupt.
  bool empty() const noexcept;
  // True if the shared copy of my index is still what I published (the peer did not write it).
  bool mine_intact(bool producer) const noexcept;

 private:
  RingIndex* write_;
  RingIndex* read_;
  uint64_t* mine_;
  char* data_;
};

class Channel {
 public:
  // Maps a fresh channel: anonymous shared memory (inherited by a worker forked from here), or,
  // if `shareable`, a memfd whose descriptor (fd()) can be sent to a worker started elsewhere (the
  // forkserver). Errors: the errno of memfd_create / ftruncate / mmap.
  explicit Channel(bool shareable = false);
  // In a worker: maps the channel behind `fd` (from a shareable Channel). Errors: that of mmap.
  static std::unique_ptr<Channel> attach(int fd);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  ChannelHeader& header() noexcept { return *header_; }
  // The memfd of a shareable channel (-1 otherwise, or once closed); O_CLOEXEC.
  int fd() const noexcept { return fd_; }
  void close_fd() noexcept;
  Ring tasks() noexcept;
  Ring results() noexcept;

  // Dispatcher: wakes the worker if it sleeps.
  void wake_worker() noexcept;
  // Worker: sleeps until woken or `timeout_ms` passes (the caller re-checks everything after).
  void worker_sleep(uint32_t seen_wake, int timeout_ms) noexcept;

 private:
  struct AttachTag {};
  Channel(int fd, AttachTag);

  void* base_ = nullptr;
  size_t size_ = 0;
  ChannelHeader* header_ = nullptr;
  int fd_ = -1;
  // The ring indices this process owns (see Ring): in the dispatcher the task ring's write index
  // and the result ring's read index, in the worker the other two. Both start at 0, as the shared
  // words do, in each process's copy.
  uint64_t task_index_ = 0;
  uint64_t result_index_ = 0;
};

}  // namespace mproc::detail::pool
