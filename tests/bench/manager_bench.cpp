// Manager dict benchmark, in the format of ../shared/bench: one `metric value unit` line per
// figure on stdout (the median of the repetitions), every repetition on stderr. The same work as
// py_mp_bench.py's bench_manager_dict: a child process sets 20 000 keys "k<i>" -> i, then the
// parent reads them all back.
//   mproc_manager_dict_ops         2n / (set time + get time)
//   mproc_manager_dict_set_child   n / set time (in the child)
//   mproc_manager_dict_get_parent  n / get time (in the parent)
// Usage: mproc_manager_bench [--quick]
#include <mproc/manager.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <vector>

namespace {

double now_s() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void emit(const char* name, std::vector<double> samples, const char* unit) {
  std::vector<double> sorted = samples;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t n = sorted.size();
  const double median = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  std::printf("%s %.6g %s\n", name, median, unit);
  std::fflush(stdout);
  std::fprintf(stderr, "# %s n=%zu samples=", name, n);
  for (double s : samples) std::fprintf(stderr, "%.6g ", s);
  std::fprintf(stderr, "\n");
}

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const int n = quick ? 1000 : 20000;
  const int reps = quick ? 1 : 5;
  std::vector<double> set_rates, get_rates, total_rates;
  mproc::Manager manager;
  for (int rep = 0; rep < reps; ++rep) {
    auto d = manager.dict<std::string, long>();
    int fds[2];
    if (::pipe(fds) != 0) die("pipe");
    const pid_t pid = ::fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
      const double t0 = now_s();
      for (int i = 0; i < n; ++i) d.set("k" + std::to_string(i), i);
      const double seconds = now_s() - t0;
      if (::write(fds[1], &seconds, sizeof seconds) != sizeof seconds) ::_exit(1);
      ::_exit(0);
    }
    double set_seconds = 0;
    if (::read(fds[0], &set_seconds, sizeof set_seconds) != sizeof set_seconds) die("read");
    ::close(fds[0]);
    ::close(fds[1]);
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
      die("setter");
    const double t0 = now_s();
    long sum = 0;
    for (int i = 0; i < n; ++i) sum += d.get("k" + std::to_string(i));
    const double get_seconds = now_s() - t0;
    if (sum != static_cast<long>(n) * (n - 1) / 2) {
      std::fprintf(stderr, "wrong sum %ld\n", sum);
      return 1;
    }
    set_rates.push_back(n / set_seconds);
    get_rates.push_back(n / get_seconds);
    total_rates.push_back(2 * n / (set_seconds + get_seconds));
  }
  emit("mproc_manager_dict_ops", total_rates, "ops/s");
  emit("mproc_manager_dict_set_child", set_rates, "ops/s");
  emit("mproc_manager_dict_get_parent", get_rates, "ops/s");
  return 0;
}
