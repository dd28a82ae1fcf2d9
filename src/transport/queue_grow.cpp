// The growing queue's put and get: chained rings and large messages in their own regions of the
// segment file (the protocol is described in queue_layout.hpp). Every slot, offset, generation and
// size read from shared memory is checked before use; a bad one is "queue ... is corrupt".
#include <mproc/error.hpp>

#include <cerrno>
#include <cstring>
#include <limits>
#include <optional>
#include <sys/mman.h>

#include "transport/queue_core.hpp"
#include "transport/queue_regions.hpp"
#include "transport/queue_exclusive.hpp"
#include "transport/queue_sync.hpp"
#include "transport/ring_copy.hpp"

namespace mproc::detail::queue {
namespace {

constexpr std::uint32_t kMinRingUnits = kMinCapacity / kRecordAlign;
constexpr std::uint32_t kMaxRingUnits = kMaxCapacity / kRecordAlign;

// Units used between head and tail when both lie in the same ring (never completely full: a
// growing queue always leaves room for a link).
std::uint32_t used_in(const Position& tail, const Position& head, std::uint32_t units) noexcept {
  return tail.unit() >= head.unit() ? tail.unit() - head.unit()
                                    : tail.unit() + units - head.unit();
}

std::uint32_t advance(std::uint32_t unit, std::uint32_t by, std::uint32_t units) noexcept {
  const std::uint32_t end = unit + by;
  return end >= units ? end - units : end;
}

// Clears a pending-region note unless release() was called (an exception left the copy unfinished:
// the region is freed and the message is as if never begun).
class PendingGuard {
 public:
  PendingGuard(PendingRegion& pending, int fd) : pending_(pending), fd_(fd) {}
  ~PendingGuard() {
    if (armed_) {
      free_region(fd_, pending_.file_offset.load(std::memory_order_relaxed),
                  pending_.bytes.load(std::memory_order_relaxed));
      pending_.bytes.store(0, std::memory_order_release);
    }
  }
  PendingGuard(const PendingGuard&) = delete;
  PendingGuard& operator=(const PendingGuard&) = delete;
  void release() noexcept { armed_ = false; }

 private:
  PendingRegion& pending_;
  int fd_;
  bool armed_ = true;
};

void note(PendingRegion& pending, std::uint64_t offset, std::uint64_t bytes, std::uint32_t seq) {
  pending.seq.store(seq, std::memory_order_relaxed);
  pending.file_offset.store(offset, std::memory_order_relaxed);
  pending.bytes.store(bytes, std::memory_order_release);  // last: a non-zero size means noted
}

}  // namespace

void QueueCore::corrupt(const std::string& what) const {
  throw Error(errc::internal, "queue " + segment_.name() + " is corrupt: " + what);
}

void QueueCore::unmap(LocalRing& ring) noexcept {
  if (ring.map != nullptr) ::munmap(ring.map, ring.map_bytes);
  ring = LocalRing{};
}

bool QueueCore::region_in_file(std::uint64_t offset, std::uint64_t bytes) const {
  return offset % page_bytes() == 0 && offset >= mapped_bytes_ && bytes != 0 &&
         bytes <= std::numeric_limits<std::int64_t>::max() - offset &&
         offset + bytes <= file_bytes(segment_.fd());
}

QueueCore::Ring QueueCore::map_ring(RingCache& cache, std::uint32_t slot) {
  if (slot >= kRingSlots) corrupt("a position names ring slot " + std::to_string(slot));
  const RingSlot& shared = shared_->slots[slot];
  const std::uint64_t generation = shared.generation.load(std::memory_order_acquire);
  const std::uint64_t offset = shared.file_offset.load(std::memory_order_relaxed);
  const std::uint32_t units = shared.capacity_units.load(std::memory_order_relaxed);
  LocalRing& local = cache[slot];
  // A kept ring reused under a new generation is the same range of the file: its mapping stays.
  if (local.base != nullptr && generation != 0 && local.file_offset == offset &&
      local.units == units) [[likely]] {
    local.generation = generation;
    return {local.base, std::size_t{units} * kRecordAlign, units};
  }

  const std::uint64_t bytes = std::uint64_t{units} * kRecordAlign;
  const bool valid = generation != 0 && units >= kMinRingUnits && units <= kMaxRingUnits &&
                     (slot == 0 ? offset == first_ring_offset_ && units == capacity_units_
                                : region_in_file(offset, bytes));
  if (!valid)
    corrupt("ring slot " + std::to_string(slot) + " describes " + std::to_string(bytes) +
            " bytes at offset " + std::to_string(offset) + ", outside its file");
  unmap(local);
  if (slot == 0) {
    local.base = ring_;
  } else {
    void* map = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, segment_.fd(),
                       static_cast<off_t>(offset));
    if (map == MAP_FAILED) throw_errno(errno, "queue: mmap of a ring");
    local.map = map;
    local.map_bytes = bytes;
    local.base = static_cast<std::byte*>(map);
  }
  local.generation = generation;
  local.file_offset = offset;
  local.units = units;
  return {local.base, bytes, units};
}

std::byte* QueueCore::region_of(RegionCache& cache, std::uint64_t offset, std::uint64_t bytes) {
  LocalRegion* victim = nullptr;
  for (LocalRegion& r : cache.regions) {
    if (r.offset == offset && r.map != nullptr) {
      if (r.bytes >= bytes) return static_cast<std::byte*>(r.map);
      victim = &r;  // mapped too short: mapped again
    }
  }
  if (victim == nullptr) {
    for (LocalRegion& r : cache.regions)
      if (r.map == nullptr) {
        victim = &r;
        break;
      }
  }
  if (victim == nullptr) victim = &cache.regions[cache.next_victim++ % kKeptRegions];
  if (victim->map != nullptr) ::munmap(victim->map, victim->bytes);
  *victim = LocalRegion{};
  void* map = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, segment_.fd(),
                     static_cast<off_t>(offset));
  if (map == MAP_FAILED) throw_errno(errno, "queue: mmap of a kept region");
  *victim = LocalRegion{offset, bytes, map};
  return static_cast<std::byte*>(map);
}

void QueueCore::link(Position& tail, const Ring& ring, std::uint32_t slot,
                     std::uint64_t generation) {
  const RecordHeader header{kLinkMark, tail.count};
  const LinkBody body{slot, 0, generation};
  const std::size_t at = std::size_t{tail.unit()} * kRecordAlign;
  ring_write(ring.base, ring.bytes, at, &header, sizeof header);
  ring_write(ring.base, ring.bytes, ring_advance(at, sizeof header, ring.bytes), &body,
             sizeof body);
  tail = Position{Position::at(slot, 0), tail.count};
  shared_->tail.store(tail.pack(), std::memory_order_release);
}

QueueCore::Attempt QueueCore::open_ring(Position& tail, Position head, const Ring& ring,
                                        std::uint32_t units, bool grow_fresh) {
  QueueShared& s = *shared_;
  if (head.slot() >= kRingSlots) corrupt("head names ring slot " + std::to_string(head.slot()));
  // In use: the slots whose generation lies between head's and tail's (queue_layout.hpp). A
  // slot opened by a producer that died before linking it has a later generation: free.
  const std::uint64_t oldest = s.slots[head.slot()].generation.load(std::memory_order_acquire);
  const std::uint64_t newest = s.slots[tail.slot()].generation.load(std::memory_order_relaxed);
  auto free_slot = [&](std::uint32_t k, std::uint64_t g) {
    return k != tail.slot() && k != head.slot() && (g == 0 || g < oldest || g > newest);
  };
  const std::uint64_t need = std::uint64_t{units} + 2 * kLinkUnits;

  // First a ring whose pages are already there and that nobody uses: the first ring once the
  // consumers left it, or a kept one (the largest that holds the record). A steady stream whose
  // consumer lags a little then moves between warm rings instead of into fresh pages.
  std::uint32_t warm = kRingSlots;
  std::uint64_t warm_units = 0;
  std::uint64_t largest_in_use = ring.units;
  for (std::uint32_t k = 0; k < kRingSlots; ++k) {
    const std::uint64_t g = s.slots[k].generation.load(std::memory_order_relaxed);
    if (g == 0) continue;
    const std::uint64_t k_units =
        k == 0 ? capacity_units_ : s.slots[k].capacity_units.load(std::memory_order_relaxed);
    if (!free_slot(k, g)) {
      largest_in_use = std::max(largest_in_use, std::min<std::uint64_t>(k_units, kMaxRingUnits));
      continue;
    }
    const std::uint64_t offset = s.slots[k].file_offset.load(std::memory_order_relaxed);
    const bool kept = k == 0 || (k_units * kRecordAlign <= kKeptRingBytes &&
                                 k_units * kRecordAlign % page_bytes() == 0 &&
                                 region_in_file(offset, k_units * kRecordAlign));
    if (kept && k_units >= need && k_units > warm_units) {
      warm = k;
      warm_units = k_units;
    }
  }
  if (warm == 0) {
    return_to_first_ring(tail, ring);
  } else if (warm != kRingSlots) {
    RingSlot& d = s.slots[warm];
    const std::uint64_t generation = s.next_generation.load(std::memory_order_relaxed) + 1;
    s.next_generation.store(generation, std::memory_order_relaxed);
    d.generation.store(generation, std::memory_order_release);
    // A page missing for any reason is reserved here (cheap when they are all there), so a full
    // /dev/shm is ENOSPC, never SIGBUS.
    if (const int rc = reserve_region(segment_.fd(), d.file_offset.load(std::memory_order_relaxed),
                                      warm_units * kRecordAlign);
        rc != 0)
      throw_errno(rc, "queue put: no memory for a kept ring");
    (void)ring_of(put_rings_, warm);  // checks it before the link makes it public
    link(tail, ring, warm, generation);
  } else if (!grow_fresh) {
    return Attempt::no_fresh_room;
  } else if (!open_fresh_ring(tail, ring, largest_in_use, units, free_slot)) {
    return Attempt::no_slot;
  }
  s.head_cache.store(head.pack(), std::memory_order_relaxed);
  return Attempt::done;
}

template <class FreeSlot>
bool QueueCore::open_fresh_ring(Position& tail, const Ring& ring, std::uint64_t largest_in_use,
                                std::uint32_t units, FreeSlot free_slot) {
  QueueShared& s = *shared_;
  // Twice the largest ring in use (not the current one, which may be a small warm ring): a queue
  // that keeps growing needs few rings, so its slots last.
  std::uint64_t want = largest_in_use * 2;
  if (want < std::uint64_t{units} + 2 * kLinkUnits) want = std::uint64_t{units} + 2 * kLinkUnits;
  const std::uint64_t bytes = std::min<std::uint64_t>(round_to_pages(want * kRecordAlign),
                                                      kMaxCapacity);
  // A never used slot, else any free one (its kept ring, too small or too large, is freed).
  std::uint32_t slot = 0;
  for (std::uint32_t k = 1; k < kRingSlots; ++k) {
    const std::uint64_t g = s.slots[k].generation.load(std::memory_order_relaxed);
    if (!free_slot(k, g)) continue;
    if (slot == 0) slot = k;
    if (g == 0) {
      slot = k;
      break;
    }
  }
  if (slot == 0) return false;

  RingSlot& d = s.slots[slot];
  // The slot's previous region is freed (a large ring its consumer died before freeing, or a
  // kept ring that does not suit).
  const std::uint64_t old_offset = d.file_offset.load(std::memory_order_relaxed);
  const std::uint64_t old_bytes =
      round_to_pages(std::uint64_t{d.capacity_units.load(std::memory_order_relaxed)} *
                     kRecordAlign);
  if (d.generation.load(std::memory_order_relaxed) != 0 && old_offset % page_bytes() == 0 &&
      old_offset >= mapped_bytes_)
    free_region(segment_.fd(), old_offset, old_bytes);

  const std::uint64_t offset = s.file_end.load(std::memory_order_relaxed);
  if (offset % page_bytes() != 0 || offset < mapped_bytes_ ||
      offset > std::numeric_limits<std::int64_t>::max() - bytes)
    corrupt("its file end " + std::to_string(offset) + " is invalid");
  const std::uint64_t generation = s.next_generation.load(std::memory_order_relaxed) + 1;
  s.next_generation.store(generation, std::memory_order_relaxed);
  // The slot names the region before the region exists, so a producer killed from here on leaves
  // it reachable (freed when the slot is next opened).
  d.file_offset.store(offset, std::memory_order_relaxed);
  d.capacity_units.store(static_cast<std::uint32_t>(bytes / kRecordAlign),
                         std::memory_order_relaxed);
  d.generation.store(generation, std::memory_order_release);
  s.file_end.store(offset + bytes, std::memory_order_relaxed);
  // Reserved here, so a full /dev/shm is ENOSPC, never SIGBUS.
  if (const int rc = reserve_region(segment_.fd(), offset, bytes); rc != 0)
    throw_errno(rc, "queue put: no memory for a ring of " + std::to_string(bytes) + " bytes");
  (void)ring_of(put_rings_, slot);  // maps it (and checks it) before the link makes it public
  link(tail, ring, slot, generation);
  return true;
}

void QueueCore::return_to_first_ring(Position& tail, const Ring& ring) {
  QueueShared& s = *shared_;
  const std::uint64_t generation = s.next_generation.load(std::memory_order_relaxed) + 1;
  s.next_generation.store(generation, std::memory_order_relaxed);
  s.slots[0].generation.store(generation, std::memory_order_release);
  link(tail, ring, 0, generation);
}

KeptRegion* QueueCore::kept_region_for(std::uint64_t bytes) {
  QueueShared& s = *shared_;
  if (bytes > kKeptRegionBytes) return nullptr;
  const Position head = Position::unpack(s.head.load(std::memory_order_acquire));
  KeptRegion* best = nullptr;   // free, holds `bytes`, the smallest such
  KeptRegion* empty = nullptr;  // names no region
  KeptRegion* other = nullptr;  // free, too small
  for (KeptRegion& k : s.kept_regions) {
    const std::uint64_t offset = k.file_offset.load(std::memory_order_acquire);
    if (offset == 0) {
      if (empty == nullptr) empty = &k;
      continue;
    }
    // In use while the record that last named it lies between head and tail.
    if (static_cast<std::int32_t>(head.count - k.seq.load(std::memory_order_relaxed)) <= 0)
      continue;
    const std::uint64_t k_bytes = k.bytes.load(std::memory_order_relaxed);
    if (k_bytes > kKeptRegionBytes || !region_in_file(offset, k_bytes))
      corrupt("a kept region names " + std::to_string(k_bytes) + " bytes at offset " +
              std::to_string(offset) + ", outside its file");
    if (k_bytes >= bytes) {
      if (best == nullptr || k_bytes < best->bytes.load(std::memory_order_relaxed)) best = &k;
    } else if (other == nullptr) {
      other = &k;
    }
  }
  if (best != nullptr) return best;
  if (empty == nullptr && other != nullptr) {
    // Too small for messages of this size now: its pages go, the entry takes a larger region.
    const std::uint64_t offset = other->file_offset.load(std::memory_order_relaxed);
    other->file_offset.store(0, std::memory_order_release);
    free_region(segment_.fd(), offset, other->bytes.load(std::memory_order_relaxed));
    empty = other;
  }
  return empty;
}

void QueueCore::put_region(const void* data, std::size_t size, Position tail, const Ring& ring,
                           KeptRegion* kept) {
  QueueShared& s = *shared_;
  const std::uint64_t bytes = round_to_pages(size);
  std::uint64_t offset = kept != nullptr ? kept->file_offset.load(std::memory_order_relaxed) : 0;
  std::optional<PendingGuard> guard;
  if (offset != 0) {
    // A kept region: its pages are there. A producer killed while filling it leaves it free
    // (its record was never committed), holding bytes nobody reads.
    kept->seq.store(tail.count, std::memory_order_relaxed);
    // Cheap when the pages are there; one punched out (a dead producer's, recovered) comes back
    // here, so that the copy into the mapping below never meets a full /dev/shm as SIGBUS.
    if (const int rc = reserve_region(segment_.fd(), offset, bytes); rc != 0)
      throw_errno(rc, "queue put: no memory for a message of " + std::to_string(size) + " bytes");
  } else {
    offset = s.file_end.load(std::memory_order_relaxed);
    if (offset % page_bytes() != 0 || offset < mapped_bytes_ ||
        offset > std::numeric_limits<std::int64_t>::max() - bytes)
      corrupt("its file end " + std::to_string(offset) + " is invalid");
    note(s.put_pending, offset, bytes, tail.count);
    guard.emplace(s.put_pending, segment_.fd());
    s.file_end.store(offset + bytes, std::memory_order_relaxed);
    if (const int rc = reserve_region(segment_.fd(), offset, bytes); rc != 0)
      throw_errno(rc, "queue put: no memory for a message of " + std::to_string(size) + " bytes");
    if (kept != nullptr) {
      // Kept from now on. (Should this put fail or its producer die, the region's pages are freed
      // as any unfinished message's; the entry keeps naming the range, whose pages a later write
      // allocates again.)
      kept->bytes.store(bytes, std::memory_order_relaxed);
      kept->seq.store(tail.count, std::memory_order_relaxed);
      kept->file_offset.store(offset, std::memory_order_release);
    }
  }
  if (kept != nullptr) std::memcpy(region_of(put_regions_, offset, bytes), data, size);
  else write_region(segment_.fd(), offset, data, size);
  const RecordHeader header{kept != nullptr ? kKeptIndirectMark : kIndirectMark, tail.count};
  const RegionBody body{offset, size};
  const std::size_t at = std::size_t{tail.unit()} * kRecordAlign;
  ring_write(ring.base, ring.bytes, at, &header, sizeof header);
  ring_write(ring.base, ring.bytes, ring_advance(at, sizeof header, ring.bytes), &body,
             sizeof body);
  const Position next{Position::at(tail.slot(), advance(tail.unit(), kIndirectUnits, ring.units)),
                      tail.count + 1};
  s.tail.store(next.pack(), std::memory_order_release);
  if (guard) {
    guard->release();
    s.put_pending.bytes.store(0, std::memory_order_release);
  }
}

void QueueCore::recover_put_region() noexcept {
  PendingRegion& p = shared_->put_pending;
  const std::uint64_t bytes = p.bytes.load(std::memory_order_acquire);
  if (bytes == 0) return;
  const std::uint64_t offset = p.file_offset.load(std::memory_order_relaxed);
  // Committed puts advanced tail's count past the noted one: their region is the message's now.
  const Position tail = Position::unpack(shared_->tail.load(std::memory_order_relaxed));
  if (tail.count == p.seq.load(std::memory_order_relaxed) && offset % page_bytes() == 0 &&
      offset >= mapped_bytes_)
    free_region(segment_.fd(), offset, bytes);
  p.bytes.store(0, std::memory_order_release);
}

QueueCore::Attempt QueueCore::try_put_growing(const void* data, std::size_t size,
                                              const Deadline& lock_deadline, bool grow_fresh,
                                              std::uint64_t& head_seen) {
  QueueShared& s = *shared_;
  Exclusive lock(&s.put_lock, put_owner_, s.solo_producer, s.producer_busy, lock_deadline);
  if (!lock.held()) return Attempt::lock_timeout;
  if (lock.recovered()) {
    s.lock_recoveries.fetch_add(1, std::memory_order_relaxed);
    recover_put_region();
  }

  Position tail = Position::unpack(s.tail.load(std::memory_order_relaxed));
  Position head = Position::unpack(s.head_cache.load(std::memory_order_relaxed));
  auto refresh_head = [&] { head = fresh_head(); };
  if (maxsize_ != 0 && std::uint32_t(tail.count - head.count) >= maxsize_) {
    refresh_head();
    if (std::uint32_t(tail.count - head.count) >= maxsize_) {
      head_seen = head.pack();
      return Attempt::no_room;
    }
  }
  const std::uint32_t inline_units = record_units(size);
  const bool large = size > kMaxCapacity || inline_units > large_units_;
  const std::uint32_t units = large ? kIndirectUnits : inline_units;
  KeptRegion* kept = nullptr;
  if (large) {
    refresh_head();  // before kept_region_for judges by head: see head_seen below
    kept = kept_region_for(round_to_pages(size));
    // Every kept region holds a message not yet taken: wait a moment for one before fresh pages.
    if (kept == nullptr && !grow_fresh && round_to_pages(size) <= kKeptRegionBytes) {
      head_seen = head.pack();  // a kept region is free again once head passes its record
      return Attempt::no_fresh_room;
    }
  }

  Ring ring = ring_of(put_rings_, tail.slot());
  if (tail.unit() >= ring.units) corrupt("tail lies outside its ring");
  // Room for the record and, after it, for one link (so that a full ring can always be left).
  auto room = [&] {
    if (head.slot() != tail.slot()) return std::uint64_t{units} + kLinkUnits <= ring.units - tail.unit();
    if (head.unit() >= ring.units) corrupt("head lies outside its ring");
    return std::uint64_t{units} + kLinkUnits <= ring.units - used_in(tail, head, ring.units);
  };
  if (!room()) {
    refresh_head();
    if (!room()) {
      if (const Attempt a = open_ring(tail, head, ring, units, grow_fresh); a != Attempt::done) {
        head_seen = head.pack();
        return a;
      }
      ring = ring_of(put_rings_, tail.slot());
    }
  } else if (tail.slot() != 0) {
    // After a burst: once the queue is empty again, go back to the first ring (and let the
    // consumer free the grown one).
    refresh_head();
    if (head.pack() == tail.pack()) {
      return_to_first_ring(tail, ring);
      ring = ring_of(put_rings_, 0);
    }
  }

  if (large) {
    put_region(data, size, tail, ring, kept);
  } else {
    write_record(ring.base, ring.bytes, std::size_t{tail.unit()} * kRecordAlign, tail.count, data,
                 size);
    const Position next{Position::at(tail.slot(), advance(tail.unit(), units, ring.units)),
                        tail.count + 1};
    s.tail.store(next.pack(), std::memory_order_release);
  }
  lock.release();
  wake_consumers();
  return Attempt::done;
}

QueueCore::Attempt QueueCore::try_get_growing(Allocate allocate, void* context,
                                              const Deadline& lock_deadline, Got& got) {
  QueueShared& s = *shared_;
  // A ring left behind is freed after the lock is released (declared first, destroyed last):
  // freeing a large ring's pages takes long, and nobody else can reach it once head has left it
  // (a consumer killed before freeing it leaves it to the producer that next opens its slot).
  struct LeftRing {
    int fd;
    std::uint64_t offset = 0, bytes = 0;
    ~LeftRing() { free_region(fd, offset, bytes); }
  } left_ring{segment_.fd()};
  // A large message's region, freed once the lock is released (destroyed before left_ring):
  // freeing waits for the file's inode lock, which producers hold while they fill a region.
  struct TakenLater {
    int fd;
    TakenRegion* entry = nullptr;
    std::uint64_t offset = 0, bytes = 0;
    ~TakenLater() {
      if (entry == nullptr) return;
      free_region(fd, offset, bytes);
      std::uint64_t expected = offset;
      entry->file_offset.compare_exchange_strong(expected, 0, std::memory_order_acq_rel);
    }
  } taken_later{segment_.fd()};
  Exclusive lock(&s.get_lock, get_owner_, s.solo_consumer, s.consumer_busy, lock_deadline);
  if (!lock.held()) return Attempt::lock_timeout;
  if (lock.recovered()) s.lock_recoveries.fetch_add(1, std::memory_order_relaxed);

  Position head = Position::unpack(s.head.load(std::memory_order_relaxed));
  const Position tail = consumer_tail(head);
  if (tail.count == head.count) return Attempt::empty;
  for (;;) {
    const Ring ring = ring_of(get_rings_, head.slot());
    if (head.unit() >= ring.units) corrupt("head lies outside its ring");
    // Units that may hold committed records from head on: up to tail in the same ring; in an
    // older ring, the records up to its link (bounded by the ring itself).
    std::uint32_t available = ring.units;
    if (tail.slot() == head.slot()) {
      if (tail.unit() >= ring.units) corrupt("tail lies outside its ring");
      available = used_in(tail, head, ring.units);
    }
    const std::size_t at = std::size_t{head.unit()} * kRecordAlign;
    const std::size_t body_at = ring_advance(at, sizeof(RecordHeader), ring.bytes);
    const RecordHeader header = read_header(ring.base, at);
    if (header.seq != head.count)
      corrupt("record " + std::to_string(head.count) + " has sequence " +
              std::to_string(header.seq));

    if (header.size == kLinkMark) {
      LinkBody body{};
      if (available < kLinkUnits) corrupt("a link record is cut short");
      ring_read(ring.base, ring.bytes, body_at, &body, sizeof body);
      if (body.slot >= kRingSlots || body.slot == head.slot() ||
          s.slots[body.slot].generation.load(std::memory_order_acquire) != body.generation)
        corrupt("a link names ring slot " + std::to_string(body.slot) + " of generation " +
                std::to_string(body.generation) + ", which does not exist");
      (void)ring_of(get_rings_, body.slot);
      const LocalRing left = get_rings_[head.slot()];
      head = Position{Position::at(body.slot, 0), head.count};
      s.head.store(head.pack(), std::memory_order_release);
      // The ring left behind is free now; its pages go back (slot 0 is the segment's own), unless
      // it is small enough to be kept for the next burst (open_ring reuses it).
      if (left.map != nullptr && left.map_bytes > kKeptRingBytes) {
        free_region(segment_.fd(), left_ring.offset, left_ring.bytes);  // an earlier one
        left_ring.offset = left.file_offset;
        left_ring.bytes = left.map_bytes;
      }
      continue;
    }

    std::uint32_t units;
    std::uint64_t region_offset = 0;
    std::uint64_t size;
    const bool kept_region = header.size == kKeptIndirectMark;
    if (header.size == kIndirectMark || kept_region) {
      RegionBody body{};
      if (available < kIndirectUnits) corrupt("a large-message record is cut short");
      ring_read(ring.base, ring.bytes, body_at, &body, sizeof body);
      if (body.size == 0 || body.size > kMaxLargeMessage ||
          !region_in_file(body.file_offset, round_to_pages(body.size)))
        corrupt("record " + std::to_string(head.count) + " names " + std::to_string(body.size) +
                " bytes at offset " + std::to_string(body.file_offset) + ", outside its file");
      units = kIndirectUnits;
      region_offset = body.file_offset;
      size = body.size;
    } else {
      units = record_units(header.size);
      size = header.size;
      if (header.size > ring.bytes - sizeof header || units > available)
        corrupt("record " + std::to_string(head.count) + " has size " +
                std::to_string(header.size));
    }

    got.size = static_cast<std::size_t>(size);
    void* to = allocate(got.size, context);
    if (to == nullptr) {
      got.taken = false;
      return Attempt::done;
    }
    const Position next{Position::at(head.slot(), advance(head.unit(), units, ring.units)),
                        head.count + 1};
    if (region_offset == 0) {
      ring_read(ring.base, ring.bytes, body_at, to, got.size);
      s.head.store(next.pack(), std::memory_order_release);
    } else if (kept_region) {
      // The producers' to reuse once head has passed this record: copied out first.
      std::memcpy(to, region_of(get_regions_, region_offset, round_to_pages(size)),
                  got.size);
      s.head.store(next.pack(), std::memory_order_release);
    } else {
      const std::uint64_t bytes = round_to_pages(size);
      read_region(segment_.fd(), region_offset, to, got.size);
      TakenRegion& entry = s.taken[head.count % kTakenRegions];
      const std::uint64_t earlier = entry.file_offset.load(std::memory_order_acquire);
      if (earlier != 0 && entry.seq.load(std::memory_order_relaxed) != head.count) {
        // Taken kTakenRegions messages ago, and not freed since: its consumer died (or is slow).
        const std::uint64_t earlier_bytes = entry.bytes.load(std::memory_order_relaxed);
        if (earlier % page_bytes() == 0 && earlier >= mapped_bytes_)
          free_region(segment_.fd(), earlier, earlier_bytes);
      }
      entry.seq.store(head.count, std::memory_order_relaxed);
      entry.bytes.store(bytes, std::memory_order_relaxed);
      entry.file_offset.store(region_offset, std::memory_order_release);
      s.head.store(next.pack(), std::memory_order_release);
      taken_later.entry = &entry;
      taken_later.offset = region_offset;
      taken_later.bytes = bytes;
    }
    lock.release();
    got.taken = true;
    wake_producers();
    return Attempt::done;
  }
}

}  // namespace mproc::detail::queue
