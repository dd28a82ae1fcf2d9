// The default queues are bounded only by memory, as Python's: messages of any size (2 MiB, 64 MiB)
// and any count (100 000 puts before any get); maxsize still bounds the count; the memory of
// taken messages goes back; the one /dev/shm name goes with its owner, closed or killed.
#include <mproc/process.hpp>
#include <mproc/queue.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <vector>

#include "queue_test_support.hpp"

namespace mproc::test {
namespace {

using namespace std::chrono_literals;

using QueueUnbounded = QueueTest;

std::vector<std::byte> pattern(std::size_t size, unsigned salt) {
  std::vector<std::byte> v(size);
  std::uint32_t x = 2166136261u ^ salt;
  for (std::size_t i = 0; i < size; ++i) {
    x = x * 1664525u + 1013904223u;
    v[i] = static_cast<std::byte>(x >> 24);
  }
  return v;
}

// Bytes of memory the queue's /dev/shm file holds (its allocated blocks, not its length).
std::uint64_t allocated_bytes(const std::string& handle) {
  struct stat st {};
  if (::stat(("/dev/shm" + handle).c_str(), &st) != 0) return 0;
  return static_cast<std::uint64_t>(st.st_blocks) * 512;
}

template <class Q>
void large_messages_round_trip(Q& q) {
  const auto two = pattern(2 << 20, 1), sixty_four = pattern(64 << 20, 2), small = pattern(100, 3);
  q.put_bytes(two.data(), two.size());
  q.put_bytes(small.data(), small.size());
  q.put_bytes(sixty_four.data(), sixty_four.size());
  EXPECT_TRUE(q.get_bytes() == two);
  EXPECT_TRUE(q.get_bytes() == small);
  EXPECT_TRUE(q.get_bytes() == sixty_four);
  EXPECT_TRUE(q.empty());
}

TEST_F(QueueUnbounded, MessagesOf2And64MiBTravelInEveryKind) {
  Queue q;
  EXPECT_GE(q.max_message_size(), std::size_t{1} << 40);
  large_messages_round_trip(q);
  SimpleQueue s;
  large_messages_round_trip(s);
  JoinableQueue j;
  large_messages_round_trip(j);
  for (int i = 0; i < 3; ++i) j.task_done();
  EXPECT_TRUE(j.join(1s));
}

TEST_F(QueueUnbounded, AHundredThousandPutsBeforeAnyGet) {
  Queue q;
  constexpr int kCount = 100'000;
  for (int i = 0; i < kCount; ++i) q.put_nowait(i);  // never full: no wait, no error
  EXPECT_EQ(q.qsize(), std::size_t{kCount});
  EXPECT_FALSE(q.full());
  for (int i = 0; i < kCount; ++i) ASSERT_EQ(q.get_nowait<int>(), i);
  EXPECT_TRUE(q.empty());
  SimpleQueue s;
  const std::string text(200, 't');
  for (int i = 0; i < kCount; ++i) s.put(text, false);  // 20 MB of them
  for (int i = 0; i < kCount; ++i) ASSERT_EQ(s.get<std::string>(false).size(), text.size());
  EXPECT_TRUE(s.empty());
}

TEST_F(QueueUnbounded, MaxsizeStillBoundsTheCount) {
  Queue q(2);
  const auto big = pattern(2 << 20, 4);
  q.put_bytes(big.data(), big.size());
  q.put(1);
  EXPECT_TRUE(q.full());
  expect_error([&] { q.put_nowait(2); }, errc::full);
  expect_error([&] { q.put_bytes(big.data(), big.size(), true, 10ms); }, errc::full);
  // A blocked put resumes when another thread takes a message.
  std::thread consumer([&] { EXPECT_TRUE(q.get_bytes() == big); });
  q.put_bytes(big.data(), big.size(), true, 30s);
  consumer.join();
  EXPECT_EQ(q.get<int>(), 1);
  EXPECT_TRUE(q.get_bytes() == big);
}

TEST_F(QueueUnbounded, TheMemoryOfTakenMessagesIsGivenBack) {
  Queue q;
  const std::string handle = q.handle();
  const std::uint64_t at_start = allocated_bytes(handle);
  EXPECT_GT(at_start, 0u);
  const auto big = pattern(64 << 20, 5);
  for (int i = 0; i < 200'000; ++i) q.put_nowait(i);  // grows past the first ring
  q.put_bytes(big.data(), big.size());
  EXPECT_GT(allocated_bytes(handle), at_start + (64u << 20));
  for (int i = 0; i < 200'000; ++i) ASSERT_EQ(q.get_nowait<int>(), i);
  EXPECT_TRUE(q.get_bytes() == big);
  q.put(7);  // on an empty queue: back to the first ring, and the grown ones are freed
  EXPECT_EQ(q.get<int>(), 7);
  // All but the grown rings of 2 and 4 MiB, kept for the next burst.
  EXPECT_LE(allocated_bytes(handle), at_start + (64u << 10) + (6u << 20));
}

TEST_F(QueueUnbounded, ALargeMessageCrossesProcesses) {
  Queue q;
  const auto big = pattern(64 << 20, 6);
  Process producer([&q, &big] { q.put_bytes(big.data(), big.size()); });
  producer.start();
  EXPECT_TRUE(q.get_bytes(true, 60s) == big);
  ASSERT_TRUE(producer.join(60s));
  EXPECT_EQ(producer.exitcode(), 0);
  // And the other way: a consumer process, many small messages that chain rings first.
  Process consumer([&q, &big] {
    for (int i = 0; i < 50'000; ++i)
      if (q.get<int>(true, 60s) != i) throw SystemExit(1);
    if (q.get_bytes(true, 60s) != big) throw SystemExit(2);
  });
  for (int i = 0; i < 50'000; ++i) q.put(i);
  q.put_bytes(big.data(), big.size());
  consumer.start();
  ASSERT_TRUE(consumer.join(60s));
  EXPECT_EQ(consumer.exitcode(), 0);
}

TEST_F(QueueUnbounded, TheNameGoesWhenTheOwnerIsKilled) {
  Signal ready;
  Process owner([&ready] {
    Queue q;
    for (int i = 0; i < 200'000; ++i) q.put_nowait(i);
    const auto big = pattern(4 << 20, 7);
    q.put_bytes(big.data(), big.size());
    ready.send(q.handle());
    std::this_thread::sleep_for(60s);  // killed here
  });
  owner.start();
  const std::string handle = ready.receive(60s);
  ASSERT_FALSE(handle.empty());
  EXPECT_GT(allocated_bytes(handle), 4u << 20);
  const pid_t pid = *owner.pid();
  owner.kill();
  ASSERT_TRUE(owner.join(30s));
  // The owner's tracker removes the name once it sees its owner gone (bounded wait).
  const auto until = std::chrono::steady_clock::now() + 30s;
  while (!shm_entries_of(pid).empty() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(shm_entries_of(pid).empty());
}

}  // namespace
}  // namespace mproc::test
