/* Process start + join through the C ABI, beside a raw fork + waitpid in the same run: plain driver
 * printing `metric value unit` (median of repetitions) on stdout and every repetition on stderr,
 * like /work/shared/bench. Run through compare_process.sh, which adds Python's Process.
 *
 *   mproc_process_bench [reps] [n]   (default 5 repetitions of n = 300 starts each)
 *
 * Each repetition runs the raw and the mproc loop back to back (alternating which goes first), so
 * both see the same load. The forkserver figure is a one-worker forkserver pool created and
 * destroyed (mproc forks no single Process through the forkserver), with the fork pool beside it. */
#define _GNU_SOURCE
#include <mproc.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time of this process and of its reaped children: the work a start + join costs, which a
 * loaded machine delays but does not change (the wall time also counts waiting for a CPU). */
static double cpu_s(void) {
  struct rusage self, children;
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &children);
  const struct timeval *t[] = {&self.ru_utime, &self.ru_stime, &children.ru_utime, &children.ru_stime};
  double sum = 0;
  for (int i = 0; i < 4; ++i) sum += (double)t[i]->tv_sec + (double)t[i]->tv_usec * 1e-6;
  return sum;
}

static double last_cpu_us; /* CPU time per start of the last loop */

/* Minor page faults of this process and of its reaped children: after each fork every private page
 * is copy-on-write in both processes, so each page a side writes per start costs it one fault (a
 * copy in the child, a write-enable in the parent). Per start of the last loop. */
static long minor_faults(int who) {
  struct rusage usage;
  getrusage(who, &usage);
  return usage.ru_minflt;
}
static double last_parent_faults, last_child_faults;

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void emit(const char *name, const double *samples, int n, const char *unit) {
  double sorted[64];
  for (int i = 0; i < n; ++i) sorted[i] = samples[i];
  qsort(sorted, (size_t)n, sizeof sorted[0], cmp_double);
  const double median = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  printf("%s %.6g %s\n", name, median, unit);
  fflush(stdout);
  fprintf(stderr, "# %s n=%d samples=", name, n);
  for (int i = 0; i < n; ++i) fprintf(stderr, "%.6g ", samples[i]);
  fprintf(stderr, "\n");
}

static void die(const char *what, int code) {
  fprintf(stderr, "mproc_process_bench: %s: %s (%s)\n", what, mproc_strerror(code),
          mproc_last_error_message());
  exit(1);
}

static void faults_begin(long *parent, long *child) {
  *parent = minor_faults(RUSAGE_SELF);
  *child = minor_faults(RUSAGE_CHILDREN);
}

static void faults_end(long parent, long child, int n) {
  last_parent_faults = (double)(minor_faults(RUSAGE_SELF) - parent) / n;
  last_child_faults = (double)(minor_faults(RUSAGE_CHILDREN) - child) / n;
}

static double raw_fork_waitpid_us(int n) {
  long f_parent, f_child;
  faults_begin(&f_parent, &f_child);
  const double c0 = cpu_s();
  const double t0 = now_s();
  for (int i = 0; i < n; ++i) {
    const pid_t pid = fork();
    if (pid < 0) die("fork", -1);
    if (pid == 0) _exit(0);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die("raw child", -1);
  }
  const double wall = (now_s() - t0) / n * 1e6;
  last_cpu_us = (cpu_s() - c0) / n * 1e6;
  faults_end(f_parent, f_child, n);
  return wall;
}

static int noop(void *user_data) {
  (void)user_data;
  return 0;
}

static double mproc_start_join_us(int n) {
  long f_parent, f_child;
  faults_begin(&f_parent, &f_child);
  const double c0 = cpu_s();
  const double t0 = now_s();
  for (int i = 0; i < n; ++i) {
    mproc_process_t *p = NULL;
    int rc = mproc_process_create(noop, NULL, &p);
    if (rc != 0) die("mproc_process_create", rc);
    if ((rc = mproc_process_start(p)) != 0) die("mproc_process_start", rc);
    if ((rc = mproc_process_join(p, -1)) != 0) die("mproc_process_join", rc);
    int code = -1;
    if ((rc = mproc_process_exitcode(p, &code)) != 1 || code != 0) die("mproc child", rc);
    mproc_process_destroy(p);
  }
  const double wall = (now_s() - t0) / n * 1e6;
  last_cpu_us = (cpu_s() - c0) / n * 1e6;
  faults_end(f_parent, f_child, n);
  return wall;
}

static double pool_create_destroy_us(int n, int start_method) {
  const double t0 = now_s();
  for (int i = 0; i < n; ++i) {
    mproc_pool_options_t options;
    mproc_pool_options_init(&options);
    options.processes = 1;
    options.start_method = start_method;
    mproc_pool_t *pool = NULL;
    const int rc = mproc_pool_create(&options, &pool);
    if (rc != 0) die("mproc_pool_create", rc);
    mproc_pool_close(pool);
    mproc_pool_join(pool);
    mproc_pool_destroy(pool);
  }
  return (now_s() - t0) / n * 1e6;
}

int main(int argc, char **argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 5;
  const int n = argc > 2 ? atoi(argv[2]) : 300;
  if (reps < 1 || reps > 64 || n < 1) {
    fprintf(stderr, "usage: mproc_process_bench [reps 1..64] [n >= 1]\n");
    return 2;
  }
  int rc = mproc_forkserver_start();
  if (rc != 0) die("mproc_forkserver_start", rc);
  raw_fork_waitpid_us(20); /* warm-up: page tables, the library's first-use set-up */
  mproc_start_join_us(20);
  double raw[64], mp[64], ratio[64], raw_cpu[64], mp_cpu[64], cpu_ratio[64], fs_pool[64], fork_pool[64];
  double raw_pf[64], raw_cf[64], mp_pf[64], mp_cf[64]; /* minor faults per start: parent, child */
  for (int r = 0; r < reps; ++r) {
    if (r % 2 == 0) {
      raw[r] = raw_fork_waitpid_us(n);
      raw_cpu[r] = last_cpu_us;
      raw_pf[r] = last_parent_faults;
      raw_cf[r] = last_child_faults;
      mp[r] = mproc_start_join_us(n);
      mp_cpu[r] = last_cpu_us;
      mp_pf[r] = last_parent_faults;
      mp_cf[r] = last_child_faults;
    } else {
      mp[r] = mproc_start_join_us(n);
      mp_cpu[r] = last_cpu_us;
      mp_pf[r] = last_parent_faults;
      mp_cf[r] = last_child_faults;
      raw[r] = raw_fork_waitpid_us(n);
      raw_cpu[r] = last_cpu_us;
      raw_pf[r] = last_parent_faults;
      raw_cf[r] = last_child_faults;
    }
    cpu_ratio[r] = mp_cpu[r] / raw_cpu[r];
    ratio[r] = mp[r] / raw[r]; /* paired: both loops of one repetition saw the same load */
    fs_pool[r] = pool_create_destroy_us(n / 10 + 1, MPROC_START_FORKSERVER);
    fork_pool[r] = pool_create_destroy_us(n / 10 + 1, MPROC_START_FORK);
  }
  emit("raw_fork_waitpid", raw, reps, "us");
  emit("mproc_process_start_join", mp, reps, "us");
  emit("mproc_process_start_join_vs_raw", ratio, reps, "x");
  emit("raw_fork_waitpid_cpu", raw_cpu, reps, "us");
  emit("mproc_process_start_join_cpu", mp_cpu, reps, "us");
  emit("mproc_process_start_join_cpu_vs_raw", cpu_ratio, reps, "x");
  emit("raw_fork_waitpid_faults_parent", raw_pf, reps, "faults");
  emit("raw_fork_waitpid_faults_child", raw_cf, reps, "faults");
  emit("mproc_process_start_join_faults_parent", mp_pf, reps, "faults");
  emit("mproc_process_start_join_faults_child", mp_cf, reps, "faults");
  emit("mproc_pool1_forkserver_create_destroy", fs_pool, reps, "us");
  emit("mproc_pool1_fork_create_destroy", fork_pool, reps, "us");
  mproc_forkserver_stop();
  return 0;
}
