// Queue semantics within one process: values, order, limits, errors, close, attach, lifetime.
#include <mproc/queue.hpp>

#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <deque>
#include <limits>
#include <numeric>
#include <thread>
#include <vector>

#include "queue_test_support.hpp"

namespace mproc::test {
namespace {

using namespace std::chrono_literals;

struct Point {
  int x;
  double y;
  bool operator==(const Point&) const = default;
};

using QueueBasic = QueueTest;

TEST_F(QueueBasic, RoundTripsBytesStringsAndValues) {
  Queue q;
  q.put(42);
  q.put(Point{3, 1.5});
  q.put(std::string("hello"));
  q.put("text");
  const char raw[] = {1, 2, 3};
  q.put_bytes(raw, sizeof raw);
  q.put(std::string());  // empty message

  EXPECT_EQ(q.qsize(), 6u);
  EXPECT_EQ(q.get<int>(), 42);
  EXPECT_EQ(q.get<Point>(), (Point{3, 1.5}));
  EXPECT_EQ(q.get<std::string>(), "hello");
  EXPECT_EQ(q.get<std::string>(), "text");
  const auto bytes = q.get_bytes();
  ASSERT_EQ(bytes.size(), 3u);
  EXPECT_EQ(bytes[2], std::byte{3});
  EXPECT_EQ(q.get<std::string>(), "");
  EXPECT_TRUE(q.empty());
}

TEST_F(QueueBasic, IsFifo) {
  Queue q;
  for (int i = 0; i < 1000; ++i) q.put(i);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(q.get<int>(), i);
}

TEST_F(QueueBasic, WrapsAroundTheRingWithMessagesOfEverySize) {
  // A small ring: records of many sizes wrap at every possible offset, some split in two.
  Queue q(QueueOptions{0, 256});
  std::vector<char> out(512);
  std::deque<std::vector<char>> expected;
  auto take_one = [&] {
    const std::size_t n = q.get_into(out.data(), out.size());
    ASSERT_FALSE(expected.empty());
    ASSERT_EQ(std::vector<char>(out.begin(), out.begin() + static_cast<long>(n)), expected.front());
    expected.pop_front();
  };
  for (std::uint32_t i = 0; i < 5000; ++i) {
    const std::size_t size = (i * 7) % 100;
    std::vector<char> message(size);
    for (std::size_t k = 0; k < size; ++k) message[k] = static_cast<char>(i + k);
    try {
      q.put_bytes(message.data(), message.size(), false);
    } catch (const Error& e) {
      ASSERT_EQ(e.code(), make_error_code(errc::full));
      while (!q.empty()) take_one();
      q.put_bytes(message.data(), message.size(), false);
    }
    expected.push_back(message);
    if (i % 3 == 2) take_one();
  }
  while (!q.empty()) take_one();
  EXPECT_TRUE(expected.empty());
  // Exact contents across the wrap: fill, drain, compare.
  for (std::uint32_t round = 0; round < 200; ++round) {
    std::vector<std::string> sent;
    while (true) {
      std::string m(static_cast<std::size_t>((round * 13 + sent.size() * 5) % 60), 'a');
      for (std::size_t k = 0; k < m.size(); ++k) m[k] = static_cast<char>('a' + (k + round) % 26);
      try {
        q.put(m, false);
      } catch (const Error& e) {
        ASSERT_EQ(e.code(), make_error_code(errc::full));
        break;
      }
      sent.push_back(m);
    }
    ASSERT_FALSE(sent.empty());
    for (const auto& m : sent) ASSERT_EQ(q.get<std::string>(false), m);
  }
}

TEST_F(QueueBasic, NonBlockingAndTimedCallsReportFullAndEmpty) {
  Queue q(2);
  expect_error([&] { q.get_nowait<int>(); }, errc::empty);
  expect_error([&] { q.get<int>(true, 10ms); }, errc::empty);
  expect_error([&] { q.get<int>(true, 0s); }, errc::empty);
  q.put_nowait(1);
  q.put(2, true, 1s);
  EXPECT_TRUE(q.full());
  EXPECT_EQ(q.maxsize(), 2u);
  expect_error([&] { q.put_nowait(3); }, errc::full);
  expect_error([&] { q.put(3, true, 10ms); }, errc::full);
  EXPECT_EQ(q.get_nowait<int>(), 1);
  EXPECT_FALSE(q.full());
  q.put_nowait(3);
  EXPECT_EQ(q.get<int>(), 2);
  EXPECT_EQ(q.get<int>(), 3);
  EXPECT_TRUE(q.empty());
}

TEST_F(QueueBasic, ByteCapacityBoundsMessages) {
  Queue q(QueueOptions{0, 256});
  EXPECT_EQ(q.capacity_bytes(), 256u);
  EXPECT_EQ(q.max_message_size(), 248u);
  std::vector<char> big(249, 'x');
  expect_error([&] { q.put_bytes(big.data(), big.size()); }, errc::too_big);
  q.put_bytes(big.data(), 248);  // exactly the whole ring
  EXPECT_TRUE(q.full());
  expect_error([&] { q.put_bytes(big.data(), 0, false); }, errc::full);
  EXPECT_EQ(q.get_bytes().size(), 248u);
  // Messages fill the ring by bytes even with no count limit.
  int n = 0;
  while (true) {
    try {
      q.put_bytes(big.data(), 24, false);  // 32 bytes with the header
      ++n;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), make_error_code(errc::full));
      break;
    }
  }
  EXPECT_EQ(n, 8);
}

TEST_F(QueueBasic, CapacityIsRoundedUpToEightBytes) {
  Queue q(QueueOptions{0, 100});
  EXPECT_EQ(q.capacity_bytes(), 104u);
}

TEST_F(QueueBasic, GetIntoKeepsAMessageTooLongForTheBuffer) {
  Queue q;
  q.put(std::string(100, 'z'));
  char small[10];
  std::size_t needed = 0;
  expect_error([&] { q.get_into(small, sizeof small, true, std::nullopt, &needed); },
               errc::too_big);
  EXPECT_EQ(needed, 100u);
  EXPECT_EQ(q.qsize(), 1u);
  char large[100];
  EXPECT_EQ(q.get_into(large, sizeof large), 100u);
  EXPECT_EQ(large[99], 'z');
}

TEST_F(QueueBasic, TypedGetOfTheWrongSizeKeepsTheMessage) {
  Queue q;
  q.put(std::int16_t{7});
  expect_error([&] { q.get<std::int64_t>(); }, errc::codec);
  EXPECT_EQ(q.qsize(), 1u);
  EXPECT_EQ(q.get<std::int16_t>(), 7);
}

TEST_F(QueueBasic, RejectsBadArguments) {
  expect_error([&] { Queue(QueueOptions{0, 63}); }, std::errc::invalid_argument);
  expect_error(
      [&] {
        Queue(QueueOptions{0, (std::size_t{1} << 30) + 1});
      },
      std::errc::invalid_argument);
  expect_error(
      [&] {
        Queue(QueueOptions{std::size_t{1} << 32, 1024});
      },
      std::errc::invalid_argument);
  expect_error([&] { SimpleQueue(8); }, std::errc::invalid_argument);
  Queue q;
  expect_error([&] { q.put(1, true, Seconds(-1)); }, std::errc::invalid_argument);
  expect_error([&] { q.get<int>(true, Seconds(std::nan(""))); }, std::errc::invalid_argument);
  expect_error([&] { q.put_bytes(nullptr, 3); }, std::errc::invalid_argument);
  expect_error([&] { q.get_into(nullptr, 3); }, std::errc::invalid_argument);
  q.put_bytes(nullptr, 0);  // an empty message needs no data
  EXPECT_EQ(q.get_into(nullptr, 0), 0u);
}

TEST_F(QueueBasic, UseAfterCloseIsAnError) {
  Queue q;
  q.put(1);
  q.close();
  EXPECT_TRUE(q.closed());
  expect_error([&] { q.put(2); }, errc::closed);
  expect_error([&] { q.get<int>(); }, errc::closed);
  expect_error([&] { q.get_nowait<int>(); }, errc::closed);
  expect_error([&] { (void)q.qsize(); }, errc::closed);
  expect_error([&] { (void)q.empty(); }, errc::closed);
  expect_error([&] { (void)q.full(); }, errc::closed);
  expect_error([&] { (void)q.handle(); }, errc::closed);
  q.close();  // twice: no-op
  Queue moved_to = std::move(q);
  expect_error([&] { q.put(1); }, errc::closed);  // NOLINT(bugprone-use-after-move): the test
  expect_error([&] { moved_to.put(1); }, errc::closed);
}

TEST_F(QueueBasic, CloseWakesACallBlockedInAnotherThread) {
  Queue q;
  std::atomic<int> code{0};
  std::thread consumer([&] {
    try {
      (void)q.get<int>();
    } catch (const Error& e) {
      code = e.code() == make_error_code(errc::closed) ? 1 : 2;
    }
  });
  q.close();
  consumer.join();
  EXPECT_EQ(code.load(), 1);
}

TEST_F(QueueBasic, AttachByHandleSharesTheQueue) {
  Queue q(QueueOptions{5, 4096});
  const std::string handle = q.handle();
  EXPECT_EQ(handle.rfind("/mproc-" + std::to_string(::getpid()) + "-", 0), 0u) << handle;
  EXPECT_LT(handle.size(), 64u);
  Queue other = Queue::attach(handle);
  EXPECT_EQ(other.maxsize(), 5u);
  EXPECT_EQ(other.capacity_bytes(), 4096u);
  q.put(std::string("via q"));
  EXPECT_EQ(other.get<std::string>(), "via q");
  other.put(7);
  EXPECT_EQ(q.get<int>(), 7);
}

TEST_F(QueueBasic, AttachRejectsMissingMalformedAndForeignHandles) {
  expect_error([&] { Queue::attach("/mproc-" + std::to_string(::getpid()) + "-no-such"); },
               std::errc::no_such_file_or_directory);
  expect_error([&] { Queue::attach(""); }, std::errc::invalid_argument);
  expect_error([&] { Queue::attach("no-slash"); }, std::errc::invalid_argument);
  expect_error([&] { Queue::attach("/a/b"); }, std::errc::invalid_argument);
  Queue q;
  SimpleQueue s;
  JoinableQueue j;
  expect_error([&] { SimpleQueue::attach(q.handle()); }, errc::bad_handle);
  expect_error([&] { JoinableQueue::attach(q.handle()); }, errc::bad_handle);
  expect_error([&] { Queue::attach(s.handle()); }, errc::bad_handle);
  expect_error([&] { Queue::attach(j.handle()); }, errc::bad_handle);
}

TEST_F(QueueBasic, TheNameGoesWithTheCreatorAndAttachedUsersGoOn) {
  Queue q;
  const std::string handle = q.handle();
  EXPECT_TRUE(shm_exists(handle));
  Queue other = Queue::attach(handle);
  {
    Queue third = Queue::attach(handle);
  }
  EXPECT_TRUE(shm_exists(handle));  // an attached user leaving does not remove it
  q.put(1);
  q.close();  // the creator is done: the name goes, the memory stays for the attached user
  EXPECT_FALSE(shm_exists(handle));
  other.put(2);
  EXPECT_EQ(other.get<int>(), 1);
  EXPECT_EQ(other.get<int>(), 2);
  expect_error([&] { Queue::attach(handle); }, std::errc::no_such_file_or_directory);
}

TEST_F(QueueBasic, DestroyingTheCreatorRemovesTheName) {
  std::string handle;
  {
    JoinableQueue q;
    handle = q.handle();
    EXPECT_TRUE(shm_exists(handle));
  }
  EXPECT_FALSE(shm_exists(handle));
}

TEST_F(QueueBasic, ThreadsShareAQueueExactlyOnce) {
  Queue q(QueueOptions{16, 1024});
  constexpr int kProducers = 3, kConsumers = 3, kEach = 20000;
  std::vector<std::atomic<int>> seen(kProducers * kEach);
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p)
    threads.emplace_back([&, p] {
      for (int i = 0; i < kEach; ++i) q.put(p * kEach + i);
    });
  std::atomic<int> order_errors{0};
  for (int c = 0; c < kConsumers; ++c)
    threads.emplace_back([&] {
      std::vector<int> last(kProducers, -1);
      while (true) {
        const int v = q.get<int>();
        if (v < 0) return;
        const int p = v / kEach;
        if (v % kEach <= last[p]) ++order_errors;
        last[p] = v % kEach;
        seen[v].fetch_add(1);
      }
    });
  for (int p = 0; p < kProducers; ++p) threads[p].join();
  for (int c = 0; c < kConsumers; ++c) q.put(-1);
  for (std::size_t t = kProducers; t < threads.size(); ++t) threads[t].join();
  EXPECT_EQ(order_errors.load(), 0);
  for (std::size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i].load(), 1) << "message " << i;
}

TEST_F(QueueBasic, SimpleQueueBasics) {
  SimpleQueue q(128);
  EXPECT_TRUE(q.empty());
  q.put(std::string("a"));
  q.put(std::string("b"));
  EXPECT_FALSE(q.empty());
  EXPECT_EQ(q.get<std::string>(), "a");
  EXPECT_EQ(q.get<std::string>(), "b");
  // Bounded only by bytes: a full ring blocks (here: times out) rather than growing.
  std::vector<char> chunk(56);
  q.put_bytes(chunk.data(), chunk.size());
  q.put_bytes(chunk.data(), chunk.size());
  expect_error([&] { q.put_bytes(chunk.data(), chunk.size(), true, 10ms); }, errc::full);
  SimpleQueue other = SimpleQueue::attach(q.handle());
  EXPECT_EQ(other.get_bytes().size(), 56u);
  q.close();
  expect_error([&] { q.put(1); }, errc::closed);
}

}  // namespace
}  // namespace mproc::test
