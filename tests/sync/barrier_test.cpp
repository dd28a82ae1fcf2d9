// Barrier between real processes: rounds, the action, abort, reset, timeouts that break it for
// everyone, and parties that die.
#include <mproc/barrier.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <set>
#include <stdexcept>
#include <vector>

#include "support/leak_check.hpp"
#include "sync/sync_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using mproc::Barrier;
using mproc::errc;
using mproc::Process;
using mproc::test::eventually;
using mproc::test::expect_error;
using mproc::test::join_code;
using mproc::test::kLong;
using mproc::test::SharedBlock;
using mproc::test::Signal;
using BarrierTest = mproc::test::LeakCheckedTest;

// Exit codes of children that wait once.
constexpr int kPassed = 0;
constexpr int kBroken = 7;
constexpr int kOther = 9;

int wait_once(Barrier& barrier, std::optional<mproc::Seconds> timeout = kLong) {
  try {
    barrier.wait(timeout);
    return kPassed;
  } catch (const mproc::Error& e) {
    return e.code() == mproc::make_error_code(errc::broken) ? kBroken : kOther;
  }
}

TEST_F(BarrierTest, PartiesAreValidated) {
  expect_error([] { Barrier b(0); }, std::errc::invalid_argument);
  expect_error([] { Barrier b(-3); }, std::errc::invalid_argument);
  expect_error([] { Barrier b(Barrier::kMaxParties + 1); }, std::errc::invalid_argument);
  expect_error([] { Barrier b(2, {}, -1s); }, std::errc::invalid_argument);
  Barrier b(Barrier::kMaxParties);
  EXPECT_EQ(b.parties(), Barrier::kMaxParties);
}

TEST_F(BarrierTest, OnePartyPassesAtOnceAndRunsTheAction) {
  int runs = 0;
  Barrier b(1, [&] { ++runs; });
  EXPECT_EQ(b.wait(), 0);
  EXPECT_EQ(b.wait(0s), 0);
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(b.n_waiting(), 0);
  EXPECT_FALSE(b.broken());
}

struct Rounds {
  int seen[3][4] = {};  // seen[round][index]
  int actions = 0;
  int action_saw_all = 0;
};

TEST_F(BarrierTest, FourProcessesPassThreeRoundsWithDistinctIndices) {
  SharedBlock<Rounds> rounds;
  SharedBlock<int> arrived;  // arrivals so far, to check the action runs after the last arrival
  Barrier barrier(4, [&] {
    if (__atomic_load_n(&*arrived, __ATOMIC_SEQ_CST) % 4 == 0) ++rounds->action_saw_all;
    ++rounds->actions;
  });
  auto body = [&]() -> int {
    for (int r = 0; r < 3; ++r) {
      __atomic_add_fetch(&*arrived, 1, __ATOMIC_SEQ_CST);
      const int index = barrier.wait(kLong);
      if (index < 0 || index >= 4) return 1;
      __atomic_add_fetch(&rounds->seen[r][index], 1, __ATOMIC_SEQ_CST);
    }
    return 0;
  };
  std::vector<Process> children;
  for (int i = 0; i < 3; ++i) {
    children.emplace_back([&] { throw mproc::SystemExit(body()); });
    children.back().start();
  }
  EXPECT_EQ(body(), 0);
  for (auto& c : children) EXPECT_EQ(join_code(c), 0);
  for (int r = 0; r < 3; ++r)
    for (int i = 0; i < 4; ++i) EXPECT_EQ(rounds->seen[r][i], 1) << "round " << r << " index " << i;
  EXPECT_EQ(rounds->actions, 3);
  EXPECT_EQ(rounds->action_saw_all, 3);
  EXPECT_FALSE(barrier.broken());
}

TEST_F(BarrierTest, AbortBreaksItForWaitersAndLaterCallersUntilReset) {
  Barrier barrier(3);
  std::vector<Process> waiters;
  for (int i = 0; i < 2; ++i) {
    waiters.emplace_back([&] { throw mproc::SystemExit(wait_once(barrier)); });
    waiters.back().start();
  }
  ASSERT_TRUE(eventually([&] { return barrier.n_waiting() == 2; }));
  barrier.abort();
  for (auto& w : waiters) EXPECT_EQ(join_code(w), kBroken);
  EXPECT_TRUE(barrier.broken());
  EXPECT_EQ(barrier.n_waiting(), 0);
  EXPECT_EQ(wait_once(barrier, 0s), kBroken);

  barrier.reset();
  EXPECT_FALSE(barrier.broken());
  // Usable again for a full round.
  std::vector<Process> again;
  for (int i = 0; i < 2; ++i) {
    again.emplace_back([&] { throw mproc::SystemExit(wait_once(barrier)); });
    again.back().start();
  }
  EXPECT_EQ(wait_once(barrier), kPassed);
  for (auto& w : again) EXPECT_EQ(join_code(w), kPassed);
}

TEST_F(BarrierTest, ResetBreaksTheCurrentWaitersAndEmptiesIt) {
  Barrier barrier(3);
  Process waiter([&] { throw mproc::SystemExit(wait_once(barrier)); });
  waiter.start();
  ASSERT_TRUE(eventually([&] { return barrier.n_waiting() == 1; }));
  barrier.reset();
  EXPECT_EQ(join_code(waiter), kBroken);
  EXPECT_FALSE(barrier.broken());
  EXPECT_EQ(barrier.n_waiting(), 0);
}

TEST_F(BarrierTest, ATimeoutBreaksItForEveryone) {
  Barrier barrier(3);
  Process waiter([&] { throw mproc::SystemExit(wait_once(barrier)); });
  waiter.start();
  ASSERT_TRUE(eventually([&] { return barrier.n_waiting() == 1; }));
  EXPECT_EQ(wait_once(barrier, 10ms), kBroken);  // the caller whose timeout expired
  EXPECT_EQ(join_code(waiter), kBroken);         // and the one that was waiting
  EXPECT_TRUE(barrier.broken());
  EXPECT_EQ(wait_once(barrier, kLong), kBroken);  // and later ones
}

TEST_F(BarrierTest, TheDefaultTimeoutApplies) {
  Barrier barrier(2, {}, 10ms);
  EXPECT_EQ(wait_once(barrier, std::nullopt), kBroken);
  EXPECT_TRUE(barrier.broken());
}

TEST_F(BarrierTest, APartyThatNeverArrivesIsCoveredByTheTimeouts) {
  // Three parties; one dies before it arrives. The others never hang: the first timeout breaks
  // the barrier for both.
  Barrier barrier(3);
  Signal started;
  Process doomed([&] {
    started.notify();
    for (;;) ::pause();
  });
  doomed.start();
  Process survivor([&] { throw mproc::SystemExit(wait_once(barrier)); });
  survivor.start();
  ASSERT_TRUE(started.wait());
  doomed.kill();
  EXPECT_EQ(join_code(doomed), -SIGKILL);
  ASSERT_TRUE(eventually([&] { return barrier.n_waiting() == 1; }));
  EXPECT_EQ(wait_once(barrier, 20ms), kBroken);
  EXPECT_EQ(join_code(survivor), kBroken);
}

TEST_F(BarrierTest, APartyKilledWhileWaitingStillCountsThenTheNextRoundTimesOut) {
  Barrier barrier(3);
  Process killed([&] { throw mproc::SystemExit(wait_once(barrier)); });
  killed.start();
  ASSERT_TRUE(eventually([&] { return barrier.n_waiting() == 1; }));
  killed.kill();
  EXPECT_EQ(join_code(killed), -SIGKILL);
  // Its arrival counts: two more complete the round.
  Process other([&] {
    const int first = wait_once(barrier);
    if (first != kPassed) throw mproc::SystemExit(kOther);
    throw mproc::SystemExit(wait_once(barrier));  // next round: the dead party is gone
  });
  other.start();
  EXPECT_EQ(wait_once(barrier), kPassed);
  ASSERT_TRUE(eventually([&] { return barrier.n_waiting() == 1; }));
  EXPECT_EQ(wait_once(barrier, 20ms), kBroken);
  EXPECT_EQ(join_code(other), kBroken);
}

TEST_F(BarrierTest, AnActionThatThrowsBreaksTheBarrier) {
  constexpr int kRanTheAction = 10;
  Barrier barrier(2, [] { throw std::logic_error("action failed"); });
  auto attempt = [&]() -> int {
    try {
      barrier.wait(kLong);
      return kPassed;
    } catch (const mproc::Error& e) {
      return e.code() == mproc::make_error_code(errc::broken) ? kBroken : kOther;
    } catch (const std::logic_error&) {
      return kRanTheAction;  // the last to arrive ran the action and gets its exception
    }
  };
  Process child([&] { throw mproc::SystemExit(attempt()); });
  child.start();
  const int mine = attempt();
  const int theirs = join_code(child);
  EXPECT_EQ(std::multiset<int>({mine, theirs}), std::multiset<int>({kBroken, kRanTheAction}));
  EXPECT_TRUE(barrier.broken());
}

TEST_F(BarrierTest, AbortWhileTheActionRunsBreaksTheRound) {
  Signal in_action;
  Signal abort_done;
  Barrier barrier(2, [&] {
    in_action.notify();
    abort_done.wait();
  });
  Process child([&] { throw mproc::SystemExit(wait_once(barrier)); });
  child.start();
  Process aborter([&]() {
    if (!in_action.wait()) throw mproc::SystemExit(1);
    barrier.abort();
    abort_done.notify();
    return;
  });
  aborter.start();
  const int mine = wait_once(barrier);
  EXPECT_EQ(mine, kBroken);
  EXPECT_EQ(join_code(child), kBroken);
  EXPECT_EQ(join_code(aborter), 0);
  EXPECT_TRUE(barrier.broken());
}

}  // namespace
