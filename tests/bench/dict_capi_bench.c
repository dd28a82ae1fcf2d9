/* The cost of one Manager dict operation through the C ABI, in one process (no contention): what
 * a C, Rust or Python caller pays per call beside its own work. One `metric value unit` line per
 * figure on stdout (the median of the repetitions, in ns per call), every repetition on stderr.
 *   dict_capi_set_ns       mproc_dict_set of an existing key (a replaced value)
 *   dict_capi_get_hit_ns   mproc_dict_get_into of a present key (8-byte value, caller's buffer)
 *   dict_capi_get_miss_ns  mproc_dict_get_into of a missing key (-ENOENT)
 *   dict_capi_contains_miss_ns  mproc_dict_contains of a missing key
 * Usage: mproc_dict_capi_bench [--quick] */
#include <mproc.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { kKeys = 1024 };

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int by_value(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void emit(const char *name, double *samples, int n) {
  double sorted[64];
  memcpy(sorted, samples, sizeof(double) * (size_t)n);
  qsort(sorted, (size_t)n, sizeof(double), by_value);
  printf("%s %.4g ns\n", name, n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]));
  fflush(stdout);
  fprintf(stderr, "# %s n=%d samples=", name, n);
  for (int i = 0; i < n; ++i) fprintf(stderr, "%.4g ", samples[i]);
  fprintf(stderr, "\n");
}

static void die(const char *what, int rc) {
  fprintf(stderr, "%s: %d %s\n", what, rc, mproc_last_error_message());
  exit(2);
}

int main(int argc, char **argv) {
  const int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
  const int calls = quick ? 20000 : 400000;
  const int reps = quick ? 1 : 7;
  mproc_manager_t *m = NULL;
  mproc_dict_t *d = NULL;
  int rc = mproc_manager_create(&m);
  if (rc == 0) rc = mproc_manager_dict(m, NULL, &d);
  if (rc != 0) die("setup", rc);
  char keys[kKeys][16], missing[kKeys][16];
  for (int i = 0; i < kKeys; ++i) {
    snprintf(keys[i], sizeof keys[i], "k%d", i);
    snprintf(missing[i], sizeof missing[i], "x%d", i);
    long v = i;
    if ((rc = mproc_dict_set(d, keys[i], strlen(keys[i]), &v, sizeof v)) != 0) die("set", rc);
  }
  double set_ns[64], hit_ns[64], miss_ns[64], contains_ns[64];
  for (int rep = 0; rep < reps; ++rep) {
    long v = 0, sum = 0;
    size_t len = 0;
    double t0 = now_ns();
    for (int i = 0; i < calls; ++i) {
      const char *k = keys[i % kKeys];
      v = i;
      if ((rc = mproc_dict_set(d, k, strlen(k), &v, sizeof v)) != 0) die("set", rc);
    }
    set_ns[rep] = (now_ns() - t0) / calls;
    t0 = now_ns();
    for (int i = 0; i < calls; ++i) {
      const char *k = keys[i % kKeys];
      if ((rc = mproc_dict_get_into(d, k, strlen(k), &v, sizeof v, &len)) != 0) die("get", rc);
      sum += v;
    }
    hit_ns[rep] = (now_ns() - t0) / calls;
    t0 = now_ns();
    for (int i = 0; i < calls; ++i) {
      const char *k = missing[i % kKeys];
      if ((rc = mproc_dict_get_into(d, k, strlen(k), &v, sizeof v, &len)) != -ENOENT)
        die("get of a missing key", rc);
    }
    miss_ns[rep] = (now_ns() - t0) / calls;
    t0 = now_ns();
    for (int i = 0; i < calls; ++i) {
      const char *k = missing[i % kKeys];
      if ((rc = mproc_dict_contains(d, k, strlen(k))) != 0) die("contains", rc);
    }
    contains_ns[rep] = (now_ns() - t0) / calls;
    if (sum == 42) fprintf(stderr, "#\n"); /* keeps the loop's reads */
  }
  emit("dict_capi_set_ns", set_ns, reps);
  emit("dict_capi_get_hit_ns", hit_ns, reps);
  emit("dict_capi_get_miss_ns", miss_ns, reps);
  emit("dict_capi_contains_miss_ns", contains_ns, reps);
  mproc_dict_destroy(d);
  mproc_manager_destroy(m);
  return 0;
}
