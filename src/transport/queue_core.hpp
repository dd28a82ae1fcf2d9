// The engine under Queue, SimpleQueue and JoinableQueue: a multi-producer multi-consumer byte
// queue in a shared-memory segment, safe against processes killed at any moment. The layout and
// the commit protocol are described in queue_layout.hpp.
//
// Thread-safety: every method may be called from any thread and any process at once, except that
// the destructor must not run while another thread of this process uses the object. close() is
// local to this object: it makes this object's later calls fail with errc::closed (calls blocked
// in other threads notice within one wait slice) and drops its reference to the segment.
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "base/deadline.hpp"
#include "shm/segment.hpp"
#include "transport/queue_exclusive.hpp"
#include "transport/queue_layout.hpp"
#include "transport/ring_copy.hpp"

namespace mproc::detail::queue {

// The record's size in kRecordAlign units: header plus payload, rounded up.
inline std::uint32_t record_units(std::size_t size) noexcept {
  return static_cast<std::uint32_t>((sizeof(RecordHeader) + size + kRecordAlign - 1) /
                                    kRecordAlign);
}

// Writes a message's record (its header, then the message) at byte `at` of a ring of `bytes`,
// wrapping at the end. The header goes in one 8-byte store from a register (built on the stack
// as two 4-byte fields and copied as one word, it stalled every put on a failed store-to-load
// forward); it never wraps: records start, and rings end, on kRecordAlign.
inline void write_record(std::byte* ring, std::size_t bytes, std::size_t at, std::uint32_t seq,
                         const void* data, std::size_t size) noexcept {
  const auto header =
      std::bit_cast<std::uint64_t>(RecordHeader{static_cast<std::uint32_t>(size), seq});
  std::memcpy(ring + at, &header, sizeof header);
  ring_write(ring, bytes, ring_advance(at, sizeof header, bytes), data, size);
}

// The header of the record at byte `at`, read as one 8-byte load (write_record: why).
inline RecordHeader read_header(const std::byte* ring, std::size_t at) noexcept {
  std::uint64_t word;
  std::memcpy(&word, ring + at, sizeof word);
  return std::bit_cast<RecordHeader>(word);
}

struct QueueConfig {
  QueueKind kind = QueueKind::queue;
  std::size_t maxsize = 0;                    // 0: no limit on the count
  std::size_t capacity = kDefaultCapacity;    // ring bytes; rounded up to a multiple of 8
  // Bounded only by memory (queue_layout.hpp): `capacity` is the first ring's, more rings are
  // chained when it is full, and messages above a quarter of it travel in their own region.
  bool grows = false;
};

class QueueCore {
 public:
  // Gives the destination for a message of `size` bytes, or nullptr to leave it in the queue.
  // May throw (the message stays in the queue).
  using Allocate = void* (*)(std::size_t size, void* context);
  struct Got {
    std::size_t size;
    bool taken;  // false: allocate returned nullptr and the message is still first in the queue
  };

  // Errors: EINVAL (capacity outside [kMinCapacity, kMaxCapacity], maxsize > kMaxMaxsize), and
  // those of Segment::create.
  static std::unique_ptr<QueueCore> create(const QueueConfig& config);
  // Errors: those of Segment::attach (ENOENT, EINVAL, errc::bad_handle, errc::bad_state).
  static std::unique_ptr<QueueCore> attach(std::string_view handle);
  ~QueueCore();
  QueueCore(const QueueCore&) = delete;
  QueueCore& operator=(const QueueCore&) = delete;

  // Errors: closed, too_big (larger than max_message_size()), full (non-blocking and no room, or
  // still no room at the deadline), timed_out (the lock was held by another process until the
  // deadline, or for kNoWaitLockLimit when non-blocking).
  void put(const void* data, std::size_t size, bool block, const Deadline& deadline);
  // Errors: closed, empty (non-blocking and empty, or still empty at the deadline), timed_out (as
  // put), internal (the ring is corrupt: a position or a record's check failed). put also fails
  // with internal when a position is corrupt; neither ever reads or writes outside the ring.
  Got get(Allocate allocate, void* context, bool block, const Deadline& deadline);

  // put and get with "full" and "empty" returned instead of thrown: the C ABI's path, where an
  // empty get_nowait is ordinary control flow (a throw and catch costs ~1.5 us). Every other
  // error is thrown as above.
  enum class Status { done, full, empty };
  // Inline down to the solo path (queue_solo.cpp): a lone producer's or consumer's common case
  // makes one call into it, where a frame of the general path cost as much as the work itself.
  Status put_status(const void* data, std::size_t size, bool block, const Deadline& deadline) {
    check_open("put");
    if (size > max_message_size()) [[unlikely]] too_big_error(size);
    if (put_solo(data, size)) return Status::done;
    return put_general(data, size, block, deadline);
  }
  Status get_status(Allocate allocate, void* context, bool block, const Deadline& deadline,
                    Got& got) {
    check_open("get");
    got = Got{0, false};
    const SoloGet solo = get_solo(allocate, context, got);
    if (solo == SoloGet::done) return Status::done;
    if (solo == SoloGet::empty && !block) return Status::empty;
    return get_general(allocate, context, block, deadline, got);
  }
  // The errors put and get throw for Status::full and Status::empty.
  [[noreturn]] static void throw_full(bool block);
  [[noreturn]] static void throw_empty(bool block);

  std::size_t qsize() const;
  bool empty() const;
  // True when a put of an empty message would not fit now (count limit or no free byte).
  bool full() const;

  // JoinableQueue. Errors: closed, bad_state (more task_done() calls than items put).
  void task_done();
  // True once every item put has been marked done; false at the deadline. Errors: closed.
  bool join(const Deadline& deadline);

  void close() noexcept;
  bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }

  // The segment's name: what attach() takes. Errors: closed.
  const std::string& handle() const;
  QueueKind kind() const noexcept { return kind_; }
  std::size_t maxsize() const noexcept { return static_cast<std::size_t>(maxsize_); }
  std::size_t capacity() const noexcept { return ring_size_; }
  bool grows() const noexcept { return grows_; }
  // The longest message that fits the ring (a growing queue: kMaxLargeMessage).
  std::size_t max_message_size() const noexcept {
    return grows_ ? static_cast<std::size_t>(kMaxLargeMessage) : ring_size_ - sizeof(RecordHeader);
  }

  // For white-box tests: the shared state.
  QueueShared& shared() const noexcept { return *shared_; }

 private:
  QueueCore(shm::Segment segment, QueueKind kind, std::uint32_t capacity_units,
            std::uint64_t maxsize, std::uint64_t ring_offset, std::uint32_t large_units);

  // no_fresh_room (growing queues): the message fits only in a ring of fresh pages, and the
  // caller asked to wait a little for room in the memory the queue has first (kGrowGrace).
  enum class Attempt { done, no_room, no_slot, no_fresh_room, empty, lock_timeout };
  // On no_room, no_slot and no_fresh_room, `head_seen` is the word of head the attempt judged by
  // (loaded before it decided): a put waiting for "a get since" waits for head to differ from it.
  // The lone producer's and the lone consumer's common case in one pass (queue_solo.cpp): no
  // lock, no deadline, no attempt loop. put_solo commits a message that fits now as a record in
  // the ring (a growing queue's first ring, with room left for a link); get_solo takes the first
  // record when it is a message held in that ring (got.taken false: `allocate` declined it, and
  // it stays). Both return false, having committed nothing, whenever the general path must
  // decide: another thread uses the side, no room, a link or a large message, or a position or
  // record that fails a check (the general path then reports it). get_solo's `empty` is the
  // lone consumer's finding, final for a call that does not wait.
  bool put_solo(const void* data, std::size_t size);
  enum class SoloGet { done, empty, general };
  SoloGet get_solo(Allocate allocate, void* context, Got& got);
  // The positions' caches, on each side's own line (queue_layout.hpp): a side reads the other's
  // position only when its cached copy says there is nothing to do. consumer_tail is the
  // consumers' view of tail for `head` (tail itself, cached again, when the cache shows nothing
  // to take); fresh_head reads head and caches it for the producers.
  Position consumer_tail(Position head) noexcept {
    Position tail = Position::unpack(shared_->tail_cache.load(std::memory_order_relaxed));
    if (tail.count != head.count) return tail;
    tail = Position::unpack(shared_->tail.load(std::memory_order_acquire));
    shared_->tail_cache.store(tail.pack(), std::memory_order_relaxed);
    return tail;
  }
  Position fresh_head() noexcept {
    const Position head = Position::unpack(shared_->head.load(std::memory_order_acquire));
    shared_->head_cache.store(head.pack(), std::memory_order_relaxed);
    return head;
  }
  // The first ring's two commits, shared by the solo and the general paths (inline: every put
  // and get of a small message runs one). put_record writes a message of `units` at tail and
  // commits it; take_record copies out the checked record of `header` at head and commits head
  // past it (false, nothing committed, when `allocate` declined it).
  void put_record(Position tail, const void* data, std::size_t size, std::uint32_t units) {
    write_record(ring_, ring_size_, std::size_t{tail.offset} * kRecordAlign, tail.count, data,
                 size);
    std::uint32_t end = tail.offset + units;
    if (end >= capacity_units_) end -= capacity_units_;
    shared_->tail.store(Position{end, tail.count + 1}.pack(), std::memory_order_release);
  }
  bool take_record(Position head, RecordHeader header, std::uint32_t units, Allocate allocate,
                   void* context, Got& got) {
    got.size = header.size;
    void* to = allocate(header.size, context);
    got.taken = to != nullptr;
    if (to == nullptr) return false;
    const std::size_t at = std::size_t{head.offset} * kRecordAlign;
    ring_read(ring_, ring_size_, ring_advance(at, sizeof header, ring_size_), to, header.size);
    std::uint32_t next = head.offset + units;
    if (next >= capacity_units_) next -= capacity_units_;
    shared_->head.store(Position{next, head.count + 1}.pack(), std::memory_order_release);
    return true;
  }
  // put_status and get_status past the solo path: the lock, the waits, growing.
  Status put_general(const void* data, std::size_t size, bool block, const Deadline& deadline);
  Status get_general(Allocate allocate, void* context, bool block, const Deadline& deadline,
                     Got& got);
  [[noreturn]] void too_big_error(std::size_t size) const;
  Attempt try_put(const void* data, std::size_t size, std::uint32_t units,
                  const Deadline& lock_deadline, bool grow_fresh, std::uint64_t& head_seen);
  Attempt try_get(Allocate allocate, void* context, const Deadline& lock_deadline, Got& got);

  // Growing queues (queue_grow.cpp). A process's view of the chained rings: one cache for the
  // producers' side (used under put_lock) and one for the consumers' (under get_lock), so that
  // a remap on one side never pulls a ring from under the other side's thread.
  struct LocalRing {
    std::uint64_t generation = 0;
    std::uint64_t file_offset = 0;
    std::uint32_t units = 0;
    std::byte* base = nullptr;
    void* map = nullptr;  // nullptr: slot 0, inside the segment's own mapping
    std::size_t map_bytes = 0;
  };
  using RingCache = std::array<LocalRing, kRingSlots>;
  struct Ring {
    std::byte* base;
    std::size_t bytes;
    std::uint32_t units;
  };
  // This process's mappings of kept regions (one cache per side, as RingCache), so that a large
  // message in a kept region is a memcpy into pages mapped once, not a pwrite / pread through
  // the page cache.
  struct LocalRegion {
    std::uint64_t offset = 0;
    std::uint64_t bytes = 0;
    void* map = nullptr;
  };
  struct RegionCache {
    std::array<LocalRegion, kKeptRegions> regions{};
    std::uint32_t next_victim = 0;
  };
  // [offset, offset + bytes) of the file, mapped (the caller checked it against the file).
  std::byte* region_of(RegionCache& cache, std::uint64_t offset, std::uint64_t bytes);
  Attempt try_put_growing(const void* data, std::size_t size, const Deadline& lock_deadline,
                          bool grow_fresh, std::uint64_t& head_seen);
  Attempt try_get_growing(Allocate allocate, void* context, const Deadline& lock_deadline,
                          Got& got);
  // The ring of `slot`, mapped (checked against the file first). Errors: internal (corrupt).
  // Inline: every put and get of a growing queue asks, and the mapping is almost always cached.
  Ring ring_of(RingCache& cache, std::uint32_t slot) {
    if (slot < kRingSlots) [[likely]] {
      const RingSlot& shared = shared_->slots[slot];
      const std::uint64_t generation = shared.generation.load(std::memory_order_acquire);
      const std::uint64_t offset = shared.file_offset.load(std::memory_order_relaxed);
      const std::uint32_t units = shared.capacity_units.load(std::memory_order_relaxed);
      LocalRing& local = cache[slot];
      // A kept ring reused under a new generation is the same range of the file: its mapping
      // stays.
      if (local.base != nullptr && generation != 0 && local.file_offset == offset &&
          local.units == units) [[likely]] {
        local.generation = generation;
        return {local.base, std::size_t{units} * kRecordAlign, units};
      }
    }
    return map_ring(cache, slot);
  }
  // ring_of's other cases: checks the slot against the file and maps it.
  Ring map_ring(RingCache& cache, std::uint32_t slot);
  // Under put_lock: links `tail` to a free ring that holds a record of `units` and commits: a ring
  // already in memory (the first, or a kept one), else (if grow_fresh) a new one of fresh pages.
  // no_slot when every slot is in use, no_fresh_room when only fresh pages would do.
  Attempt open_ring(Position& tail, Position head, const Ring& ring, std::uint32_t units,
                    bool grow_fresh);
  // open_ring's last resort: a ring of fresh pages, twice the largest in use (in units), in a slot
  // for which free_slot(slot, generation) holds.
  template <class FreeSlot>
  bool open_fresh_ring(Position& tail, const Ring& ring, std::uint64_t largest_in_use,
                       std::uint32_t units, FreeSlot free_slot);
  // Under put_lock, on an empty queue that grew: links back to slot 0 (the segment's ring).
  void return_to_first_ring(Position& tail, const Ring& ring);
  void link(Position& tail, const Ring& ring, std::uint32_t slot, std::uint64_t generation);
  // `kept`: from kept_region_for (nullptr: a region of fresh pages that its consumer frees).
  void put_region(const void* data, std::size_t size, Position tail, const Ring& ring,
                  KeptRegion* kept);
  // Under put_lock: the kept-region entry a large message of `bytes` (page-rounded) should use:
  // one whose region is free and large enough (file_offset non-zero), or an empty one to publish
  // a fresh region in (file_offset 0); nullptr when none is free (the region is then not kept).
  KeptRegion* kept_region_for(std::uint64_t bytes);
  // After a dead holder of put_lock: frees its large message's region if it never committed.
  void recover_put_region() noexcept;
  bool region_in_file(std::uint64_t offset, std::uint64_t bytes) const;
  [[noreturn]] void corrupt(const std::string& what) const;
  // After a commit: wakes a sleeper if one is announced (inline: every put and get asks, and
  // almost always nobody sleeps).
  void wake_consumers() noexcept {
    // Pairs with the sleeper's announcement on put_event and its sleeper_barrier() before its
    // last check of tail (queue_barrier.hpp: why a compiler barrier is enough here).
    waker_barrier();
    if ((shared_->put_event.load(std::memory_order_relaxed) & 1) != 0) wake_announced_consumers();
  }
  void wake_producers() noexcept {
    waker_barrier();  // as in wake_consumers
    if ((shared_->get_event.load(std::memory_order_relaxed) & 1) != 0) wake_announced_producers();
  }
  void wake_announced_consumers() noexcept;
  void wake_announced_producers() noexcept;
  static void unmap(LocalRing& ring) noexcept;
  // A fixed ring's room (inline: every put asks).
  bool fits(Position tail, Position head, std::uint32_t units) const noexcept {
    if (maxsize_ != 0 && std::uint32_t(tail.count - head.count) >= maxsize_) return false;
    return units <= capacity_units_ - used_units(tail, head);
  }
  std::uint32_t used_units(Position tail, Position head) const noexcept {
    const std::uint32_t used = tail.offset >= head.offset
                                   ? tail.offset - head.offset
                                   : tail.offset + capacity_units_ - head.offset;
    // Equal offsets mean empty or completely full; the counts tell which.
    return used == 0 && tail.count != head.count ? capacity_units_ : used;
  }
  // Throws errc::internal ("queue ... is corrupt") unless both offsets lie inside the ring: a
  // position is shared memory that any attached process may have overwritten.
  void check_positions(Position tail, Position head) const {
    if (tail.offset < capacity_units_ && head.offset < capacity_units_) [[likely]] return;
    positions_corrupt(tail, head);
  }
  [[noreturn]] void positions_corrupt(Position tail, Position head) const;
  void check_open(const char* operation) const {
    if (closed()) [[unlikely]] closed_error(operation);
  }
  [[noreturn]] void closed_error(const char* operation) const;
  template <class Ready>
  void wait_until(Ready ready, std::atomic<std::uint32_t>& event,
                  std::atomic<std::uint32_t>& waiting, const Deadline& deadline);

  shm::Segment segment_;
  QueueShared* shared_;
  std::byte* ring_;
  std::size_t ring_size_;
  std::uint32_t capacity_units_;
  std::uint64_t maxsize_;
  QueueKind kind_;
  bool grows_ = false;
  std::uint32_t large_units_ = 0;
  std::uint64_t first_ring_offset_ = 0;  // slot 0's offset in the file
  std::uint64_t mapped_bytes_ = 0;       // the segment's own mapping: regions start past it
  RingCache put_rings_{};
  RingCache get_rings_{};
  RegionCache put_regions_{};
  RegionCache get_regions_{};
  SoloOwner put_owner_;  // which thread of this process holds the producers' solo claim
  SoloOwner get_owner_;
  std::atomic<bool> closed_{false};
  // Growing queues: head when a put of this process last grew into fresh pages (kGrowGrace).
  std::atomic<std::uint64_t> head_at_growth_{~std::uint64_t{0}};
};

}  // namespace mproc::detail::queue
