// Event between real processes.
#include <mproc/event.hpp>

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "support/leak_check.hpp"
#include "sync/sync_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using mproc::Event;
using mproc::Process;
using mproc::test::eventually;
using mproc::test::expect_error;
using mproc::test::join_code;
using mproc::test::kLong;
using mproc::test::sleeping_in_futex;
using EventTest = mproc::test::LeakCheckedTest;

TEST_F(EventTest, SetClearIsSet) {
  Event event;
  EXPECT_FALSE(event.is_set());
  EXPECT_FALSE(event.wait(0s));
  EXPECT_FALSE(event.wait(10ms));
  event.set();
  EXPECT_TRUE(event.is_set());
  event.set();  // setting twice is harmless
  EXPECT_TRUE(event.wait());
  EXPECT_TRUE(event.wait(0s));
  event.clear();
  EXPECT_FALSE(event.is_set());
  EXPECT_FALSE(event.wait(1ms));
}

TEST_F(EventTest, InvalidTimeoutIsRejected) {
  Event event;
  expect_error([&] { event.wait(-1s); }, std::errc::invalid_argument);
}

TEST_F(EventTest, SetWakesEveryWaitingProcess) {
  Event event;
  std::vector<Process> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.emplace_back([&]() { throw mproc::SystemExit(event.wait(kLong) && event.is_set() ? 0 : 1); });
    waiters.back().start();
  }
  for (auto& w : waiters) ASSERT_TRUE(eventually([&] { return sleeping_in_futex(*w.pid()); }));
  event.set();
  for (auto& w : waiters) EXPECT_EQ(join_code(w), 0);
}

TEST_F(EventTest, AWaiterWokenBySetReturnsTrueEvenIfClearedAgain) {
  Event event;
  Process waiter([&]() { throw mproc::SystemExit(event.wait(kLong) ? 0 : 1); });
  waiter.start();
  ASSERT_TRUE(eventually([&] { return sleeping_in_futex(*waiter.pid()); }));
  event.set();
  event.clear();
  EXPECT_EQ(join_code(waiter), 0);
  EXPECT_FALSE(event.is_set());
}

TEST_F(EventTest, AWaiterTimesOutWhenNobodySets) {
  Event event;
  Process waiter([&]() { throw mproc::SystemExit(event.wait(20ms) ? 1 : 0); });
  waiter.start();
  EXPECT_EQ(join_code(waiter), 0);
}

TEST_F(EventTest, ChildSetsParentWaits) {
  Event event;
  Process setter([&] { event.set(); });
  setter.start();
  EXPECT_TRUE(event.wait(kLong));
  EXPECT_EQ(join_code(setter), 0);
  EXPECT_TRUE(event.is_set());
}

TEST_F(EventTest, WorksBetweenThreads) {
  Event event;
  bool seen = false;
  std::thread waiter([&] { seen = event.wait(kLong); });
  event.set();
  waiter.join();
  EXPECT_TRUE(seen);
}

}  // namespace
