// White-box tests of the growing queue (queue_layout.hpp): chained rings and large messages in
// their own regions of the segment file. A process killed half-way through a large message
// leaves the queue working and its pages freed; a peer that corrupts a slot, a link or a region
// gets "queue ... is corrupt", never a crash.
#include <chrono>
#include <csignal>
#include <cstring>
#include <pthread.h>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/deadline.hpp"
#include "queue_core_test_support.hpp"
#include "transport/queue_core.hpp"
#include "transport/queue_regions.hpp"
#include "transport/ring_copy.hpp"

namespace mproc::test {
namespace {

using detail::Deadline;
using detail::queue::Position;
using detail::queue::QueueConfig;
using detail::queue::QueueCore;
using detail::queue::QueueKind;
using detail::queue::QueueShared;
using detail::queue::RecordHeader;
using detail::queue::RegionBody;

using QueueGrow = QueueTest;

std::unique_ptr<QueueCore> growing(std::size_t first_ring = 4096) {
  return QueueCore::create(QueueConfig{QueueKind::queue, 0, first_ring, true});
}

std::string message(int i) {
  // Sizes 0..2999: with a 4 KiB first ring, those above 1 KiB travel in their own regions.
  return std::string(static_cast<std::size_t>(i * 37 % 3000), static_cast<char>('a' + i % 26));
}

std::uint64_t allocated_bytes(const QueueCore& q) {
  struct stat st {};
  if (::stat(("/dev/shm" + q.handle()).c_str(), &st) != 0) return 0;
  return static_cast<std::uint64_t>(st.st_blocks) * 512;
}

TEST_F(QueueGrow, RingsChainAndComeBackMessagesStayInOrder) {
  auto q = growing();
  const std::uint64_t at_start = allocated_bytes(*q);
  int put = 0, got = 0;
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 300; ++i) put_string(*q, message(put++));
    for (int i = 0; i < 200; ++i) ASSERT_EQ(get_string(*q), message(got++));
  }
  EXPECT_GT(q->shared().next_generation.load(), 2u);  // it grew
  while (got < put) ASSERT_EQ(get_string(*q), message(got++));
  put_string(*q, "back");  // an empty queue on a grown ring links back to the first ring
  EXPECT_EQ(get_string(*q), "back");
  EXPECT_EQ(Position::unpack(q->shared().tail.load()).slot(), 0u);
  // Grown rings up to kKeptRingBytes stay in their slots for the next burst, and large messages'
  // regions up to kKeptRegionBytes in kept_regions; nothing else does.
  std::uint64_t kept = 0;
  for (const auto& slot : q->shared().slots)
    if (&slot != &q->shared().slots[0] && slot.generation.load() != 0)
      kept += std::uint64_t{slot.capacity_units.load()} * detail::queue::kRecordAlign;
  EXPECT_GT(kept, 0u);
  for (const auto& region : q->shared().kept_regions)
    if (region.file_offset.load() != 0) kept += region.bytes.load();
  EXPECT_LE(allocated_bytes(*q), at_start + 8192 + kept);
  // Bursts of small messages that fill the first ring again and again reuse the kept rings: the
  // file stops growing.
  auto small = [](int i) { return std::to_string(i) + std::string(100, 's'); };
  std::uint64_t file_end = 0;
  for (int round = 0; round < 10; ++round) {
    if (round == 2) file_end = q->shared().file_end.load();
    for (int i = 0; i < 300; ++i) put_string(*q, small(put++));
    while (got < put) ASSERT_EQ(get_string(*q), small(got++));
  }
  EXPECT_EQ(q->shared().file_end.load(), file_end);
}

TEST_F(QueueGrow, AProducerDyingHalfWayThroughALargeMessageLeavesNoTraceAndNoPages) {
  auto q = growing();
  put_string(*q, "before");
  const std::uint64_t at_start = allocated_bytes(*q);
  in_child_that_dies([&] {
    // What put_region does up to the middle of its copy: note, reserve, write half. No commit.
    QueueShared& s = q->shared();
    s.solo_producer.store(detail::queue::kSoloMany);  // as a second producer does
    ::pthread_mutex_lock(&s.put_lock);
    const std::uint64_t offset = s.file_end.load();
    const std::uint64_t bytes = 1 << 20;
    s.put_pending.seq.store(Position::unpack(s.tail.load()).count);
    s.put_pending.file_offset.store(offset);
    s.put_pending.bytes.store(bytes);
    s.file_end.store(offset + bytes);
    const int fd = ::open(("/dev/shm" + q->handle()).c_str(), O_RDWR | O_CLOEXEC);
    (void)detail::queue::reserve_region(fd, offset, bytes);
    const std::string half(bytes / 2, 'h');
    detail::queue::write_region(fd, offset, half.data(), half.size());
  });
  EXPECT_GT(allocated_bytes(*q), at_start + (1u << 19));
  EXPECT_EQ(q->qsize(), 1u);
  put_string(*q, "after");  // recovers the lock and frees the dead producer's region
  EXPECT_EQ(q->shared().lock_recoveries.load(), 1u);
  EXPECT_EQ(q->shared().put_pending.bytes.load(), 0u);
  EXPECT_LE(allocated_bytes(*q), at_start);
  EXPECT_EQ(get_string(*q), "before");
  EXPECT_EQ(get_string(*q), "after");
  const std::string big(3 << 20, 'B');
  put_string(*q, big);
  EXPECT_EQ(get_string(*q), big);
}

TEST_F(QueueGrow, AProducerKilledWhileCopyingALargeMessageLeavesTheQueueWhole) {
  auto q = growing();
  const std::uint64_t at_start = allocated_bytes(*q);
  const std::string big(128 << 20, 'K');
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    put_string(*q, big);
    ::_exit(0);
  }
  // Kill it once it has noted its region (most likely half-way through the 128 MiB copy).
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (q->shared().put_pending.bytes.load() == 0 && q->qsize() == 0 &&
         std::chrono::steady_clock::now() < until)
    ::sched_yield();
  ::kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  put_string(*q, "after");
  if (q->qsize() == 2) {
    EXPECT_EQ(get_string(*q), big);  // it finished before the kill
  }
  EXPECT_EQ(get_string(*q), "after");
  EXPECT_TRUE(q->empty());
  EXPECT_LE(allocated_bytes(*q), at_start);
}

TEST_F(QueueGrow, AConsumerDyingBeforeCopyingALargeMessageLosesNothing) {
  auto q = growing();
  const std::string big(5 << 20, 'C');
  put_string(*q, big);
  const std::uint64_t with_message = allocated_bytes(*q);
  in_child_that_dies([&] {
    q->get([](std::size_t, void*) -> void* { ::raise(SIGKILL); return nullptr; }, nullptr, false,
           Deadline());
  });
  EXPECT_EQ(q->qsize(), 1u);
  EXPECT_EQ(get_string(*q), big);
  EXPECT_EQ(q->shared().lock_recoveries.load(), 1u);
  EXPECT_LE(allocated_bytes(*q), with_message - (5u << 20));
}

TEST_F(QueueGrow, APositionNamingAMissingSlotIsCorrupt) {
  auto q = growing();
  put_string(*q, "x");
  QueueShared& s = q->shared();
  const std::uint64_t good_tail = s.tail.load();
  Position bad = Position::unpack(good_tail);
  bad.offset = Position::at(31, 0);  // never opened: generation 0
  s.tail.store(bad.pack());
  expect_corrupt([&] { put_string(*q, "y"); });
  s.tail.store(good_tail);
  Position head = Position::unpack(s.head.load());
  const std::uint64_t good_head = head.pack();
  head.offset = Position::at(31, 0);
  s.head.store(head.pack());
  expect_corrupt([&] { (void)get_string(*q); });
  s.head.store(good_head);
  EXPECT_EQ(get_string(*q), "x");
}

TEST_F(QueueGrow, ALinkToAReplacedRingOrARingOutsideTheFileIsCorrupt) {
  for (const bool outside : {false, true}) {
    auto q = growing();
    for (int i = 0; i < 1000; ++i) put_string(*q, "12345678");  // more than the first ring holds
    QueueShared& s = q->shared();
    ASSERT_NE(s.slots[1].generation.load(), 0u);
    if (outside) s.slots[1].file_offset.store(std::uint64_t{1} << 40);
    else s.slots[1].generation.store(s.slots[1].generation.load() + 7);
    auto reader = QueueCore::attach(q->handle());  // maps nothing yet
    bool reported = false;
    for (int i = 0; i < 1000 && !reported; ++i) {
      try {
        EXPECT_EQ(get_string(*reader), "12345678");
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), make_error_code(errc::internal)) << e.what();
        EXPECT_NE(std::string(e.what()).find("corrupt"), std::string::npos) << e.what();
        reported = true;
      }
    }
    EXPECT_TRUE(reported);
  }
}

TEST_F(QueueGrow, ALargeMessageRecordPointingOutsideTheFileIsCorrupt) {
  auto q = growing();
  put_string(*q, std::string(5000, 'L'));  // above 1 KiB: in its own region
  QueueShared& s = q->shared();
  const Position head = Position::unpack(s.head.load());
  RecordHeader header{};
  std::memcpy(&header, s.ring() + std::size_t{head.unit()} * 8, sizeof header);
  // A region of its own, kept for reuse by the next large message.
  ASSERT_EQ(header.size, detail::queue::kKeptIndirectMark);
  RegionBody body{};
  std::byte* at = s.ring() + std::size_t{head.unit()} * 8 + sizeof header;
  std::memcpy(&body, at, sizeof body);
  const RegionBody good = body;
  body.file_offset = std::uint64_t{1} << 40;
  std::memcpy(at, &body, sizeof body);
  expect_corrupt([&] { (void)get_string(*q); });
  body = good;
  body.size = std::uint64_t{1} << 60;
  std::memcpy(at, &body, sizeof body);
  expect_corrupt([&] { (void)get_string(*q); });
  std::memcpy(at, &good, sizeof good);
  EXPECT_EQ(get_string(*q), std::string(5000, 'L'));
  // The producers' own note of a kept region is checked too.
  auto& kept = s.kept_regions[0];
  ASSERT_EQ(kept.file_offset.load(), good.file_offset);
  kept.file_offset.store(std::uint64_t{1} << 40);
  expect_corrupt([&] { put_string(*q, std::string(5000, 'M')); });
  kept.file_offset.store(good.file_offset);
  put_string(*q, std::string(5000, 'M'));
  EXPECT_EQ(get_string(*q), std::string(5000, 'M'));
}

// A stream of large messages that the consumer keeps up with reuses the kept regions: the file
// stops growing, where each message used to take fresh pages at its end.
TEST_F(QueueGrow, LargeMessagesReuseKeptRegions) {
  auto q = growing();
  std::uint64_t file_end = 0;
  for (int i = 0; i < 50; ++i) {
    if (i == 10) file_end = q->shared().file_end.load();
    const std::string big(5000 + static_cast<std::size_t>(i), static_cast<char>('a' + i % 26));
    put_string(*q, big);
    put_string(*q, big);
    ASSERT_EQ(get_string(*q), big);
    ASSERT_EQ(get_string(*q), big);
  }
  EXPECT_EQ(q->shared().file_end.load(), file_end);
}

}  // namespace
}  // namespace mproc::test
