// Pool: results and their order, arguments and results of several types, callbacks, progress,
// close / join rules.
#include <mproc/pool.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <numeric>
#include <ranges>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "pool/pool_test_support.hpp"

namespace {

using mproc::errc;
using mproc::test::expect_error;
using mproc::test::Gate;
using mproc::test::PoolTest;

int square(int x) { return x * x; }
int add(int a, int b) { return a + b; }
std::string shout(const std::string& s, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += s + "!";
  return out;
}
std::vector<double> scale(std::vector<double> v, double k) {
  for (double& x : v) x *= k;
  return v;
}
pid_t worker_pid() { return mproc::getpid(); }
void nothing(int) {}

TEST_F(PoolTest, ApplyRunsInAWorker) {
  mproc::Pool pool(2);
  EXPECT_EQ(pool.processes(), 2);
  EXPECT_EQ(pool.apply(square, 7), 49);
  EXPECT_EQ(pool.apply(add, 2, 40), 42);
  const pid_t pid = pool.apply(worker_pid);
  const auto pids = pool.worker_pids();
  EXPECT_NE(pid, mproc::getpid());
  EXPECT_NE(std::find(pids.begin(), pids.end(), pid), pids.end());
  pool.close();
  pool.join();
}

TEST_F(PoolTest, ArgumentsAndResultsOfSeveralTypes) {
  mproc::Pool pool(2);
  EXPECT_EQ(pool.apply(shout, std::string("hey"), 2), "hey!hey!");
  EXPECT_EQ(pool.apply(shout, "literal", 1), "literal!");  // const char* travels as a string
  EXPECT_EQ(pool.apply(scale, std::vector<double>{1, 2.5}, 2.0), (std::vector<double>{2, 5}));
  std::string big(300'000, 'x');  // larger than a ring: goes through in pieces, both ways
  EXPECT_EQ(pool.apply(shout, big, 3).size(), 3 * (big.size() + 1));
  pool.apply(nothing, 1);  // void
  auto r = pool.apply_async(nothing, 2);
  r.get();
  EXPECT_TRUE(r.successful());
  pool.close();
  pool.join();
}

TEST_F(PoolTest, CapturingLambdaTravelsAsItsBytes) {
  mproc::Pool pool(2);
  int base = 1000;  // not const: a constant would not need the capture (clang warns)
  const double factor = 0.5;
  EXPECT_EQ(pool.apply([base](int x) { return base + x; }, 1), 1001);
  auto v = pool.map([base, factor](int x) { return (base + x) * factor; },
                    std::vector<int>{0, 2, 4});
  EXPECT_EQ(v, (std::vector<double>{500, 501, 502}));
  pool.close();
  pool.join();
}

TEST_F(PoolTest, ApplyAsyncManyThenCollect) {
  mproc::Pool pool(2);
  std::vector<mproc::AsyncResult<int>> results;
  for (int i = 0; i < 5000; ++i) results.push_back(pool.apply_async(square, i));
  for (int i = 0; i < 5000; ++i) ASSERT_EQ(results[static_cast<size_t>(i)].get(), i * i);
  for (auto& r : results) EXPECT_TRUE(r.ready());
  EXPECT_EQ(pool.completed_tasks(), 5000u);
  pool.close();
  pool.join();
}

TEST_F(PoolTest, MapKeepsInputOrderWithEveryChunksize) {
  mproc::Pool pool(2);
  std::vector<int> in(1001);
  std::iota(in.begin(), in.end(), 0);
  std::vector<int> expected;
  for (int x : in) expected.push_back(x * x);
  for (size_t chunksize : {0u, 1u, 7u, 2000u}) {
    EXPECT_EQ(pool.map(square, in, chunksize), expected) << "chunksize " << chunksize;
    EXPECT_EQ(pool.map_async(square, in, chunksize).get(), expected) << "chunksize " << chunksize;
  }
  EXPECT_TRUE(pool.map(square, std::vector<int>{}).empty());
  EXPECT_TRUE(pool.map_async(square, std::vector<int>{}).get().empty());
#if MPROC_TEST_STD_VIEWS
  EXPECT_EQ(pool.map(square, std::views::iota(0, 5)), (std::vector<int>{0, 1, 4, 9, 16}));
#endif
  EXPECT_EQ(pool.map(nothing, std::vector<int>{1, 2}).size(), 2u);
  pool.close();
  pool.join();
}

TEST_F(PoolTest, StarmapUnpacksTuples) {
  mproc::Pool pool(2);
  std::vector<std::tuple<int, int>> in{{1, 2}, {3, 4}, {5, 6}};
  EXPECT_EQ(pool.starmap(add, in), (std::vector<int>{3, 7, 11}));
  EXPECT_EQ(pool.starmap_async(add, in, 1).get(), (std::vector<int>{3, 7, 11}));
  std::vector<std::pair<std::string, int>> words{{"a", 1}, {"b", 2}};
  EXPECT_EQ(pool.starmap(shout, words), (std::vector<std::string>{"a!", "b!b!"}));
  pool.close();
  pool.join();
}

TEST_F(PoolTest, ImapStreamsInInputOrder) {
  Gate gates[3];
  const int fds[3] = {gates[0].read_fd(), gates[1].read_fd(), gates[2].read_fd()};
  mproc::Pool pool(3);
  auto it = pool.imap(
      [fds](int i) {
        Gate::pass(fds[i]);
        return i;
      },
      std::vector<int>{0, 1, 2});
  // Finish them in reverse: imap still yields 0, 1, 2.
  gates[2].open();
  gates[1].open();
  gates[0].open();
  EXPECT_EQ(it.next(), 0);
  EXPECT_EQ(it.next(), 1);
  EXPECT_EQ(it.next(), 2);
  EXPECT_EQ(it.next(), std::nullopt);
  pool.close();
  pool.join();
}

TEST_F(PoolTest, ImapUnorderedYieldsInCompletionOrder) {
  Gate gates[3];
  mproc::test::Signal done;
  const int fds[3] = {gates[0].read_fd(), gates[1].read_fd(), gates[2].read_fd()};
  mproc::Pool pool(3);
  auto it = pool.imap_unordered(
      [fds](int i) {
        Gate::pass(fds[i]);
        return i;
      },
      std::vector<int>{0, 1, 2});
  std::vector<int> order;
  for (int g : {2, 0, 1}) {
    gates[g].open();
    auto v = it.next(mproc::Seconds(30));
    ASSERT_TRUE(v.has_value());
    order.push_back(*v);
  }
  EXPECT_EQ(order, (std::vector<int>{2, 0, 1}));
  EXPECT_EQ(it.next(), std::nullopt);
  pool.close();
  pool.join();
}

TEST_F(PoolTest, ImapRangeForAndTimeout) {
  Gate gate;
  const int fd = gate.read_fd();
  mproc::Pool pool(2);
  int sum = 0;
  for (int v : pool.imap(square, std::vector<int>{1, 2, 3}, 2)) sum += v;
  EXPECT_EQ(sum, 14);
  auto it = pool.imap([fd](int x) { return Gate::pass(fd) ? x : -1; }, std::vector<int>{5});
  expect_error([&] { it.next(mproc::Seconds(0.05)); }, errc::timed_out);
  gate.open();
  EXPECT_EQ(it.next(), 5);
  pool.close();
  pool.join();
}

TEST_F(PoolTest, CallbacksRunInTheDispatcherThread) {
  Gate gate;  // before the pool: its workers inherit the pipe
  const int fd = gate.read_fd();
  mproc::Pool pool(2);
  std::atomic<int> value{0};
  std::atomic<bool> other_thread{false};
  std::string error;
  const auto me = std::this_thread::get_id();
  auto r = pool.apply_async([fd](int x) { return Gate::pass(fd) ? x : 0; }, 21);
  r.on_done([&](const int& v) {
    value = v * 2;
    other_thread = std::this_thread::get_id() != me;
  });
  gate.open();
  EXPECT_EQ(r.get(), 21);
  EXPECT_EQ(value.load(), 42);  // the callback ran before get() returned
  EXPECT_TRUE(other_thread.load());
  // Already resolved: runs at once, here.
  bool ran_here = false;
  r.on_done([&](const int&) { ran_here = std::this_thread::get_id() == me; });
  EXPECT_TRUE(ran_here);
  auto bad = pool.apply_async([](int) -> int { throw std::logic_error("nope"); }, 0);
  std::atomic<bool> error_seen{false};
  bad.on_done([](const int&) {}, [&](const mproc::Error& e) {
    error = e.what();
    error_seen = true;
  });
  bad.wait();
  EXPECT_TRUE(error_seen.load());
  EXPECT_NE(error.find("std::logic_error: nope"), std::string::npos) << error;
  pool.close();
  pool.join();
}

TEST_F(PoolTest, ProgressHookCountsFinishedTasks) {
  std::atomic<size_t> last{0};
  std::atomic<int> calls{0};
  mproc::PoolOptions options;
  options.processes = 2;
  options.on_progress = [&](size_t done) {
    last = done;
    ++calls;
  };
  mproc::Pool pool(options);
  pool.map(square, std::vector<int>(100, 3), 10);
  EXPECT_EQ(pool.completed_tasks(), 100u);
  pool.close();
  pool.join();
  EXPECT_EQ(last.load(), 100u);
  EXPECT_EQ(calls.load(), 10);  // one per chunk
}

TEST_F(PoolTest, CloseJoinRules) {
  mproc::Pool pool(2);
  expect_error([&] { pool.join(); }, errc::bad_state, "close()");
  auto r = pool.apply_async(square, 3);
  pool.close();
  expect_error([&] { pool.apply_async(square, 1); }, errc::closed);
  pool.join();
  EXPECT_EQ(r.get(), 9);  // submitted before close: finished
  EXPECT_EQ(pool.stats().workers, 0u);
  pool.join();  // again: no-op
}

TEST_F(PoolTest, AsyncResultStateQueries) {
  Gate gate;
  const int fd = gate.read_fd();
  mproc::Pool pool(1);
  auto r = pool.apply_async([fd] { return Gate::pass(fd); });
  EXPECT_FALSE(r.ready());
  expect_error([&] { (void)r.successful(); }, errc::bad_state);
  EXPECT_FALSE(r.wait(mproc::Seconds(0.01)));
  expect_error([&] { r.get(mproc::Seconds(0.01)); }, errc::timed_out);
  expect_error([&] { r.wait(mproc::Seconds(-1)); }, std::make_error_code(std::errc::invalid_argument));
  gate.open();
  EXPECT_TRUE(r.get(mproc::Seconds(30)));
  EXPECT_TRUE(r.successful());
  mproc::AsyncResult<int> empty;
  EXPECT_FALSE(empty.valid());
  expect_error([&] { empty.get(); }, errc::bad_state);
  pool.close();
  pool.join();
}

TEST_F(PoolTest, SubmitFromManyThreads) {
  mproc::Pool pool(2);
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i)
        if (pool.apply_async(add, t, i).get() != t + i) ++bad;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
  pool.close();
  pool.join();
}

}  // namespace

namespace {

int triple(int x) { return 3 * x; }

TEST_F(PoolTest, RegisteredTasksRunByName) {
  mproc::register_task("triple", triple);
  int offset = 7;  // not const: a constant would not need the capture (clang warns)
  mproc::register_task("shift", [offset](int x, const std::string& s) {
    return s + std::to_string(x + offset);
  });
  mproc::Pool pool(2);
  EXPECT_EQ(pool.apply<int>(mproc::TaskName{"triple"}, 5), 15);
  EXPECT_EQ(pool.apply_async<std::string>(mproc::TaskName{"shift"}, 1, "n=").get(), "n=8");
  expect_error([&] { pool.apply<int>(mproc::TaskName{"missing"}, 1); },
               std::make_error_code(std::errc::invalid_argument), "missing");
  expect_error([&] { pool.apply<int>(mproc::TaskName{"triple"}, 1.5); },
               std::make_error_code(std::errc::invalid_argument), "other argument");
  expect_error([&] { mproc::register_task("", triple); },
               std::make_error_code(std::errc::invalid_argument));
  pool.close();
  pool.join();
}

}  // namespace
