// The queue's layout in shared memory: the payload of a Segment of kind kQueueSegmentKind.
//
// A byte ring of `capacity` bytes (a multiple of 8) holds records: an 8-byte RecordHeader
// (length, and the message's sequence number as a check) followed by the message, padded to 8
// bytes. A record may wrap around the end of the ring (it is copied in two parts).
//
// Two positions, each one 64-bit word changed by a single store:
//   tail = (offset of the end of the last committed record, in 8-byte units) << 32 | put count
//   head = (offset of the first unconsumed record, in 8-byte units)          << 32 | get count
// The counts are modulo 2^32; tail.count - head.count is the number of messages in the ring, and
// for a JoinableQueue tail.count - tasks_done is the number of unfinished tasks.
//
// Producers serialise on put_lock and write only into free space (beyond tail); consumers
// serialise on get_lock and read only committed records (between head and tail). A put commits by
// storing tail after the record is in place, a get by storing head after the message was copied
// out. A process killed at any moment therefore leaves either the old or the new word, never a
// half state: a producer's partial record lies beyond tail and is overwritten by the next put; a
// consumer's unfinished get leaves the record in place for the next consumer.
//
// Waiting: a consumer that finds the ring empty spins briefly (a few microseconds, then yielding
// its CPU between checks, up to 50 us in all), then announces itself in
// consumers_waiting and sleeps on put_event (a futex); a producer, after committing, wakes one
// sleeper only if consumers_waiting is non-zero. Producers waiting for space and joiners do the
// same with get_event / tasks_done. Every sleep is bounded (kWaitSlice) and followed by a re-check,
// so a waker killed between its commit and its wake delays a sleeper by at most one slice.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <pthread.h>

#include "shm/segment.hpp"

namespace mproc::detail::queue {

enum class QueueKind : std::uint32_t { queue = 1, simple = 2, joinable = 3 };

inline constexpr shm::SegmentKind kQueueSegmentKind{0x51554555u /* "QUEU" */, 1, "queue"};

inline constexpr std::size_t kRecordAlign = 8;
inline constexpr std::size_t kMinCapacity = 64;
inline constexpr std::size_t kMaxCapacity = std::size_t{1} << 30;  // 1 GiB
inline constexpr std::size_t kDefaultCapacity = std::size_t{1} << 20;
inline constexpr std::size_t kMaxMaxsize = std::size_t{1} << 31;   // counts are modulo 2^32

struct RecordHeader {
  std::uint32_t size;  // the message's length in bytes
  std::uint32_t seq;   // the put count it was committed with (a consistency check)
};
static_assert(sizeof(RecordHeader) == kRecordAlign);

// A (offset units, count) position, packed into one atomic word.
struct Position {
  std::uint32_t offset;  // in kRecordAlign units, < capacity units
  std::uint32_t count;

  static Position unpack(std::uint64_t word) noexcept {
    return {static_cast<std::uint32_t>(word >> 32), static_cast<std::uint32_t>(word)};
  }
  std::uint64_t pack() const noexcept { return (std::uint64_t{offset} << 32) | count; }
};

struct QueueShared {
  // Immutable after construction.
  QueueKind kind;
  std::uint32_t capacity_units;  // ring size in kRecordAlign units
  std::uint64_t maxsize;         // 0: no limit on the count
  std::uint64_t ring_offset;     // from the start of this struct

  // Producers' line: their lock, and their last view of head (a conservative cache, so that a put
  // reads the consumers' line only when the cache says the ring is full).
  alignas(64) pthread_mutex_t put_lock;
  std::atomic<std::uint64_t> head_cache;

  alignas(64) std::atomic<std::uint64_t> tail;

  alignas(64) pthread_mutex_t get_lock;
  std::atomic<std::uint64_t> tail_cache;  // consumers' last view of tail

  alignas(64) std::atomic<std::uint64_t> head;

  // Consumers waiting for data.
  alignas(64) std::atomic<std::uint32_t> put_event;  // bumped by a put that wakes someone
  std::atomic<std::uint32_t> consumers_waiting;

  // Producers waiting for space.
  alignas(64) std::atomic<std::uint32_t> get_event;
  std::atomic<std::uint32_t> producers_waiting;

  // JoinableQueue, and statistics.
  alignas(64) std::atomic<std::uint32_t> tasks_done;
  std::atomic<std::uint32_t> joiners_waiting;
  std::atomic<std::uint32_t> lock_recoveries;  // EOWNERDEAD repairs, for tests and diagnostics

  std::byte* ring() noexcept { return reinterpret_cast<std::byte*>(this) + ring_offset; }
};

static_assert(std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

}  // namespace mproc::detail::queue
