// Explicit placements for the paired benchmarks (queue_bench --vs-ring, pipe_bench paired): the
// benchmark pins itself, so that mproc and its raw reference run in the same placement, one
// repetition of each in turn, whatever the caller's affinity.
//   same   both processes on CPU $SAME_CPU (default 1): a one-CPU container, a busy machine
//   split  the parent on $PARENT_CPU (default 1), the child on $CHILD_CPU (default 0)
//   both   same and split in turn, repetition by repetition
// (The CPU numbers and their defaults are those of bench_env.sh's PLACEMENT.)
#pragma once

#include <cstdio>
#include <cstdlib>
#include <sched.h>
#include <string>
#include <vector>

namespace mproc::bench {

struct Placement {
  const char* name;
  int parent_cpu;
  int child_cpu;
};

inline int env_cpu(const char* name, int fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::atoi(value) : fallback;
}

// The placements `which` (same, split or both) names; empty for anything else.
inline std::vector<Placement> placements(const std::string& which) {
  std::vector<Placement> out;
  const int same = env_cpu("SAME_CPU", 1);
  if (which == "same" || which == "both") out.push_back({"same", same, same});
  if (which == "split" || which == "both")
    out.push_back({"split", env_cpu("PARENT_CPU", 1), env_cpu("CHILD_CPU", 0)});
  return out;
}

// Pins the calling thread (and the children it forks from now on) to `cpu`; -1: left alone.
inline void pin_to(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (::sched_setaffinity(0, sizeof set, &set) != 0) {
    std::perror("sched_setaffinity");
    std::exit(2);
  }
}

// The CPU the next child pins itself to after fork (pin_child()); -1: where the parent runs.
inline int& child_cpu() {
  static int cpu = -1;
  return cpu;
}
inline void pin_child() { pin_to(child_cpu()); }

// Pins this process to `p`'s parent CPU and makes later children pin to its child CPU.
inline void enter(const Placement& p) {
  pin_to(p.parent_cpu);
  child_cpu() = p.child_cpu;
}

}  // namespace mproc::bench
