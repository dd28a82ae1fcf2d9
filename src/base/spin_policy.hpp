// Whether a waiter should spin before it sleeps. Spinning pays only while the peer it waits for
// runs at the same moment on another CPU; when both share one CPU (a one-CPU container, a
// `taskset -c 1`, a busy machine) the peer cannot run until the spinner's time slice ends, so
// every spin delays the very progress it waits for. Every spinning wait of the library (the lock
// back-off, the queue's waits, the pool's rings) asks a SpinAdvisor first.
#pragma once

#include <cstdint>

namespace mproc::detail {

// False when the calling thread may run on one CPU only (sched_getaffinity(2) reports one CPU):
// a peer that shares that CPU cannot run while we spin. Cached per thread and re-read every few
// thousand calls, so a change of affinity (taskset -p) is noticed without a system call per wait.
bool spinning_can_help() noexcept;

// One wait site's memory (per thread: declare it `thread_local`) of whether spinning has paid
// off there. A spin that ends without the awaited progress spends credit; progress restores it.
// Without credit the site sleeps at once, and spins once every kProbeEvery waits to notice that
// the peer runs beside it again. A thread confined to one CPU starts without credit: a probe that
// finds progress (the peer runs on another CPU, as with one pinned CPU per side) earns it back.
class SpinAdvisor {
 public:
  SpinAdvisor() = default;
  // A site whose spin is long next to what it saves on one CPU probes less often.
  explicit SpinAdvisor(std::uint32_t probe_every) noexcept : probe_every_(probe_every) {}

  // Whether this wait should spin before it sleeps.
  bool should_spin() noexcept;
  // After a spin: whether the awaited progress arrived while spinning.
  void spun(bool progressed) noexcept;

 private:
  static constexpr std::int32_t kCredit = 8;
  static constexpr std::uint32_t kProbeEvery = 64;
  std::uint32_t probe_every_ = kProbeEvery;
  std::int32_t credit_ = kCredit;
  std::uint32_t skipped_ = 0;
  bool multi_cpu_ = true;
};

}  // namespace mproc::detail
