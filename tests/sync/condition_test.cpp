// Condition between real processes, over a Lock and over an RLock.
#include <mproc/condition.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <vector>

#include "support/leak_check.hpp"
#include "sync/sync_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using mproc::Condition;
using mproc::errc;
using mproc::Lock;
using mproc::Process;
using mproc::RLock;
using mproc::test::expect_error;
using mproc::test::join_code;
using mproc::test::kLong;
using mproc::test::SharedBlock;
using ConditionTest = mproc::test::LeakCheckedTest;

TEST_F(ConditionTest, WaitAndNotifyNeedTheLock) {
  Condition cond;
  expect_error([&] { cond.wait(0s); }, errc::bad_state);
  expect_error([&] { cond.notify(); }, errc::bad_state);
  expect_error([&] { cond.notify_all(); }, errc::bad_state);
  expect_error([&] { cond.release(); }, errc::bad_state);
}

TEST_F(ConditionTest, WaitTimesOutWithTheLockHeldAgain) {
  Lock lock;
  Condition cond(lock);
  std::lock_guard guard(cond);
  EXPECT_FALSE(cond.wait(10ms));
  EXPECT_TRUE(lock.is_mine());
  EXPECT_FALSE(cond.wait(0s));
  EXPECT_FALSE(cond.wait_for([] { return false; }, 10ms));
  EXPECT_TRUE(cond.wait_for([] { return true; }, 0s));
  expect_error([&] { cond.wait(-1s); }, std::errc::invalid_argument);
  EXPECT_TRUE(lock.is_mine());
}

TEST_F(ConditionTest, NotifyWithoutWaitersDoesNothing) {
  Condition cond;
  cond.acquire();
  cond.notify();
  cond.notify_all();
  cond.notify(0);
  EXPECT_FALSE(cond.wait(1ms));  // earlier notifications are not remembered
  cond.release();
}

struct Queue {
  int items = 0;
  int consumed = 0;
  bool done = false;
};

TEST_F(ConditionTest, ProducerAndConsumersAcrossProcesses) {
  Lock lock;
  Condition cond(lock);
  SharedBlock<Queue> q;
  constexpr int kConsumers = 3;
  constexpr int kItems = 300;
  std::vector<Process> consumers;
  for (int i = 0; i < kConsumers; ++i) {
    consumers.emplace_back([&]() {
      for (;;) {
        std::lock_guard guard(cond);
        if (!cond.wait_for([&] { return q->items > 0 || q->done; }, kLong)) throw mproc::SystemExit(1);
        if (q->items == 0) return;  // done
        --q->items;
        ++q->consumed;
      }
    });
    consumers.back().start();
  }
  for (int i = 0; i < kItems; ++i) {
    std::lock_guard guard(cond);
    ++q->items;
    cond.notify();
  }
  {
    std::lock_guard guard(cond);
    q->done = true;
    cond.notify_all();
  }
  for (auto& c : consumers) EXPECT_EQ(join_code(c), 0);
  EXPECT_EQ(q->consumed, kItems);
  EXPECT_EQ(q->items, 0);
}

TEST_F(ConditionTest, NotifyOneWakesOneAndNotifyAllWakesTheRest) {
  Lock lock;
  Condition go(lock);
  Condition progress(lock);
  struct Counts {
    int ready = 0;
    int woken = 0;
  };
  SharedBlock<Counts> counts;
  std::vector<Process> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.emplace_back([&]() {
      std::lock_guard guard(lock);
      ++counts->ready;
      progress.notify_all();
      const bool notified = go.wait(kLong);
      ++counts->woken;
      progress.notify_all();
      throw mproc::SystemExit(notified ? 0 : 1);
    });
    waiters.back().start();
  }
  std::unique_lock guard(lock);
  ASSERT_TRUE(progress.wait_for([&] { return counts->ready == 3; }, kLong));
  go.notify(1);
  ASSERT_TRUE(progress.wait_for([&] { return counts->woken >= 1; }, kLong));
  // Only one wake-up was granted: the other two went back to sleep (or never woke).
  EXPECT_EQ(counts->woken, 1);
  go.notify(1);
  ASSERT_TRUE(progress.wait_for([&] { return counts->woken >= 2; }, kLong));
  EXPECT_EQ(counts->woken, 2);
  go.notify_all();
  ASSERT_TRUE(progress.wait_for([&] { return counts->woken == 3; }, kLong));
  guard.unlock();
  for (auto& w : waiters) EXPECT_EQ(join_code(w), 0);
}

TEST_F(ConditionTest, WaitReleasesAnRLockAtAnyDepthAndRestoresIt) {
  RLock lock;
  Condition cond(lock);
  SharedBlock<int> flag;
  lock.acquire();
  lock.acquire();
  Process setter([&]() {
    // Can only get the lock while the parent is inside wait().
    if (!lock.acquire(true, kLong)) throw mproc::SystemExit(1);
    *flag = 1;
    cond.notify();
    lock.release();
    return;
  });
  setter.start();
  EXPECT_TRUE(cond.wait_for([&] { return *flag == 1; }, kLong));
  EXPECT_TRUE(lock.is_mine());
  lock.release();
  EXPECT_TRUE(lock.is_mine());  // still held once: the depth was restored
  lock.release();
  EXPECT_FALSE(lock.is_mine());
  EXPECT_EQ(join_code(setter), 0);
}

TEST_F(ConditionTest, AWaiterRecoversTheLockWhenTheNotifierDiesHoldingIt) {
  Lock lock;
  Condition cond(lock);
  lock.acquire();
  Process notifier([&] {
    lock.acquire();
    cond.notify();
    ::raise(SIGKILL);  // dies holding the lock
  });
  notifier.start();
  EXPECT_TRUE(cond.wait(kLong));
  EXPECT_TRUE(lock.is_mine());
  EXPECT_TRUE(cond.owner_died());
  lock.release();
  EXPECT_EQ(join_code(notifier), -SIGKILL);
}

TEST_F(ConditionTest, DefaultConditionUsesAnRLock) {
  Condition cond;
  cond.acquire();
  cond.acquire();  // recursive
  cond.release();
  cond.notify();
  cond.release();
  expect_error([&] { cond.release(); }, errc::bad_state);
}

}  // namespace
