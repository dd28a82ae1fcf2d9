// When spinning waits spin: never on a thread confined to one CPU (unless a probe finds the peer
// running beside it), and no longer once spins keep failing.
#include "base/spin_policy.hpp"

#include <gtest/gtest.h>

#include <pthread.h>
#include <sched.h>
#include <thread>

namespace {

using mproc::detail::spinning_can_help;
using mproc::detail::SpinAdvisor;

// Runs `fn` on a new thread whose affinity is one CPU (the first one this process may use), so
// that its thread-local caches start empty and the test's own thread keeps its mask.
template <class Fn>
void on_one_cpu(Fn fn) {
  cpu_set_t allowed;
  ASSERT_EQ(::sched_getaffinity(0, sizeof allowed, &allowed), 0);
  int cpu = 0;
  while (!CPU_ISSET(cpu, &allowed)) ++cpu;
  std::thread thread([&] {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    ASSERT_EQ(::pthread_setaffinity_np(::pthread_self(), sizeof one, &one), 0);
    fn();
  });
  thread.join();
}

int cpus_allowed() {
  cpu_set_t allowed;
  if (::sched_getaffinity(0, sizeof allowed, &allowed) != 0) return 0;
  return CPU_COUNT(&allowed);
}

TEST(SpinPolicy, OneCpuMeansSpinningCannotHelp) {
  on_one_cpu([] { EXPECT_FALSE(spinning_can_help()); });
}

TEST(SpinPolicy, SeveralCpusMeanSpinningCanHelp) {
  if (cpus_allowed() < 2) GTEST_SKIP() << "this process may run on one CPU only";
  std::thread([] { EXPECT_TRUE(spinning_can_help()); }).join();
}

TEST(SpinPolicy, OnOneCpuTheAdvisorSleepsAtOnceAndProbesRarely) {
  on_one_cpu([] {
    SpinAdvisor advisor;
    int spins = 0;
    for (int i = 0; i < 640; ++i)
      if (advisor.should_spin()) {
        ++spins;
        advisor.spun(false);
      }
    EXPECT_EQ(spins, 10);  // one probe every 64 waits
  });
}

TEST(SpinPolicy, OnOneCpuAProbeThatFindsProgressEarnsSpinning) {
  // Each side pinned to a CPU of its own: a probe sees the peer's progress, spinning pays again.
  on_one_cpu([] {
    SpinAdvisor advisor;
    // The first wait probes at once (a peer on the other CPU is found without 63 slow waits)...
    EXPECT_TRUE(advisor.should_spin());
    advisor.spun(false);
    // ...a fruitless probe waits for the next one, the 64th wait...
    int waits = 0;
    while (!advisor.should_spin()) ++waits;
    EXPECT_EQ(waits, 63);
    // ...and a probe that finds progress earns spinning back.
    advisor.spun(true);
    EXPECT_TRUE(advisor.should_spin());
  });
}

TEST(SpinPolicy, FruitlessSpinsStopSpinningUntilProgress) {
  if (cpus_allowed() < 2) GTEST_SKIP() << "this process may run on one CPU only";
  std::thread([] {
    SpinAdvisor advisor;
    int spun = 0;
    while (advisor.should_spin() && spun < 100) {
      advisor.spun(false);
      ++spun;
    }
    EXPECT_EQ(spun, 8);  // the credit is spent
    int waits = 1;
    while (!advisor.should_spin()) ++waits;
    EXPECT_EQ(waits, 63);  // then a probe, the 64th wait
    advisor.spun(true);
    for (int i = 0; i < 8; ++i) EXPECT_TRUE(advisor.should_spin()) << i;
  }).join();
}

}  // namespace
