#include <mproc/mpi/pool.hpp>
#include <cstdint>
#include <cstdio>
#include <vector>

struct Range { uint64_t lo, hi; };

uint64_t count_primes(Range r) {                       // any function or plain lambda
  uint64_t count = 0;
  for (uint64_t n = r.lo < 2 ? 2 : r.lo; n < r.hi; ++n) {
    bool prime = true;
    for (uint64_t d = 2; d * d <= n && prime; ++d) prime = n % d != 0;
    count += prime;
  }
  return count;
}

int program(int, char**) {                             // runs on rank 0 only
  std::vector<Range> ranges;
  for (uint64_t lo = 0; lo < 200000; lo += 10000) ranges.push_back({lo, lo + 10000});
  mproc::mpi::Pool pool;                               // every serving rank's workers
  auto counts = pool.map<uint64_t>(mproc::TaskName{"count_primes"}, ranges, 1);
  pool.close();
  pool.join();
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  std::printf("%llu primes below 200000\n", static_cast<unsigned long long>(total));  // 17984
  return 0;
}

int main(int argc, char** argv) {
  mproc::register_task("count_primes", count_primes);  // every rank, before run()
  return mproc::mpi::run(argc, argv, program);
}
