// StartMethod::forkserver: workers forked by a single-threaded server process, so that a parent
// with threads holding locks can still create pools safely.
#include <mproc/pool.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <future>
#include <mutex>
#include <poll.h>
#include <sstream>
#include <string>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "pool/pool_test_support.hpp"

namespace {

using mproc::errc;
using mproc::test::expect_error;
using namespace std::chrono_literals;

// Stops the server after each test, so that the leak check sees no child and no descriptor.
class ForkserverTest : public mproc::test::PoolTest {
 protected:
  void TearDown() override {
    mproc::stop_forkserver();
    EXPECT_EQ(mproc::forkserver_pid(), 0);
    mproc::test::PoolTest::TearDown();
  }
};

mproc::PoolOptions served(int processes) {
  mproc::PoolOptions o;
  o.processes = processes;
  o.start_method = mproc::StartMethod::forkserver;
  return o;
}

int square(int x) { return x * x; }
pid_t parent_of_worker(int) { return ::getppid(); }
std::string worker_name(int) { return mproc::current_process().name(); }
int die(int x) {
  if (x == 1) ::raise(SIGKILL);
  if (x == 2) ::_exit(7);
  return x;
}
int sleepy(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}

std::mutex g_app_lock;  // a lock of the application's own
void take_app_lock() { std::lock_guard lock(g_app_lock); }

TEST_F(ForkserverTest, RunsTasksMapsAndNamedTasksInServedWorkers) {
  mproc::register_task("fs_square", square);
  mproc::start_forkserver();
  const pid_t server = mproc::forkserver_pid();
  ASSERT_GT(server, 0);
  mproc::Pool pool(served(2));
  EXPECT_EQ(pool.apply(square, 7), 49);
  EXPECT_EQ(pool.apply<int>(mproc::TaskName{"fs_square"}, 9), 81);
  std::vector<int> in(1000);
  for (int i = 0; i < 1000; ++i) in[static_cast<size_t>(i)] = i;
  const std::vector<int> out = pool.map(square, in);
  ASSERT_EQ(out.size(), in.size());
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(out[static_cast<size_t>(i)], i * i);
  // The workers are the server's children, not ours, and know their names.
  EXPECT_EQ(pool.apply(parent_of_worker, 0), server);
  EXPECT_EQ(pool.apply(worker_name, 0).rfind("ForkServerPoolWorker-", 0), 0u);
  EXPECT_EQ(pool.worker_pids().size(), 2u);
  pool.close();
  pool.join();
  EXPECT_EQ(mproc::forkserver_pid(), server);  // one server serves every pool
}

TEST_F(ForkserverTest, StartsOnFirstUse) {
  EXPECT_EQ(mproc::forkserver_pid(), 0);
  mproc::Pool pool(served(1));
  EXPECT_GT(mproc::forkserver_pid(), 0);
  EXPECT_EQ(pool.apply(square, 3), 9);
}

TEST_F(ForkserverTest, WorkerDeathIsReportedWithItsSignalOrCodeAndTheWorkerReplaced) {
  mproc::start_forkserver();
  mproc::Pool pool(served(2));
  expect_error([&] { pool.apply(die, 1); }, errc::worker_died, "signal 9");
  expect_error([&] { pool.apply(die, 2); }, errc::worker_died, "exited with code 7");
  EXPECT_EQ(pool.apply(die, 5), 5);
  EXPECT_GE(pool.stats().workers_started, 4u);
  EXPECT_EQ(pool.worker_pids().size(), 2u);
  pool.close();
  pool.join();
}

TEST_F(ForkserverTest, TimeoutsMaxtasksAndTerminateWork) {
  mproc::start_forkserver();
  mproc::PoolOptions o = served(1);
  o.maxtasksperchild = 2;
  mproc::Pool pool(o);
  mproc::TaskOptions quick;
  quick.timeout = 0.05s;
  expect_error([&] { pool.apply_async(quick, sleepy, 60'000).get(); }, errc::timed_out,
               "timed out");
  for (int i = 0; i < 6; ++i) EXPECT_EQ(pool.apply(square, i), i * i);
  EXPECT_GE(pool.stats().workers_started, 4u);
  auto pending = pool.apply_async(sleepy, 60'000);
  pool.terminate();
  expect_error([&] { pending.get(); }, errc::terminated);
  pool.join();
}

TEST_F(ForkserverTest, APoolCreatedWhileAnotherThreadHoldsALockDoesNotDeadlock) {
  mproc::start_forkserver();  // while single-threaded, as documented
  std::promise<void> locked;
  std::promise<void> release;
  std::thread holder([&] {
    std::lock_guard lock(g_app_lock);
    locked.set_value();
    release.get_future().wait();
  });
  locked.get_future().wait();
  // With StartMethod::fork, a worker forked now inherits g_app_lock held, and its initializer
  // would block forever. The forkserver's workers are copies of a process that never held it.
  mproc::PoolOptions o = served(2);
  o.initializer = take_app_lock;
  mproc::Pool pool(o);
  auto r = pool.apply_async(square, 12);
  const bool ready = r.wait(30s);
  release.set_value();
  holder.join();
  ASSERT_TRUE(ready) << "a worker deadlocked in its initializer";
  EXPECT_EQ(r.get(), 144);
  pool.close();
  pool.join();
}

TEST_F(ForkserverTest, InitializerMustBeAPlainFunction) {
  int captured = 1;
  mproc::PoolOptions o = served(1);
  o.initializer = [captured] { (void)captured; };
  expect_error([&] { mproc::Pool pool(o); }, std::make_error_code(std::errc::invalid_argument),
               "plain function");
  o.initializer = +[] {};
  mproc::Pool pool(o);
  EXPECT_EQ(pool.apply(square, 2), 4);
}

TEST_F(ForkserverTest, TheServerEndsWithItsParent) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  mproc::Process child([&] {
    mproc::Pool pool(served(2));
    const pid_t server = mproc::forkserver_pid();
    const pid_t worker = pool.worker_pids().at(0);
    const pid_t pids[2] = {server, worker};
    [[maybe_unused]] const ssize_t n = ::write(fds[1], pids, sizeof pids);
    ::_exit(pool.apply(square, 3) == 9 ? 0 : 1);  // no destructor, no stop_forkserver
  });
  child.start();
  ::close(fds[1]);
  pid_t pids[2] = {0, 0};
  ASSERT_EQ(::read(fds[0], pids, sizeof pids), static_cast<ssize_t>(sizeof pids));
  ::close(fds[0]);
  // pidfds of processes that are not our children: readable once they have ended.
  std::vector<int> watch;
  for (pid_t pid : pids) {
    const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (fd >= 0) watch.push_back(fd);  // already gone (and reaped) otherwise
  }
  child.join();
  EXPECT_EQ(child.exitcode(), 0);
  for (int fd : watch) {
    pollfd p{fd, POLLIN, 0};
    EXPECT_EQ(::poll(&p, 1, 30'000), 1) << "the forkserver or its worker outlived the parent";
    ::close(fd);
  }
}

}  // namespace
