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
// serialise on get_lock and read only committed records (between head and tail). (While one
// thread alone puts, or gets, it skips its side's lock: queue_exclusive.hpp.) A put commits by
// storing tail after the record is in place, a get by storing head after the message was copied
// out. A process killed at any moment therefore leaves either the old or the new word, never a
// half state: a producer's partial record lies beyond tail and is overwritten by the next put; a
// consumer's unfinished get leaves the record in place for the next consumer.
//
// Waiting: a consumer that finds the ring empty spins briefly (a few microseconds, then yielding
// its CPU between checks, up to 50 us in all; not at all where spinning cannot help), then
// announces itself (consumers_waiting, and the low bit of put_event) and sleeps on put_event (a
// futex); a producer, after committing, changes put_event and wakes one sleeper only if that bit
// is set (keeping it set while more sleepers are counted), so a sleep costs one wake, not one per
// put until the sleeper runs. Producers waiting for space do the same with get_event (all of
// them are woken), joiners with tasks_done. Every sleep is bounded (kWaitSlice) and followed by a re-check,
// so a waker killed between its commit and its wake delays a sleeper by at most one slice.
//
// A growing queue (kFlagGrows: the default Queue, which like Python's is bounded only by memory;
// a queue made with an explicit byte capacity keeps one fixed ring) adds two things, both inside
// the one growable segment file (so there is no other /dev/shm name to track or leak):
//  - Chained rings. `slots` describes up to kRingSlots rings: slot 0 is the ring above, the others
//    regions of the file past the first mapping. A position's offset word then carries the slot in
//    its top bits (kSlotShift). A producer always leaves room for one link record; when a record
//    does not fit, it links to a free ring whose pages are there (slot 0 once the consumers left
//    it, or a kept ring: the largest that holds the record), or else, after waiting a moment for
//    room (queue_core.cpp, kGrowGrace), opens a free slot with a fresh ring twice as large: it
//    writes a link record (the slot and its generation) and commits tail at the new ring's start,
//    so the link is one commit like any record. A consumer that meets a link moves head to the
//    new ring with one commit and frees the old region's pages if it is larger than
//    kKeptRingBytes; a smaller ring stays in its slot for producers to link to again (only
//    producers, under put_lock, touch a free slot's kept region, so no consumer frees a ring
//    being reused). Slots are handed out in increasing generations, so the rings between
//    head's and tail's are exactly those whose generation lies between theirs: every other slot is
//    free. When the queue is empty on a grown ring, the next put links back to slot 0.
//  - Large messages (records above `large_units`) travel in their own page-aligned region of the
//    file, allocated at `file_end`; the ring holds an indirect record (offset, size). The producer
//    notes the region in `put_pending` before filling it; whoever recovers a dead producer's lock
//    frees it if the dead producer's commit did not happen. A consumer notes the region in `taken`
//    before committing its get, and frees it after releasing its lock (see `taken`), so a process
//    killed mid-copy leaks no pages. A region of up to kKeptRegionBytes is instead kept by the
//    producers for reuse when one of the kKeptRegions entries is free (KeptRegion; the record's
//    mark, kKeptIndirectMark, tells consumers to leave it alone).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <pthread.h>

#include "shm/segment.hpp"

namespace mproc::detail::queue {

enum class QueueKind : std::uint32_t { queue = 1, simple = 2, joinable = 3 };

inline constexpr shm::SegmentKind kQueueSegmentKind{0x51554555u /* "QUEU" */, 4, "queue"};

inline constexpr std::size_t kRecordAlign = 8;
inline constexpr std::size_t kMinCapacity = 64;
inline constexpr std::size_t kMaxCapacity = std::size_t{1} << 30;  // 1 GiB
inline constexpr std::size_t kDefaultCapacity = std::size_t{1} << 20;
inline constexpr std::size_t kMaxMaxsize = std::size_t{1} << 31;   // counts are modulo 2^32

// Growing queues.
inline constexpr std::uint32_t kFlagGrows = 1;
inline constexpr std::uint32_t kRingSlots = 32;
// Chained rings up to this size are not freed when left behind but kept in their slot, for the
// next burst to reuse (a queue that overflows its first ring again and again would otherwise
// reserve, fault in and free fresh pages every time); larger ones go back at once.
inline constexpr std::size_t kKeptRingBytes = std::size_t{4} << 20;
inline constexpr unsigned kSlotShift = 27;  // kMaxCapacity / kRecordAlign == 1 << 27 units
inline constexpr std::uint32_t kUnitMask = (std::uint32_t{1} << kSlotShift) - 1;
static_assert((kMaxCapacity / kRecordAlign) == (std::size_t{1} << kSlotShift));
static_assert((std::uint64_t{kRingSlots} << kSlotShift) <= (std::uint64_t{1} << 32));
// solo_producer / solo_consumer once a second thread used that side (queue_exclusive.hpp).
inline constexpr std::uint32_t kSoloMany = 0xffffffffu;

// Marks in RecordHeader::size for records that are not a message held in the ring.
inline constexpr std::uint32_t kLinkMark = 0xffffffffu;      // body: LinkBody
inline constexpr std::uint32_t kIndirectMark = 0xfffffffeu;  // body: RegionBody
// A large message in a kept region (KeptRegion): as kIndirectMark, but its consumer leaves the
// region alone (a producer reuses it once head has passed the record).
inline constexpr std::uint32_t kKeptIndirectMark = 0xfffffffdu;
// The largest message a growing queue accepts (its own region of the file: "up to memory").
inline constexpr std::uint64_t kMaxLargeMessage = std::uint64_t{1} << 46;

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
  // Growing queues: the ring slot and the offset inside that ring.
  std::uint32_t slot() const noexcept { return offset >> kSlotShift; }
  std::uint32_t unit() const noexcept { return offset & kUnitMask; }
  static std::uint32_t at(std::uint32_t slot, std::uint32_t unit) noexcept {
    return (slot << kSlotShift) | unit;
  }
};

struct LinkBody {
  std::uint32_t slot;
  std::uint32_t reserved;
  std::uint64_t generation;
};
struct RegionBody {
  std::uint64_t file_offset;  // page-aligned
  std::uint64_t size;         // the message's length in bytes
};
static_assert(sizeof(LinkBody) == 2 * kRecordAlign && sizeof(RegionBody) == 2 * kRecordAlign);
inline constexpr std::uint32_t kLinkUnits = 3;      // header + LinkBody
inline constexpr std::uint32_t kIndirectUnits = 3;  // header + RegionBody

// One chained ring. Written by a producer under put_lock before the link to it is committed
// (the commit's release store publishes it); never changed while the ring is between head and
// tail.
struct RingSlot {
  std::atomic<std::uint64_t> generation;   // 0: never used
  std::atomic<std::uint64_t> file_offset;  // of the ring's first byte in the segment file
  std::atomic<std::uint32_t> capacity_units;
  std::uint32_t reserved;
};

inline constexpr std::uint32_t kTakenRegions = 64;
struct TakenRegion {
  std::atomic<std::uint64_t> file_offset;  // 0: none
  std::atomic<std::uint64_t> bytes;
  std::atomic<std::uint32_t> seq;
  std::uint32_t reserved;
};

// A large message's region while a producer fills it (see above).
struct PendingRegion {
  std::atomic<std::uint64_t> file_offset;
  std::atomic<std::uint64_t> bytes;  // 0: none
  std::atomic<std::uint32_t> seq;    // the count of the record it belongs to
  std::uint32_t reserved;
};

// A large message's region kept for the next large message, so that a stream of them reuses warm
// pages instead of reserving, faulting in and freeing fresh ones for each. Only producers touch
// it, under put_lock; the region is free once head's count has passed `seq`, the count of the
// last record that named it (its consumer copies the message out before it commits head).
inline constexpr std::uint32_t kKeptRegions = 4;
inline constexpr std::size_t kKeptRegionBytes = std::size_t{4} << 20;
struct KeptRegion {
  std::atomic<std::uint64_t> file_offset;  // 0: none (page-aligned, past the first mapping)
  std::atomic<std::uint64_t> bytes;
  std::atomic<std::uint32_t> seq;
  std::uint32_t reserved;
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
  // Single-producer mode (queue_exclusive.hpp): the solo producer's thread id (0: none yet,
  // kSoloMany: ended), and its process id while it is inside a put.
  std::atomic<std::uint32_t> solo_producer;
  std::atomic<std::int32_t> producer_busy;

  alignas(64) std::atomic<std::uint64_t> tail;

  alignas(64) pthread_mutex_t get_lock;
  std::atomic<std::uint64_t> tail_cache;  // consumers' last view of tail
  std::atomic<std::uint32_t> solo_consumer;  // as solo_producer, for gets
  std::atomic<std::int32_t> consumer_busy;

  alignas(64) std::atomic<std::uint64_t> head;

  // Consumers waiting for data.
  alignas(64) std::atomic<std::uint32_t> put_event;  // low bit: a sleeper is announced on it
  std::atomic<std::uint32_t> consumers_waiting;

  // Producers waiting for space.
  alignas(64) std::atomic<std::uint32_t> get_event;
  std::atomic<std::uint32_t> producers_waiting;

  // JoinableQueue, and statistics.
  alignas(64) std::atomic<std::uint32_t> tasks_done;
  std::atomic<std::uint32_t> joiners_waiting;
  std::atomic<std::uint32_t> lock_recoveries;  // EOWNERDEAD repairs, for tests and diagnostics

  // Growing queues (kFlagGrows); immutable after construction.
  std::uint32_t flags;
  std::uint32_t large_units;  // records of more units travel out of line
  // Producers' allocation state, under put_lock.
  alignas(64) std::atomic<std::uint64_t> file_end;  // bytes of the file in use (page-aligned)
  std::atomic<std::uint64_t> next_generation;
  PendingRegion put_pending;
  // Large messages taken, whose regions their consumer frees after releasing get_lock: entry
  // count % kTakenRegions, noted (offset last, non-zero) under get_lock before the get commits and
  // cleared by compare-exchange of the offset once freed. The consumer that next takes a message
  // with the same entry frees a region still noted there for an earlier count (its consumer died
  // or is slow: freeing twice is harmless), never one noted for the count it is taking.
  alignas(64) TakenRegion taken[kTakenRegions];
  alignas(64) RingSlot slots[kRingSlots];
  alignas(64) KeptRegion kept_regions[kKeptRegions];

  std::byte* ring() noexcept { return reinterpret_cast<std::byte*>(this) + ring_offset; }
};

static_assert(std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

}  // namespace mproc::detail::queue
