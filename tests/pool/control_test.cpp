// Pool controls: maxtasksperchild, initializers (good and failing), per-task timeouts, cancel,
// and imap's bounded window over huge or endless input.
#include <mproc/pool.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <map>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <vector>

#include "pool/pool_test_support.hpp"

namespace {

using mproc::errc;
using mproc::test::expect_error;
using mproc::test::Gate;
using mproc::test::PoolTest;
using mproc::test::Signal;

int square(int x) { return x * x; }
pid_t worker_pid(int) { return mproc::getpid(); }

int g_initialized = 0;  // set by the initializer, in each worker

TEST_F(PoolTest, MaxTasksPerChildReplacesWorkersWithoutLosingTasks) {
  mproc::PoolOptions options;
  options.processes = 2;
  options.maxtasksperchild = 3;
  mproc::Pool pool(options);
  std::vector<int> in(30, 0);
  const auto pids = pool.map(worker_pid, in, 1);
  ASSERT_EQ(pids.size(), 30u);
  std::map<pid_t, int> per_worker;
  for (pid_t p : pids) ++per_worker[p];
  EXPECT_GE(per_worker.size(), 10u);  // 30 tasks, at most 3 each
  for (const auto& [pid, n] : per_worker) EXPECT_LE(n, 3) << "pid " << pid;
  // Chunks count as one task each.
  const auto chunked = pool.map(worker_pid, std::vector<int>(40, 0), 10);
  EXPECT_EQ(chunked.size(), 40u);
  pool.close();
  pool.join();
}

TEST_F(PoolTest, InitializerRunsOnceInEachWorker) {
  Signal ran;
  const int fd = ran.write_fd();
  mproc::PoolOptions options;
  options.processes = 2;
  options.initializer = [fd] {
    g_initialized += 5;
    Signal::notify(fd, 'i');
  };
  mproc::Pool pool(options);
  const auto v = pool.map([](int) { return g_initialized; }, std::vector<int>(20, 0), 1);
  for (int x : v) EXPECT_EQ(x, 5);
  EXPECT_EQ(g_initialized, 0);  // not in the parent
  EXPECT_EQ(ran.wait(), 'i');
  EXPECT_EQ(ran.wait(), 'i');
  pool.close();
  pool.join();
  EXPECT_FALSE(ran.pending());  // exactly two workers, two initializers
}

TEST_F(PoolTest, FailingInitializerBreaksThePoolBoundedly) {
  mproc::PoolOptions options;
  options.processes = 2;
  options.initializer = [] { throw std::runtime_error("no database"); };
  mproc::Pool pool(options);
  auto r = pool.apply_async(square, 2);
  expect_error([&] { r.get(); }, errc::broken, "std::runtime_error: no database");
  expect_error([&] { r.get(); }, errc::broken, "initializer failed");
  // New tasks fail too, at once.
  expect_error([&] { pool.apply(square, 3); }, errc::broken);
  pool.close();
  pool.join();
  // Bounded: broken after processes + 2 failures in a row (4), so at most 4 + 1 workers (the
  // last one alive when the pool broke); no endless respawning.
  EXPECT_LE(pool.stats().workers_started, 5u);
}

TEST_F(PoolTest, InitializerThatKillsItsWorker) {
  mproc::PoolOptions options;
  options.processes = 1;
  options.initializer = [] { ::_exit(7); };
  mproc::Pool pool(options);
  expect_error([&] { pool.apply(square, 2); }, errc::broken, "exited with code 7");
  pool.close();
  pool.join();
  EXPECT_LE(pool.stats().workers_started, 3u);
}

TEST_F(PoolTest, TaskTimeoutKillsAndReplacesItsWorker) {
  Gate never;
  const int fd = never.read_fd();
  mproc::Pool pool(2);
  mproc::TaskOptions timed;
  timed.timeout = mproc::Seconds(0.2);
  auto slow = pool.apply_async(timed, [fd] { return Gate::pass(fd); });
  auto quick = pool.apply_async(timed, square, 9);
  expect_error([&] { slow.get(); }, errc::timed_out, "timed out after 0.2 s");
  EXPECT_EQ(quick.get(), 81);
  EXPECT_EQ(pool.apply(square, 3), 9);
  // A timed map chunk.
  expect_error([&] { pool.map([fd](int) { return Gate::pass(fd); }, std::vector<int>{1}, 1, timed); },
               errc::timed_out);
  pool.close();
  pool.join();
  EXPECT_EQ(pool.stats().workers_started, 4u);
}

TEST_F(PoolTest, CancelRunningTaskKillsItsWorker) {
  Gate never;
  Signal started;
  const int gfd = never.read_fd();
  const int sfd = started.write_fd();
  mproc::Pool pool(2);
  auto r = pool.apply_async([gfd, sfd] {
    Signal::notify(sfd);
    return Gate::pass(gfd);
  });
  ASSERT_EQ(started.wait(), 's');
  r.cancel();
  expect_error([&] { r.get(); }, errc::cancelled, "while running");
  EXPECT_EQ(pool.apply(square, 4), 16);
  pool.close();
  pool.join();
  EXPECT_EQ(pool.stats().workers_started, 3u);
}

TEST_F(PoolTest, CancelQueuedTaskNeverRunsIt) {
  Gate gate;
  Signal started, ran;
  const int gfd = gate.read_fd();
  const int sfd = started.write_fd();
  const int rfd = ran.write_fd();
  mproc::Pool pool(1);
  auto blocker = pool.apply_async([gfd, sfd] {
    Signal::notify(sfd);
    return Gate::pass(gfd);
  });
  ASSERT_EQ(started.wait(), 's');
  // Sent to the busy worker (or still queued): not started.
  auto victim = pool.apply_async([rfd] {
    Signal::notify(rfd, 'x');
    return 1;
  });
  auto map = pool.map_async(square, std::vector<int>(10, 1), 1);
  victim.cancel();
  map.cancel();
  victim.wait();
  map.wait();
  expect_error([&] { victim.get(); }, errc::cancelled, "before it started");
  expect_error([&] { map.get(); }, errc::cancelled);
  gate.open();
  EXPECT_TRUE(blocker.get());
  EXPECT_EQ(pool.apply(square, 5), 25);
  pool.close();
  pool.join();
  EXPECT_FALSE(ran.pending());  // the cancelled task never ran
  EXPECT_EQ(pool.stats().workers_started, 1u);
  blocker.cancel();  // resolved already: no effect
  EXPECT_TRUE(blocker.get());
}

TEST_F(PoolTest, ImapOverHugeGeneratedInputKeepsAWindow) {
  mproc::Pool pool(2);
  const size_t window = 8, chunksize = 4;
  size_t produced = 0, consumed = 0, max_ahead = 0;
  auto gen = [&produced]() -> std::optional<int> {
    if (produced == 100'000) return std::nullopt;
    return static_cast<int>(produced++ % 1000);
  };
  auto it = pool.imap_unordered(square, gen, chunksize, window);
  long long sum = 0;
  while (auto v = it.next()) {
    sum += *v;
    ++consumed;
    max_ahead = std::max(max_ahead, produced - consumed);
  }
  EXPECT_EQ(consumed, 100'000u);
  long long expected = 0;
  for (int i = 0; i < 1000; ++i) expected += 100LL * i * i;
  EXPECT_EQ(sum, expected);
  EXPECT_LE(it.max_in_flight(), window);
  EXPECT_LE(max_ahead, window * chunksize);  // the input is read only as results are taken
  EXPECT_EQ(it.in_flight(), 0u);
  pool.close();
  pool.join();
}

TEST_F(PoolTest, ImapOverEndlessRangeStopsWhenTheConsumerDoes) {
#if !MPROC_TEST_STD_VIEWS
  GTEST_SKIP() << "clang < 15 cannot build std::views::iota with libstdc++ 12";
#else
  mproc::Pool pool(2);
  auto it = pool.imap(square, std::views::iota(0), 16, 4);  // endless
  for (int i = 0; i < 5000; ++i) ASSERT_EQ(it.next(), i * i);
  EXPECT_LE(it.max_in_flight(), 4u);
  pool.close();
  // The iterator still has input; join() cuts it off.
  pool.join();
  size_t left = 0;
  try {
    while (it.next()) ASSERT_LT(++left, 100u);
    ADD_FAILURE() << "the iterator should end with errc::closed";
  } catch (const mproc::Error& e) {
    EXPECT_EQ(e.code(), errc::closed) << e.what();
  }
#endif
}

TEST_F(PoolTest, ImapCreatedBeforeCloseStillFeedsUntilJoin) {
#if !MPROC_TEST_STD_VIEWS
  GTEST_SKIP() << "clang < 15 cannot build std::views::iota with libstdc++ 12";
#else
  mproc::Pool pool(2);
  auto it = pool.imap(square, std::views::iota(0, 200), 1, 4);
  pool.close();
  int n = 0;
  while (auto v = it.next()) {
    ASSERT_EQ(*v, n * n);
    ++n;
  }
  EXPECT_EQ(n, 200);
  pool.join();
#endif
}

}  // namespace
