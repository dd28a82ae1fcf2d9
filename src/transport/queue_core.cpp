#include "transport/queue_core.hpp"

#include <mproc/error.hpp>

#include <chrono>
#include <climits>
#include <new>
#include <optional>
#include <sched.h>
#include <sys/mman.h>

#include "base/spin_policy.hpp"
#include "transport/queue_barrier.hpp"
#include "transport/queue_regions.hpp"
#include "transport/queue_exclusive.hpp"
#include "transport/queue_sync.hpp"
#include "transport/ring_copy.hpp"

namespace mproc::detail::queue {
namespace {

// A sleeper re-checks at least this often, so a waker killed between its commit and its wake (or
// a close() in another thread) delays it by at most this long.
constexpr std::int64_t kWaitSliceNs = 100'000'000;
// Before sleeping, a waiter spins this long: when the other side is awake, data or room arrives
// within a few microseconds and the futex system calls are avoided on both sides.
constexpr auto kSpin = std::chrono::microseconds(50);
// After this much pure spinning the waiter yields its CPU between checks: on a loaded machine the
// other side may be waiting for this very CPU.
constexpr auto kSpinBeforeYield = std::chrono::microseconds(5);
// A growing queue whose rings in memory are all full waits this long for a consumer to make room
// before it reserves a ring of fresh pages: a consumer that keeps up (or is off its CPU for a
// moment) makes room within this, and a stream then stays in warm memory, as in a fixed ring,
// where growing costs a fallocate, a page fault per 4 KiB and a punch-hole later. put_nowait
// grows at once.
// (It waits only while gets happen: see put_status.)
constexpr auto kGrowGrace = std::chrono::milliseconds(1);

// Non-blocking operations do not wait for data or room, and wait for the lock at most this long:
// its holders hold it only for one copy and a dead holder releases it at once (robust mutex), but
// a holder that is stopped (SIGSTOP, Ctrl-Z, a debugger) would make "do not wait" wait forever.
constexpr auto kNoWaitLockLimit = std::chrono::milliseconds(1);

// How long an attempt waits for the lock: until the caller's deadline, but never less than
// kNoWaitLockLimit, so that a lock held for a copy by a live process at the deadline (or by a
// non-blocking call) is still taken, and only a holder that keeps it longer makes it a timeout.
Deadline lock_deadline(bool block, const Deadline& deadline) {
  if (block && deadline.infinite()) return deadline;
  if (block) {
    const timespec left = deadline.remaining();
    if (std::chrono::seconds(left.tv_sec) + std::chrono::nanoseconds(left.tv_nsec) >=
        kNoWaitLockLimit)
      return deadline;
  }
  return Deadline(kNoWaitLockLimit);
}

const Deadline& earlier(const Deadline& a, const Deadline& b) {
  if (b.infinite()) return a;
  if (a.infinite()) return b;
  const timespec ta = a.absolute_monotonic(), tb = b.absolute_monotonic();
  return ta.tv_sec < tb.tv_sec || (ta.tv_sec == tb.tv_sec && ta.tv_nsec <= tb.tv_nsec) ? a : b;
}

// The lock could not be taken in time: a timeout, whatever the queue holds (it was not looked at).
[[noreturn]] void throw_lock_timeout(const char* operation) {
  throw Error(errc::timed_out, std::string("queue ") + operation +
                                   ": another process held the queue's lock until the timeout "
                                   "(a stopped or starved process?)");
}

struct Construction {
  QueueConfig config;
  std::uint32_t capacity_units;
  std::size_t ring_offset;
};

void construct_shared(void* payload, std::size_t /*size*/, void* context) {
  const auto& c = *static_cast<const Construction*>(context);
  auto* s = new (payload) QueueShared{};
  s->kind = c.config.kind;
  s->capacity_units = c.capacity_units;
  s->maxsize = c.config.maxsize;
  s->ring_offset = c.ring_offset;
  RobustMutex::of(s->put_lock).init();
  RobustMutex::of(s->get_lock).init();
}

Error invalid(const std::string& what) {
  return Error(std::make_error_code(std::errc::invalid_argument), what);
}

}  // namespace

std::unique_ptr<QueueCore> QueueCore::create(const QueueConfig& config) {
  if (config.capacity < kMinCapacity || config.capacity > kMaxCapacity)
    throw invalid("queue capacity of " + std::to_string(config.capacity) +
                  " bytes is outside [" + std::to_string(kMinCapacity) + ", " +
                  std::to_string(kMaxCapacity) + "]");
  if (config.maxsize > kMaxMaxsize)
    throw invalid("queue maxsize " + std::to_string(config.maxsize) + " is above " +
                  std::to_string(kMaxMaxsize));
  Construction c{config, 0, 0};
  const std::size_t ring_bytes = (config.capacity + kRecordAlign - 1) / kRecordAlign * kRecordAlign;
  c.capacity_units = static_cast<std::uint32_t>(ring_bytes / kRecordAlign);
  c.ring_offset = (sizeof(QueueShared) + 63) / 64 * 64;
  shm::SegmentOptions options;
  options.growable = config.grows;  // chained rings and large messages extend the file
  auto segment = shm::Segment::create(c.ring_offset + ring_bytes, kQueueSegmentKind,
                                      construct_shared, &c, options);
  const std::uint32_t large_units = config.grows ? c.capacity_units / 4 : 0;
  auto core = std::unique_ptr<QueueCore>(new QueueCore(std::move(segment), config.kind,
                                                       c.capacity_units, config.maxsize,
                                                       c.ring_offset, large_units));
  if (config.grows) {
    // Nobody else knows the name yet: these stores need no ordering.
    QueueShared& s = *core->shared_;
    s.flags = kFlagGrows;
    s.large_units = large_units;
    s.file_end.store(round_to_pages(core->mapped_bytes_), std::memory_order_relaxed);
    s.next_generation.store(1, std::memory_order_relaxed);
    s.slots[0].file_offset.store(core->first_ring_offset_, std::memory_order_relaxed);
    s.slots[0].capacity_units.store(c.capacity_units, std::memory_order_relaxed);
    s.slots[0].generation.store(1, std::memory_order_release);
  }
  return core;
}

std::unique_ptr<QueueCore> QueueCore::attach(std::string_view handle) {
  auto segment = shm::Segment::attach(handle, kQueueSegmentKind);
  // Each immutable field is read once and checked here; the object keeps these copies, so a
  // process that rewrites the header later cannot move this process's view of the ring.
  const auto* s = static_cast<const volatile QueueShared*>(segment.payload());
  const QueueKind kind = s->kind;
  const std::uint32_t capacity_units = s->capacity_units;
  const std::uint64_t maxsize = s->maxsize;
  const std::uint64_t ring_offset = s->ring_offset;
  const std::uint32_t flags = s->flags;
  const std::uint32_t large_units = s->large_units;
  const std::size_t ring_bytes = std::size_t{capacity_units} * kRecordAlign;
  const std::size_t payload = segment.payload_size();
  const bool grows = flags == kFlagGrows;
  if (ring_bytes < kMinCapacity || ring_bytes > kMaxCapacity || maxsize > kMaxMaxsize ||
      ring_offset < sizeof(QueueShared) || ring_offset % kRecordAlign != 0 ||
      ring_offset > payload || ring_bytes > payload - ring_offset ||
      (kind != QueueKind::queue && kind != QueueKind::simple && kind != QueueKind::joinable) ||
      (flags != 0 && !grows) ||
      (grows && (segment.fd() < 0 || large_units == 0 || large_units > capacity_units / 4)))
    throw Error(errc::bad_handle, "queue " + std::string(handle) + ": its header is invalid");
  return std::unique_ptr<QueueCore>(new QueueCore(std::move(segment), kind, capacity_units,
                                                  maxsize, ring_offset, grows ? large_units : 0));
}

QueueCore::QueueCore(shm::Segment segment, QueueKind kind, std::uint32_t capacity_units,
                     std::uint64_t maxsize, std::uint64_t ring_offset, std::uint32_t large_units)
    : segment_(std::move(segment)),
      shared_(static_cast<QueueShared*>(segment_.payload())),
      ring_(reinterpret_cast<std::byte*>(shared_) + ring_offset),
      ring_size_(std::size_t{capacity_units} * kRecordAlign),
      capacity_units_(capacity_units),
      maxsize_(maxsize),
      kind_(kind),
      grows_(large_units != 0),
      large_units_(large_units),
      first_ring_offset_(static_cast<std::uint64_t>(
          ring_ - reinterpret_cast<std::byte*>(&segment_.header()))),
      mapped_bytes_(segment_.mapped_size()) {
  enable_cheap_wake_barrier();  // before this process's first put or get
}

QueueCore::~QueueCore() {
  // The Segment then releases its reference and unmaps.
  for (auto* cache : {&put_rings_, &get_rings_})
    for (LocalRing& ring : *cache) unmap(ring);
  for (auto* cache : {&put_regions_, &get_regions_})
    for (LocalRegion& region : cache->regions)
      if (region.map != nullptr) ::munmap(region.map, region.bytes);
}

void QueueCore::closed_error(const char* operation) const {
  throw Error(errc::closed, std::string("queue ") + operation + ": the queue is closed");
}

void QueueCore::close() noexcept {
  if (closed_.exchange(true, std::memory_order_acq_rel)) return;
  // The mapping stays until destruction: another thread of this process may still be inside a
  // call, and will notice `closed_` within one wait slice.
  segment_.release();
}

const std::string& QueueCore::handle() const {
  check_open("handle");
  return segment_.name();
}

void QueueCore::positions_corrupt(Position tail, Position head) const {
  throw Error(errc::internal, "queue " + segment_.name() + " is corrupt: its positions (tail " +
                                  std::to_string(tail.offset) + ", head " +
                                  std::to_string(head.offset) + ") lie outside its ring of " +
                                  std::to_string(capacity_units_) + " units");
}

QueueCore::Attempt QueueCore::try_put(const void* data, std::size_t size, std::uint32_t units,
                                      const Deadline& lock_deadline, bool grow_fresh,
                                      std::uint64_t& head_seen) {
  if (grows_) return try_put_growing(data, size, lock_deadline, grow_fresh, head_seen);
  QueueShared& s = *shared_;
  Exclusive lock(&s.put_lock, put_owner_, s.solo_producer, s.producer_busy, lock_deadline);
  if (!lock.held()) return Attempt::lock_timeout;
  if (lock.recovered()) s.lock_recoveries.fetch_add(1, std::memory_order_relaxed);

  const Position tail = Position::unpack(s.tail.load(std::memory_order_relaxed));
  Position head = Position::unpack(s.head_cache.load(std::memory_order_relaxed));
  if (!fits(tail, head, units)) {
    head = fresh_head();
    if (!fits(tail, head, units)) {
      check_positions(tail, head);  // a corrupt head can look like a full ring
      head_seen = head.pack();
      return Attempt::no_room;
    }
  }
  check_positions(tail, head);

  // Write the record into free space, then commit it with one store of tail.
  put_record(tail, data, size, units);
  lock.release();
  wake_consumers();
  return Attempt::done;
}

// The event words' low bit says that a sleeper waits on the word's present value (wait_until sets
// it before its last check). A waker changes the value only when the bit is set, and so makes one
// futex system call per sleep, not one per put or get until the woken thread runs again: between
// a wake and the sleeper's return (15-80 us across CPUs on this VM, a whole time slice on one
// CPU) a producer used to make a futex_wake call on every put, ~2000 per sleep, while its
// consumer was already awake.
namespace {

// If a sleeper is announced on `event`, gives the word a new value and wakes `count` sleepers;
// `keep_announced` leaves the bit set (more sleepers than this wake wakes: the next waker wakes
// another).
void wake_announced(std::atomic<std::uint32_t>& event, int count, bool keep_announced) noexcept {
  std::uint32_t e = event.load(std::memory_order_relaxed);
  while ((e & 1) != 0) {
    // An odd e: e + 1 is even (bit cleared), e + 2 odd (bit kept); both differ from e.
    if (event.compare_exchange_weak(e, e + (keep_announced ? 2 : 1), std::memory_order_release,
                                    std::memory_order_relaxed)) {
      futex_wake(event, count);
      return;
    }
  }
}

}  // namespace

void QueueCore::wake_announced_consumers() noexcept {
  wake_announced(shared_->put_event, 1,
                 shared_->consumers_waiting.load(std::memory_order_relaxed) > 1);
}

void QueueCore::wake_announced_producers() noexcept {
  // Every waiting producer re-checks: the room freed may suit a small message but not a large.
  wake_announced(shared_->get_event, INT_MAX, false);
}

QueueCore::Attempt QueueCore::try_get(Allocate allocate, void* context,
                                      const Deadline& lock_deadline, Got& got) {
  if (grows_) return try_get_growing(allocate, context, lock_deadline, got);
  QueueShared& s = *shared_;
  Exclusive lock(&s.get_lock, get_owner_, s.solo_consumer, s.consumer_busy, lock_deadline);
  if (!lock.held()) return Attempt::lock_timeout;
  if (lock.recovered()) s.lock_recoveries.fetch_add(1, std::memory_order_relaxed);

  const Position head = Position::unpack(s.head.load(std::memory_order_relaxed));
  const Position tail = consumer_tail(head);
  if (tail.count == head.count) return Attempt::empty;
  check_positions(tail, head);

  const RecordHeader header = read_header(ring_, std::size_t{head.offset} * kRecordAlign);
  const std::uint32_t units = record_units(header.size);
  if (header.seq != head.count || header.size > max_message_size() ||
      units > used_units(tail, head))
    throw Error(errc::internal, "queue " + segment_.name() + " is corrupt: record " +
                                    std::to_string(head.count) + " has sequence " +
                                    std::to_string(header.seq) + " and size " +
                                    std::to_string(header.size));

  if (!take_record(head, header, units, allocate, context, got)) return Attempt::done;
  lock.release();
  wake_producers();
  return Attempt::done;
}

template <class Ready>
void QueueCore::wait_until(Ready ready, std::atomic<std::uint32_t>& event,
                           std::atomic<std::uint32_t>& waiting, const Deadline& deadline) {
  // Where spinning cannot help (the peer shares our one CPU, or spins here kept failing), sleep
  // at once. Yielding instead (sched_yield until kSpin) hands the CPU to whichever thread the
  // scheduler picks, and puts this one behind every other thread runnable there: on a CPU shared
  // beyond the pair (a busy machine), two processes on one CPU took 15 us to 3.4 ms per 64-byte
  // round trip (median 1 ms of 12 runs, load 28-31); sleeping at once: 11-272 us (median 17 us).
  // The price: streaming 64-byte messages on one CPU wakes the peer more often (0.36 M msgs/s,
  // where yielding gave 0.9-2.2 M, in the same minutes).
  thread_local SpinAdvisor advisor;
  const bool spin = advisor.should_spin();
  bool yielding = false;
  // The spin's clock starts at its first reading, after 64 checks: a lone consumer that keeps up
  // with its producer waits here for nearly every message, mostly for less than that, and read
  // the clock (a vDSO call) on every wait.
  std::chrono::steady_clock::time_point spin_until, yield_after;
  for (unsigned i = 1; spin; ++i) {
    if (ready() || closed()) {
      advisor.spun(!yielding);
      return;
    }
    if (yielding) ::sched_yield();
    else cpu_relax();
    if (i % 64 == 0 || yielding) {
      const auto now = std::chrono::steady_clock::now();
      if (i == 64) {
        spin_until = now + kSpin;
        yield_after = now + kSpinBeforeYield;
      }
      if (now >= spin_until || deadline.expired()) break;
      yielding = yielding || now >= yield_after;
    }
  }
  if (spin) advisor.spun(false);
  // Announce (the count, and the event word's low bit: see wake_announced), then re-check: a
  // committer that stored before our announcement is seen by the re-check, one that stores after
  // it sees the bit and wakes us (or changes `event` before we sleep on it).
  waiting.fetch_add(1, std::memory_order_seq_cst);
  std::uint32_t seen = event.load(std::memory_order_relaxed);
  while ((seen & 1) == 0 &&
         !event.compare_exchange_weak(seen, seen | 1, std::memory_order_seq_cst,
                                      std::memory_order_relaxed)) {
  }
  seen |= 1;
  sleeper_barrier();  // the wakers' half of the handshake is only a compiler barrier
  if (!ready() && !closed()) futex_wait_slice(event, seen, kWaitSliceNs, deadline);
  waiting.fetch_sub(1, std::memory_order_relaxed);
}

void QueueCore::throw_full(bool block) {
  throw Error(errc::full, block ? "queue put: the queue is still full at the timeout"
                                : "queue put_nowait: the queue is full");
}

void QueueCore::throw_empty(bool block) {
  throw Error(errc::empty, block ? "queue get: the queue is still empty at the timeout"
                                 : "queue get_nowait: the queue is empty");
}

void QueueCore::put(const void* data, std::size_t size, bool block, const Deadline& deadline) {
  if (put_status(data, size, block, deadline) == Status::full) throw_full(block);
}

QueueCore::Got QueueCore::get(Allocate allocate, void* context, bool block,
                              const Deadline& deadline) {
  Got got{0, false};
  if (get_status(allocate, context, block, deadline, got) == Status::empty) throw_empty(block);
  return got;
}

void QueueCore::too_big_error(std::size_t size) const {
  throw Error(errc::too_big, "queue put: a message of " + std::to_string(size) +
                                 " bytes is larger than the queue's capacity allows (" +
                                 std::to_string(max_message_size()) + " bytes)");
}

QueueCore::Status QueueCore::put_general(const void* data, std::size_t size, bool block,
                                         const Deadline& deadline) {
  const std::uint32_t units = grows_ ? 0 : record_units(size);
  QueueShared& s = *shared_;
  bool grow_fresh = !block;
  std::optional<Deadline> grace;
  for (;;) {
    // Not loaded here before every attempt: head is the consumers' line, and reading it on every
    // put would move it between the CPUs once per message (the attempt reads it only when its
    // cached copy says there is no room).
    std::uint64_t head_before = 0;
    const Attempt a =
        try_put(data, size, units, lock_deadline(block, deadline), grow_fresh, head_before);
    if (a == Attempt::done) return Status::done;
    if (a == Attempt::lock_timeout) throw_lock_timeout(block ? "put" : "put_nowait");
    if (a == Attempt::no_fresh_room) {
      // Wait only while gets happen: with none since this process last grew, nobody takes
      // messages now (a burst before any get), and each wait would only delay the burst.
      const std::uint64_t head_now = s.head.load(std::memory_order_acquire);
      if (!grace) grace.emplace(kGrowGrace);
      if (head_now == head_at_growth_.load(std::memory_order_relaxed) || grace->expired() ||
          deadline.expired()) {
        grow_fresh = true;  // never "full" for lack of bytes: the queue grows
        head_at_growth_.store(head_now, std::memory_order_relaxed);
        continue;
      }
      wait_until([&] { return s.head.load(std::memory_order_seq_cst) != head_before; },
                 s.get_event, s.producers_waiting, earlier(*grace, deadline));
      check_open("put");
      continue;
    }
    if (!block || deadline.expired()) return Status::full;
    wait_until(
        [&] {
          const std::uint64_t word = s.head.load(std::memory_order_seq_cst);
          const Position head = Position::unpack(word);
          const Position tail = Position::unpack(s.tail.load(std::memory_order_acquire));
          // A growing queue that ran out of ring slots waits for a get to free one.
          if (a == Attempt::no_slot) return word != head_before;
          if (grows_) return std::uint32_t(tail.count - head.count) < maxsize_;
          return fits(tail, head, units);
        },
        s.get_event, s.producers_waiting, deadline);
    check_open("put");
  }
}

QueueCore::Status QueueCore::get_general(Allocate allocate, void* context, bool block,
                                         const Deadline& deadline, Got& got) {
  QueueShared& s = *shared_;
  for (;;) {
    got = Got{0, false};
    const Attempt a = try_get(allocate, context, lock_deadline(block, deadline), got);
    if (a == Attempt::done) return Status::done;
    if (a == Attempt::lock_timeout) throw_lock_timeout(block ? "get" : "get_nowait");
    if (!block || deadline.expired()) return Status::empty;
    wait_until(
        [&] {
          const Position tail = Position::unpack(s.tail.load(std::memory_order_seq_cst));
          return tail.count != Position::unpack(s.head.load(std::memory_order_relaxed)).count;
        },
        s.put_event, s.consumers_waiting, deadline);
    check_open("get");
    // A lone consumer's message after the wait: the solo path, not another general attempt.
    if (get_solo(allocate, context, got) == SoloGet::done) return Status::done;
  }
}

std::size_t QueueCore::qsize() const {
  check_open("qsize");
  // head first: tail only grows, so the difference is never negative.
  const Position head = Position::unpack(shared_->head.load(std::memory_order_acquire));
  const Position tail = Position::unpack(shared_->tail.load(std::memory_order_acquire));
  return std::uint32_t(tail.count - head.count);
}

bool QueueCore::empty() const { return qsize() == 0; }

bool QueueCore::full() const {
  check_open("full");
  const Position head = Position::unpack(shared_->head.load(std::memory_order_acquire));
  const Position tail = Position::unpack(shared_->tail.load(std::memory_order_acquire));
  if (grows_) return maxsize_ != 0 && std::uint32_t(tail.count - head.count) >= maxsize_;
  return !fits(tail, head, record_units(0));
}

void QueueCore::task_done() {
  check_open("task_done");
  QueueShared& s = *shared_;
  std::uint32_t done = s.tasks_done.load(std::memory_order_acquire);
  for (;;) {
    const std::uint32_t put = Position::unpack(s.tail.load(std::memory_order_acquire)).count;
    // Counts are modulo 2^32: a done count at or "ahead" of the put count (a difference above
    // 2^31, which only a process writing into the queue's memory can produce) is refused too.
    const std::uint32_t unfinished = put - done;
    if (unfinished == 0 || unfinished > kMaxMaxsize)
      throw Error(errc::bad_state,
                  "task_done() called more times than there were items put in the queue");
    if (s.tasks_done.compare_exchange_weak(done, done + 1, std::memory_order_seq_cst)) break;
  }
  if (s.joiners_waiting.load(std::memory_order_seq_cst) != 0) futex_wake(s.tasks_done, INT_MAX);
}

bool QueueCore::join(const Deadline& deadline) {
  check_open("join");
  QueueShared& s = *shared_;
  auto finished = [&] {
    // tasks_done first: it never passes the put count, so equality is never seen too early.
    const std::uint32_t done = s.tasks_done.load(std::memory_order_seq_cst);
    return Position::unpack(s.tail.load(std::memory_order_seq_cst)).count == done;
  };
  for (;;) {
    if (finished()) return true;
    if (deadline.expired()) return false;
    s.joiners_waiting.fetch_add(1, std::memory_order_seq_cst);
    const std::uint32_t seen = s.tasks_done.load(std::memory_order_seq_cst);
    if (!finished() && !closed()) futex_wait_slice(s.tasks_done, seen, kWaitSliceNs, deadline);
    s.joiners_waiting.fetch_sub(1, std::memory_order_relaxed);
    check_open("join");
  }
}

}  // namespace mproc::detail::queue
