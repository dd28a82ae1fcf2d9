// Queues between forked processes: inheritance, attach by handle, many producers and consumers,
// blocking on full / empty across processes, JoinableQueue and SimpleQueue across processes.
#include <mproc/process.hpp>
#include <mproc/queue.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "queue_test_support.hpp"

namespace mproc::test {
namespace {

using namespace std::chrono_literals;

using QueueProcess = QueueTest;

// Starts a child running `body`, whose return value is the exit code.
template <class F>
std::unique_ptr<Process> spawn(F body) {
  auto p = std::make_unique<Process>(std::move(body));
  p->start();
  return p;
}

// Joins with a bound; a child that hangs is killed and reported.
void expect_exit_zero(Process& p) {
  if (!p.join(60s)) {
    ADD_FAILURE() << p.name() << " did not finish";
    p.kill();
    p.join();
    return;
  }
  EXPECT_EQ(p.exitcode(), 0) << p.name();
}

TEST_F(QueueProcess, AnInheritedQueueCarriesMessagesInOrder) {
  Queue q(QueueOptions{0, 4096});  // small: the producer fills it and waits for the consumer
  auto child = spawn([&q] {
    for (int i = 0; i < 20000; ++i) q.put(i);
    q.put(std::string(3000, 'x'));  // larger than what is left after a few ints: waits for room
    return;
  });
  for (int i = 0; i < 20000; ++i) ASSERT_EQ(q.get<int>(true, 30s), i);
  EXPECT_EQ(q.get<std::string>(true, 30s), std::string(3000, 'x'));
  expect_exit_zero(*child);
}

TEST_F(QueueProcess, AConsumerProcessWaitsForTheProducer) {
  Queue q;
  Signal consumer_started;
  auto child = spawn([&] {
    consumer_started.notify();
    // Blocks (spins, then sleeps on the futex) until the parent puts.
    const auto s = q.get<std::string>(true, 60s);
    throw mproc::SystemExit(s == "wake up" ? 0 : 1);
  });
  ASSERT_TRUE(consumer_started.wait());
  q.put(std::string("wake up"));
  expect_exit_zero(*child);
}

struct Message {
  std::uint32_t producer;
  std::uint32_t seq;
  std::uint64_t check;
};
constexpr std::uint64_t check_of(std::uint32_t producer, std::uint32_t seq) {
  return (std::uint64_t{producer} * 0x9e3779b97f4a7c15ULL) ^ (seq * 0xff51afd7ed558ccdULL);
}

TEST_F(QueueProcess, ManyProducersAndConsumersDeliverEveryMessageExactlyOnce) {
  constexpr std::uint32_t kProducers = 3, kConsumers = 3, kEach = 20000;
  Queue q(QueueOptions{64, 2048});
  // Per consumer: the count received, then (producer << 32 | seq) entries.
  struct Log {
    std::atomic<std::uint32_t> count;
    std::uint32_t bad;
    std::uint64_t entries[kProducers * kEach];
  };
  SharedBlock<Log> logs(kConsumers);

  std::vector<std::unique_ptr<Process>> consumers, producers;
  for (std::uint32_t c = 0; c < kConsumers; ++c)
    consumers.push_back(spawn([&, c] {
      Log& log = logs[c];
      for (;;) {
        const auto m = q.get<Message>(true, 60s);
        if (m.producer == UINT32_MAX) return;
        if (m.check != check_of(m.producer, m.seq)) ++log.bad;
        log.entries[log.count.load(std::memory_order_relaxed)] =
            (std::uint64_t{m.producer} << 32) | m.seq;
        log.count.fetch_add(1, std::memory_order_release);
      }
    }));
  for (std::uint32_t p = 0; p < kProducers; ++p)
    producers.push_back(spawn([&, p] {
      for (std::uint32_t i = 0; i < kEach; ++i) q.put(Message{p, i, check_of(p, i)});
      return;
    }));
  for (auto& p : producers) expect_exit_zero(*p);
  for (std::uint32_t c = 0; c < kConsumers; ++c) q.put(Message{UINT32_MAX, 0, 0});
  for (auto& c : consumers) expect_exit_zero(*c);

  std::vector<std::uint8_t> seen(kProducers * kEach, 0);
  for (std::uint32_t c = 0; c < kConsumers; ++c) {
    EXPECT_EQ(logs[c].bad, 0u);
    std::vector<std::int64_t> last(kProducers, -1);
    const std::uint32_t n = logs[c].count.load(std::memory_order_acquire);
    for (std::uint32_t k = 0; k < n; ++k) {
      const auto producer = static_cast<std::uint32_t>(logs[c].entries[k] >> 32);
      const auto seq = static_cast<std::uint32_t>(logs[c].entries[k]);
      ASSERT_LT(producer, kProducers);
      ASSERT_LT(seq, kEach);
      // FIFO per producer: each consumer sees a producer's messages in increasing order.
      ASSERT_GT(static_cast<std::int64_t>(seq), last[producer]) << "consumer " << c;
      last[producer] = seq;
      ++seen[producer * kEach + seq];
    }
  }
  for (std::size_t i = 0; i < seen.size(); ++i)
    ASSERT_EQ(seen[i], 1) << "producer " << i / kEach << " message " << i % kEach;
  EXPECT_TRUE(q.empty());
}

TEST_F(QueueProcess, AProcessStartedBeforeTheQueueAttachesByHandle) {
  Signal handle_ready, attached;
  std::unique_ptr<Queue> q;
  auto child = spawn([&] {
    // This process exists before the queue does: it learns the handle over a pipe.
    const std::string handle = handle_ready.receive();
    if (handle.empty()) throw mproc::SystemExit(10);
    Queue mine = Queue::attach(handle);
    attached.notify();
    for (int i = 0; i < 1000; ++i)
      if (mine.get<int>(true, 30s) != i) throw mproc::SystemExit(11);
    mine.put(std::string("reply from the attached process"));
    return;
  });
  q = std::make_unique<Queue>(QueueOptions{0, 1024});
  handle_ready.send(q->handle());
  ASSERT_TRUE(attached.wait());
  for (int i = 0; i < 1000; ++i) q->put(i);
  expect_exit_zero(*child);  // first, so that the parent does not take the child's messages
  EXPECT_EQ(q->get<std::string>(true, 30s), "reply from the attached process");
}

TEST_F(QueueProcess, AProducerBlockedOnAFullQueueResumesWhenAnotherProcessMakesRoom) {
  Queue q(3);
  Signal filled;
  auto child = spawn([&] {
    for (int i = 0; i < 3; ++i) q.put(i);
    filled.notify();
    for (int i = 3; i < 500; ++i) q.put(i, true, 60s);  // each waits for the parent's get
    return;
  });
  ASSERT_TRUE(filled.wait());
  for (int i = 0; i < 500; ++i) ASSERT_EQ(q.get<int>(true, 30s), i);
  expect_exit_zero(*child);
}

TEST_F(QueueProcess, JoinableQueueJoinWaitsForTaskDoneInOtherProcesses) {
  JoinableQueue q;
  constexpr int kItems = 2000;
  for (int i = 0; i < kItems; ++i) q.put(i);
  EXPECT_FALSE(q.join(0s));  // nothing done yet
  std::vector<std::unique_ptr<Process>> workers;
  SharedBlock<std::atomic<std::int64_t>> sum;
  for (int w = 0; w < 2; ++w)
    workers.push_back(spawn([&] {
      for (;;) {
        int v;
        try {
          v = q.get_nowait<int>();
        } catch (const Error& e) {
          throw mproc::SystemExit(e.code() == make_error_code(errc::empty) ? 0 : 1);
        }
        sum->fetch_add(v);
        q.task_done();
      }
    }));
  q.join();
  EXPECT_EQ(sum->load(), std::int64_t{kItems} * (kItems - 1) / 2);
  EXPECT_TRUE(q.join(0s));
  expect_error([&] { q.task_done(); }, errc::bad_state);  // more calls than items
  for (auto& w : workers) expect_exit_zero(*w);
}

TEST_F(QueueProcess, JoinableQueueJoinTimesOutWhileATaskIsUnfinished) {
  JoinableQueue q;
  q.put(1);
  q.put(2);
  EXPECT_EQ(q.get<int>(), 1);
  q.task_done();
  EXPECT_FALSE(q.join(20ms));  // item 2 is still pending
  EXPECT_EQ(q.get<int>(), 2);
  EXPECT_FALSE(q.join(0s));  // taken but not done
  q.task_done();
  EXPECT_TRUE(q.join(0s));
  expect_error([&] { q.join(Seconds(-1)); }, std::errc::invalid_argument);
  // The attached view counts the same tasks.
  JoinableQueue other = JoinableQueue::attach(q.handle());
  other.put(3);
  EXPECT_FALSE(q.join(0s));
  EXPECT_EQ(q.get<int>(), 3);
  other.task_done();
  EXPECT_TRUE(q.join(0s));
  q.close();
  expect_error([&] { q.task_done(); }, errc::closed);
  expect_error([&] { q.join(); }, errc::closed);
}

TEST_F(QueueProcess, SimpleQueuePutBlocksWhenItsBytesAreFull) {
  SimpleQueue q(256);
  Signal consumer_may_start;
  auto child = spawn([&] {
    if (!consumer_may_start.wait()) throw mproc::SystemExit(10);
    for (int i = 0; i < 300; ++i)
      if (q.get<std::string>(true, 30s) != std::string(40, static_cast<char>('a' + i % 26)))
        throw mproc::SystemExit(11);
    return;
  });
  // 300 messages of 48 bytes each through a 256-byte ring: most puts wait for the consumer.
  for (int i = 0; i < 300; ++i) {
    if (i == 4) consumer_may_start.notify();
    q.put(std::string(40, static_cast<char>('a' + i % 26)), true, 30s);
  }
  expect_exit_zero(*child);
  EXPECT_TRUE(q.empty());
}

TEST_F(QueueProcess, AQueueCreatedInAChildIsRemovedWhenItIsDestroyedThere) {
  Signal done;
  pid_t child_pid = 0;
  auto child = spawn([&] {
    {
      Queue q;
      JoinableQueue j;
      SimpleQueue s;
      q.put(1);
      j.put(2);
      s.put(3);
    }
    throw mproc::SystemExit(shm_entries_of(::getpid()).empty() ? 0 : 1);
  });
  child_pid = *child->pid();
  expect_exit_zero(*child);
  EXPECT_TRUE(shm_entries_of(child_pid).empty());
}

}  // namespace
}  // namespace mproc::test
