// Promise: a Barrier party that dies while it waits breaks the barrier for the others
// (errc::broken), even when they wait without a timeout. A party that dies before it arrives is
// caught only by a timeout (documented in barrier.hpp; tested here too).
#include <mproc/barrier.hpp>
#include <mproc/error.hpp>

#include <chrono>
#include <csignal>
#include <sys/wait.h>
#include <thread>

#include "base/deadline.hpp"
#include "fault_support.hpp"

namespace mproc::test {
namespace {

using namespace std::chrono_literals;

class BarrierFault : public FaultTest {};

TEST_F(BarrierFault, APartyThatDiesWhileWaitingBreaksTheBarrierForTheOthers) {
  Barrier barrier(3);
  // The first party arrives, then is killed while it waits.
  const pid_t victim = ::fork();
  ASSERT_GE(victim, 0);
  if (victim == 0) {
    barrier.wait();
    ::_exit(0);
  }
  // Waiting for it to have arrived: n_waiting() counts it (bounded, polled: no event for it).
  const detail::Deadline arrived(30s);
  while (barrier.n_waiting() < 1 && !arrived.expired()) std::this_thread::sleep_for(1ms);
  ASSERT_EQ(barrier.n_waiting(), 1);
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  // Not reaped before the wait: a dead party that is still a zombie must be noticed too.
  {
    // If the wait hangs, the watchdog releases it by aborting the barrier.
    Watchdog watchdog(10s, [&] { barrier.abort(); });
    const auto start = std::chrono::steady_clock::now();
    std::error_code code;
    try {
      barrier.wait();  // no timeout: only the death can end this wait
    } catch (const Error& e) {
      code = e.code();
    }
    EXPECT_EQ(code, make_error_code(errc::broken));
    EXPECT_LT(seconds_since(start), 3.0);
    EXPECT_FALSE(watchdog.fired()) << "the others waited for a dead party";
  }
  EXPECT_TRUE(barrier.broken());
  int status = 0;
  ASSERT_EQ(::waitpid(victim, &status, 0), victim);
  EXPECT_TRUE(WIFSIGNALED(status));
}

TEST_F(BarrierFault, APartyThatDiesBeforeArrivingIsCaughtOnlyByATimeout) {
  Barrier barrier(2);
  const pid_t never = ::fork();
  ASSERT_GE(never, 0);
  if (never == 0) ::_exit(0);  // dies without arriving
  ASSERT_EQ(::waitpid(never, nullptr, 0), never);
  const auto start = std::chrono::steady_clock::now();
  std::error_code code;
  try {
    barrier.wait(300ms);
  } catch (const Error& e) {
    code = e.code();
  }
  EXPECT_EQ(code, make_error_code(errc::broken));
  EXPECT_GE(seconds_since(start), 0.3);
}

}  // namespace
}  // namespace mproc::test
