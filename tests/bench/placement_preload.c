/* PLACEMENT=split for the compare scripts (see bench_env.sh): preloaded into a benchmark started
 * on one CPU (taskset), it moves every child that process forks to another CPU, so that parent
 * and child each run on a CPU of their own whichever benchmark (C, C++, Python) does the fork.
 * glibc runs pthread_atfork child handlers in the child of fork(), including Python's os.fork.
 * The CPU is read from MPROC_BENCH_CHILD_CPU at load time (not in the child: nothing after fork
 * but the affinity call). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

static int child_cpu = -1;

static void pin_child(void) {
  if (child_cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(child_cpu, &set);
  sched_setaffinity(0, sizeof set, &set);
}

__attribute__((constructor)) static void install(void) {
  const char *cpu = getenv("MPROC_BENCH_CHILD_CPU");
  if (cpu == NULL || *cpu == '\0') return;
  child_cpu = atoi(cpu);
  pthread_atfork(NULL, NULL, pin_child);
}
