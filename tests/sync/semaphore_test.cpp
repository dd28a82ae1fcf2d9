// Semaphore and BoundedSemaphore between real processes.
#include <mproc/semaphore.hpp>

#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "support/leak_check.hpp"
#include "sync/sync_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using mproc::BoundedSemaphore;
using mproc::errc;
using mproc::Process;
using mproc::Semaphore;
using mproc::test::expect_error;
using mproc::test::join_code;
using mproc::test::kLong;
using mproc::test::SharedBlock;
using mproc::test::Signal;
using SemaphoreTest = mproc::test::LeakCheckedTest;

TEST_F(SemaphoreTest, CountsDownAndUp) {
  Semaphore sem(2);
  EXPECT_EQ(sem.get_value(), 2);
  EXPECT_TRUE(sem.acquire());
  EXPECT_TRUE(sem.acquire(false));
  EXPECT_EQ(sem.get_value(), 0);
  EXPECT_FALSE(sem.acquire(false));
  EXPECT_FALSE(sem.acquire(true, 10ms));
  EXPECT_FALSE(sem.acquire(true, 0s));
  sem.release();
  sem.release();
  sem.release();  // an unbounded semaphore may go above its initial value
  EXPECT_EQ(sem.get_value(), 3);
}

TEST_F(SemaphoreTest, DefaultIsOne) {
  Semaphore sem;
  BoundedSemaphore bounded;
  EXPECT_EQ(sem.get_value(), 1);
  EXPECT_EQ(bounded.get_value(), 1);
}

TEST_F(SemaphoreTest, NegativeValuesAndTimeoutsAreRejected) {
  expect_error([] { Semaphore sem(-1); }, std::errc::invalid_argument);
  expect_error([] { BoundedSemaphore sem(-5); }, std::errc::invalid_argument);
  Semaphore sem(0);
  expect_error([&] { sem.acquire(true, -1ms); }, std::errc::invalid_argument);
}

TEST_F(SemaphoreTest, ReleasingPastTheMaximumIsAnError) {
  Semaphore sem(Semaphore::kMaxValue);
  expect_error([&] { sem.release(); }, std::errc::value_too_large);
  EXPECT_EQ(sem.get_value(), Semaphore::kMaxValue);
}

TEST_F(SemaphoreTest, BoundedOverReleaseIsAnErrorAndTheValueStays) {
  BoundedSemaphore sem(2);
  expect_error([&] { sem.release(); }, errc::bad_state);
  EXPECT_EQ(sem.get_value(), 2);
  EXPECT_TRUE(sem.acquire());
  sem.release();
  EXPECT_EQ(sem.get_value(), 2);
  expect_error([&] { sem.release(); }, errc::bad_state);
  EXPECT_EQ(sem.get_value(), 2);
}

TEST_F(SemaphoreTest, BoundedOverReleaseFromAnotherProcess) {
  BoundedSemaphore sem(1);
  Process child([&]() {
    if (!sem.acquire(false)) throw mproc::SystemExit(1);
    sem.release();
    try {
      sem.release();
      throw mproc::SystemExit(2);
    } catch (const mproc::Error& e) {
      throw mproc::SystemExit(e.code() == mproc::make_error_code(errc::bad_state) ? 0 : 3);
    }
  });
  child.start();
  EXPECT_EQ(join_code(child), 0);
  EXPECT_EQ(sem.get_value(), 1);
}

TEST_F(SemaphoreTest, ReleaseWakesWaitersInOtherProcesses) {
  Semaphore sem(0);
  SharedBlock<int> acquired;
  std::vector<Process> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.emplace_back([&]() {
      if (!sem.acquire(true, kLong)) throw mproc::SystemExit(1);
      __atomic_fetch_add(&*acquired, 1, __ATOMIC_SEQ_CST);
      return;
    });
    waiters.back().start();
  }
  for (auto& w : waiters)
    ASSERT_TRUE(mproc::test::eventually([&] { return mproc::test::sleeping_in_futex(*w.pid()); }));
  for (int i = 0; i < 3; ++i) sem.release();
  for (auto& w : waiters) EXPECT_EQ(join_code(w), 0);
  EXPECT_EQ(*acquired, 3);
  EXPECT_EQ(sem.get_value(), 0);
}

TEST_F(SemaphoreTest, LimitsConcurrencyAcrossProcesses) {
  // Four processes share two units: never more than two inside at once.
  Semaphore sem(2);
  struct Shared {
    int inside = 0;
    int most = 0;
  };
  SharedBlock<Shared> shared;
  mproc::test::Gate gate;
  std::vector<Process> children;
  for (int i = 0; i < 4; ++i) {
    children.emplace_back([&] {
      gate.pass();
      for (int k = 0; k < 20000; ++k) {
        std::lock_guard guard(sem);
        const int now = __atomic_add_fetch(&shared->inside, 1, __ATOMIC_SEQ_CST);
        int most = __atomic_load_n(&shared->most, __ATOMIC_SEQ_CST);
        while (now > most && !__atomic_compare_exchange_n(&shared->most, &most, now, false,
                                                          __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        }
        __atomic_sub_fetch(&shared->inside, 1, __ATOMIC_SEQ_CST);
      }
    });
    children.back().start();
  }
  gate.open_all();
  for (auto& c : children) EXPECT_EQ(join_code(c), 0);
  EXPECT_LE(shared->most, 2);
  EXPECT_GE(shared->most, 1);
  EXPECT_EQ(sem.get_value(), 2);
}

TEST_F(SemaphoreTest, CopiesShareTheCount) {
  BoundedSemaphore sem(1);
  BoundedSemaphore copy = sem;
  EXPECT_TRUE(copy.acquire(false));
  EXPECT_EQ(sem.get_value(), 0);
  sem.release();
  EXPECT_EQ(copy.get_value(), 1);
}

}  // namespace
