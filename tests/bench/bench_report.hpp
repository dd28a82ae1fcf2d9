// What the C++ benchmark drivers share: a monotonic clock in seconds, and the report format of
// ../shared/bench (`metric value unit`, the median of the repetitions, on stdout; every
// repetition on stderr), which the compare scripts read.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

namespace mproc::bench {

inline double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline void emit(const char* name, const std::vector<double>& samples, const char* unit) {
  std::vector<double> v = samples;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  const double median = n % 2 != 0 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  std::printf("%s %.6g %s\n", name, median, unit);
  std::fflush(stdout);
  std::fprintf(stderr, "# %s n=%zu samples=", name, n);
  for (double s : samples) std::fprintf(stderr, "%.6g ", s);
  std::fprintf(stderr, "\n");
}

}  // namespace mproc::bench
