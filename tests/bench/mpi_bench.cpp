// mproc::mpi::Pool's figures for tests/bench/compare_mpi.sh, under `mpirun -n 3`: tiny-task
// apply_async throughput, map of 200 000 tiny items, and a CPU-bound job's speed-up over running
// its tasks one after another on rank 0. Prints "name value unit" lines.
// MPROC_MPI_BENCH_MAPS=N: only N maps of 200 000 tiny items (default chunksize), their rate and
// the time the submission took (a profiling aid: `perf record` under mpirun).
#include <mproc/mpi/pool.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "primes.hpp"

namespace {

using Clock = std::chrono::steady_clock;

int inc(int x) { return x + 1; }

using mproc_example::count_primes;  // the example's job (examples/primes.hpp)
using mproc_example::Range;

// CPU seconds used by this process (rank 0: the submitting thread and the pool's MPI thread).
double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

// CPU seconds used so far by the serving ranks' processes (their serving loops, not their
// workers), read from /proc: they run on this host under `mpirun -n 3`. 0 if unreadable.
double servers_cpu_seconds(const mproc::mpi::Pool& pool) {
  double total = 0;
  for (const auto& r : pool.ranks()) {
    if (r.rank == 0) continue;
    std::FILE* f = std::fopen(("/proc/" + std::to_string(r.pid) + "/stat").c_str(), "r");
    if (!f) continue;
    char line[1024] = {};
    const bool read = std::fgets(line, sizeof line, f) != nullptr;
    std::fclose(f);
    const char* p = read ? std::strrchr(line, ')') : nullptr;
    unsigned long utime = 0, stime = 0;
    // After "pid (comm)": state and 10 fields, then utime and stime (proc(5)).
    if (p && std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
                         &stime) == 2)
      total += static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }
  return total;
}

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

int program(int argc, char** argv) {
  const int n_apply = 100'000;
  const int n_map = 200'000;
  const uint64_t cpu_range = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 400'000;
  mproc::mpi::Pool pool;
  std::fprintf(stderr, "# mproc: %d ranks, %d workers\n", mproc::mpi::size(), pool.processes());
  pool.map<int>(mproc::TaskName{"inc"}, std::vector<int>(64, 1), 1);  // warm
  if (const char* only = std::getenv("MPROC_MPI_BENCH_MAPS"); only != nullptr) {
    // Profiling aid (perf record): only this many maps of 200 000 tiny items, default chunksize.
    std::vector<int> inputs(n_map);
    for (int i = 0; i < n_map; ++i) inputs[i] = i;
    const int maps = std::atoi(only);
    const auto t = Clock::now();
    double submit = 0;
    for (int m = 0; m < maps; ++m) {
      const auto t1 = Clock::now();
      auto r = pool.map_async<int>(mproc::TaskName{"inc"}, inputs);
      submit += since(t1);
      if (r.get().back() != n_map) return 1;
    }
    std::printf("mpi_map_tiny_only %.0f tasks/s (submit %.3f ms of %.3f ms)\n",
                double(n_map) * maps / since(t), submit / maps * 1e3, since(t) / maps * 1e3);
    pool.close();
    pool.join();
    return 0;
  }

  {
    std::vector<mproc::AsyncResult<int>> results;
    results.reserve(n_apply);
    const auto t = Clock::now();
    const double cpu = cpu_seconds();
    const double servers = servers_cpu_seconds(pool);
    for (int i = 0; i < n_apply; ++i)
      results.push_back(pool.apply_async<int>(mproc::TaskName{"inc"}, i));
    int last = 0;
    for (auto& r : results) last = r.get();
    const double s = since(t);
    if (last != n_apply) return 1;
    std::printf("mpi_apply_async_tiny %.0f tasks/s\n", n_apply / s);
    std::printf("mpi_rank0_cpu_per_task %.3f us\n", (cpu_seconds() - cpu) / n_apply * 1e6);
    std::printf("mpi_servers_cpu_per_task %.3f us\n",
                (servers_cpu_seconds(pool) - servers) / n_apply * 1e6);
  }
  {
    // What the serving loops cost while nothing runs: their CPU over a second without tasks.
    const double servers = servers_cpu_seconds(pool);
    std::this_thread::sleep_for(std::chrono::seconds(1));
    std::printf("mpi_servers_idle_cpu %.2f %%\n", (servers_cpu_seconds(pool) - servers) * 100);
  }
  std::vector<int> inputs(n_map);
  for (int i = 0; i < n_map; ++i) inputs[i] = i;
  for (size_t chunk : {size_t{0}, size_t{256}, size_t{1024}, size_t{4096}}) {
    // The best of 3 maps, as mpi4py_bench.py takes (the first map after the apply_async burst
    // pays for the workers' first large buffers: a cold start, on either side).
    double best = 0;
    for (int round = 0; round < 3; ++round) {
      const auto t = Clock::now();
      const double cpu = cpu_seconds();
      const auto out = pool.map<int>(mproc::TaskName{"inc"}, inputs, chunk);
      const double s = since(t);
      if (out.back() != n_map) return 1;
      if (chunk == 0 && round == 0) {
        std::printf("mpi_rank0_cpu_per_map_item %.4f us\n", (cpu_seconds() - cpu) / n_map * 1e6);
      }
      best = std::max(best, n_map / s);
    }
    std::printf("mpi_map_tiny_chunk%zu %.0f tasks/s\n", chunk, best);
  }
  {
    std::vector<Range> ranges;
    for (uint64_t k = 0; k < 8; ++k) ranges.push_back(Range{k * cpu_range, (k + 1) * cpu_range});
    // The best of 3 of each, alternated (as mpi4py_bench.py): a machine whose load changes
    // between the two phases skews a single pair either way.
    double ts = 1e30, tp = 1e30;
    for (int round = 0; round < 3; ++round) {
      auto t = Clock::now();
      uint64_t serial = 0;
      for (const Range& r : ranges) serial += count_primes(r);
      ts = std::min(ts, since(t));
      t = Clock::now();
      const auto counts = pool.map<uint64_t>(mproc::TaskName{"count_primes"}, ranges, 1);
      tp = std::min(tp, since(t));
      uint64_t parallel = 0;
      for (uint64_t c : counts) parallel += c;
      if (parallel != serial) return 1;
    }
    std::printf("mpi_cpu_serial %.3f s\nmpi_cpu_pool %.3f s\nmpi_cpu_speedup %.3f x\n", ts, tp,
                ts / tp);
  }
  pool.close();
  pool.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  mproc::register_task("inc", inc);
  mproc::register_task("count_primes", count_primes);
  return mproc::mpi::run(argc, argv, program);
}
