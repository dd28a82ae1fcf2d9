// mproc::mpi::Pool under `mpirun -n 3` (ctest runs each test so; see CMakeLists.txt): rank 0 runs
// the tests, ranks 1 and 2 serve with 1 and 2 workers. Also runs without mpirun (one rank, local
// workers), which is how ctest lists the tests.
#include <gtest/gtest.h>
#include <mproc/mpi/pool.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "support/leak_check.hpp"

namespace {

using mproc::TaskName;
using namespace std::chrono_literals;

int square(int x) { return x * x; }
int add(int a, int b) { return a + b; }
std::string shout(std::string s) { return s + "!"; }
int fail_on(int x) {
  if (x == 7) throw std::runtime_error("boom " + std::to_string(x));
  return x;
}
int die_on(int x) {
  if (x == 3) ::raise(SIGKILL);
  return x;
}
int sleep_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}

// The pid of the serving process of the rank running this task: a worker's parent is the
// forkserver, whose parent is the rank.
int parent_of(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto close = line.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(line.substr(close + 2));
  char state = 0;
  int ppid = -1;
  rest >> state >> ppid;
  return ppid;
}
int rank_pid(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return parent_of(::getppid());
}

void register_tasks() {
  mproc::register_task("square", square);
  mproc::register_task("add", add);
  mproc::register_task("shout", shout);
  mproc::register_task("fail_on", fail_on);
  mproc::register_task("die_on", die_on);
  mproc::register_task("sleep_ms", sleep_ms);
  mproc::register_task("rank_pid", rank_pid);
}

bool multi_rank() { return mproc::mpi::size() > 1; }

#define EXPECT_THROW_CODE(expr, expected)                        \
  try {                                                          \
    (void)(expr);                                                \
    ADD_FAILURE() << #expr " did not throw";                     \
  } catch (const mproc::Error& e) {                              \
    EXPECT_EQ(e.code(), expected) << e.what();                   \
  }

TEST(MpiPool, ApplyAndApplyAsync) {
  mproc::mpi::Pool pool;
  EXPECT_EQ(pool.apply<int>(TaskName{"square"}, 9), 81);
  auto r = pool.apply_async<std::string>(TaskName{"shout"}, std::string("hi"));
  EXPECT_EQ(r.get(30s), "hi!");
  pool.close();
  pool.join();
}

TEST(MpiPool, RanksReportTheirWorkers) {
  mproc::mpi::Pool pool;
  const auto ranks = pool.ranks();
  if (multi_rank()) {
    ASSERT_EQ(ranks.size(), 2u);
    EXPECT_EQ(ranks[0].rank, 1);
    EXPECT_EQ(ranks[0].processes, 1);
    EXPECT_EQ(ranks[1].rank, 2);
    EXPECT_EQ(ranks[1].processes, 2);
    EXPECT_EQ(pool.processes(), 3);
  } else {
    ASSERT_EQ(ranks.size(), 1u);
    EXPECT_EQ(ranks[0].rank, 0);
  }
  pool.close();
  pool.join();
}

TEST(MpiPool, MapKeepsInputOrder) {
  mproc::mpi::Pool pool;
  std::vector<int> inputs(1000);
  for (int i = 0; i < 1000; ++i) inputs[i] = i;
  for (size_t chunk : {size_t{0}, size_t{1}, size_t{7}, size_t{1000}}) {
    const auto out = pool.map<int>(TaskName{"square"}, inputs, chunk);
    ASSERT_EQ(out.size(), inputs.size());
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(out[i], i * i) << "chunksize " << chunk;
  }
  auto async = pool.map_async<int>(TaskName{"square"}, inputs, 13);
  const auto values = async.get(60s);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(values[i], i * i);
  pool.close();
  pool.join();
  EXPECT_GE(pool.completed_tasks(), 5000u);
}

TEST(MpiPool, ImapUnorderedGivesEveryResultOnce) {
  mproc::mpi::Pool pool;
  std::vector<int> inputs;
  for (int i = 0; i < 300; ++i) inputs.push_back(i % 3 == 0 ? 5 : 0);
  std::multiset<int> seen;
  auto it = pool.imap_unordered<int>(TaskName{"sleep_ms"}, inputs, 2, 8);
  while (auto v = it.next(60s)) seen.insert(*v);
  EXPECT_EQ(seen.size(), inputs.size());
  EXPECT_EQ(seen.count(5), 100u);
  EXPECT_LE(it.max_in_flight(), 8u);  // bounded: never more than the window
  // imap: input order, from a generator that never ends but is cut by the consumer.
  int next = 0;
  auto ordered = pool.imap<int>(
      TaskName{"square"}, [&next]() -> std::optional<int> { return next++; }, 4, 16);
  for (int i = 0; i < 500; ++i) ASSERT_EQ(*ordered.next(60s), i * i);
  EXPECT_LE(ordered.max_in_flight(), 16u);
  pool.terminate();
  pool.join();
}

TEST(MpiPool, Starmap) {
  mproc::mpi::Pool pool;
  std::vector<std::tuple<int, int>> pairs;
  for (int i = 0; i < 200; ++i) pairs.emplace_back(i, 1000 * i);
  const auto out = pool.starmap<int>(TaskName{"add"}, pairs, 9);
  ASSERT_EQ(out.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(out[i], 1001 * i);
  pool.close();
  pool.join();
}

TEST(MpiPool, ExceptionFromARemoteRankCarriesItsText) {
  mproc::mpi::Pool pool;
  auto r = pool.apply_async<int>(TaskName{"fail_on"}, 7);
  try {
    r.get(30s);
    FAIL() << "no error";
  } catch (const mproc::Error& e) {
    EXPECT_EQ(e.code(), mproc::errc::task_failed);
    EXPECT_NE(std::string(e.what()).find("boom 7"), std::string::npos) << e.what();
  }
  // In a map, the failed item fails the map; the others are unaffected in imap.
  std::vector<int> inputs{1, 2, 7, 8};
  EXPECT_THROW(pool.map<int>(TaskName{"fail_on"}, inputs, 1), mproc::Error);
  auto it = pool.imap<int>(TaskName{"fail_on"}, inputs);
  EXPECT_EQ(*it.next(30s), 1);
  EXPECT_EQ(*it.next(30s), 2);
  EXPECT_THROW(it.next(30s), mproc::Error);
  EXPECT_EQ(*it.next(30s), 8);
  pool.close();
  pool.join();
}

TEST(MpiPool, RemoteWorkerKilledMidTaskFailsOnlyItsTask) {
  mproc::mpi::Pool pool;
  std::vector<mproc::AsyncResult<int>> results;
  for (int i = 0; i < 8; ++i) results.push_back(pool.apply_async<int>(TaskName{"die_on"}, i));
  for (int i = 0; i < 8; ++i) {
    if (i == 3) {
      try {
        results[i].get(60s);
        FAIL() << "no error";
      } catch (const mproc::Error& e) {
        EXPECT_EQ(e.code(), mproc::errc::worker_died) << e.what();
      }
    } else {
      EXPECT_EQ(results[i].get(60s), i);
    }
  }
  // The pool goes on, with its worker replaced.
  EXPECT_EQ(pool.apply<int>(TaskName{"square"}, 5), 25);
  pool.close();
  pool.join();
}

TEST(MpiPool, PerTaskTimeout) {
  mproc::mpi::Pool pool;
  mproc::TaskOptions options;
  options.timeout = mproc::Seconds(0.2);
  auto slow = pool.apply_async<int>(options, TaskName{"sleep_ms"}, 20000);
  auto fast = pool.apply_async<int>(options, TaskName{"sleep_ms"}, 1);
  try {
    slow.get(30s);
    FAIL() << "no timeout";
  } catch (const mproc::Error& e) {
    EXPECT_EQ(e.code(), mproc::errc::timed_out) << e.what();
  }
  EXPECT_EQ(fast.get(30s), 1);
  pool.close();
  pool.join();
}

TEST(MpiPool, TimeoutFiresWhenARankStopsAnswering) {
  if (!multi_rank()) GTEST_SKIP() << "needs mpirun";
  mproc::mpi::Pool pool;
  const auto ranks = pool.ranks();
  for (const auto& r : ranks) ASSERT_EQ(::kill(r.pid, SIGSTOP), 0);
  mproc::TaskOptions options;
  options.timeout = mproc::Seconds(0.2);
  auto r = pool.apply_async<int>(options, TaskName{"square"}, 3);
  const auto start = std::chrono::steady_clock::now();
  try {
    r.get(30s);
    ADD_FAILURE() << "no timeout";
  } catch (const mproc::Error& e) {
    EXPECT_EQ(e.code(), mproc::errc::timed_out) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  for (const auto& rank : ranks) ::kill(rank.pid, SIGCONT);
  // Once they answer again, the pool works and closes cleanly.
  EXPECT_EQ(pool.apply<int>(TaskName{"square"}, 4), 16);
  pool.close();
  pool.join();
}

// Sends SIGCONT to the ranks on every way out of a test that stopped them.
struct Resume {
  std::vector<mproc::mpi::RankInfo> ranks;
  ~Resume() {
    for (const auto& r : ranks) ::kill(r.pid, SIGCONT);
  }
};

mproc::mpi::PoolOptions quick_to_give_up() {
  mproc::mpi::PoolOptions options;
  options.rank_timeout = mproc::Seconds(1.0);
  return options;
}

TEST(MpiPool, ARankThatStopsAnsweringIsLostThenRejoins) {
  if (!multi_rank()) GTEST_SKIP() << "needs mpirun";
  mproc::mpi::Pool pool(quick_to_give_up());
  Resume resume{pool.ranks()};
  for (const auto& r : resume.ranks) ASSERT_EQ(::kill(r.pid, SIGSTOP), 0);
  // No task timeout: only the ranks' silence can end this task.
  auto r = pool.apply_async<int>(TaskName{"square"}, 3);
  const auto start = std::chrono::steady_clock::now();
  try {
    r.get(30s);
    ADD_FAILURE() << "the task of a stopped rank succeeded";
  } catch (const mproc::Error& e) {
    EXPECT_EQ(e.code(), mproc::errc::worker_died) << e.what();
    EXPECT_NE(std::string(e.what()).find("no sign of life"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  // No rank is left: what is submitted now fails at once rather than waiting in the queue.
  try {
    pool.apply<int>(TaskName{"square"}, 4);
    ADD_FAILURE() << "a task ran with every rank lost";
  } catch (const mproc::Error& e) {
    EXPECT_EQ(e.code(), mproc::errc::worker_died) << e.what();
  }
  EXPECT_EQ(pool.stats().workers, 0u);
  // Resumed, the ranks answer rank 0's probe: they rejoin and run tasks again.
  for (const auto& rank : resume.ranks) ::kill(rank.pid, SIGCONT);
  const size_t all = static_cast<size_t>(pool.processes());
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (pool.stats().workers < all && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);  // polls a condition, bounded
  EXPECT_EQ(pool.stats().workers, all);
  EXPECT_EQ(pool.apply<int>(TaskName{"square"}, 6), 36);
  EXPECT_EQ(pool.map<int>(TaskName{"square"}, std::vector<int>{1, 2, 3}, 1),
            (std::vector<int>{1, 4, 9}));
  pool.close();
  pool.join();
}

TEST(MpiPool, CloseAndJoinAreBoundedWhenRanksStop) {
  if (!multi_rank()) GTEST_SKIP() << "needs mpirun";
  mproc::mpi::Pool pool(quick_to_give_up());
  EXPECT_EQ(pool.apply<int>(TaskName{"square"}, 5), 25);
  Resume resume{pool.ranks()};
  for (const auto& r : resume.ranks) ASSERT_EQ(::kill(r.pid, SIGSTOP), 0);
  const auto start = std::chrono::steady_clock::now();
  pool.close();
  pool.join();  // the ranks never answer CLOSE: rank 0 stops waiting after the rank timeout
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST(MpiPool, StartIsBoundedWhenARankStops) {
  if (!multi_rank()) GTEST_SKIP() << "needs mpirun";
  Resume resume;
  {
    mproc::mpi::Pool first;
    resume.ranks = first.ranks();
    first.close();
    first.join();
  }
  ASSERT_EQ(::kill(resume.ranks.back().pid, SIGSTOP), 0);
  const auto start = std::chrono::steady_clock::now();
  try {
    mproc::mpi::Pool pool(quick_to_give_up());
    ADD_FAILURE() << "a pool started without a stopped rank's answer";
  } catch (const mproc::Error& e) {
    EXPECT_EQ(e.code(), mproc::errc::timed_out) << e.what();
    EXPECT_NE(std::string(e.what()).find("rank(s) " + std::to_string(resume.ranks.back().rank)),
              std::string::npos)
        << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  ::kill(resume.ranks.back().pid, SIGCONT);
  // Once it answers again, a new pool starts on every rank.
  mproc::mpi::Pool again;
  EXPECT_EQ(again.apply<int>(TaskName{"square"}, 6), 36);
  EXPECT_EQ(again.ranks().size(), resume.ranks.size());
  again.close();
  again.join();
}

TEST(MpiPool, CancelRemovesQueuedTasksAndKillsRunningOnes) {
  mproc::mpi::Pool pool;
  // Every worker of every rank busy for 30 s, and more tasks behind them.
  std::vector<mproc::AsyncResult<int>> busy;
  for (int i = 0; i < pool.processes(); ++i)
    busy.push_back(pool.apply_async<int>(TaskName{"sleep_ms"}, 30000));
  auto queued = pool.apply_async<int>(TaskName{"square"}, 5);
  auto mapped = pool.map_async<int>(TaskName{"square"}, std::vector<int>{1, 2, 3, 4}, 1);
  const auto start = std::chrono::steady_clock::now();
  queued.cancel();
  mapped.cancel();
  for (auto& r : busy) r.cancel();
  for (auto* r : {&queued}) EXPECT_THROW_CODE(r->get(20s), mproc::errc::cancelled);
  EXPECT_THROW_CODE(mapped.get(20s), mproc::errc::cancelled);
  for (auto& r : busy) EXPECT_THROW_CODE(r.get(20s), mproc::errc::cancelled);
  // The running tasks' workers were killed and replaced: new work runs now, not in 30 s.
  EXPECT_EQ(pool.apply<int>(TaskName{"square"}, 4), 16);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
  pool.close();
  pool.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
}

TEST(MpiPool, RankZeroRunsLocalWorkersToo) {
  mproc::mpi::PoolOptions options;
  options.local_processes = 1;
  mproc::mpi::Pool pool(options);
  const auto ranks = pool.ranks();
  ASSERT_EQ(ranks.size(), multi_rank() ? 3u : 1u);
  EXPECT_EQ(ranks.back().rank, 0);
  EXPECT_EQ(ranks.back().processes, 1);
  std::vector<int> inputs(40, 20);
  const auto pids = pool.map<int>(TaskName{"rank_pid"}, inputs, 1);
  // Rank 0's own worker took some of the tasks (its grandparent is this process).
  EXPECT_GT(std::count(pids.begin(), pids.end(), static_cast<int>(::getpid())), 0);
  pool.close();
  pool.join();
}

TEST(MpiPool, RanksGetWorkInProportionToTheirWorkers) {
  if (!multi_rank()) GTEST_SKIP() << "needs mpirun";
  mproc::mpi::PoolOptions options;
  options.tasks_per_worker = 1;
  mproc::mpi::Pool pool(options);
  std::vector<int> inputs(60, 30);
  const auto pids = pool.map<int>(TaskName{"rank_pid"}, inputs, 1);
  std::map<int, int> per_rank;
  for (int pid : pids) ++per_rank[pid];
  const auto ranks = pool.ranks();
  ASSERT_EQ(ranks.size(), 2u);
  // Rank 2 has twice rank 1's workers: it runs more of the tasks.
  EXPECT_GT(per_rank[ranks[1].pid], per_rank[ranks[0].pid]);
  EXPECT_EQ(per_rank[ranks[0].pid] + per_rank[ranks[1].pid], 60);
  pool.close();
  pool.join();
}

TEST(MpiPool, CallbacksProgressAndStates) {
  mproc::mpi::PoolOptions options;
  std::atomic<size_t> progress{0};
  options.on_progress = [&progress](size_t n) { progress.store(n); };
  mproc::mpi::Pool pool(options);
  std::atomic<int> got{0};
  auto r = pool.apply_async<int>(TaskName{"square"}, 6);
  r.on_done([&got](const int& v) { got.store(v); });
  EXPECT_EQ(r.get(30s), 36);
  EXPECT_EQ(got.load(), 36);
  EXPECT_FALSE(r.wait(0s) == false);
  pool.close();
  EXPECT_THROW(pool.apply_async<int>(TaskName{"square"}, 1), mproc::Error);
  try {
    pool.apply_async<int>(TaskName{"square"}, 1);
  } catch (const mproc::Error& e) {
    EXPECT_EQ(e.code(), mproc::errc::closed);
  }
  pool.join();
  EXPECT_EQ(progress.load(), 1u);
}

TEST(MpiPool, TerminateResolvesEverything) {
  mproc::mpi::Pool pool;
  std::vector<mproc::AsyncResult<int>> results;
  for (int i = 0; i < 20; ++i)
    results.push_back(pool.apply_async<int>(TaskName{"sleep_ms"}, 10000));
  pool.terminate();
  for (auto& r : results) {
    ASSERT_TRUE(r.wait(0s));
    EXPECT_FALSE(r.successful());
  }
  EXPECT_THROW(pool.apply_async<int>(TaskName{"square"}, 1), mproc::Error);
  pool.join();
}

TEST(MpiPool, BadNamesAndTypesAreRejected) {
  mproc::mpi::Pool pool;
  try {
    pool.apply_async<int>(TaskName{"no such task"}, 1);
    FAIL();
  } catch (const mproc::Error& e) {
    EXPECT_EQ(e.code(), std::errc::invalid_argument);
  }
  EXPECT_THROW(pool.apply_async<double>(TaskName{"square"}, 1), mproc::Error);
  EXPECT_THROW(pool.apply_async<int>(TaskName{"square"}, 1.5), mproc::Error);
  pool.close();
  pool.join();
}

// An ordinary local Pool (fork start method) on rank 0 forks after MPI_Init: with the transports
// used here (shared memory, TCP) its workers run and the MPI pool goes on working beside it.
TEST(MpiPool, LocalForkPoolBesideTheMpiPool) {
  mproc::mpi::Pool remote;
  mproc::Pool local(2);
  std::vector<int> inputs{1, 2, 3, 4};
  const auto here = local.map(square, inputs);
  EXPECT_EQ(here, (std::vector<int>{1, 4, 9, 16}));
  EXPECT_EQ(remote.map<int>(TaskName{"square"}, inputs), here);
  local.close();
  local.join();
  remote.close();
  remote.join();
}

TEST(MpiPool, TwoPoolsAtOnceAndOneAfterAnother) {
  {
    mproc::mpi::Pool first;
    mproc::mpi::Pool second;
    std::vector<int> inputs(2000);
    for (int i = 0; i < 2000; ++i) inputs[static_cast<size_t>(i)] = i;
    std::vector<int> squares;
    for (int x : inputs) squares.push_back(x * x);
    // Both pools' threads talk MPI at once; each gets its own results only.
    std::vector<int> from_first;
    std::thread other([&] { from_first = first.map<int>(TaskName{"square"}, inputs, 7); });
    const auto from_second = second.map<int>(TaskName{"square"}, inputs, 5);
    other.join();
    EXPECT_EQ(from_first, squares);
    EXPECT_EQ(from_second, squares);
    EXPECT_EQ(second.apply<int>(TaskName{"square"}, 2), 4);
    second.close();
    second.join();
    EXPECT_EQ(first.apply<int>(TaskName{"square"}, 3), 9);
  }  // `first` destroyed without join: terminated
  mproc::mpi::Pool again;
  EXPECT_EQ(again.apply<int>(TaskName{"square"}, 3), 9);
  again.close();
  again.join();
}

}  // namespace

int main(int argc, char** argv) {
  register_tasks();
  mproc::mpi::RunOptions options;
  options.processes = [](int rank) { return rank == 1 ? 1 : 2; };
  const int result = mproc::mpi::run(
      argc, argv,
      [](int c, char** v) {
        ::testing::InitGoogleTest(&c, v);
        return RUN_ALL_TESTS();
      },
      options);
  if (mproc::test::has_children()) {
    std::fprintf(stderr, "FAILED: the run left a child process behind\n");
    return 1;
  }
  return result;
}
