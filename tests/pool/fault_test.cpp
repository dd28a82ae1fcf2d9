// Pool faults: exceptions, workers that die (while running a task, while idle, while sending a
// result), terminate and the destructor resolving everything. Python's Pool hangs in most of
// these (cpython #96062, #126743); ours must not.
#include <mproc/pool.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <set>
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

struct CustomError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

int square(int x) { return x * x; }
pid_t worker_pid(int) { return mproc::getpid(); }

int explode(int x) {
  if (x == 3) throw std::runtime_error("boom");
  if (x == 4) throw CustomError("custom " + std::to_string(x));
  if (x == 5) throw 42;
  return x;
}

int die(int how) {
  if (how == 1) ::raise(SIGKILL);
  if (how == 2) {
    volatile int* null = nullptr;
    *null = 1;  // SIGSEGV
  }
  if (how == 3) ::_exit(3);
  if (how == 4) throw mproc::SystemExit(9);
  return how;
}

TEST_F(PoolTest, ExceptionReachesGetWithTypeAndMessage) {
  mproc::Pool pool(2);
  const pid_t before = pool.apply(worker_pid, 0);
  expect_error([&] { pool.apply(explode, 3); }, errc::task_failed, "std::runtime_error: boom");
  expect_error([&] { pool.apply(explode, 4); }, errc::task_failed, "CustomError: custom 4");
  expect_error([&] { pool.apply(explode, 5); }, errc::task_failed, "int");
  auto r = pool.apply_async(explode, 3);
  r.wait();
  EXPECT_FALSE(r.successful());
  // The workers lived on.
  std::set<pid_t> pids;
  for (int i = 0; i < 20; ++i) pids.insert(pool.apply(worker_pid, i));
  EXPECT_TRUE(pids.count(before));
  EXPECT_EQ(pool.stats().workers_started, 2u);
  pool.close();
  pool.join();
}

TEST_F(PoolTest, MapFailsWithTheFirstErrorImapPerItem) {
  mproc::Pool pool(2);
  expect_error([&] { pool.map(explode, std::vector<int>{1, 2, 3}); }, errc::task_failed, "boom");
  // The message names the input that failed (its index), and says "task failed" only once.
  expect_error([&] { pool.map(explode, std::vector<int>{1, 2, 3}); }, errc::task_failed,
               "map: input 2: std::runtime_error: boom: task failed");
  expect_error([&] { pool.map_async(explode, std::vector<int>{1, 3}, 1).get(); },
               errc::task_failed, "map: input 1: std::runtime_error: boom");
  try {
    pool.map(explode, std::vector<int>{3});
  } catch (const mproc::Error& e) {
    const std::string text = e.what();
    EXPECT_EQ(text.find("task failed: task failed"), std::string::npos) << text;
  }
  auto it = pool.imap(explode, std::vector<int>{1, 3, 2});
  EXPECT_EQ(it.next(), 1);
  expect_error([&] { it.next(); }, errc::task_failed, "boom");
  EXPECT_EQ(it.next(), 2);  // iteration goes on after a failed item
  EXPECT_EQ(it.next(), std::nullopt);
  pool.close();
  pool.join();
}

// The task kills its own worker in each of several ways; that task fails with worker_died and a
// message naming how; every other task completes; the worker is replaced; join returns.
TEST_F(PoolTest, WorkerDyingMidTaskFailsOnlyThatTask) {
  struct Case {
    int how;
    const char* text;
  };
  for (const Case c : {Case{1, "killed by signal 9 (SIGKILL)"},
#if defined(__SANITIZE_ADDRESS__)
                       Case{2, "exited with code 1"},  // ASan reports the SEGV and exits
#else
                       Case{2, "killed by signal 11 (SIGSEGV)"},
#endif
                       Case{3, "exited with code 3"},
                       Case{4, "exited with code 9"}}) {
    SCOPED_TRACE(c.text);
    mproc::Pool pool(2);
    std::vector<mproc::AsyncResult<int>> before, after;
    for (int i = 10; i < 60; ++i) before.push_back(pool.apply_async(die, i));
    auto victim = pool.apply_async(die, c.how);
    for (int i = 60; i < 110; ++i) after.push_back(pool.apply_async(die, i));
    expect_error([&] { victim.get(); }, errc::worker_died, c.text);
    for (int i = 0; i < 50; ++i) {
      EXPECT_EQ(before[static_cast<size_t>(i)].get(), i + 10);
      EXPECT_EQ(after[static_cast<size_t>(i)].get(), i + 60);
    }
    EXPECT_EQ(pool.apply(square, 5), 25);  // still working, with a replacement
    pool.close();
    pool.join();
    EXPECT_EQ(pool.stats().workers_started, 3u);
  }
}

TEST_F(PoolTest, WorkerDyingInAMapChunkFailsTheMapNotThePool) {
  mproc::Pool pool(2);
  expect_error([&] { pool.map(die, std::vector<int>{10, 1, 11}, 1); }, errc::worker_died,
               "SIGKILL");
  auto it = pool.imap(die, std::vector<int>{10, 1, 11});
  EXPECT_EQ(it.next(), 10);
  expect_error([&] { it.next(); }, errc::worker_died);
  EXPECT_EQ(it.next(), 11);
  pool.close();
  pool.join();
}

TEST_F(PoolTest, WorkerKilledWhileIdleIsReplaced) {
  mproc::Pool pool(2);
  const auto pids = pool.worker_pids();
  ASSERT_EQ(pids.size(), 2u);
  ASSERT_EQ(::kill(pids[0], SIGKILL), 0);
  std::vector<int> in(200, 0);
  const auto out = pool.map(worker_pid, in, 1);
  for (pid_t p : out) EXPECT_NE(p, pids[0]);
  EXPECT_EQ(out.size(), 200u);
  pool.close();
  pool.join();
}

// A result whose encoding kills the worker: the task ran, but its result never fully arrived.
struct Poison {
  int value;
};

}  // namespace

template <>
struct mproc::Codec<Poison> {
  static void encode(const Poison& p, std::string& out) {
    out.append(100'000, 'x');  // more than a ring: half of it may already be on its way
    if (p.value < 0) ::raise(SIGKILL);
    out.append(reinterpret_cast<const char*>(&p.value), sizeof p.value);
  }
  static Poison decode(const void* data, std::size_t size) {
    Poison p{};
    if (size != 100'000 + sizeof(int)) throw mproc::Error(mproc::errc::codec, "bad poison");
    std::memcpy(&p.value, static_cast<const char*>(data) + 100'000, sizeof p.value);
    return p;
  }
};

namespace {

Poison make_poison(int v) { return Poison{v}; }

TEST_F(PoolTest, WorkerDyingWhileProducingItsResult) {
  mproc::Pool pool(1);
  auto ok1 = pool.apply_async(make_poison, 1);
  auto bad = pool.apply_async(make_poison, -1);
  auto ok2 = pool.apply_async(make_poison, 2);
  EXPECT_EQ(ok1.get().value, 1);
  expect_error([&] { bad.get(); }, errc::worker_died, "SIGKILL");
  EXPECT_EQ(ok2.get().value, 2);
  pool.close();
  pool.join();
}

TEST_F(PoolTest, TerminateResolvesEveryOutstandingResult) {
  Gate gate;
  Signal started;
  const int gfd = gate.read_fd();
  const int sfd = started.write_fd();
  mproc::Pool pool(2);
  auto done = pool.apply_async(square, 4);
  EXPECT_EQ(done.get(), 16);
  std::vector<mproc::AsyncResult<int>> blocked;
  for (int i = 0; i < 2; ++i)
    blocked.push_back(pool.apply_async(
        [gfd, sfd](int x) {
          Signal::notify(sfd);
          Gate::pass(gfd);
          return x;
        },
        i));
  for (int i = 0; i < 2; ++i) ASSERT_EQ(started.wait(), 's');
  std::vector<mproc::AsyncResult<int>> queued;
  for (int i = 0; i < 100; ++i) queued.push_back(pool.apply_async(square, i));
  auto map = pool.map_async(square, std::vector<int>(50, 1), 5);
  auto it = pool.imap(square, std::vector<int>(10, 2));
  pool.terminate();
  for (auto& r : blocked) {
    ASSERT_TRUE(r.ready());
    expect_error([&] { r.get(); }, errc::terminated);
  }
  for (auto& r : queued) {
    ASSERT_TRUE(r.ready());  // a value if it ran before the end, else terminated
    if (!r.successful()) expect_error([&] { r.get(); }, errc::terminated);
  }
  ASSERT_TRUE(map.ready());
  EXPECT_EQ(done.get(), 16);
  // The imap ends: values or errors, never a hang.
  size_t items = 0;
  for (;;) {
    try {
      if (!it.next(mproc::Seconds(30))) break;
    } catch (const mproc::Error& e) {
      EXPECT_EQ(e.code(), errc::terminated) << e.what();
    }
    ASSERT_LT(++items, 100u);
  }
  expect_error([&] { pool.apply_async(square, 1); }, errc::terminated);
  pool.join();  // after terminate: returns at once
  pool.terminate();  // idempotent
}

TEST_F(PoolTest, DestructorTerminatesAndResolves) {
  Gate gate;
  const int gfd = gate.read_fd();
  mproc::AsyncResult<int> r;
  {
    mproc::Pool pool(1);
    r = pool.apply_async([gfd] { return Gate::pass(gfd) ? 1 : 0; });
  }
  ASSERT_TRUE(r.ready());
  expect_error([&] { r.get(); }, errc::terminated, "terminated");
}

}  // namespace
