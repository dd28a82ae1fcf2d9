// The lone producer's and the lone consumer's common case: a message that fits the ring now, or
// a message first in line. One pass of plain loads and stores around one copy, where the general
// path (try_put, try_get and their growing forms) goes through the lock's machinery, the
// deadline and the attempt loop: for 64-byte messages those cost as much as the copy itself.
// Same protocol, same commit (one store of tail or head), so a process killed here leaves the
// queue as the general path would. Anything else declines, committing nothing, and the general
// path decides: it also reports what failed a check here.
#include "transport/queue_core.hpp"

namespace mproc::detail::queue {

bool QueueCore::put_solo(const void* data, std::size_t size) {
  QueueShared& s = *shared_;
  SoloTurn turn(put_owner_, s.solo_producer, s.producer_busy);
  if (!turn.entered() || size >= ring_size_) return false;
  const std::uint32_t units = record_units(size);
  if (grows_ && units > large_units_) return false;  // travels in its own region
  // A growing queue keeps room for a link after every record (queue_layout.hpp).
  const std::uint32_t room_needed = grows_ ? units + kLinkUnits : units;

  // In the first ring (slot 0, as in a fixed queue) a position is a plain unit offset; a growing
  // queue's positions in its other rings are the general path's. The cached head may still name
  // the ring the queue grew into (cached when the producer came back to the first one): then,
  // as when the cache says there is no room, head itself decides.
  const Position tail = Position::unpack(s.tail.load(std::memory_order_relaxed));
  if (tail.slot() != 0) return false;
  Position head = Position::unpack(s.head_cache.load(std::memory_order_relaxed));
  if (head.slot() != 0 || !fits(tail, head, room_needed)) {
    head = fresh_head();
    if (head.slot() != 0 || !fits(tail, head, room_needed)) return false;
  }
  if (tail.offset >= capacity_units_ || head.offset >= capacity_units_) return false;

  put_record(tail, data, size, units);
  turn.leave();
  wake_consumers();
  return true;
}

QueueCore::SoloGet QueueCore::get_solo(Allocate allocate, void* context, Got& got) {
  QueueShared& s = *shared_;
  SoloTurn turn(get_owner_, s.solo_consumer, s.consumer_busy);
  if (!turn.entered()) return SoloGet::general;
  const Position head = Position::unpack(s.head.load(std::memory_order_relaxed));
  const Position tail = consumer_tail(head);
  if (tail.count == head.count) return SoloGet::empty;
  if (head.slot() != 0 || head.offset >= capacity_units_) return SoloGet::general;
  // The units from head on that may hold committed records: up to tail, or, when a growing
  // queue's tail has moved on to another ring, up to the link at the end of this one.
  std::uint32_t available = capacity_units_;
  if (tail.slot() == 0) {
    if (tail.offset >= capacity_units_) return SoloGet::general;
    available = used_units(tail, head);
  } else if (!grows_) {
    return SoloGet::general;
  }

  const RecordHeader header = read_header(ring_, std::size_t{head.offset} * kRecordAlign);
  // A link's or a large message's mark is above any size that fits the ring.
  if (header.seq != head.count || header.size > ring_size_ - sizeof header) return SoloGet::general;
  const std::uint32_t units = record_units(header.size);
  if (units > available) return SoloGet::general;

  if (!take_record(head, header, units, allocate, context, got)) return SoloGet::done;
  turn.leave();
  wake_producers();
  return SoloGet::done;
}

}  // namespace mproc::detail::queue
