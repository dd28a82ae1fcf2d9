// White-box: the solo fast path (queue_solo.cpp) and the note of the side's owner it trusts
// (SoloOwner, queue_exclusive.hpp). A thread that is not the owner, and a forked child of the
// owner (same pthread_t, another process), must take the lock instead.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <ostream>
#include <pthread.h>
#include <string>
#include <thread>

#include "base/deadline.hpp"
#include "queue_core_test_support.hpp"
#include "transport/queue_core.hpp"

namespace mproc::test {
namespace {

using detail::Deadline;
using detail::queue::kSoloMany;
using detail::queue::QueueConfig;
using detail::queue::QueueCore;
using detail::queue::QueueShared;

using QueueSolo = QueueTest;

struct Kind {
  const char* name;
  bool grows;
};
void PrintTo(const Kind& kind, std::ostream* out) { *out << kind.name; }
class QueueSoloKinds : public QueueSolo, public ::testing::WithParamInterface<Kind> {
 protected:
  std::unique_ptr<QueueCore> make() const {
    QueueConfig config;
    config.grows = GetParam().grows;
    return QueueCore::create(config);
  }
};

// A child of fork() runs on the parent's thread's pthread_t: the note of the owner must not make
// it the owner too (two producers writing at one tail), so its put ends solo mode.
TEST_P(QueueSoloKinds, AForkedChildOfTheSoloProducerTakesTheLock) {
  auto q = make();
  put_string(*q, "parent");  // claims the producers' side
  const QueueShared& s = q->shared();
  ASSERT_NE(s.solo_producer.load(), 0u);
  ASSERT_NE(s.solo_producer.load(), kSoloMany);
  in_child_that_dies([&] { put_string(*q, "child"); });
  EXPECT_EQ(s.solo_producer.load(), kSoloMany);
  EXPECT_EQ(s.producer_busy.load(), 0);
  put_string(*q, "parent again");  // under the lock now
  EXPECT_EQ(get_string(*q), "parent");
  EXPECT_EQ(get_string(*q), "child");
  EXPECT_EQ(get_string(*q), "parent again");
  EXPECT_EQ(s.lock_recoveries.load(), 0u);
}

TEST_P(QueueSoloKinds, AForkedChildOfTheSoloConsumerTakesTheLock) {
  auto q = make();
  for (const char* m : {"one", "two", "three"}) put_string(*q, m);
  EXPECT_EQ(get_string(*q), "one");  // claims the consumers' side
  const QueueShared& s = q->shared();
  ASSERT_NE(s.solo_consumer.load(), 0u);
  ASSERT_NE(s.solo_consumer.load(), kSoloMany);
  in_child_that_dies([&] {
    if (get_string(*q) != "two") ::_exit(1);
  });
  EXPECT_EQ(s.solo_consumer.load(), kSoloMany);
  EXPECT_EQ(s.consumer_busy.load(), 0);
  EXPECT_EQ(get_string(*q), "three");
  EXPECT_TRUE(q->empty());
}

// Once a second thread has ended solo mode, the first thread's next put must wait for the lock:
// here a third thread holds it, so a non-blocking put times out (on the solo path it would have
// written beside the lock's holder).
TEST_P(QueueSoloKinds, TheFormerSoloProducerTakesTheLockAfterASecondThreadPut) {
  auto q = make();
  put_string(*q, "first");  // this thread claims the producers' side
  std::thread([&] { put_string(*q, "second"); }).join();
  QueueShared& s = q->shared();
  ASSERT_EQ(s.solo_producer.load(), kSoloMany);

  std::mutex m;
  std::condition_variable cv;
  bool locked = false, done = false;
  std::thread holder([&] {
    ASSERT_EQ(::pthread_mutex_lock(&s.put_lock), 0);
    std::unique_lock<std::mutex> lock(m);
    locked = true;
    cv.notify_all();
    cv.wait(lock, [&] { return done; });
    ::pthread_mutex_unlock(&s.put_lock);
  });
  {
    std::unique_lock<std::mutex> lock(m);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return locked; }));
  }
  const std::string third = "third";
  try {
    q->put(third.data(), third.size(), false, Deadline());
    ADD_FAILURE() << "a put beside the lock's holder succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::timed_out)) << e.what();
  }
  {
    std::lock_guard<std::mutex> lock(m);
    done = true;
  }
  cv.notify_all();
  holder.join();

  put_string(*q, "third");
  EXPECT_EQ(get_string(*q), "first");
  EXPECT_EQ(get_string(*q), "second");
  EXPECT_EQ(get_string(*q), "third");
  EXPECT_TRUE(q->empty());
}

INSTANTIATE_TEST_SUITE_P(FixedAndGrowing, QueueSoloKinds,
                         ::testing::Values(Kind{"fixed", false}, Kind{"growing", true}),
                         [](const ::testing::TestParamInfo<Kind>& kind) {
                           return std::string(kind.param.name);
                         });

}  // namespace
}  // namespace mproc::test
