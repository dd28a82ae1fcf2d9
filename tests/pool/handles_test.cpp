// Shared objects as Pool task arguments (issue 13 item 8): a Queue of each kind, every attachable
// sync object, Value / Array, SharedMemory and the Manager's containers, made *after* the pool's
// workers exist, are passed straight to apply / apply_async / map / starmap and travel by handle
// (<mproc/by_handle.hpp>); the worker attaches them and uses the same object. With the fork and the
// forkserver start methods. Objects that cannot travel are refused with their own error in the
// caller; a handle whose object is gone fails the task, not the worker.
#include <mproc/manager.hpp>
#include <mproc/pool.hpp>
#include <mproc/queue.hpp>
#include <mproc/shared_ctypes.hpp>
#include <mproc/shared_memory.hpp>
#include <mproc/sync.hpp>

#include <gtest/gtest.h>

#include <functional>
#include <mutex>
#include <string>
#include <tuple>
#include <unistd.h>
#include <vector>

#include "pool/pool_test_support.hpp"
#include "support/shm_leak_check.hpp"

namespace {

using mproc::errc;
using mproc::Seconds;
using mproc::test::expect_error;
using mproc::test::free_now;
using mproc::test::meet;
using mproc::test::release_bounded;
using mproc::test::release_one;
using mproc::test::set_event;
using mproc::test::wait_for;

constexpr Seconds kLong{30};

// Each test makes its pool first, then the objects: no worker inherited them.
class HandlesTest : public mproc::test::PoolPerStartMethodTest {
 protected:
  void SetUp() override {
    { mproc::Queue warm_up; }  // starts the shm tracker (its socket lives with the process)
    mproc::test::PoolPerStartMethodTest::SetUp();
  }
  void TearDown() override {
    mproc::stop_forkserver();
    // Every segment made here was removed with its object (the creator's) at the end of the test.
    EXPECT_TRUE(mproc::test::shm_entries_of(::getpid()).empty());
    mproc::test::PoolPerStartMethodTest::TearDown();
  }
};

INSTANTIATE_TEST_SUITE_P(StartMethods, HandlesTest, mproc::test::start_methods(),
                         mproc::test::start_method_name);

// --- tasks (plain functions: their bytes are valid in a forkserver worker too)

void put_in(mproc::Queue& q, int value) { q.put(value); }
void put_by_value(mproc::Queue q, int value) { q.put(value); }
void put_pid(mproc::Queue& q) { q.put(static_cast<int>(::getpid())); }
void put_simple(mproc::SimpleQueue& q, int value) { q.put(value); }
int take_and_mark_done(mproc::JoinableQueue& q) {
  const int value = q.get<int>(true, kLong);
  q.task_done();
  return value;
}
void add_to(mproc::Value<int>& v, int n) {
  std::lock_guard guard(v);
  *v.get_obj() += n;
}
void set_raw(mproc::RawValue<double> v, double x) { v.set(x); }
void square_into(mproc::Array<int>& a, int i) { a.set(static_cast<size_t>(i), i * i); }
void negate_into(mproc::RawArray<int>& a, int i) { a[static_cast<size_t>(i)] = -i; }
void write_byte(mproc::SharedMemory& m, int at) {
  static_cast<char*>(m.buf())[at] = static_cast<char>('a' + at);
}
void score(mproc::Dict<std::string, int>& d, int n) { d.set("task" + std::to_string(n), n); }
void log_line(mproc::List<std::string>& l, int n) { l.append("line " + std::to_string(n)); }
void bytes_set(mproc::BytesDict& d) { d.set("k", "v"); }
void bytes_append(mproc::BytesList& l) { l.append("x"); }
void name_it(mproc::Namespace& ns) { ns.set("answer", 42); }
void score_by_name(mproc::Manager& m, int n) { m.dict<std::string, int>("scores").set("n", n); }

// --- queues

TEST_P(HandlesTest, QueuesOfEveryKindTravelToApplyAndApplyAsync) {
  auto pool = make_pool();
  mproc::Queue q;
  pool.apply(put_in, q, 7);
  EXPECT_EQ(q.get<int>(true, kLong), 7);
  pool.apply_async(put_by_value, q, 8).get();  // a by-value parameter takes the attached object
  EXPECT_EQ(q.get<int>(true, kLong), 8);
  pool.apply(put_in, std::ref(q), 9);  // std::ref travels as the object
  EXPECT_EQ(q.get<int>(true, kLong), 9);

  mproc::SimpleQueue simple;
  pool.apply(put_simple, simple, 10);
  EXPECT_EQ(simple.get<int>(true, kLong), 10);

  mproc::JoinableQueue joinable;
  joinable.put(11);
  EXPECT_EQ(pool.apply(take_and_mark_done, joinable), 11);
  EXPECT_TRUE(joinable.join(kLong));  // the worker's task_done counted on the same queue
  pool.close();
  pool.join();
}

TEST_P(HandlesTest, MapOverAVectorOfQueuesAndStarmapWithReferences) {
  auto pool = make_pool();
  std::vector<mproc::Queue> queues;
  for (int i = 0; i < 5; ++i) queues.emplace_back();
  pool.map(put_pid, queues, 1);  // move-only inputs are encoded in place, not copied
  for (auto& q : queues) EXPECT_GT(q.get<int>(true, kLong), 0);

  mproc::Queue results;
  std::vector<std::tuple<std::reference_wrapper<mproc::Queue>, int>> calls;
  for (int i = 0; i < 6; ++i) calls.emplace_back(std::ref(results), i);
  pool.starmap(put_in, calls);
  int sum = 0;
  for (int i = 0; i < 6; ++i) sum += results.get<int>(true, kLong);
  EXPECT_EQ(sum, 0 + 1 + 2 + 3 + 4 + 5);

  auto async = pool.starmap_async(put_in, calls, 2);
  async.get();
  for (int i = 0; i < 6; ++i) (void)results.get<int>(true, kLong);
  EXPECT_TRUE(results.empty());
  pool.close();
  pool.join();
}

// --- synchronisation objects (attachable ones; the others: sync_arena_test.cpp)

TEST_P(HandlesTest, LocksAreTheSameLockInTheWorker) {
  auto pool = make_pool();
  mproc::Lock lock(mproc::attachable);
  mproc::RLock rlock(mproc::attachable);
  lock.acquire();
  rlock.acquire();
  EXPECT_FALSE(pool.apply(free_now<mproc::Lock>, lock));  // held here, so busy there
  EXPECT_FALSE(pool.apply(free_now<mproc::RLock>, rlock));
  lock.release();
  rlock.release();
  EXPECT_TRUE(pool.apply(free_now<mproc::Lock>, lock));
  EXPECT_TRUE(pool.apply(free_now<mproc::RLock>, rlock));

  mproc::Condition condition(mproc::attachable);
  condition.acquire();
  EXPECT_FALSE(pool.apply(free_now<mproc::Condition>, condition));
  condition.release();
  EXPECT_TRUE(pool.apply(free_now<mproc::Condition>, condition));
  pool.close();
  pool.join();
}

TEST_P(HandlesTest, SemaphoresEventsAndBarriersTravel) {
  auto pool = make_pool();
  mproc::Semaphore semaphore(mproc::attachable, 0);
  pool.apply(release_one, semaphore);
  EXPECT_TRUE(semaphore.acquire(true, kLong));

  mproc::BoundedSemaphore bounded(mproc::attachable, 1);
  ASSERT_TRUE(bounded.acquire(false));
  pool.apply(release_bounded, bounded);
  EXPECT_EQ(bounded.get_value(), 1);
  // Released above its bound in the worker: the bound travelled with the handle.
  expect_error([&] { pool.apply(release_bounded, bounded); }, errc::task_failed,
               "released more often than acquired");

  mproc::Event event(mproc::attachable);
  pool.apply(set_event, event);
  EXPECT_TRUE(event.is_set());

  mproc::Barrier barrier(mproc::attachable, 2);
  auto other = pool.apply_async(meet, barrier);
  const int mine = barrier.wait(kLong);
  EXPECT_EQ(mine + other.get(), 0 + 1);
  pool.close();
  pool.join();
}

// --- Value, Array, SharedMemory

TEST_P(HandlesTest, ValuesArraysAndSharedMemoryTravel) {
  auto pool = make_pool();
  mproc::Value<int> counter(0);
  std::vector<std::tuple<std::reference_wrapper<mproc::Value<int>>, int>> adds;
  for (int i = 1; i <= 10; ++i) adds.emplace_back(std::ref(counter), i);
  pool.starmap(add_to, adds, 1);
  EXPECT_EQ(counter.get(), 55);

  mproc::RawValue<double> raw(0.0);
  pool.apply(set_raw, raw, 2.5);
  EXPECT_EQ(raw.get(), 2.5);

  mproc::Array<int> squares(8);
  std::vector<std::tuple<std::reference_wrapper<mproc::Array<int>>, int>> cells;
  for (int i = 0; i < 8; ++i) cells.emplace_back(std::ref(squares), i);
  pool.starmap(square_into, cells, 3);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(squares.get(static_cast<size_t>(i)), i * i);

  mproc::RawArray<int> negatives(4);
  for (int i = 0; i < 4; ++i) pool.apply(negate_into, negatives, i);
  EXPECT_EQ(negatives[3], -3);

  auto segment = mproc::SharedMemory::create(16);
  for (int i = 0; i < 3; ++i) pool.apply_async(write_byte, segment, i).get();
  EXPECT_EQ(std::string(static_cast<const char*>(segment.buf()), 3), "abc");
  pool.close();
  pool.join();
  segment.unlink();
}

// --- Manager containers

TEST_P(HandlesTest, ManagerContainersTravel) {
  auto pool = make_pool();
  mproc::Manager manager;
  auto scores = manager.dict<std::string, int>();
  for (int i = 0; i < 4; ++i) pool.apply(score, scores, i);
  EXPECT_EQ(scores.size(), 4u);
  EXPECT_EQ(scores.get("task3"), 3);

  auto lines = manager.list<std::string>();
  pool.apply(log_line, lines, 1);
  EXPECT_EQ(lines.get(0), "line 1");

  mproc::BytesDict bytes_dict;
  pool.apply(bytes_set, bytes_dict);
  EXPECT_EQ(bytes_dict.at("k"), "v");
  mproc::BytesList bytes_list;
  pool.apply(bytes_append, bytes_list);
  EXPECT_EQ(bytes_list.size(), 1u);

  auto ns = manager.Namespace();
  pool.apply(name_it, ns);
  EXPECT_EQ(ns.get<int>("answer"), 42);

  auto named = manager.dict<std::string, int>("scores");
  pool.apply(score_by_name, manager, 5);  // the Manager travels by name: an attached Manager
  EXPECT_EQ(named.get("n"), 5);

  auto queue = manager.Queue();
  pool.apply(put_in, queue, 12);
  EXPECT_EQ(queue.get<int>(true, kLong), 12);
  pool.close();
  pool.join();
}

// --- what cannot travel

TEST_P(HandlesTest, ObjectsThatCannotTravelAreRefusedInTheCaller) {
  auto pool = make_pool(1);
  mproc::Queue closed;
  closed.close();
  expect_error([&] { pool.apply(put_in, closed, 1); }, errc::closed);

  auto segment = mproc::SharedMemory::create(8);
  segment.close();
  expect_error([&] { pool.apply(write_byte, segment, 0); }, errc::closed, "closed");
  segment.unlink();

  mproc::Queue moved_from;
  mproc::Queue taker(std::move(moved_from));
  expect_error([&] { pool.apply(put_in, moved_from, 1); }, errc::closed);

  // The pool is unharmed.
  pool.apply(put_in, taker, 3);
  EXPECT_EQ(taker.get<int>(true, kLong), 3);
  pool.close();
  pool.join();
}

// --- what a task holds

int value_plus_one(mproc::Value<int>& v) { return v.get() + 1; }
int array_sum(mproc::Array<int>& a) { return a.get(0) + a.get(1); }
int echo_through(mproc::Queue& q, int n) {
  q.put(n);
  return q.get<int>(true, kLong);
}

// The caller drops its objects right after submitting; the only worker is kept busy until then,
// so every attach happens after the caller's objects are gone. (Plain locks: sync_arena_test.cpp.)
TEST_P(HandlesTest, ATaskKeepsItsArgumentsAliveAfterTheCallerDropsThem) {
  auto pool = make_pool(1);
  mproc::Event go(mproc::attachable);
  auto busy = pool.apply_async(wait_for, go);
  auto lock = pool.apply_async(free_now<mproc::Lock>, mproc::Lock(mproc::attachable));
  auto value = [&] {
    mproc::Value<int> v(41);
    return pool.apply_async(value_plus_one, v);
  }();
  auto array = [&] {
    mproc::Array<int> a{20, 22};
    return pool.apply_async(array_sum, std::ref(a));
  }();
  auto queue = pool.apply_async(echo_through, mproc::Queue(), 7);  // a temporary is taken over
  auto locks = [&] {
    std::vector<mproc::Lock> named;
    for (int i = 0; i < 3; ++i) named.emplace_back(mproc::attachable);
    return pool.map_async(free_now<mproc::Lock>, named, 1);
  }();
  go.set();
  EXPECT_TRUE(busy.get(kLong));
  EXPECT_TRUE(lock.get(kLong));
  EXPECT_EQ(value.get(kLong), 42);
  EXPECT_EQ(array.get(kLong), 42);
  EXPECT_EQ(queue.get(kLong), 7);
  EXPECT_EQ(locks.get(kLong), std::vector<bool>(3, true));
  // Each job let go of its objects as it ended: their segments are gone (TearDown checks).
  pool.close();
  pool.join();
}

TEST_P(HandlesTest, AHandleWhoseObjectIsGoneFailsTheTaskNotTheWorker) {
  auto pool = make_pool(1);
  auto creator = std::make_unique<mproc::Queue>();
  mproc::Queue attached = mproc::Queue::attach(creator->handle());
  creator.reset();  // the name is gone; `attached` still works here
  const auto workers = pool.worker_pids();
  expect_error([&] { pool.apply(put_in, attached, 1); }, errc::codec, "No such file");
  EXPECT_EQ(pool.worker_pids(), workers);
  pool.close();
  pool.join();
}

}  // namespace
