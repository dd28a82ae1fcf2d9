// The CPU-bound job of examples/mpi_primes.cpp, also what tests/bench/mpi_bench.cpp times against
// mpi4py (the "CPU-bound job"): one copy, so that the bench measures the example's work.
#pragma once

#include <algorithm>
#include <cstdint>

namespace mproc_example {

struct Range {
  uint64_t lo;
  uint64_t hi;
};

// Primes in [lo, hi), by trial division: deliberately plain CPU work.
uint64_t count_primes(Range r) {
  uint64_t count = 0;
  for (uint64_t n = std::max<uint64_t>(r.lo, 2); n < r.hi; ++n) {
    bool prime = true;
    for (uint64_t d = 2; d * d <= n; ++d) {
      if (n % d == 0) {
        prime = false;
        break;
      }
    }
    count += prime ? 1 : 0;
  }
  return count;
}

}  // namespace mproc_example
