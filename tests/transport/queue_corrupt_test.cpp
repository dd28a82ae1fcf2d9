// A queue whose shared positions were overwritten by another process (a buggy or hostile peer):
// every operation reports corruption (errc::internal) and never reads or writes outside the ring.
// White-box: the tests write into the shared layout (queue_layout.hpp) as such a peer would.
#include <chrono>
#include <cstring>
#include <string>

#include "base/deadline.hpp"
#include "queue_core_test_support.hpp"
#include "shm/segment.hpp"
#include "transport/queue_core.hpp"

namespace mproc::test {
namespace {

using detail::Deadline;
using detail::queue::Position;
using detail::queue::QueueConfig;
using detail::queue::QueueCore;
using detail::queue::QueueShared;
using detail::queue::QueueKind;

using QueueCorrupt = QueueTest;

void set_offset(std::atomic<std::uint64_t>& word, std::uint32_t offset) {
  Position p = Position::unpack(word.load());
  p.offset = offset;
  word.store(p.pack());
}

TEST_F(QueueCorrupt, ATailJustPastTheRingFailsThePutInsteadOfWritingPastIt) {
  auto q = QueueCore::create(QueueConfig{QueueKind::queue, 0, 4096});
  QueueShared& s = q->shared();
  const std::uint32_t units = s.capacity_units;
  set_offset(s.tail, units);
  set_offset(s.tail_cache, units);
  expect_corrupt([&] { put_string(*q, "x"); });
  set_offset(s.tail, units + 1000000);
  expect_corrupt([&] { put_string(*q, "x"); });
  set_offset(s.tail, 0xffffffffu);
  expect_corrupt([&] { put_string(*q, std::string(100, 'y')); });
}

TEST_F(QueueCorrupt, AHeadPastTheRingFailsPutAndGet) {
  auto q = QueueCore::create(QueueConfig{QueueKind::queue, 0, 4096});
  put_string(*q, "first");
  QueueShared& s = q->shared();
  set_offset(s.head, 0x7fffffffu);
  expect_corrupt([&] { get_string(*q); });
  set_offset(s.head_cache, 0x7fffffffu);
  expect_corrupt([&] { put_string(*q, "second"); });
}

TEST_F(QueueCorrupt, ATailPastTheRingFailsTheGet) {
  auto q = QueueCore::create(QueueConfig{QueueKind::queue, 0, 4096});
  QueueShared& s = q->shared();
  Position tail = Position::unpack(s.tail.load());
  tail.offset = 0xfffffff0u;
  tail.count += 1;  // claims one message
  s.tail.store(tail.pack());
  expect_corrupt([&] { get_string(*q); });
}

TEST_F(QueueCorrupt, ARepairedQueueWorksAgain) {
  auto q = QueueCore::create(QueueConfig{QueueKind::queue, 0, 4096});
  QueueShared& s = q->shared();
  const std::uint64_t good = s.tail.load();
  set_offset(s.tail, s.capacity_units + 8);
  expect_corrupt([&] { put_string(*q, "x"); });
  s.tail.store(good);
  put_string(*q, "x");
  EXPECT_EQ(get_string(*q), "x");
}

TEST_F(QueueCorrupt, AttachRefusesAHeaderWhoseRingLiesOutsideTheSegment) {
  auto q = QueueCore::create(QueueConfig{QueueKind::queue, 0, 4096});
  QueueShared& s = q->shared();
  const std::uint64_t ring_offset = s.ring_offset;
  const std::uint32_t capacity_units = s.capacity_units;
  auto expect_refused = [&] {
    try {
      QueueCore::attach(q->handle());
      ADD_FAILURE() << "attach accepted a corrupt header";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), make_error_code(errc::bad_handle)) << e.what();
    }
  };
  s.ring_offset = ~std::uint64_t{0} - 100;  // offset + size wraps around
  expect_refused();
  s.ring_offset = ring_offset + 4;  // misaligned
  expect_refused();
  s.ring_offset = ring_offset;
  s.capacity_units = capacity_units + 1;  // one unit past the segment
  expect_refused();
  s.capacity_units = capacity_units;
  EXPECT_NO_THROW(QueueCore::attach(q->handle()));
}

TEST_F(QueueCorrupt, AnAttachedQueueKeepsItsViewWhenTheHeaderIsRewrittenLater) {
  auto q = QueueCore::create(QueueConfig{QueueKind::queue, 0, 4096});
  auto other = QueueCore::attach(q->handle());
  QueueShared& s = q->shared();
  s.capacity_units = 0x7fffffffu;
  s.ring_offset = 1u << 30;
  put_string(*other, std::string(3000, 'a'));
  EXPECT_EQ(get_string(*other), std::string(3000, 'a'));
}

TEST_F(QueueCorrupt, TaskDoneBeyondThePutsIsRefusedEvenWhenTheDoneCountWasMovedAhead) {
  auto q = QueueCore::create(QueueConfig{QueueKind::joinable, 0, 4096});
  put_string(*q, "a");
  q->task_done();
  EXPECT_THROW(q->task_done(), Error);
  QueueShared& s = q->shared();
  s.tasks_done.store(s.tasks_done.load() + 5);  // a peer moved it past the put count
  try {
    q->task_done();
    ADD_FAILURE() << "task_done beyond the puts was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::bad_state)) << e.what();
  }
}

}  // namespace
}  // namespace mproc::test
