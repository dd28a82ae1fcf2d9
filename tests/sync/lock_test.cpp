// Lock and RLock between real processes: mutual exclusion, timeouts, recovery from a holder that
// dies, ownership, fork behaviour, and the std lock adaptors.
#include <mproc/lock.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <csignal>
#include <mutex>
#include <thread>
#include <vector>

#include "support/leak_check.hpp"
#include "sync/sync_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using mproc::errc;
using mproc::Lock;
using mproc::Process;
using mproc::RLock;
using mproc::test::error_of;
using mproc::test::expect_error;
using mproc::test::join_code;
using mproc::test::kLong;
using mproc::test::SharedBlock;
using mproc::test::Signal;
using LockTest = mproc::test::LeakCheckedTest;

struct Counter {
  long value = 0;
};

template <class L>
void expect_mutual_exclusion(int processes, long increments) {
  L lock;
  SharedBlock<Counter> counter;
  mproc::test::Gate gate;
  std::vector<Process> children;
  for (int i = 0; i < processes; ++i) {
    children.emplace_back([&] {
      gate.pass();
      for (long k = 0; k < increments; ++k) {
        std::lock_guard guard(lock);
        // A read-modify-write in two steps, to make a lost update likely without the lock.
        const long seen = counter->value;
        counter->value = seen + 1;
      }
    });
    children.back().start();
  }
  gate.open_all();
  for (auto& child : children) EXPECT_EQ(join_code(child), 0);
  EXPECT_EQ(counter->value, processes * increments);
}

TEST_F(LockTest, MutualExclusionBetweenFourProcesses) { expect_mutual_exclusion<Lock>(4, 50000); }

TEST_F(LockTest, RLockMutualExclusionBetweenThreeProcesses) {
  expect_mutual_exclusion<RLock>(3, 50000);
}

TEST_F(LockTest, MutualExclusionBetweenThreads) {
  Lock lock;
  long counter = 0;
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      for (int k = 0; k < 20000; ++k) {
        std::scoped_lock guard(lock);
        ++counter;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter, 80000);
}

TEST_F(LockTest, AcquireAndReleaseInOneProcess) {
  Lock lock;
  EXPECT_FALSE(lock.is_mine());
  EXPECT_TRUE(lock.acquire());
  EXPECT_TRUE(lock.is_mine());
  EXPECT_FALSE(lock.owner_died());
  lock.release();
  EXPECT_FALSE(lock.is_mine());
  EXPECT_TRUE(lock.acquire(false));
  lock.release();
  EXPECT_TRUE(lock.acquire(true, 0s));
  lock.release();
}

TEST_F(LockTest, ReleaseOfAnUnheldLockIsAnError) {
  Lock lock;
  expect_error([&] { lock.release(); }, errc::bad_state);
  lock.acquire();
  lock.release();
  expect_error([&] { lock.release(); }, errc::bad_state);
}

TEST_F(LockTest, ReacquiringAHeldLockIsADeadlockError) {
  Lock lock;
  lock.acquire();
  EXPECT_FALSE(lock.acquire(false));
  EXPECT_FALSE(lock.try_lock());
  expect_error([&] { lock.acquire(); }, std::errc::resource_deadlock_would_occur);
  expect_error([&] { lock.acquire(true, 10ms); }, std::errc::resource_deadlock_would_occur);
  lock.release();
}

TEST_F(LockTest, InvalidTimeoutsAreRejected) {
  Lock lock;
  expect_error([&] { lock.acquire(true, -1s); }, std::errc::invalid_argument);
  expect_error([&] { lock.acquire(true, mproc::Seconds(std::nan(""))); },
               std::errc::invalid_argument);
  EXPECT_FALSE(lock.is_mine());
}

TEST_F(LockTest, OtherProcessesFailToAcquireAHeldLockWithinTheirTimeout) {
  Lock lock;
  lock.acquire();
  Process child([&]() {
    if (lock.try_lock()) throw mproc::SystemExit(1);
    if (lock.acquire(false)) throw mproc::SystemExit(2);
    if (lock.acquire(true, 20ms)) throw mproc::SystemExit(3);
    std::unique_lock guard(lock, std::defer_lock);
    if (guard.try_lock_for(1ms)) throw mproc::SystemExit(4);
    return;
  });
  child.start();
  EXPECT_EQ(join_code(child), 0);
  lock.release();
}

TEST_F(LockTest, AWaitingProcessGetsTheLockWhenItIsReleased) {
  Lock lock;
  Signal started;
  lock.acquire();
  Process child([&]() {
    started.notify();
    if (!lock.acquire(true, kLong)) throw mproc::SystemExit(1);
    if (lock.owner_died()) throw mproc::SystemExit(2);
    lock.release();
    return;
  });
  child.start();
  ASSERT_TRUE(started.wait());
  ASSERT_TRUE(
      mproc::test::eventually([&] { return mproc::test::sleeping_in_futex(*child.pid()); }));
  lock.release();
  EXPECT_EQ(join_code(child), 0);
}

template <class L>
void expect_recovery_after_kill(int depth) {
  L lock;
  Signal holding;
  Process holder([&] {
    for (int i = 0; i < depth; ++i) lock.acquire();
    holding.notify();
    for (;;) ::pause();
  });
  holder.start();
  ASSERT_TRUE(holding.wait());
  EXPECT_FALSE(lock.acquire(false));
  holder.kill();
  EXPECT_EQ(join_code(holder), -SIGKILL);

  ASSERT_TRUE(lock.acquire(true, kLong));
  EXPECT_TRUE(lock.owner_died());
  EXPECT_TRUE(lock.is_mine());
  lock.release();  // one release frees it, whatever depth the dead holder had reached
  EXPECT_FALSE(lock.is_mine());

  // The lock is usable again, and the next acquisition is a normal one.
  Process next([&]() {
    if (!lock.acquire(true, kLong)) throw mproc::SystemExit(1);
    const bool died = lock.owner_died();
    lock.release();
    throw mproc::SystemExit(died ? 2 : 0);
  });
  next.start();
  EXPECT_EQ(join_code(next), 0);
}

TEST_F(LockTest, LockHolderKilledTheNextAcquirerRecoversIt) { expect_recovery_after_kill<Lock>(1); }

TEST_F(LockTest, RLockHolderKilledAtDepthThreeTheNextAcquirerRecoversIt) {
  expect_recovery_after_kill<RLock>(3);
}

TEST_F(LockTest, AWaiterIsWokenWhenTheHolderIsKilled) {
  Lock lock;
  Signal holding;
  Signal waiting;
  Process holder([&] {
    lock.acquire();
    holding.notify();
    for (;;) ::pause();
  });
  holder.start();
  ASSERT_TRUE(holding.wait());
  Process waiter([&]() {
    waiting.notify();
    if (!lock.acquire(true, kLong)) throw mproc::SystemExit(1);
    const bool died = lock.owner_died();
    lock.release();
    throw mproc::SystemExit(died ? 0 : 2);
  });
  waiter.start();
  ASSERT_TRUE(waiting.wait());
  ASSERT_TRUE(
      mproc::test::eventually([&] { return mproc::test::sleeping_in_futex(*waiter.pid()); }));
  holder.kill();
  EXPECT_EQ(join_code(holder), -SIGKILL);
  EXPECT_EQ(join_code(waiter), 0);
}

TEST_F(LockTest, AHolderThatExitsWithoutReleasingIsDetected) {
  Lock lock;
  Process holder([&] { lock.acquire(); });
  holder.start();
  EXPECT_EQ(join_code(holder), 0);
  ASSERT_TRUE(lock.acquire(true, kLong));
  EXPECT_TRUE(lock.owner_died());
  lock.release();
}

TEST_F(LockTest, AThreadThatEndsHoldingTheLockIsDetected) {
  RLock lock;
  std::thread([&] { lock.acquire(); }).join();
  ASSERT_TRUE(lock.acquire(true, kLong));
  EXPECT_TRUE(lock.owner_died());
  lock.release();
  EXPECT_TRUE(lock.acquire(false));
  EXPECT_FALSE(lock.owner_died());
  lock.release();
}

TEST_F(LockTest, AChildForkedWhileTheParentHoldsTheLockDoesNotHoldIt) {
  Lock lock;
  Signal tried;
  lock.acquire();
  Process child([&]() {
    if (lock.is_mine()) throw mproc::SystemExit(1);
    if (lock.try_lock()) throw mproc::SystemExit(2);
    if (error_of([&] { lock.release(); }) != mproc::make_error_code(errc::bad_state)) throw mproc::SystemExit(3);
    tried.notify();
    // Waits until the parent releases it.
    if (!lock.acquire(true, kLong)) throw mproc::SystemExit(4);
    if (lock.owner_died()) throw mproc::SystemExit(5);
    lock.release();
    return;
  });
  child.start();
  ASSERT_TRUE(tried.wait());
  EXPECT_TRUE(lock.is_mine());
  lock.release();
  EXPECT_EQ(join_code(child), 0);
}

TEST_F(LockTest, CopiesAreTheSameLock) {
  Lock lock;
  Lock copy = lock;
  copy.acquire();
  EXPECT_TRUE(lock.is_mine());
  EXPECT_FALSE(lock.acquire(false));
  lock.release();
  EXPECT_FALSE(copy.is_mine());
}

TEST_F(LockTest, DroppingTheLastHandleWhileHoldingReleasesBeforeUnmapping) {
  // Must not corrupt the thread's robust list: later robust locks keep working.
  {
    Lock lock;
    lock.acquire();
  }
  Lock other;
  other.acquire();
  EXPECT_TRUE(other.is_mine());
  other.release();
  EXPECT_FALSE(other.is_mine());
}

TEST_F(LockTest, RLockIsRecursive) {
  RLock lock;
  EXPECT_TRUE(lock.acquire());
  EXPECT_TRUE(lock.acquire());
  EXPECT_TRUE(lock.acquire(false));
  lock.release();
  lock.release();
  EXPECT_TRUE(lock.is_mine());
  Process child([&]() { throw mproc::SystemExit(lock.try_lock() ? 1 : 0); });
  child.start();
  EXPECT_EQ(join_code(child), 0);
  lock.release();
  EXPECT_FALSE(lock.is_mine());
  expect_error([&] { lock.release(); }, errc::bad_state);
}

TEST_F(LockTest, RLockReleaseByANonOwnerIsAnError) {
  RLock lock;
  lock.acquire();
  Process child([&]() {
    const bool refused = error_of([&] { lock.release(); }) == mproc::make_error_code(errc::bad_state);
    throw mproc::SystemExit(refused ? 0 : 1);
  });
  child.start();
  EXPECT_EQ(join_code(child), 0);
  std::error_code from_thread;
  std::thread([&] { from_thread = error_of([&] { lock.release(); }); }).join();
  EXPECT_EQ(from_thread, mproc::make_error_code(errc::bad_state));
  EXPECT_TRUE(lock.is_mine());
  lock.release();
}

TEST_F(LockTest, StdAdaptorsWork) {
  RLock lock;
  {
    std::unique_lock guard(lock, std::defer_lock);
    EXPECT_TRUE(guard.try_lock_for(kLong));
    std::lock_guard nested(lock);
    EXPECT_TRUE(lock.is_mine());
  }
  EXPECT_FALSE(lock.is_mine());
  Lock a, b;
  {
    std::scoped_lock both(a, b);
    EXPECT_TRUE(a.is_mine());
    EXPECT_TRUE(b.is_mine());
  }
  EXPECT_FALSE(a.is_mine());
  std::unique_lock until(a, std::defer_lock);
  EXPECT_TRUE(until.try_lock_until(std::chrono::steady_clock::now() + 1s));
}

TEST_F(LockTest, AttachingToTheWrongKindOfStateIsRejected) {
  // Through the placement seam: an RLock's state is not a Lock's.
  alignas(64) static unsigned char memory[256];
  mproc::RLock rlock(mproc::detail::SharedPlacement{memory, nullptr, true});
  expect_error(
      [&] {
        Lock lock(mproc::detail::SharedPlacement{memory, nullptr, false});
      },
      errc::bad_handle);
  RLock again(mproc::detail::SharedPlacement{memory, nullptr, false});
  again.acquire();
  EXPECT_TRUE(rlock.is_mine());
  again.release();
}

}  // namespace
