// Pool benchmarks: plain driver printing `metric value unit` (median of repetitions) on stdout and
// every repetition on stderr, like /work/shared/bench. Run through compare_pool.sh, which puts
// Python's multiprocessing.Pool and the raw socketpair ping-pong beside it in the same run.
//
//   mproc_pool_bench            throughput, latency, CPU speed-up, idle worker memory
//   mproc_pool_bench rss N      peak RSS of imap over N generated inputs (run in a fresh process)
//   mproc_pool_bench floor      the per-task work apply_async cannot avoid, with no IPC at all
#include <mproc/pool.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <ranges>
#include <string>
#include <sys/resource.h>
#include <vector>

#include "bench_report.hpp"

namespace {

using mproc::bench::emit;
using mproc::bench::now_s;

template <class Fn>
std::vector<double> repeat(int reps, Fn fn) {
  std::vector<double> out;
  for (int i = 0; i < reps; ++i) out.push_back(fn());
  return out;
}

int f(int i) { return i + 1; }

// A CPU-bound job the compiler cannot shorten: a chain of dependent multiplications.
uint64_t cpu(uint64_t n) {
  uint64_t x = n;
  for (uint64_t i = 0; i < n; ++i) x = x * 6364136223846793005ULL + 1442695040888963407ULL + (x >> 29);
  return x;
}

long rss_kb(const std::string& field, pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(field + ":", 0) == 0) return std::atol(line.c_str() + field.size() + 1);
  return -1;
}

// The in-process floor of apply_async + get for a tiny task (issue 17 item 6): what every task
// costs before any byte crosses to a worker. Per task, in one thread, no pool: the result state
// an AsyncResult needs (allocated, attached to a group, wrapped), the task's encoding (SmallTask),
// the worker's decode + call + result record (the invoker), the result's decode and resolution,
// and get(). mproc_pool_floor_state is the result state alone (allocate + resolve + get).
int bench_floor(int reps) {
  using R = int;
  using Fn = int (*)(int);
  const int n = 20000;
  std::vector<mproc::AsyncResult<R>> rs;
  rs.reserve(n);
  struct NoPool final : mproc::detail::Canceller {  // stands in for the pool results attach to
    void cancel(uint64_t) override {}
  };
  const auto no_pool = std::make_shared<NoPool>();
  std::string out;
  out.reserve(256);
  constexpr mproc::detail::Invoker invoker = &mproc::detail::invoke_items<Fn, int>;
  uint64_t group = 1;
  emit("mproc_pool_floor_tiny", repeat(reps, [&] {
         rs.clear();
         const double t0 = now_s();
         for (int i = 0; i < n; ++i) {
           auto state = mproc::detail::ApplyState<R>::make();
           state->attach(no_pool, group++);
           const mproc::detail::SmallTask<Fn, int> task(invoker, &f, i);
           // The worker's side: read the payload, call, write the record.
           mproc::detail::PayloadView payload;
           const std::string_view v = task.view();
           if (!mproc::detail::read_payload(v.data(), v.data() + v.size(), payload)) std::abort();
           out.clear();
           payload.invoker(payload.callable, payload.items, v.data() + v.size(), payload.count, out);
           state->on_items(out.data(), out.size(), 1);
           rs.emplace_back(std::shared_ptr<mproc::detail::ValueCore<R>>(std::move(state)));
         }
         int last = 0;
         for (auto& r : rs) last = r.get();
         const double dt = now_s() - t0;
         if (last != n) std::abort();
         return n / dt;
       }),
       "tasks/s");
  emit("mproc_pool_floor_state", repeat(reps, [&] {
         rs.clear();
         const double t0 = now_s();
         for (int i = 0; i < n; ++i) {
           auto state = mproc::detail::ApplyState<R>::make();
           state->attach(no_pool, group++);
           state->resolve_value(i + 1);
           rs.emplace_back(std::shared_ptr<mproc::detail::ValueCore<R>>(std::move(state)));
         }
         int last = 0;
         for (auto& r : rs) last = r.get();
         const double dt = now_s() - t0;
         if (last != n) std::abort();
         return n / dt;
       }),
       "tasks/s");
  return 0;
}

int bench_rss(long n) {
  mproc::Pool pool(2);
  pool.map(f, std::vector<int>(8, 1));
  rusage before{};
  ::getrusage(RUSAGE_SELF, &before);
  long long sum = 0;
  const double t0 = now_s();
  for (int v : pool.imap(f, std::views::iota(0, static_cast<int>(n)), 1000)) sum += v;
  const double dt = now_s() - t0;
  rusage after{};
  ::getrusage(RUSAGE_SELF, &after);
  if (sum != static_cast<long long>(n) * (n + 1) / 2) return 1;
  const std::string name = "mproc_pool_imap_" + std::to_string(n) + "_";
  emit((name + "peak_rss").c_str(), {static_cast<double>(after.ru_maxrss) / 1024.0}, "MB");
  emit((name + "rss_growth").c_str(),
       {static_cast<double>(after.ru_maxrss - before.ru_maxrss) / 1024.0}, "MB");
  emit((name + "rate").c_str(), {static_cast<double>(n) / dt}, "tasks/s");
  pool.close();
  pool.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "rss") == 0) return bench_rss(std::atol(argv[2]));
  if (argc >= 2 && std::strcmp(argv[1], "floor") == 0)
    return bench_floor(argc >= 3 ? std::atoi(argv[2]) : 5);
  // `mproc_pool_bench only apply|map|roundtrip|cpu [reps]`: one part, for profiling.
  const std::string only = argc >= 3 && std::strcmp(argv[1], "only") == 0 ? argv[2] : "";
  auto part = [&](const char* name) { return only.empty() || only == name; };
  const int reps = argc >= 4 ? std::atoi(argv[3]) : 3;
  mproc::Pool pool(2);
  pool.map(f, std::vector<int>(8, 1));  // workers up and warm

  if (part("apply")) {
    const int n = 20000;
    std::vector<mproc::AsyncResult<int>> rs;
    rs.reserve(n);
    emit("mproc_pool_apply_async_tiny", repeat(reps, [&] {
           rs.clear();
           const double t0 = now_s();
           for (int i = 0; i < n; ++i) rs.push_back(pool.apply_async(f, i));
           int last = 0;
           for (auto& r : rs) last = r.get();
           const double dt = now_s() - t0;
           if (last != n) std::abort();
           return n / dt;
         }),
         "tasks/s");
  }
  if (part("map")) {
    const int n = 200000;
    std::vector<int> in(n);
    for (int i = 0; i < n; ++i) in[static_cast<size_t>(i)] = i;
    for (size_t chunksize : {size_t{0}, size_t{256}}) {
      const std::string name = chunksize == 0 ? "mproc_pool_map_tiny_default_chunks"
                                              : "mproc_pool_map_tiny_chunk256";
      emit(name.c_str(), repeat(reps, [&] {
             const double t0 = now_s();
             auto out = pool.map(f, in, chunksize);
             const double dt = now_s() - t0;
             if (out.back() != n) std::abort();
             return n / dt;
           }),
           "tasks/s");
    }
    emit("mproc_pool_imap_unordered_tiny_chunk64", repeat(reps, [&] {
           const double t0 = now_s();
           long long s = 0;
           for (int x : pool.imap_unordered(f, in, 64)) s += x;
           const double dt = now_s() - t0;
           if (s != static_cast<long long>(n) * (n + 1) / 2) std::abort();
           return n / dt;
         }),
         "tasks/s");
  }
  if (part("roundtrip")) {
    const int n = 5000;
    emit("mproc_pool_apply_roundtrip", repeat(reps, [&] {
           const double t0 = now_s();
           for (int i = 0; i < n; ++i)
             if (pool.apply(f, i) != i + 1) std::abort();
           return (now_s() - t0) / n * 1e6;
         }),
         "us");
  }
  if (part("cpu")) {
    const uint64_t n = 50'000'000;
    std::vector<double> ratios, serial, parallel;
    for (int r = 0; r < reps; ++r) {
      const double t0 = now_s();
      std::vector<uint64_t> a;
      for (int i = 0; i < 8; ++i) a.push_back(cpu(n));
      const double t1 = now_s();
      auto b = pool.map(cpu, std::vector<uint64_t>(8, n), 1);
      const double t2 = now_s();
      if (a != b) std::abort();
      serial.push_back(t1 - t0);
      parallel.push_back(t2 - t1);
      ratios.push_back((t1 - t0) / (t2 - t1));
    }
    emit("mproc_pool_cpu_speedup", ratios, "x");
    emit("mproc_pool_cpu_serial_8x", serial, "s");
    emit("mproc_pool_cpu_pool2_8x", parallel, "s");
  }
  if (only.empty()) {
    std::vector<double> rss, anon;
    for (pid_t pid : pool.worker_pids()) {
      rss.push_back(static_cast<double>(rss_kb("VmRSS", pid)));
      anon.push_back(static_cast<double>(rss_kb("RssAnon", pid) + rss_kb("RssShmem", pid)));
    }
    emit("mproc_pool_idle_worker_rss", rss, "kB");
    emit("mproc_pool_idle_worker_anon_shmem", anon, "kB");
  }
  pool.close();
  pool.join();
  return 0;
}
