// The timing and reporting the C++ bench drivers share (manager_bench.cpp, boost_dict_bench.cpp):
// a monotonic clock, the `metric value unit` lines of ../shared/bench (the median on stdout, every
// repetition on stderr), timing a body in a forked child, and the set/get rates of the Manager
// benchmark's work. Header-only and C++17, so that compare_manager.sh can build the Boost peer
// with a plain g++ line.
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <vector>

namespace bench {

inline double now_s() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// `name median unit` on stdout, and every sample on stderr ("# name n=.. samples=..").
inline void emit(const std::string& name, const std::vector<double>& samples, const char* unit) {
  std::vector<double> sorted = samples;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t n = sorted.size();
  const double median = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  std::printf("%s %.6g %s\n", name.c_str(), median, unit);
  std::fflush(stdout);
  std::fprintf(stderr, "# %s n=%zu samples=", name.c_str(), n);
  for (double s : samples) std::fprintf(stderr, "%.6g ", s);
  std::fprintf(stderr, "\n");
}

[[noreturn]] inline void die(const char* what) {
  std::perror(what);
  std::exit(2);
}

// Runs body() in a forked child and returns how long it took there (measured in the child, so
// that fork and exit are not counted); dies if the child fails.
template <class Body>
double seconds_in_child(Body body) {
  int fds[2];
  if (::pipe(fds) != 0) die("pipe");
  const pid_t pid = ::fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    const double t0 = now_s();
    body();
    const double seconds = now_s() - t0;
    ::_exit(::write(fds[1], &seconds, sizeof seconds) == sizeof seconds ? 0 : 1);
  }
  double seconds = 0;
  if (::read(fds[0], &seconds, sizeof seconds) != sizeof seconds) die("read");
  ::close(fds[0]);
  ::close(fds[1]);
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    die("child");
  return seconds;
}

// The Manager benchmark's figures: a child sets n keys, then the parent gets them.
//   <prefix>_ops         2n / (set time + get time)
//   <prefix>_set_child   n / set time (in the child)
//   <prefix>_get_parent  n / get time (in the parent)
struct SetGetRates {
  std::vector<double> set, get, total;
  void add(int n, double set_seconds, double get_seconds) {
    set.push_back(n / set_seconds);
    get.push_back(n / get_seconds);
    total.push_back(2 * n / (set_seconds + get_seconds));
  }
  void emit_all(const std::string& prefix) const {
    emit(prefix + "_ops", total, "ops/s");
    emit(prefix + "_set_child", set, "ops/s");
    emit(prefix + "_get_parent", get, "ops/s");
  }
};

// One repetition: set_all() in a child, then get_all() (which returns the sum of the values
// read) here, timed; dies if the sum is not 0 + 1 + ... + n-1.
template <class SetAll, class GetAll>
void set_then_get(int n, SetAll set_all, GetAll get_all, SetGetRates& rates) {
  const double set_seconds = seconds_in_child(set_all);
  const double t0 = now_s();
  const long sum = get_all();
  const double get_seconds = now_s() - t0;
  if (sum != static_cast<long>(n) * (n - 1) / 2) {
    std::fprintf(stderr, "wrong sum %ld\n", sum);
    std::exit(1);
  }
  rates.add(n, set_seconds, get_seconds);
}

}  // namespace bench
