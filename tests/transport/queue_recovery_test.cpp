// White-box crash recovery: a process dies at each dangerous point of the protocol, and the queue
// goes on. These tests reach into the shared layout (queue_layout.hpp) to stop a process exactly
// where a SIGKILL could: holding a lock, half-way through a record, between commit and wake.
#include <atomic>
#include <chrono>
#include <cstring>
#include <pthread.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "base/deadline.hpp"
#include "queue_core_test_support.hpp"
#include "transport/queue_core.hpp"
#include "transport/ring_copy.hpp"

namespace mproc::test {
namespace {

using detail::Deadline;
using detail::queue::Position;
using detail::queue::QueueConfig;
using detail::queue::QueueCore;
using detail::queue::QueueShared;
using detail::queue::RecordHeader;

using QueueRecovery = QueueTest;

TEST_F(QueueRecovery, AProducerDyingHoldingTheLockHalfWayThroughARecordLeavesNoTrace) {
  auto q = QueueCore::create(QueueConfig{});
  put_string(*q, "before");
  in_child_that_dies([&] {
    QueueShared& s = q->shared();
    s.solo_producer.store(detail::queue::kSoloMany);  // as a second producer does
    ::pthread_mutex_lock(&s.put_lock);
    // Half a record beyond tail: a header announcing 100 bytes and 10 bytes of them. No commit.
    const Position tail = Position::unpack(s.tail.load());
    const RecordHeader header{100, tail.count};
    const std::size_t offset = std::size_t{tail.offset} * 8;
    std::memcpy(s.ring() + offset, &header, sizeof header);
    std::memset(s.ring() + offset + sizeof header, 'G', 10);
  });
  EXPECT_EQ(q->qsize(), 1u);
  put_string(*q, "after");  // takes the dead owner's lock: EOWNERDEAD, repaired
  EXPECT_EQ(q->shared().lock_recoveries.load(), 1u);
  EXPECT_EQ(get_string(*q), "before");
  EXPECT_EQ(get_string(*q), "after");  // overwrote the partial record
  EXPECT_TRUE(q->empty());
  put_string(*q, "again");  // the lock works normally afterwards
  EXPECT_EQ(get_string(*q), "again");
  EXPECT_EQ(q->shared().lock_recoveries.load(), 1u);
}

TEST_F(QueueRecovery, AConsumerDyingHoldingTheLockHalfWayThroughACopyLosesNothing) {
  auto q = QueueCore::create(QueueConfig{});
  put_string(*q, "first");
  put_string(*q, "second");
  in_child_that_dies([&] {
    QueueShared& s = q->shared();
    s.solo_consumer.store(detail::queue::kSoloMany);  // as a second consumer does
    ::pthread_mutex_lock(&s.get_lock);
    // Read part of the first message, then die before the commit (the store of head).
    char partial[3];
    std::memcpy(partial, s.ring() + sizeof(RecordHeader), sizeof partial);
  });
  EXPECT_EQ(get_string(*q), "first");
  EXPECT_EQ(q->shared().lock_recoveries.load(), 1u);
  EXPECT_EQ(get_string(*q), "second");
}

// The lone producer skips the lock (queue_exclusive.hpp); killed inside a put, it leaves `busy`
// naming its process. The next producer waits that out (the process is gone), and goes on.
TEST_F(QueueRecovery, ASoloProducerDyingHalfWayThroughARecordLeavesNoTrace) {
  auto q = QueueCore::create(QueueConfig{});
  in_child_that_dies([&] {
    put_string(*q, "from the solo producer");  // claims the producers' side
    QueueShared& s = q->shared();
    ASSERT_NE(s.solo_producer.load(), 0u);
    ASSERT_NE(s.solo_producer.load(), detail::queue::kSoloMany);
    // What the next put does up to the middle of its copy: busy, half a record, no commit.
    s.producer_busy.store(::getpid());
    const Position tail = Position::unpack(s.tail.load());
    const RecordHeader header{100, tail.count};
    const std::size_t offset = std::size_t{tail.offset} * 8;
    std::memcpy(s.ring() + offset, &header, sizeof header);
    std::memset(s.ring() + offset + sizeof header, 'G', 10);
  });
  QueueShared& s = q->shared();
  EXPECT_NE(s.producer_busy.load(), 0);
  put_string(*q, "after");  // ends solo mode, sees the dead solo producer, goes on
  EXPECT_EQ(s.solo_producer.load(), detail::queue::kSoloMany);
  EXPECT_EQ(s.producer_busy.load(), 0);
  EXPECT_EQ(s.lock_recoveries.load(), 1u);
  EXPECT_EQ(get_string(*q), "from the solo producer");
  EXPECT_EQ(get_string(*q), "after");
  EXPECT_TRUE(q->empty());
}

TEST_F(QueueRecovery, AProducerDyingBetweenCommitAndWakeStrandsNoSleeper) {
  auto q = QueueCore::create(QueueConfig{});
  Signal sleeping;
  const pid_t consumer = ::fork();
  ASSERT_GE(consumer, 0);
  if (consumer == 0) {
    sleeping.notify();
    const std::string got = get_string(*q, true);  // sleeps on the futex
    ::_exit(got == "committed without a wake" ? 0 : 1);
  }
  ASSERT_TRUE(sleeping.wait());
  // Wait (bounded) until the consumer is really asleep on the futex.
  const Deadline asleep(std::chrono::seconds(30));
  while (q->shared().consumers_waiting.load() == 0 && !asleep.expired()) ::sched_yield();
  ASSERT_EQ(q->shared().consumers_waiting.load(), 1u);
  // A "producer" that committed its record and died before waking anyone.
  in_child_that_dies([&] {
    QueueShared& s = q->shared();
    s.solo_producer.store(detail::queue::kSoloMany);  // as a second producer does
    ::pthread_mutex_lock(&s.put_lock);
    const std::string m = "committed without a wake";
    const Position tail = Position::unpack(s.tail.load());
    const RecordHeader header{static_cast<std::uint32_t>(m.size()), tail.count};
    std::memcpy(s.ring(), &header, sizeof header);
    std::memcpy(s.ring() + sizeof header, m.data(), m.size());
    s.tail.store(Position{detail::queue::record_units(m.size()), tail.count + 1}.pack());
  });
  int status = 0;
  ASSERT_EQ(::waitpid(consumer, &status, 0), consumer);  // bounded by the consumer's 30 s
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(q->shared().lock_recoveries.load(), 0u);  // nobody took the put lock since
  put_string(*q, "x");
  EXPECT_EQ(q->shared().lock_recoveries.load(), 1u);
  EXPECT_EQ(get_string(*q), "x");
}

TEST_F(QueueRecovery, ASleeperKilledOnTheFutexLeavesTheQueueWorking) {
  auto q = QueueCore::create(QueueConfig{});
  const pid_t consumer = ::fork();
  ASSERT_GE(consumer, 0);
  if (consumer == 0) {
    (void)get_string(*q, true);
    ::_exit(0);
  }
  const Deadline asleep(std::chrono::seconds(30));
  while (q->shared().consumers_waiting.load() == 0 && !asleep.expired()) ::sched_yield();
  ASSERT_EQ(::kill(consumer, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(consumer, &status, 0), consumer);
  EXPECT_TRUE(WIFSIGNALED(status));
  // Its announcement stays counted (it never took it back): puts merely wake nobody.
  EXPECT_EQ(q->shared().consumers_waiting.load(), 1u);
  for (int i = 0; i < 100; ++i) put_string(*q, std::to_string(i));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(get_string(*q), std::to_string(i));
}

TEST_F(QueueRecovery, ACorruptRecordIsReportedNotDelivered) {
  auto q = QueueCore::create(QueueConfig{});
  put_string(*q, "soon corrupt");
  RecordHeader header{};
  std::memcpy(&header, q->shared().ring(), sizeof header);
  header.seq += 5;
  std::memcpy(q->shared().ring(), &header, sizeof header);
  try {
    (void)get_string(*q);
    ADD_FAILURE() << "a corrupt record was delivered";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::internal)) << e.what();
  }
}

}  // namespace
}  // namespace mproc::test
