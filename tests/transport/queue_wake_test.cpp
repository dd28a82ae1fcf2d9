// White-box: a sleeper costs one wake. A waiting consumer (producer) announces itself in the low
// bit of put_event (get_event); a put (get) changes the word and wakes only while that bit is set,
// so the puts made before the woken consumer runs again make no futex calls.
#include <atomic>
#include <chrono>
#include <sched.h>
#include <string>
#include <thread>

#include "base/deadline.hpp"
#include "queue_core_test_support.hpp"
#include "transport/queue_core.hpp"

namespace mproc::test {
namespace {

using detail::Deadline;
using detail::queue::QueueConfig;
using detail::queue::QueueCore;
using detail::queue::QueueShared;

using QueueWake = QueueTest;

// Waits (bounded) until `waiting` counts `sleepers` and `event` carries the announcement bit.
bool announced(const std::atomic<std::uint32_t>& waiting, const std::atomic<std::uint32_t>& event,
               std::uint32_t sleepers) {
  const Deadline limit(std::chrono::seconds(30));
  while (!(waiting.load() == sleepers && (event.load() & 1) != 0)) {
    if (limit.expired()) return false;
    ::sched_yield();
  }
  return true;
}

TEST_F(QueueWake, APutWakesAnAnnouncedConsumerOnceAndLaterPutsLeaveTheWordAlone) {
  auto q = QueueCore::create(QueueConfig{});
  QueueShared& s = q->shared();
  std::string got;
  std::thread consumer([&] { got = get_string(*q, true); });
  ASSERT_TRUE(announced(s.consumers_waiting, s.put_event, 1));
  const std::uint32_t before = s.put_event.load();
  put_string(*q, "wake up");
  EXPECT_EQ(s.put_event.load(), before + 1);  // changed once, the bit cleared
  consumer.join();
  EXPECT_EQ(got, "wake up");
  // Nobody announced: puts do not touch the word (and make no system call).
  for (int i = 0; i < 100; ++i) put_string(*q, std::to_string(i));
  EXPECT_EQ(s.put_event.load(), before + 1);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(get_string(*q), std::to_string(i));
}

TEST_F(QueueWake, EveryAnnouncedConsumerIsWoken) {
  auto q = QueueCore::create(QueueConfig{});
  QueueShared& s = q->shared();
  std::string got[2];
  std::thread first([&] { got[0] = get_string(*q, true); });
  std::thread second([&] { got[1] = get_string(*q, true); });
  ASSERT_TRUE(announced(s.consumers_waiting, s.put_event, 2));
  put_string(*q, "a");
  put_string(*q, "b");
  first.join();  // each get waits at most its 30 s
  second.join();
  EXPECT_TRUE((got[0] == "a" && got[1] == "b") || (got[0] == "b" && got[1] == "a"))
      << got[0] << ", " << got[1];
}

TEST_F(QueueWake, AGetWakesAnAnnouncedProducerOnce) {
  auto q = QueueCore::create(QueueConfig{detail::queue::QueueKind::queue, 0, 64, false});
  QueueShared& s = q->shared();
  const std::string message(56, 'm');  // header and message fill the 64-byte ring
  put_string(*q, message);
  std::thread producer([&] { put_string(*q, "second"); });
  ASSERT_TRUE(announced(s.producers_waiting, s.get_event, 1));
  const std::uint32_t before = s.get_event.load();
  EXPECT_EQ(get_string(*q), message);
  EXPECT_EQ(s.get_event.load(), before + 1);
  producer.join();
  EXPECT_EQ(get_string(*q, true), "second");
  EXPECT_EQ(s.get_event.load(), before + 1);
}

}  // namespace
}  // namespace mproc::test
