// The engine under Queue, SimpleQueue and JoinableQueue: a multi-producer multi-consumer byte
// queue in a shared-memory segment, safe against processes killed at any moment. The layout and
// the commit protocol are described in queue_layout.hpp.
//
// Thread-safety: every method may be called from any thread and any process at once, except that
// the destructor must not run while another thread of this process uses the object. close() is
// local to this object: it makes this object's later calls fail with errc::closed (calls blocked
// in other threads notice within one wait slice) and drops its reference to the segment.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/deadline.hpp"
#include "shm/segment.hpp"
#include "transport/queue_layout.hpp"

namespace mproc::detail::queue {

struct QueueConfig {
  QueueKind kind = QueueKind::queue;
  std::size_t maxsize = 0;                    // 0: no limit on the count
  std::size_t capacity = kDefaultCapacity;    // ring bytes; rounded up to a multiple of 8
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
  // The longest message that fits the ring.
  std::size_t max_message_size() const noexcept { return ring_size_ - sizeof(RecordHeader); }

  // For white-box tests: the shared state.
  QueueShared& shared() const noexcept { return *shared_; }

 private:
  QueueCore(shm::Segment segment, QueueKind kind, std::uint32_t capacity_units,
            std::uint64_t maxsize, std::uint64_t ring_offset);

  enum class Attempt { done, no_room, empty, lock_timeout };
  Attempt try_put(const void* data, std::size_t size, std::uint32_t units, const Deadline& lock_deadline);
  Attempt try_get(Allocate allocate, void* context, const Deadline& lock_deadline, Got& got);
  bool fits(Position tail, Position head, std::uint32_t units) const noexcept;
  std::uint32_t used_units(Position tail, Position head) const noexcept;
  // Throws errc::internal ("queue ... is corrupt") unless both offsets lie inside the ring: a
  // position is shared memory that any attached process may have overwritten.
  void check_positions(Position tail, Position head) const;
  void check_open(const char* operation) const;
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
  std::atomic<bool> closed_{false};
};

// The record's size in kRecordAlign units: header plus payload, rounded up.
inline std::uint32_t record_units(std::size_t size) noexcept {
  return static_cast<std::uint32_t>((sizeof(RecordHeader) + size + kRecordAlign - 1) /
                                    kRecordAlign);
}

}  // namespace mproc::detail::queue
