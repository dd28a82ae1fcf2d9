// Counting primes below N across hosts with mproc::mpi::Pool: a CPU-bound job in chunks.
//
//   mpirun -n 3 ./mproc_mpi_primes 20000000            # one machine: rank 0 + 2 serving ranks
//   mpirun --hostfile hosts --map-by ppr:1:node ./mproc_mpi_primes 200000000   # a cluster
//   ./mproc_mpi_primes 2000000                          # no mpirun: local workers only
//
// Each serving rank runs tasks on its host's cores (its local pool has cpu_count() workers, or
// MPROC_MPI_PROCESSES). The same binary runs on every host: the task is found by its name.
#include <mproc/mpi/pool.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <string>
#include <vector>

#include "primes.hpp"  // Range, count_primes: primes in [lo, hi) by trial division

namespace {

using mproc_example::count_primes;
using mproc_example::Range;

int program(int argc, char** argv) {
  const uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 5'000'000;
  const uint64_t step = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 50'000;
  std::vector<Range> ranges;
  for (uint64_t lo = 0; lo < n; lo += step) ranges.push_back(Range{lo, std::min(n, lo + step)});

  mproc::mpi::Pool pool;
  std::printf("%d rank(s), %d workers:", mproc::mpi::size(), pool.processes());
  for (const auto& r : pool.ranks())
    std::printf(" [rank %d on %s: %d]", r.rank, r.host.empty() ? "this host" : r.host.c_str(),
                r.processes);
  std::printf("\n");

  const auto start = std::chrono::steady_clock::now();
  // chunksize 1: each range is a sizeable task already; ranks pull the next as they finish one.
  const auto counts = pool.map<uint64_t>(mproc::TaskName{"count_primes"}, ranges, 1);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  pool.close();
  pool.join();
  const uint64_t total = std::accumulate(counts.begin(), counts.end(), uint64_t{0});
  std::printf("%llu primes below %llu in %.3f s (%zu tasks)\n",
              static_cast<unsigned long long>(total), static_cast<unsigned long long>(n), seconds,
              ranges.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  mproc::register_task("count_primes", count_primes);  // on every rank, before run()
  return mproc::mpi::run(argc, argv, program);
}
