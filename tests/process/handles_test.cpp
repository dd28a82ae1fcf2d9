// Shared objects passed straight to Process(fn, args...) (issue 13 item 8): no std::ref, no
// handle by hand. Move-only ones (Queue, Connection, SharedMemory, Manager containers) given as
// lvalues are shared with the child (the caller keeps its own); copyable ones (locks, Value, Array)
// are copied, which with fork is the same object. The target may take them by reference or by
// value. After start() the parent holds no copy: a pipe end given to a Process does not keep the
// peer from seeing end-of-file.
#include <mproc/connection.hpp>
#include <mproc/manager.hpp>
#include <mproc/process.hpp>
#include <mproc/queue.hpp>
#include <mproc/shared_ctypes.hpp>
#include <mproc/shared_memory.hpp>
#include <mproc/sync.hpp>

#include <gtest/gtest.h>

#include <string>
#include <unistd.h>

#include "support/shm_leak_check.hpp"
#include "support/leak_check.hpp"

namespace {

using mproc::errc;
using mproc::Process;
using mproc::Seconds;

constexpr Seconds kLong{30};

class ProcessHandlesTest : public mproc::test::LeakCheckedTest {
 protected:
  void SetUp() override {
    { mproc::Queue warm_up; }  // starts the shm tracker (its socket lives with the process)
    mproc::test::LeakCheckedTest::SetUp();
  }
  void TearDown() override {
    mproc::test::LeakCheckedTest::TearDown();
    EXPECT_TRUE(mproc::test::shm_entries_of(::getpid()).empty());
  }
};

void run_to_success(Process& p) {
  p.start();
  ASSERT_TRUE(p.join(kLong));
  EXPECT_EQ(p.exitcode(), 0);
}

void put_twice(mproc::Queue& q, int value) {
  q.put(value);
  q.put(value + 1);
}
void put_by_value(mproc::JoinableQueue q) { q.put(std::string("joinable")); }
void greet(mproc::Connection& end) { end.send_bytes("hello"); }
// Move-only objects taken by value: the child's objects are moved in.
void fill(mproc::SharedMemory segment, mproc::Dict<std::string, int> d, mproc::List<int> l,
          int& calls) {
  ++calls;
  static_cast<char*>(segment.buf())[0] = 'x';
  d.set("child", 1);
  l.append(2);
}
void count(mproc::Value<int> v, mproc::Array<int>& a, mproc::Lock& lock) {
  std::lock_guard guard(lock);
  v.set(v.get() + 1);
  a.set(1, 7);
}

TEST_F(ProcessHandlesTest, AQueueIsPassedAsItIs) {
  mproc::Queue q;
  Process p(put_twice, q, 5);  // no std::ref: the Process keeps its own object for the child
  run_to_success(p);
  EXPECT_EQ(q.get<int>(true, kLong), 5);
  EXPECT_EQ(q.get<int>(true, kLong), 6);

  mproc::JoinableQueue joinable;
  Process by_value(put_by_value, joinable);
  run_to_success(by_value);
  EXPECT_EQ(joinable.get<std::string>(true, kLong), "joinable");
}

TEST_F(ProcessHandlesTest, APipeEndIsPassedAndNotHeldOpenAfterStart) {
  auto [parent_end, child_end] = mproc::pipe();
  Process p(greet, child_end);
  p.start();
  child_end.close();
  EXPECT_EQ(parent_end.recv_bytes(kLong), "hello");
  ASSERT_TRUE(p.join(kLong));
  // Every copy of the child's end is closed (the Process dropped its own at start()), so the
  // parent sees end-of-file instead of waiting.
  try {
    (void)parent_end.recv_bytes(Seconds(5));
    ADD_FAILURE() << "no end-of-file";
  } catch (const mproc::Error& e) {
    EXPECT_EQ(e.code(), mproc::make_error_code(errc::end_of_file)) << e.what();
  }
}

TEST_F(ProcessHandlesTest, SegmentsAndManagerContainersArePassedAsTheyAre) {
  auto segment = mproc::SharedMemory::create(8);
  mproc::Manager manager;
  auto d = manager.dict<std::string, int>();
  auto l = manager.list<int>();
  int calls = 0;
  Process p(fill, segment, d, l, calls);
  run_to_success(p);
  EXPECT_EQ(static_cast<const char*>(segment.buf())[0], 'x');
  EXPECT_EQ(d.get("child"), 1);
  EXPECT_EQ(l.get(0), 2);
  segment.unlink();
}

TEST_F(ProcessHandlesTest, CopyableHandlesAreCopiesOfTheSameObject) {
  mproc::Value<int> v(41);
  mproc::Array<int> a(3);
  mproc::Lock lock;  // anonymous: fine for a forked child
  Process p(count, v, a, lock);
  run_to_success(p);
  EXPECT_EQ(v.get(), 42);
  EXPECT_EQ(a.get(1), 7);
  EXPECT_TRUE(lock.acquire(false));
  lock.release();
}

TEST_F(ProcessHandlesTest, AnObjectThatCannotBeSharedIsRefusedAtConstruction) {
  mproc::Queue closed;
  closed.close();
  try {
    Process p(put_twice, closed, 1);
    ADD_FAILURE() << "a closed queue was accepted";
  } catch (const mproc::Error& e) {
    EXPECT_EQ(e.code(), mproc::make_error_code(errc::closed)) << e.what();
  }
  mproc::Connection closed_end;
  try {
    Process p(greet, closed_end);
    ADD_FAILURE() << "a closed connection was accepted";
  } catch (const mproc::Error& e) {
    EXPECT_EQ(e.code(), mproc::make_error_code(errc::closed)) << e.what();
  }
}

}  // namespace
