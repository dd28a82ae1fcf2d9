// The C ABI for synchronisation: results, owner death across processes, and bad input (NULL,
// destroyed and foreign handles, unheld locks, over-release, invalid values and timeouts).
#include "mproc.h"

#include <mproc/process.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <set>

#include "capi/expect_codes.hpp"
#include "support/leak_check.hpp"
#include "sync/sync_test_support.hpp"

namespace {

using mproc::Process;
using mproc::test::expect_codes;
using mproc::test::join_code;
using mproc::test::SharedBlock;
using mproc::test::Signal;
using SyncCapiTest = mproc::test::LeakCheckedTest;

constexpr int64_t kLongMs = 30000;

// A failing call leaves a message naming the function.
void expect_message_mentions(const char* function) {
  EXPECT_NE(std::strstr(mproc_last_error_message(), function), nullptr)
      << mproc_last_error_message();
}

TEST_F(SyncCapiTest, LockLifecycle) {
  mproc_lock_t* lock = nullptr;
  ASSERT_EQ(mproc_lock_create(&lock), 0);
  ASSERT_NE(lock, nullptr);
  EXPECT_EQ(mproc_lock_acquire(lock, MPROC_WAIT_FOREVER), 0);
  EXPECT_EQ(mproc_lock_acquire(lock, 0), MPROC_ETIMEDOUT);  // held by this thread
  EXPECT_EQ(mproc_lock_acquire(lock, MPROC_WAIT_FOREVER), -EDEADLK);
  EXPECT_EQ(mproc_lock_release(lock), 0);
  EXPECT_EQ(mproc_lock_release(lock), MPROC_ESTATE);
  expect_message_mentions("release");
  EXPECT_EQ(mproc_lock_acquire(lock, 10), 0);
  EXPECT_EQ(mproc_lock_release(lock), 0);
  EXPECT_EQ(mproc_lock_acquire(lock, -2), -EINVAL);
  EXPECT_EQ(mproc_lock_destroy(lock), 0);
}

TEST_F(SyncCapiTest, RLockLifecycle) {
  mproc_rlock_t* rlock = nullptr;
  ASSERT_EQ(mproc_rlock_create(&rlock), 0);
  EXPECT_EQ(mproc_rlock_acquire(rlock, MPROC_WAIT_FOREVER), 0);
  EXPECT_EQ(mproc_rlock_acquire(rlock, 0), 0);
  EXPECT_EQ(mproc_rlock_release(rlock), 0);
  EXPECT_EQ(mproc_rlock_release(rlock), 0);
  EXPECT_EQ(mproc_rlock_release(rlock), MPROC_ESTATE);
  EXPECT_EQ(mproc_rlock_destroy(rlock), 0);
}

TEST_F(SyncCapiTest, OwnerDeathIsReportedWithTheLockHeld) {
  mproc_lock_t* lock = nullptr;
  mproc_rlock_t* rlock = nullptr;
  ASSERT_EQ(mproc_lock_create(&lock), 0);
  ASSERT_EQ(mproc_rlock_create(&rlock), 0);
  Signal holding;
  Process holder([&]() {
    if (mproc_lock_acquire(lock, kLongMs) != 0) throw mproc::SystemExit(1);
    if (mproc_rlock_acquire(rlock, kLongMs) != 0 || mproc_rlock_acquire(rlock, 0) != 0) throw mproc::SystemExit(2);
    holding.notify();
    for (;;) ::pause();
  });
  holder.start();
  ASSERT_TRUE(holding.wait());
  EXPECT_EQ(mproc_lock_acquire(lock, 0), MPROC_ETIMEDOUT);
  holder.kill();
  EXPECT_EQ(join_code(holder), -SIGKILL);

  EXPECT_EQ(mproc_lock_acquire(lock, kLongMs), MPROC_EOWNERDEAD);
  expect_message_mentions("mproc_lock_acquire");
  EXPECT_EQ(mproc_lock_release(lock), 0);  // it was held
  EXPECT_EQ(mproc_lock_acquire(lock, 0), 0);
  EXPECT_EQ(mproc_lock_release(lock), 0);

  EXPECT_EQ(mproc_rlock_acquire(rlock, kLongMs), MPROC_EOWNERDEAD);
  EXPECT_EQ(mproc_rlock_acquire(rlock, kLongMs), 0);  // nested: not the recovering acquisition
  EXPECT_EQ(mproc_rlock_release(rlock), 0);
  EXPECT_EQ(mproc_rlock_release(rlock), 0);
  EXPECT_EQ(mproc_rlock_release(rlock), MPROC_ESTATE);
  EXPECT_EQ(mproc_lock_destroy(lock), 0);
  EXPECT_EQ(mproc_rlock_destroy(rlock), 0);
}

TEST_F(SyncCapiTest, SemaphoreCountsAndBounds) {
  mproc_semaphore_t* sem = nullptr;
  ASSERT_EQ(mproc_semaphore_create(1, 0, &sem), 0);
  EXPECT_EQ(mproc_semaphore_acquire(sem, 0), 0);
  EXPECT_EQ(mproc_semaphore_acquire(sem, 0), MPROC_ETIMEDOUT);
  EXPECT_EQ(mproc_semaphore_acquire(sem, 5), MPROC_ETIMEDOUT);
  EXPECT_EQ(mproc_semaphore_release(sem), 0);
  EXPECT_EQ(mproc_semaphore_release(sem), 0);
  EXPECT_EQ(mproc_semaphore_value(sem), 2);
  EXPECT_EQ(mproc_semaphore_destroy(sem), 0);

  mproc_semaphore_t* bounded = nullptr;
  ASSERT_EQ(mproc_semaphore_create(2, 1, &bounded), 0);
  EXPECT_EQ(mproc_semaphore_release(bounded), MPROC_ESTATE);
  expect_message_mentions("mproc_semaphore_release");  // the C name, as every C function's
  EXPECT_EQ(mproc_semaphore_value(bounded), 2);
  EXPECT_EQ(mproc_semaphore_acquire(bounded, MPROC_WAIT_FOREVER), 0);
  EXPECT_EQ(mproc_semaphore_value(bounded), 1);
  EXPECT_EQ(mproc_semaphore_release(bounded), 0);
  EXPECT_EQ(mproc_semaphore_destroy(bounded), 0);

  mproc_semaphore_t* unused = nullptr;
  EXPECT_EQ(mproc_semaphore_create(-1, 0, &unused), -EINVAL);
  EXPECT_EQ(mproc_semaphore_create(-1, 1, &unused), -EINVAL);
  EXPECT_EQ(unused, nullptr);
  ASSERT_EQ(mproc_semaphore_create(0x7fffffff, 0, &sem), 0);
  EXPECT_EQ(mproc_semaphore_release(sem), -EOVERFLOW);
  EXPECT_EQ(mproc_semaphore_destroy(sem), 0);
}

TEST_F(SyncCapiTest, SemaphoreAcrossProcesses) {
  mproc_semaphore_t* sem = nullptr;
  ASSERT_EQ(mproc_semaphore_create(0, 0, &sem), 0);
  Process child([&]() { throw mproc::SystemExit(mproc_semaphore_acquire(sem, kLongMs) == 0 ? 0 : 1); });
  child.start();
  EXPECT_EQ(mproc_semaphore_release(sem), 0);
  EXPECT_EQ(join_code(child), 0);
  EXPECT_EQ(mproc_semaphore_value(sem), 0);
  EXPECT_EQ(mproc_semaphore_destroy(sem), 0);
}

TEST_F(SyncCapiTest, EventSetClearWait) {
  mproc_event_t* event = nullptr;
  ASSERT_EQ(mproc_event_create(&event), 0);
  EXPECT_EQ(mproc_event_is_set(event), 0);
  EXPECT_EQ(mproc_event_wait(event, 0), MPROC_ETIMEDOUT);
  Process setter([&] { throw mproc::SystemExit(mproc_event_set(event)); });
  setter.start();
  EXPECT_EQ(mproc_event_wait(event, kLongMs), 0);
  EXPECT_EQ(join_code(setter), 0);
  EXPECT_EQ(mproc_event_is_set(event), 1);
  EXPECT_EQ(mproc_event_clear(event), 0);
  EXPECT_EQ(mproc_event_is_set(event), 0);
  EXPECT_EQ(mproc_event_wait(event, -7), -EINVAL);
  EXPECT_EQ(mproc_event_destroy(event), 0);
}

struct Flag {
  int value = 0;
};

int flag_is_set(void* user_data) { return static_cast<Flag*>(user_data)->value; }

TEST_F(SyncCapiTest, ConditionOverALockAcrossProcesses) {
  mproc_lock_t* lock = nullptr;
  mproc_condition_t* cond = nullptr;
  ASSERT_EQ(mproc_lock_create(&lock), 0);
  ASSERT_EQ(mproc_condition_create_with_lock(lock, &cond), 0);
  EXPECT_EQ(mproc_lock_destroy(lock), 0);  // the condition keeps its own reference

  EXPECT_EQ(mproc_condition_wait(cond, 0), MPROC_ESTATE);
  EXPECT_EQ(mproc_condition_notify(cond, 1), MPROC_ESTATE);
  EXPECT_EQ(mproc_condition_notify_all(cond), MPROC_ESTATE);
  EXPECT_EQ(mproc_condition_release(cond), MPROC_ESTATE);

  SharedBlock<Flag> flag;
  ASSERT_EQ(mproc_condition_acquire(cond, MPROC_WAIT_FOREVER), 0);
  EXPECT_EQ(mproc_condition_wait(cond, 1), MPROC_ETIMEDOUT);
  EXPECT_EQ(mproc_condition_wait_for(cond, flag_is_set, &*flag, 1), MPROC_ETIMEDOUT);
  EXPECT_EQ(mproc_condition_wait_for(cond, nullptr, nullptr, 1), -EINVAL);
  Process setter([&]() {
    if (mproc_condition_acquire(cond, kLongMs) != 0) throw mproc::SystemExit(1);
    flag->value = 1;
    if (mproc_condition_notify(cond, 1) != 0) throw mproc::SystemExit(2);
    throw mproc::SystemExit(mproc_condition_release(cond) == 0 ? 0 : 3);
  });
  setter.start();
  EXPECT_EQ(mproc_condition_wait_for(cond, flag_is_set, &*flag, kLongMs), 0);
  EXPECT_EQ(mproc_condition_release(cond), 0);
  EXPECT_EQ(join_code(setter), 0);
  EXPECT_EQ(mproc_condition_destroy(cond), 0);
}

TEST_F(SyncCapiTest, ConditionOverAnRLockAndItsOwn) {
  mproc_rlock_t* rlock = nullptr;
  mproc_condition_t* over_rlock = nullptr;
  mproc_condition_t* own = nullptr;
  ASSERT_EQ(mproc_rlock_create(&rlock), 0);
  ASSERT_EQ(mproc_condition_create_with_rlock(rlock, &over_rlock), 0);
  ASSERT_EQ(mproc_condition_create(&own), 0);
  EXPECT_EQ(mproc_rlock_acquire(rlock, 0), 0);
  EXPECT_EQ(mproc_condition_acquire(over_rlock, 0), 0);  // the same, recursive lock
  EXPECT_EQ(mproc_condition_notify_all(over_rlock), 0);
  EXPECT_EQ(mproc_condition_wait(over_rlock, 0), MPROC_ETIMEDOUT);
  EXPECT_EQ(mproc_rlock_release(rlock), 0);
  EXPECT_EQ(mproc_condition_release(over_rlock), 0);
  EXPECT_EQ(mproc_rlock_release(rlock), MPROC_ESTATE);
  EXPECT_EQ(mproc_condition_acquire(own, 0), 0);
  EXPECT_EQ(mproc_condition_wait(own, 0), MPROC_ETIMEDOUT);
  EXPECT_EQ(mproc_condition_release(own), 0);
  EXPECT_EQ(mproc_condition_destroy(own), 0);
  EXPECT_EQ(mproc_condition_destroy(over_rlock), 0);
  EXPECT_EQ(mproc_rlock_destroy(rlock), 0);
}

void count_action(void* user_data) { ++*static_cast<int*>(user_data); }

TEST_F(SyncCapiTest, BarrierRoundAbortReset) {
  SharedBlock<int> actions;
  mproc_barrier_t* barrier = nullptr;
  ASSERT_EQ(mproc_barrier_create(2, count_action, &*actions, MPROC_WAIT_FOREVER, &barrier), 0);
  EXPECT_EQ(mproc_barrier_parties(barrier), 2);
  EXPECT_EQ(mproc_barrier_n_waiting(barrier), 0);
  EXPECT_EQ(mproc_barrier_broken(barrier), 0);
  Process other([&] { throw mproc::SystemExit(mproc_barrier_wait(barrier, kLongMs)); });
  other.start();
  const int mine = mproc_barrier_wait(barrier, kLongMs);
  const int theirs = join_code(other);
  EXPECT_EQ(std::set<int>({mine, theirs}), std::set<int>({0, 1}));
  EXPECT_EQ(*actions, 1);

  EXPECT_EQ(mproc_barrier_wait(barrier, 1), MPROC_EBROKEN);  // the timeout breaks it
  EXPECT_EQ(mproc_barrier_broken(barrier), 1);
  EXPECT_EQ(mproc_barrier_wait(barrier, kLongMs), MPROC_EBROKEN);
  EXPECT_EQ(mproc_barrier_reset(barrier), 0);
  EXPECT_EQ(mproc_barrier_broken(barrier), 0);
  EXPECT_EQ(mproc_barrier_abort(barrier), 0);
  EXPECT_EQ(mproc_barrier_wait(barrier, kLongMs), MPROC_EBROKEN);
  expect_message_mentions("mproc_barrier_wait");
  EXPECT_EQ(mproc_barrier_wait(barrier, -3), -EINVAL);
  EXPECT_EQ(mproc_barrier_destroy(barrier), 0);

  // The default timeout applies to MPROC_WAIT_FOREVER.
  ASSERT_EQ(mproc_barrier_create(2, nullptr, nullptr, 1, &barrier), 0);
  EXPECT_EQ(mproc_barrier_wait(barrier, MPROC_WAIT_FOREVER), MPROC_EBROKEN);
  EXPECT_EQ(mproc_barrier_destroy(barrier), 0);
}

TEST_F(SyncCapiTest, InvalidArguments) {
  EXPECT_EQ(mproc_lock_create(nullptr), -EINVAL);
  EXPECT_EQ(mproc_rlock_create(nullptr), -EINVAL);
  EXPECT_EQ(mproc_semaphore_create(1, 0, nullptr), -EINVAL);
  EXPECT_EQ(mproc_event_create(nullptr), -EINVAL);
  EXPECT_EQ(mproc_condition_create(nullptr), -EINVAL);
  EXPECT_EQ(mproc_barrier_create(2, nullptr, nullptr, MPROC_WAIT_FOREVER, nullptr), -EINVAL);
  mproc_barrier_t* barrier = nullptr;
  EXPECT_EQ(mproc_barrier_create(0, nullptr, nullptr, MPROC_WAIT_FOREVER, &barrier), -EINVAL);
  EXPECT_EQ(mproc_barrier_create(-1, nullptr, nullptr, MPROC_WAIT_FOREVER, &barrier), -EINVAL);
  EXPECT_EQ(mproc_barrier_create(40000, nullptr, nullptr, MPROC_WAIT_FOREVER, &barrier), -EINVAL);
  EXPECT_EQ(mproc_barrier_create(2, nullptr, nullptr, -2, &barrier), -EINVAL);
  EXPECT_EQ(barrier, nullptr);
}

TEST_F(SyncCapiTest, NullHandlesAreRejected) {
  mproc_condition_t* cond = nullptr;
  expect_codes(MPROC_EBADHANDLE, {
      MPROC_CALL(mproc_lock_acquire(nullptr, 0)), MPROC_CALL(mproc_lock_release(nullptr)),
      MPROC_CALL(mproc_rlock_acquire(nullptr, 0)), MPROC_CALL(mproc_rlock_release(nullptr)),
      MPROC_CALL(mproc_semaphore_acquire(nullptr, 0)),
      MPROC_CALL(mproc_semaphore_release(nullptr)), MPROC_CALL(mproc_semaphore_value(nullptr)),
      MPROC_CALL(mproc_event_set(nullptr)), MPROC_CALL(mproc_event_clear(nullptr)),
      MPROC_CALL(mproc_event_is_set(nullptr)), MPROC_CALL(mproc_event_wait(nullptr, 0)),
      MPROC_CALL(mproc_condition_create_with_lock(nullptr, &cond)),
      MPROC_CALL(mproc_condition_create_with_rlock(nullptr, &cond)),
      MPROC_CALL(mproc_condition_acquire(nullptr, 0)),
      MPROC_CALL(mproc_condition_release(nullptr)),
      MPROC_CALL(mproc_condition_wait(nullptr, 0)),
      MPROC_CALL(mproc_condition_wait_for(nullptr, flag_is_set, nullptr, 0)),
      MPROC_CALL(mproc_condition_notify(nullptr, 1)),
      MPROC_CALL(mproc_condition_notify_all(nullptr)),
      MPROC_CALL(mproc_barrier_wait(nullptr, 0)), MPROC_CALL(mproc_barrier_abort(nullptr)),
      MPROC_CALL(mproc_barrier_reset(nullptr)), MPROC_CALL(mproc_barrier_parties(nullptr)),
      MPROC_CALL(mproc_barrier_n_waiting(nullptr)), MPROC_CALL(mproc_barrier_broken(nullptr)),
  });
  EXPECT_EQ(cond, nullptr);
  // Destroying NULL is a no-op.
  expect_codes(0, {MPROC_CALL(mproc_lock_destroy(nullptr)),
                   MPROC_CALL(mproc_rlock_destroy(nullptr)),
                   MPROC_CALL(mproc_semaphore_destroy(nullptr)),
                   MPROC_CALL(mproc_event_destroy(nullptr)),
                   MPROC_CALL(mproc_condition_destroy(nullptr)),
                   MPROC_CALL(mproc_barrier_destroy(nullptr))});
}

TEST_F(SyncCapiTest, DestroyedAndForeignHandlesAreRejected) {
  mproc_lock_t* lock = nullptr;
  mproc_semaphore_t* sem = nullptr;
  mproc_event_t* event = nullptr;
  mproc_barrier_t* barrier = nullptr;
  ASSERT_EQ(mproc_lock_create(&lock), 0);
  ASSERT_EQ(mproc_semaphore_create(1, 1, &sem), 0);
  ASSERT_EQ(mproc_event_create(&event), 0);
  ASSERT_EQ(mproc_barrier_create(2, nullptr, nullptr, MPROC_WAIT_FOREVER, &barrier), 0);

  // A handle of one type given to another type's function.
  EXPECT_EQ(mproc_semaphore_acquire(reinterpret_cast<mproc_semaphore_t*>(lock), 0),
            MPROC_EBADHANDLE);
  expect_message_mentions("mproc_semaphore_t");
  EXPECT_EQ(mproc_rlock_acquire(reinterpret_cast<mproc_rlock_t*>(lock), 0), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_lock_release(reinterpret_cast<mproc_lock_t*>(sem)), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_event_set(reinterpret_cast<mproc_event_t*>(barrier)), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_barrier_wait(reinterpret_cast<mproc_barrier_t*>(event), 0), MPROC_EBADHANDLE);
  mproc_condition_t* cond = nullptr;
  EXPECT_EQ(mproc_condition_create_with_rlock(reinterpret_cast<mproc_rlock_t*>(lock), &cond),
            MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_semaphore_destroy(reinterpret_cast<mproc_semaphore_t*>(lock)), MPROC_EBADHANDLE);
  // A made-up pointer.
  int not_a_handle = 0;
  EXPECT_EQ(mproc_lock_acquire(reinterpret_cast<mproc_lock_t*>(&not_a_handle), 0),
            MPROC_EBADHANDLE);

  // Destroyed handles.
  EXPECT_EQ(mproc_lock_destroy(lock), 0);
  EXPECT_EQ(mproc_lock_acquire(lock, 0), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_lock_destroy(lock), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_semaphore_destroy(sem), 0);
  EXPECT_EQ(mproc_semaphore_release(sem), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_event_destroy(event), 0);
  EXPECT_EQ(mproc_event_wait(event, 0), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_barrier_destroy(barrier), 0);
  EXPECT_EQ(mproc_barrier_parties(barrier), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_barrier_destroy(barrier), MPROC_EBADHANDLE);
}

TEST_F(SyncCapiTest, DestroyingAHeldLockReleasesIt) {
  // The last handle goes while this thread holds the lock: no dangling robust-list entry, and
  // other locks keep working.
  mproc_lock_t* lock = nullptr;
  ASSERT_EQ(mproc_lock_create(&lock), 0);
  ASSERT_EQ(mproc_lock_acquire(lock, 0), 0);
  EXPECT_EQ(mproc_lock_destroy(lock), 0);
  mproc_lock_t* other = nullptr;
  ASSERT_EQ(mproc_lock_create(&other), 0);
  EXPECT_EQ(mproc_lock_acquire(other, 0), 0);
  EXPECT_EQ(mproc_lock_release(other), 0);
  EXPECT_EQ(mproc_lock_destroy(other), 0);
}

}  // namespace
