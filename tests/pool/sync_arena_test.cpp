// Synchronisation objects made WITHOUT mproc::attachable (issue 13 item 8, the last gap): their
// state is a cell of this process's sync arena (src/sync/arena.hpp), so they travel by handle to
// pool workers forked before them (fork and forkserver) as well as after them, and to Process
// children. A worker killed while holding such a lock leaves it recoverable; nothing leaks: no
// arena cell (cells_in_use back to where it was), no /dev/shm name, no descriptor (the fixture).
// White-box (INTERNAL) only to count the arena's cells.
#include <mproc/connection.hpp>
#include <mproc/manager.hpp>
#include <mproc/pool.hpp>
#include <mproc/process.hpp>
#include <mproc/queue.hpp>
#include <mproc/shared_ctypes.hpp>
#include <mproc/shared_memory.hpp>
#include <mproc/sync.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <memory>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

#include "pool/pool_test_support.hpp"
#include "support/shm_leak_check.hpp"
#include "sync/arena.hpp"

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
namespace arena = mproc::detail::arena;

constexpr Seconds kLong{30};

class SyncArenaTest : public mproc::test::PoolPerStartMethodTest {
 protected:
  void SetUp() override {
    { mproc::Queue warm_up; }  // starts the shm tracker (its socket lives with the process)
    {
      // Starts the resource sharer and shares the arena's first chunk: both live with the
      // process (the sharer's socket, the chunk's shared duplicate).
      const mproc::Lock warm_up;
      (void)warm_up.handle();
    }
    cells_before_ = arena::cells_in_use();
    mproc::test::PoolPerStartMethodTest::SetUp();
  }
  void TearDown() override {
    mproc::stop_forkserver();
    EXPECT_TRUE(mproc::test::shm_entries_of(::getpid()).empty());
    EXPECT_EQ(arena::cells_in_use(), cells_before_) << "arena cells leaked";
    mproc::test::PoolPerStartMethodTest::TearDown();
  }
  std::size_t cells_before_ = 0;
};

INSTANTIATE_TEST_SUITE_P(StartMethods, SyncArenaTest, mproc::test::start_methods(),
                         mproc::test::start_method_name);

// --- tasks (plain functions: their bytes are valid in a forkserver worker too)

void notify_under_lock(mproc::Condition& c) {
  c.acquire();
  c.notify();
  c.release();
}
int chunks_here(mproc::Lock& lock) {
  (void)lock;
  return static_cast<int>(arena::chunks_mapped());
}
// Takes the lock, says so, then waits to be killed.
void hold_until_killed(mproc::Lock& lock, mproc::Semaphore& holding, mproc::Event& never) {
  lock.acquire();
  holding.release();
  (void)never.wait(kLong);
}
void put_in(mproc::Queue& q, int value) { q.put(value); }
void add_to(mproc::Value<int>& v, int n) {
  std::lock_guard guard(v);
  *v.get_obj() += n;
}
void set_cell(mproc::Array<int>& a, int i) { a.set(static_cast<size_t>(i), i * 10); }
void write_byte(mproc::SharedMemory& m, int at) { static_cast<char*>(m.buf())[at] = 'z'; }
void greet(mproc::Connection& end) { end.send_bytes("hi"); }
void score(mproc::Dict<std::string, int>& d, int n) { d.set("n", n); }

// Every kind of synchronisation object, made without mproc::attachable.
struct PlainSync {
  mproc::Lock lock;
  mproc::RLock rlock;
  mproc::Semaphore semaphore{0};
  mproc::BoundedSemaphore bounded{1};
  mproc::Event event;
  mproc::Condition condition;
  mproc::Barrier barrier{2};
};

// Uses each object of `s` from a pool task and checks the effect here.
void exercise(mproc::Pool& pool, PlainSync& s) {
  s.lock.acquire();
  s.rlock.acquire();
  EXPECT_FALSE(pool.apply(free_now<mproc::Lock>, s.lock));  // held here, so busy there
  EXPECT_FALSE(pool.apply(free_now<mproc::RLock>, s.rlock));
  s.lock.release();
  s.rlock.release();
  EXPECT_TRUE(pool.apply(free_now<mproc::Lock>, s.lock));
  EXPECT_TRUE(pool.apply(free_now<mproc::RLock>, s.rlock));

  pool.apply(release_one, s.semaphore);
  EXPECT_TRUE(s.semaphore.acquire(true, kLong));
  ASSERT_TRUE(s.bounded.acquire(false));
  pool.apply(release_bounded, s.bounded);
  EXPECT_EQ(s.bounded.get_value(), 1);
  expect_error([&] { pool.apply(release_bounded, s.bounded); }, errc::task_failed,
               "released more often than acquired");

  pool.apply(set_event, s.event);
  EXPECT_TRUE(s.event.is_set());

  // The condition and its lock travel together: the worker can only notify once this process
  // waits (it holds the lock until wait() releases it).
  s.condition.acquire();
  auto notified = pool.apply_async(notify_under_lock, s.condition);
  EXPECT_TRUE(s.condition.wait(kLong));
  s.condition.release();
  notified.get();

  auto other = pool.apply_async(meet, s.barrier);
  const int mine = s.barrier.wait(kLong);
  EXPECT_EQ(mine + other.get(), 0 + 1);
}

// --- the matrix: pool before / after the objects, every sync kind

TEST_P(SyncArenaTest, PlainSyncObjectsReachWorkersForkedBeforeThem) {
  auto pool = make_pool();
  PlainSync s;
  exercise(pool, s);
  pool.close();
  pool.join();
}

TEST_P(SyncArenaTest, PlainSyncObjectsReachWorkersForkedAfterThem) {
  PlainSync s;
  auto pool = make_pool();
  exercise(pool, s);
  pool.close();
  pool.join();
}

// The other shareable kinds, made before the pool (HandlesTest and ConnectionArgumentTest make
// them after it).
TEST_P(SyncArenaTest, EveryOtherKindReachesWorkersForkedAfterIt) {
  mproc::Queue q;
  mproc::Value<int> v(0);
  mproc::Array<int> a(4);
  auto segment = mproc::SharedMemory::create(4);
  auto [here, there] = mproc::pipe();
  mproc::Manager manager;
  auto d = manager.dict<std::string, int>();
  auto pool = make_pool();
  pool.apply(put_in, q, 3);
  EXPECT_EQ(q.get<int>(true, kLong), 3);
  pool.apply(add_to, v, 5);
  EXPECT_EQ(v.get(), 5);
  pool.apply(set_cell, a, 2);
  EXPECT_EQ(a.get(2), 20);
  pool.apply(write_byte, segment, 1);
  EXPECT_EQ(static_cast<const char*>(segment.buf())[1], 'z');
  pool.apply(greet, there);
  EXPECT_EQ(here.recv_bytes(kLong), "hi");
  pool.apply(score, d, 9);
  EXPECT_EQ(d.get("n"), 9);
  pool.close();
  pool.join();
  segment.unlink();
}

// A worker maps a chunk once: later arguments from the same chunk cost only a reference.
TEST_P(SyncArenaTest, AWorkerMapsAChunkOnce) {
  auto pool = make_pool(1);
  mproc::Lock first;
  mproc::Lock second;
  const int after_first = pool.apply(chunks_here, first);
  EXPECT_GE(after_first, 1);
  EXPECT_EQ(pool.apply(chunks_here, second), after_first);
  EXPECT_EQ(pool.apply(chunks_here, first), after_first);
  pool.close();
  pool.join();
}

// --- Process children

void use_all(mproc::Lock lock, mproc::RLock rlock, mproc::Semaphore semaphore,
             mproc::BoundedSemaphore bounded, mproc::Event event, mproc::Condition condition,
             mproc::Barrier barrier) {
  if (!free_now(lock) || !free_now(rlock) || !free_now(condition)) throw mproc::SystemExit(3);
  semaphore.release();
  bounded.release();
  event.set();
  (void)barrier.wait(kLong);
}

TEST_P(SyncArenaTest, PlainSyncObjectsArePassedToAProcess) {
  PlainSync s;
  ASSERT_TRUE(s.bounded.acquire(false));
  mproc::Process p(use_all, s.lock, s.rlock, s.semaphore, s.bounded, s.event, s.condition,
                   s.barrier);
  p.start();
  (void)s.barrier.wait(kLong);
  ASSERT_TRUE(p.join(kLong));
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_TRUE(s.semaphore.acquire(false));
  EXPECT_EQ(s.bounded.get_value(), 1);
  EXPECT_TRUE(s.event.is_set());
}

// --- lifetime

void lock_is_free(mproc::Lock lock, mproc::Event done) {
  if (!free_now(lock)) throw mproc::SystemExit(3);
  done.set();
}
void hold_lock_until_killed(mproc::Lock lock, mproc::Semaphore holding, mproc::Event never) {
  lock.acquire();
  holding.release();
  (void)never.wait(kLong);
}

// Python's pattern, `Process(target=f, args=(Lock(),))`: start() drops the parent's copies, so
// the child holds the objects' last references and ends with them. Its cells are free again once
// the parent has reaped it (the fixture counts them), in every round.
TEST_P(SyncArenaTest, AProcessThatHeldTheLastReferencesGivesTheCellsBackWhenReaped) {
  for (int round = 0; round < 3; ++round) {
    mproc::Process p(lock_is_free, mproc::Lock(), mproc::Event());
    p.start();
    ASSERT_TRUE(p.join(kLong));
    EXPECT_EQ(p.exitcode(), 0);
  }
}

// A Process child killed while it holds a lock (and the last references of its objects, as
// above): once reaped, its cells are free again.
TEST_P(SyncArenaTest, AKilledProcessChildGivesItsCellsBackWhenReaped) {
  for (int round = 0; round < 2; ++round) {
    mproc::Semaphore holding(0);
    {
      mproc::Process p(hold_lock_until_killed, mproc::Lock(), holding, mproc::Event());
      p.start();
      ASSERT_TRUE(holding.acquire(true, kLong));
      p.kill();
      ASSERT_TRUE(p.join(kLong));
      EXPECT_EQ(p.exitcode(), -SIGKILL);
    }
  }
}

// A child passes what it inherited to a child of its own (the grandchild holds the last
// references at the end): every cell is free again once both are reaped.
void pass_on(mproc::Lock lock, mproc::Event done) {
  mproc::Process grandchild(lock_is_free, std::move(lock), std::move(done));
  grandchild.start();
  if (!grandchild.join(kLong) || grandchild.exitcode() != 0) throw mproc::SystemExit(4);
}

TEST_P(SyncArenaTest, AGrandchildGivenTheObjectsAChildInheritedGivesTheirCellsBack) {
  mproc::Event done;
  mproc::Process p(pass_on, mproc::Lock(), done);
  p.start();
  ASSERT_TRUE(p.join(kLong));
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_TRUE(done.is_set());
}

// The parent keeps its lock and the child is killed holding it: the lock is recoverable here,
// and the cell goes when the parent drops the lock.
TEST_P(SyncArenaTest, ALockHeldByAKilledProcessChildIsRecoverableAndItsCellGoes) {
  mproc::Lock lock;
  mproc::Semaphore holding(0);
  mproc::Process p(hold_lock_until_killed, lock, holding, mproc::Event());
  p.start();
  ASSERT_TRUE(holding.acquire(true, kLong));
  p.kill();
  ASSERT_TRUE(p.join(kLong));
  ASSERT_TRUE(lock.acquire(true, kLong));
  EXPECT_TRUE(lock.owner_died());
  lock.release();
}

// The killed worker's own reference (its task's copy of the lock) is given back by the pool from
// the worker's ledger: the fixture finds every cell free again.
TEST_P(SyncArenaTest, AWorkerKilledWhileHoldingAPlainLockLeavesItRecoverable) {
  auto pool = make_pool(1);
  mproc::Lock lock;
  mproc::Semaphore holding(0);
  mproc::Event never;
  auto held = pool.apply_async(hold_until_killed, lock, holding, never);
  ASSERT_TRUE(holding.acquire(true, kLong));
  const auto pids = pool.worker_pids();
  ASSERT_EQ(pids.size(), 1u);
  ASSERT_EQ(::kill(pids[0], SIGKILL), 0);
  expect_error([&] { held.get(); }, errc::worker_died);
  ASSERT_TRUE(lock.acquire(true, kLong));
  EXPECT_TRUE(lock.owner_died());
  lock.release();
  // The replacement worker uses the same lock.
  EXPECT_TRUE(pool.apply(free_now<mproc::Lock>, lock));
  pool.close();
  pool.join();
}

// A task that keeps its lock in the worker beyond the task (a worker's global).
bool keep_in_worker(mproc::Lock& lock) {
  static std::vector<mproc::Lock> kept;
  kept.push_back(lock);
  return free_now(lock);
}

// The worker holds the last reference when it ends (the caller dropped its lock): the pool gives
// it back from the worker's ledger, whether the pool was closed and joined or terminated.
TEST_P(SyncArenaTest, ALockAWorkerKeptIsGivenBackWhenTheWorkerEnds) {
  for (const bool terminate : {false, true}) {
    auto pool = make_pool(1);
    {
      mproc::Lock lock;
      EXPECT_TRUE(pool.apply(keep_in_worker, lock));
    }
    if (terminate)
      pool.terminate();
    else
      pool.close();
    pool.join();
  }
}

// More cells kept than a worker's ledger records (64): those beyond it the worker gives back
// itself at its end (the caller still holds its copies), the others the pool gives back.
TEST_P(SyncArenaTest, AWorkerKeepingMoreCellsThanItsLedgerRecordsGivesThemAllBack) {
  std::vector<mproc::Lock> locks(70);
  auto pool = make_pool(1);
  for (auto& lock : locks) EXPECT_TRUE(pool.apply(keep_in_worker, lock));
  pool.close();
  pool.join();
}

int plus_one(int x) { return x + 1; }

// Pool workers take no arena reference for what they inherit (arena.hpp): a pool terminated
// (its workers killed) pins no cell of the objects alive when it started, so a program that
// makes a pool per batch while it holds plain locks does not grow the arena (the fixture checks
// that every cell is free again once the objects are dropped).
TEST_P(SyncArenaTest, ATerminatedPoolPinsNoCellOfTheObjectsItsWorkersInherited) {
  for (int round = 0; round < 3; ++round) {
    mproc::Lock lock;
    mproc::Semaphore semaphore(2);
    mproc::Event event;
    auto pool = make_pool(2);
    EXPECT_EQ(pool.apply(plus_one, round), round + 1);
    pool.terminate();
    pool.join();
  }
}

// A plain lock dropped by the caller right after submitting (the only worker is busy until then):
// the task holds a copy, so the cell lives until the task ends, and is given back then (TearDown
// counts the cells).
TEST_P(SyncArenaTest, ATaskKeepsAPlainLockAliveAfterTheCallerDropsIt) {
  auto pool = make_pool(1);
  mproc::Event go;
  auto busy = pool.apply_async(wait_for, go);
  auto lock = pool.apply_async(free_now<mproc::Lock>, mproc::Lock());
  auto locks = [&] {
    std::vector<mproc::Lock> plain(3);
    return pool.map_async(free_now<mproc::Lock>, plain, 1);
  }();
  go.set();
  EXPECT_TRUE(busy.get(kLong));
  EXPECT_TRUE(lock.get(kLong));
  EXPECT_EQ(locks.get(kLong), std::vector<bool>(3, true));
  pool.close();
  pool.join();
}

TEST_P(SyncArenaTest, AHandleOfADroppedObjectFailsAndItsCellIsReused) {
  auto lock = std::make_unique<mproc::Lock>();
  const std::string handle = lock->handle();
  EXPECT_EQ(handle.front(), '@');
  EXPECT_EQ(mproc::Lock::attach(handle).handle(), handle);  // attached here: the same cell
  lock.reset();
  expect_error([&] { (void)mproc::Lock::attach(handle); }, std::errc::no_such_file_or_directory);
  mproc::Lock next;  // may take the same cell: a new generation, so the old handle stays dead
  EXPECT_NE(next.handle(), handle);
  expect_error([&] { (void)mproc::Lock::attach(handle); }, std::errc::no_such_file_or_directory);
  // The kind is checked too.
  expect_error([&] { (void)mproc::Event::attach(next.handle()); }, errc::bad_handle);
  auto pool = make_pool(1);
  expect_error([&] { pool.apply(free_now<mproc::Lock>, mproc::Lock::attach(handle)); },
               std::errc::no_such_file_or_directory);
  pool.close();
  pool.join();
}

}  // namespace

namespace {

// --- the ledger (white-box): what a dead holder recorded is given back once, never more

arena::LedgerEntry* recorded_entry(arena::Ledger& ledger) {
  for (auto& e : ledger.entries)
    if (e.chunk.load() != 0) return &e;
  return nullptr;
}

TEST(SyncArenaLedger, ReleaseGivesBackWhatADeadHolderRecordedAndNeverMore) {
  void* shared = ::mmap(nullptr, sizeof(arena::Ledger), PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(shared, MAP_FAILED);
  auto* ledger = new (shared) arena::Ledger();
  const std::size_t before = arena::cells_in_use();
  auto lock = std::make_unique<mproc::Lock>();
  const std::string handle = lock->handle();
  const pid_t pid = mproc::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Two references of its own, recorded, and still held when it ends (as if killed).
    arena::keep_ledger(ledger);
    new mproc::Lock(mproc::Lock::attach(handle));
    new mproc::Lock(mproc::Lock::attach(handle));
    ::_exit(0);
  }
  ASSERT_EQ(mproc::wait_child(pid), 0);
  arena::LedgerEntry* entry = recorded_entry(*ledger);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->count.load(), 2u);
  EXPECT_EQ(entry->pending.load(), 0);
  lock.reset();  // the child's references keep the cell
  EXPECT_EQ(arena::cells_in_use(), before + 1);

  // An entry whose generation is not the cell's is not believed.
  entry->generation.fetch_add(1);
  arena::release_ledger(*ledger);
  EXPECT_EQ(arena::cells_in_use(), before + 1);
  entry->generation.fetch_sub(1);

  // Killed while giving one back: that one counts as given; the other is given back here.
  entry->pending.store(-1);
  arena::release_ledger(*ledger);
  EXPECT_EQ(arena::cells_in_use(), before + 1);

  // The last one (as recorded after a clean give-back) frees the cell.
  entry->count.store(1);
  entry->pending.store(0);
  arena::release_ledger(*ledger);
  EXPECT_EQ(arena::cells_in_use(), before);
  // A count beyond the references held never takes the count below zero.
  arena::release_ledger(*ledger);
  EXPECT_EQ(arena::cells_in_use(), before);
  ::munmap(shared, sizeof(arena::Ledger));
}

}  // namespace
