// Manager dict benchmark, in the format of ../shared/bench: one `metric value unit` line per
// figure on stdout (the median of the repetitions), every repetition on stderr. The same work as
// py_mp_bench.py's bench_manager_dict: a child process sets 20 000 keys "k<i>" -> i, then the
// parent reads them all back.
//   mproc_manager_dict_ops         2n / (set time + get time)
//   mproc_manager_dict_set_child   n / set time (in the child)
//   mproc_manager_dict_get_parent  n / get time (in the parent)
// Usage: mproc_manager_bench [--quick]
#include <mproc/manager.hpp>

#include <cstring>
#include <string>

#include "bench_timing.hpp"

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const int n = quick ? 1000 : 20000;
  const int reps = quick ? 1 : 5;
  bench::SetGetRates rates;
  mproc::Manager manager;
  for (int rep = 0; rep < reps; ++rep) {
    auto d = manager.dict<std::string, long>();
    bench::set_then_get(
        n, [&] { for (int i = 0; i < n; ++i) d.set("k" + std::to_string(i), i); },
        [&] {
          long sum = 0;
          for (int i = 0; i < n; ++i) sum += d.get("k" + std::to_string(i));
          return sum;
        },
        rates);
  }
  rates.emit_all("mproc_manager_dict");
  return 0;
}
