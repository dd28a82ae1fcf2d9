// mproc's synchronisation benchmark: a shared counter incremented under a lock by two processes
// (Python's value_locked_increment_2procs, natively), plus the uncontended cost of a Lock.
//
// Output, as /work/shared/bench: one `metric value unit` line per figure on stdout (the median of
// the repetitions), every repetition on stderr. Usage: mproc_bench_sync [increments per process]
#include <mproc/lock.hpp>

#include <mproc/process.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <sys/mman.h>
#include <vector>

namespace {

constexpr int kRepetitions = 5;

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void emit(const std::string& name, std::vector<double> samples, const char* unit) {
  std::sort(samples.begin(), samples.end());
  std::printf("%s %.0f %s\n", name.c_str(), samples[samples.size() / 2], unit);
  std::fflush(stdout);
  std::fprintf(stderr, "# %s n=%zu samples=", name.c_str(), samples.size());
  for (double s : samples) std::fprintf(stderr, "%.0f ", s);
  std::fprintf(stderr, "\n");
}

// Two processes each add `n` to a counter in a MAP_SHARED page under `lock`; the time includes
// starting and joining them, as in Python's benchmark. Returns increments per second.
template <class L>
double increment_2procs(long n) {
  L lock;
  void* page = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) std::abort();
  auto* counter = static_cast<long*>(page);
  const double t0 = now();
  std::vector<mproc::Process> workers;
  for (int i = 0; i < 2; ++i) {
    workers.emplace_back([&] {
      for (long k = 0; k < n; ++k) {
        std::lock_guard guard(lock);
        ++*counter;
      }
    });
    workers.back().start();
  }
  for (auto& w : workers) w.join();
  const double elapsed = now() - t0;
  if (*counter != 2 * n) {
    std::fprintf(stderr, "wrong count: %ld, expected %ld\n", *counter, 2 * n);
    std::exit(1);
  }
  ::munmap(page, 4096);
  return 2.0 * static_cast<double>(n) / elapsed;
}

double uncontended(long n) {
  mproc::Lock lock;
  const double t0 = now();
  for (long k = 0; k < n; ++k) {
    lock.acquire();
    lock.release();
  }
  return static_cast<double>(n) / (now() - t0);
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 2'000'000;
  std::vector<double> lock_samples, rlock_samples, single_samples;
  for (int r = 0; r < kRepetitions; ++r) {
    lock_samples.push_back(increment_2procs<mproc::Lock>(n));
    rlock_samples.push_back(increment_2procs<mproc::RLock>(n));
    single_samples.push_back(uncontended(n));
  }
  emit("lock_increment_2procs", lock_samples, "ops/s");
  emit("rlock_increment_2procs", rlock_samples, "ops/s");
  emit("lock_acquire_release_uncontended", single_samples, "ops/s");
  return 0;
}
