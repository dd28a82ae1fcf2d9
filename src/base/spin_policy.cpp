#include "base/spin_policy.hpp"

#include <sched.h>

namespace mproc::detail {
namespace {

// sched_getaffinity costs a system call (~0.3 us); a wait that spins costs microseconds anyway,
// so one look per few thousand waits is noise, and an affinity change is seen within as many.
constexpr std::uint32_t kRefreshEvery = 4096;

struct AffinityCache {
  std::uint32_t calls_left = 0;
  bool multi_cpu = true;
};

thread_local AffinityCache t_affinity;

}  // namespace

bool spinning_can_help() noexcept {
  AffinityCache& cache = t_affinity;
  if (cache.calls_left != 0) {
    --cache.calls_left;
    return cache.multi_cpu;
  }
  cache.calls_left = kRefreshEvery;
  cpu_set_t set;
  CPU_ZERO(&set);
  // EINVAL (a kernel mask wider than cpu_set_t's 1024 CPUs): a big machine, spinning may help.
  cache.multi_cpu = ::sched_getaffinity(0, sizeof set, &set) != 0 || CPU_COUNT(&set) > 1;
  return cache.multi_cpu;
}

bool SpinAdvisor::should_spin() noexcept {
  const bool multi = spinning_can_help();
  if (multi != multi_cpu_) {
    multi_cpu_ = multi;
    credit_ = multi ? kCredit : 0;
    // Confined to one CPU: the next wait probes at once, so that a peer pinned to another CPU
    // earns the credit back from the start rather than after probe_every_ slow waits.
    skipped_ = multi ? 0 : probe_every_ - 1;
  }
  if (credit_ > 0) return true;
  if (++skipped_ < probe_every_) return false;
  skipped_ = 0;
  return true;  // a probe
}

void SpinAdvisor::spun(bool progressed) noexcept {
  if (progressed) credit_ = kCredit;
  else if (credit_ > 0) --credit_;
}

}  // namespace mproc::detail
