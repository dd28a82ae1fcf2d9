// The attachable synchronisation objects: made after a process started, attached there by
// handle, and the errors for handles of the wrong kind or of default-placed objects.
#include <mproc/process.hpp>
#include <mproc/sync.hpp>

#include <mutex>

#include "shm_api_support.hpp"

namespace mproc::test {
namespace {

using SyncAttachTest = ShmApiTest;
constexpr Seconds kLong{30};

// Starts a process that runs body(handle) with the first handle sent to it; returns it started.
template <class Body>
Process start_with_handle(const Signal& pipe, Body body) {
  Process p([&pipe, body] { throw mproc::SystemExit(body(pipe.receive())); });
  p.start();
  return p;
}

void expect_exit_0(Process& p) {
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_F(SyncAttachTest, LockAndRLockAttachedByAnEarlierProcess) {
  Signal to_child, to_parent;
  Process child = start_with_handle(to_child, [&](const std::string& h) {
    Lock lock = Lock::attach(h);
    RLock rlock = RLock::attach(to_child.receive());
    const bool got_while_held = lock.acquire(false);
    to_parent.send("tried");
    if (!lock.acquire(true, kLong)) return 2;  // the parent releases it after "tried"
    lock.release();
    if (!rlock.acquire(true, kLong) || !rlock.acquire(false)) return 3;
    rlock.release();
    rlock.release();
    return got_while_held ? 1 : 0;
  });
  Lock lock(attachable);
  RLock rlock(attachable);
  lock.acquire();
  to_child.send(lock.handle());
  to_child.send(rlock.handle());
  EXPECT_EQ(to_parent.receive(), "tried");
  lock.release();
  expect_exit_0(child);
  EXPECT_TRUE(lock.acquire(false));
  lock.release();
}

// Two handles to one lock in one process are two mappings of its segment. Dropping the handle
// the lock was not taken through must not release it (only the mapping that locked it is linked
// into the thread's robust list); dropping the one it was taken through does.
TEST_F(SyncAttachTest, DroppingASecondHandleDoesNotReleaseTheLock) {
  Lock lock(attachable);
  ASSERT_TRUE(lock.acquire());
  { Lock second = Lock::attach(lock.handle()); }
  EXPECT_TRUE(lock.is_mine());
  Lock third = Lock::attach(lock.handle());
  EXPECT_FALSE(third.acquire(false));
  lock.release();
  {
    Lock fourth = Lock::attach(lock.handle());
    ASSERT_TRUE(fourth.acquire(false));
  }  // released through the mapping that took it, before that mapping goes
  EXPECT_TRUE(lock.acquire(false));
  lock.release();
}

TEST_F(SyncAttachTest, SemaphoresKeepTheirKindAndBound) {
  BoundedSemaphore bounded(attachable, 2);
  Semaphore plain(attachable, 0);
  Semaphore as_plain = Semaphore::attach(bounded.handle());  // still bounded underneath
  EXPECT_TRUE(as_plain.acquire(false));
  as_plain.release();
  expect_error([&] { as_plain.release(); }, errc::bad_state);
  EXPECT_EQ(bounded.get_value(), 2);
  expect_error([&] { BoundedSemaphore::attach(plain.handle()); }, errc::bad_handle);

  Signal to_child;
  Process child = start_with_handle(to_child, [](const std::string& h) {
    Semaphore s = Semaphore::attach(h);
    s.release();
    s.release();
    return 0;
  });
  to_child.send(plain.handle());
  EXPECT_TRUE(plain.acquire(true, kLong));
  EXPECT_TRUE(plain.acquire(true, kLong));
  expect_exit_0(child);
}

TEST_F(SyncAttachTest, EventAttachedByAnEarlierProcessWakesTheCreator) {
  Signal to_child;
  Process child = start_with_handle(to_child, [](const std::string& h) {
    Event e = Event::attach(h);
    e.set();
    return 0;
  });
  Event event(attachable);
  to_child.send(event.handle());
  EXPECT_TRUE(event.wait(kLong));
  expect_exit_0(child);
}

TEST_F(SyncAttachTest, ConditionAttachesWithItsLock) {
  Signal to_child;
  Condition cond(attachable);
  Event ready(attachable);
  Process child = start_with_handle(to_child, [&](const std::string& h) {
    Condition c = Condition::attach(h);
    Event r = Event::attach(to_child.receive());
    std::lock_guard guard(c);
    r.set();  // set while holding the lock: the parent notifies only after we wait
    return c.wait(kLong) ? 0 : 1;
  });
  to_child.send(cond.handle());
  to_child.send(ready.handle());
  ASSERT_TRUE(ready.wait(kLong));
  {
    std::lock_guard guard(cond);  // acquired once the child waits (wait releases the lock)
    cond.notify();
  }
  expect_exit_0(child);

  Lock plain;
  expect_error([&] { Condition(attachable, plain); }, std::errc::invalid_argument);
  Lock shared(attachable);
  Condition over_lock(attachable, shared);
  Condition again = Condition::attach(over_lock.handle());
  again.acquire();
  EXPECT_FALSE(shared.acquire(false)) << "the attached condition uses the same lock";
  again.release();
}

TEST_F(SyncAttachTest, BarrierAttachedByAnEarlierProcess) {
  Signal to_child;
  Process child = start_with_handle(to_child, [](const std::string& h) {
    Barrier b = Barrier::attach(h, {}, kLong);
    return b.parties() == 2 && b.wait() >= 0 ? 0 : 1;
  });
  int actions = 0;
  Barrier barrier(attachable, 2, [&] { ++actions; });
  to_child.send(barrier.handle());
  const int index = barrier.wait(kLong);
  expect_exit_0(child);
  EXPECT_GE(index, 0);
  // The action runs in the process that arrives last: here or in the child (which has none).
  EXPECT_LE(actions, 1);
}

TEST_F(SyncAttachTest, WrongKindsAndAnonymousObjectsAreErrors) {
  Lock lock(attachable);
  Event event(attachable);
  expect_error([&] { RLock::attach(lock.handle()); }, errc::bad_handle);
  expect_error([&] { Lock::attach(event.handle()); }, errc::bad_handle);
  expect_error([&] { Event::attach(lock.handle()); }, errc::bad_handle);
  expect_error([&] { Barrier::attach(lock.handle()); }, errc::bad_handle);
  expect_error([&] { Condition::attach(lock.handle()); }, errc::bad_handle);
  expect_error([&] { Semaphore::attach(event.handle()); }, errc::bad_handle);
  expect_error([] { Lock::attach(test_shm_name("no-lock")); },
               std::errc::no_such_file_or_directory);
  expect_error([] { Lock::attach("bad/handle"); }, std::errc::invalid_argument);
  // Objects made without attachable have arena handles ("@..."): tests/pool/sync_arena_test.cpp.
  expect_error([] { Lock::attach("@zz"); }, std::errc::invalid_argument);
  expect_error([] { Condition::attach("@1.2.3.x"); }, std::errc::invalid_argument);
}

TEST_F(SyncAttachTest, AnAttachedLockOfAKilledHolderIsRecovered) {
  Lock lock(attachable);
  Signal to_child, to_parent;
  Process holder = start_with_handle(to_child, [&](const std::string& h) {
    Lock mine = Lock::attach(h);
    mine.acquire();
    to_parent.send("held");
    for (;;) ::pause();
    return 0;
  });
  to_child.send(lock.handle());
  ASSERT_EQ(to_parent.receive(), "held");
  holder.kill();
  holder.join();
  EXPECT_TRUE(lock.acquire(true, kLong));
  EXPECT_TRUE(lock.owner_died());
  lock.release();
}

}  // namespace
}  // namespace mproc::test
