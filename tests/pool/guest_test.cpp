// The one-hop round trip (issue 17 item 4, src/pool/guest.cpp): on an idle pool the caller hands
// its task straight to a worker and collects the result itself, while the dispatcher thread
// sleeps; every event that is the dispatcher's (a death, cancel, terminate, a replacement under
// maxtasksperchild, a timeout) still resolves each task exactly once.
#include <mproc/pool.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <dirent.h>
#include <fstream>
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
using mproc::test::Signal;

int twice(int x) { return 2 * x; }
pid_t worker_pid() { return mproc::getpid(); }

// A task that tells the test it started, then waits for the gate.
int started_then_wait(int started_fd, int gate_fd) {
  Signal::notify(started_fd);
  Gate::pass(gate_fd);
  return 1;
}

int kill_own_worker() {
  ::raise(SIGKILL);
  return 0;
}

// The voluntary context switches of this process's pool dispatcher thread (named mproc-pool):
// each is one sleep of it, so the count grows by one per wake-up. -1 if there is no such thread.
long dispatcher_sleeps() {
  DIR* dir = ::opendir("/proc/self/task");
  if (dir == nullptr) return -1;
  long found = -1;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string task = std::string("/proc/self/task/") + entry->d_name;
    std::ifstream comm(task + "/comm");
    std::string name;
    if (!std::getline(comm, name) || name != "mproc-pool") continue;
    std::ifstream status(task + "/status");
    std::string line;
    while (std::getline(status, line))
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0) found = std::stol(line.substr(24));
  }
  ::closedir(dir);
  return found;
}

TEST_F(PoolTest, ApplyOnAnIdlePoolLeavesTheDispatcherThreadAsleep) {
  mproc::Pool pool(1);
  EXPECT_EQ(pool.apply(twice, 1), 2);  // the worker is up
  const long before = dispatcher_sleeps();
  ASSERT_GE(before, 0);
  constexpr int kCalls = 200;
  for (int i = 0; i < kCalls; ++i) ASSERT_EQ(pool.apply(twice, i), 2 * i);
  const long woken = dispatcher_sleeps() - before;
  // Through the dispatcher, each call wakes it at least once (twice, mostly). As a guest, the
  // caller leaves it asleep: it wakes only for its one-second look at a pool in flight.
  EXPECT_LT(woken, kCalls / 4) << "the dispatcher thread woke " << woken << " times";
  pool.close();
  pool.join();
}

TEST_F(PoolTest, AWorkerDyingUnderAWaitingCallerFailsItsTaskOnceAndIsReplaced) {
  mproc::Pool pool(1);
  for (int round = 0; round < 3; ++round) {
    expect_error([&] { (void)pool.apply(kill_own_worker); }, errc::worker_died, "SIGKILL");
    EXPECT_EQ(pool.apply(twice, round), 2 * round);
  }
  EXPECT_EQ(pool.stats().workers_started, 4u);
  pool.close();
  pool.join();
}

TEST_F(PoolTest, TerminateWhileACallerWaitsResolvesItsTaskAsTerminated) {
  Signal started;
  Gate gate;
  mproc::Pool pool(1);
  std::thread caller([&] {
    expect_error([&] { (void)pool.apply(started_then_wait, started.write_fd(), gate.read_fd()); },
                 errc::terminated);
  });
  ASSERT_EQ(started.wait(), 's');
  pool.terminate();
  caller.join();
}

TEST_F(PoolTest, CancelWhileTheCallerWaitsKillsTheRunningTaskOnce) {
  Signal started;
  Gate gate;
  mproc::Pool pool(1);
  auto r = pool.apply_async(started_then_wait, started.write_fd(), gate.read_fd());
  std::thread waiter([&] { expect_error([&] { (void)r.get(); }, errc::cancelled, "while running"); });
  ASSERT_EQ(started.wait(), 's');
  r.cancel();
  waiter.join();
  EXPECT_EQ(pool.apply(twice, 5), 10);  // its replacement
  pool.close();
  pool.join();
}

TEST_F(PoolTest, ApplyAfterApplyUnderMaxTasksPerChildOneRunsEachOnAFreshWorker) {
  mproc::PoolOptions options;
  options.processes = 1;
  options.maxtasksperchild = 1;
  mproc::Pool pool(options);
  std::set<pid_t> pids;
  for (int i = 0; i < 8; ++i) pids.insert(pool.apply(worker_pid));
  EXPECT_EQ(pids.size(), 8u);
  pool.close();
  pool.join();
}

TEST_F(PoolTest, ATimedOutTaskUnderAWaitingCallerTimesOut) {
  Signal started;
  Gate gate;
  mproc::Pool pool(1);
  mproc::TaskOptions options;
  options.timeout = mproc::Seconds(0.2);
  auto r = pool.apply_async(options, started_then_wait, started.write_fd(), gate.read_fd());
  expect_error([&] { (void)r.get(); }, errc::timed_out);
  EXPECT_EQ(pool.apply(twice, 3), 6);
  pool.close();
  pool.join();
}

}  // namespace
