// The placement seam: state constructed at an address of shared memory by one process and
// attached to by another (the way named segments will use it), and the checks on attaching.
#include <mproc/sync.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <cstddef>

#include "support/leak_check.hpp"
#include "sync/sync_test_support.hpp"

namespace {

using mproc::Barrier;
using mproc::BoundedSemaphore;
using mproc::Condition;
using mproc::errc;
using mproc::Event;
using mproc::Lock;
using mproc::Process;
using mproc::Semaphore;
using mproc::detail::SharedPlacement;
using mproc::test::error_of;
using mproc::test::expect_error;
using mproc::test::join_code;
using mproc::test::kLong;
using mproc::test::SharedBlock;
using PlacementTest = mproc::test::LeakCheckedTest;

// Room for a few states, each in its own 128-byte slot.
struct alignas(128) Slots {
  unsigned char bytes[8][128];
};

SharedPlacement at(Slots& slots, int i, bool construct) {
  return SharedPlacement{slots.bytes[i], nullptr, construct};
}

TEST_F(PlacementTest, AProcessAttachesToStateAnotherConstructed) {
  SharedBlock<Slots> slots;
  Event event(at(*slots, 0, true));
  BoundedSemaphore sem(at(*slots, 1, true), 1);
  Barrier barrier(at(*slots, 2, true), 2);
  // The child attaches through its own handles, as a process that did not inherit them would.
  Process child([&]() {
    Event e(at(*slots, 0, false));
    BoundedSemaphore s(at(*slots, 1, false), 1);
    Barrier b(at(*slots, 2, false), 2);
    if (!s.acquire(false)) throw mproc::SystemExit(1);
    e.set();
    throw mproc::SystemExit(b.wait(kLong) >= 0 ? 0 : 2);
  });
  child.start();
  EXPECT_TRUE(event.wait(kLong));
  EXPECT_GE(barrier.wait(kLong), 0);
  EXPECT_EQ(join_code(child), 0);
  EXPECT_EQ(sem.get_value(), 0);
}

TEST_F(PlacementTest, ALockAttachedInAChildIsRecoveredWhenTheChildDies) {
  SharedBlock<Slots> slots;
  Lock lock(at(*slots, 0, true));
  Condition cond(at(*slots, 1, true), lock);
  Process child([&]() {
    Lock l(at(*slots, 0, false));
    Condition c(at(*slots, 1, false), l);
    if (!c.acquire(true, kLong)) throw mproc::SystemExit(1);
    c.notify();
    ::raise(SIGKILL);  // dies holding the lock
    throw mproc::SystemExit(2);
  });
  ASSERT_TRUE(lock.acquire());
  child.start();
  EXPECT_TRUE(cond.wait(kLong));
  EXPECT_TRUE(lock.owner_died());
  lock.release();
  EXPECT_EQ(join_code(child), -SIGKILL);
}

TEST_F(PlacementTest, AttachingChecksTheKindAndTheParties) {
  SharedBlock<Slots> slots;
  BoundedSemaphore bounded(at(*slots, 0, true), 2);
  Barrier barrier(at(*slots, 1, true), 3);
  expect_error([&] { Semaphore s(at(*slots, 0, false), 2); }, errc::bad_handle);
  expect_error([&] { Event e(at(*slots, 0, false)); }, errc::bad_handle);
  expect_error([&] { Barrier b(at(*slots, 1, false), 2); }, errc::bad_handle);
  expect_error([&] { Lock l(at(*slots, 2, false)); }, errc::bad_handle);  // never constructed
  Barrier same(at(*slots, 1, false), 3);
  EXPECT_EQ(same.parties(), 3);
}

TEST_F(PlacementTest, NullAndMisalignedAddressesAreRejected) {
  SharedBlock<Slots> slots;
  expect_error(
      [] {
        Event e(SharedPlacement{nullptr, nullptr, true});
      },
      std::errc::invalid_argument);
  expect_error(
      [&] {
        Lock l(SharedPlacement{slots->bytes[0] + 1, nullptr, true});
      },
      std::errc::invalid_argument);
  EXPECT_EQ(error_of([&] { Event e(at(*slots, 3, true)); }), std::error_code());
}

}  // namespace
