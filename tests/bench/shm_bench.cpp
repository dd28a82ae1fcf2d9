// mproc's shared-memory benchmark, beside Python's bench_shm (py_mp_bench.py --only shm):
//  - shared_memory_write_256MiB: memcpy of 256 MiB into a SharedMemory segment whose pages were
//    already touched, against memcpy_bandwidth_256MiB, the same copy into private memory, in the
//    same run (the ratio is what counts); plus the first-touch write, which pays tmpfs page
//    allocation and faults.
//  - value_locked_increment_2procs: two processes increment a Value<long> under its own lock
//    (Python's Value with its default lock), start and join included, as Python measures it.
//
// Output, as /work/shared/bench: one `metric value unit` line per figure on stdout (the median of
// the repetitions), every repetition on stderr. Usage: mproc_shm_bench [increments per process]
#include <mproc/process.hpp>
#include <mproc/shared_ctypes.hpp>
#include <mproc/shared_memory.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <sys/mman.h>
#include <vector>

namespace {

constexpr int kRepetitions = 5;
constexpr std::size_t kSize = std::size_t{256} << 20;

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

char* private_pages(int fill) {
  void* p = ::mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) std::abort();
  std::memset(p, fill, kSize);  // touched: no page faults in the measured copies
  return static_cast<char*>(p);
}

double megabytes_per_second(double seconds) { return static_cast<double>(kSize) / 1e6 / seconds; }

// Copies into `dst` and returns MB/s; reads the result back so that the copy is observable.
double timed_copy(char* dst, const char* src) {
  const double t0 = now();
  std::memcpy(dst, src, kSize);
  const double dt = now() - t0;
  if (dst[kSize - 1] != src[kSize - 1]) std::abort();
  return megabytes_per_second(dt);
}

void bench_bandwidth() {
  char* src1 = private_pages(0x5a);
  char* src2 = private_pages(0xa5);
  char* dst = private_pages(0);
  std::vector<double> plain, warm, first;
  for (int r = 0; r < kRepetitions; ++r) {
    // Interleaved, so that both see the same machine load.
    plain.push_back(timed_copy(dst, r % 2 ? src1 : src2));
    mproc::SharedMemory shm = mproc::SharedMemory::create(kSize);
    auto* buf = static_cast<char*>(shm.buf());
    first.push_back(timed_copy(buf, src1));
    warm.push_back(timed_copy(buf, src2));
    shm.close();
    shm.unlink();
  }
  ::munmap(src1, kSize);
  ::munmap(src2, kSize);
  ::munmap(dst, kSize);
  emit("memcpy_bandwidth_256MiB", plain, "MB/s");
  emit("shared_memory_write_256MiB", warm, "MB/s");
  emit("shared_memory_write_256MiB_first_touch", first, "MB/s");
}

double value_increment_2procs(long n) {
  mproc::Value<long> value(0);
  const double t0 = now();
  std::vector<mproc::Process> workers;
  for (int i = 0; i < 2; ++i) {
    workers.emplace_back([&] {
      for (long k = 0; k < n; ++k) {
        std::lock_guard guard(value);
        ++*value.get_obj();
      }
    });
    workers.back().start();
  }
  for (auto& w : workers) w.join();
  const double elapsed = now() - t0;
  if (value.get() != 2 * n) {
    std::fprintf(stderr, "wrong count: %ld, expected %ld\n", value.get(), 2 * n);
    std::exit(1);
  }
  return 2.0 * static_cast<double>(n) / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 2'000'000;
  bench_bandwidth();
  std::vector<double> increments;
  for (int r = 0; r < kRepetitions; ++r) increments.push_back(value_increment_2procs(n));
  emit("value_locked_increment_2procs", increments, "ops/s");
  return 0;
}
