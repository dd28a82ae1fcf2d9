// Queue benchmarks, in the format of ../shared/bench: one `metric value unit` line per figure on
// stdout (the median of the repetitions), every repetition on stderr.
//   queue_spsc_64B            one producer process -> one consumer process, 64-byte messages
//   queue_spsc_64B_default    the same on a default Queue() (bounded only by memory)
//   queue_spsc_64KiB          the same with 64 KiB messages (MB = 10^6 bytes), a fixed 1 MiB ring
//   queue_spsc_64KiB_default  the same on a default Queue() (repetitions alternate with the above)
//   queue_spsc_1MiB[_default] 1 MiB messages (above 256 KiB: their own regions in a default
//                             Queue()) against a fixed 4 MiB ring, alternating
//   queue_mpmc_2x2_64B        two producer processes -> two consumer processes, 64-byte messages
//   queue_pingpong_rtt        a message there and back between two processes (two queues)
//   queue_resident_*          memory a queue occupies in /dev/shm (tmpfs pages actually allocated)
// Usage: mproc_queue_bench [--quick] [--small | --large]
//        mproc_queue_bench --vs-ring [--placement same|split|both] [--reps N] [--messages N]
//        mproc_queue_bench --one-thread [--reps N] [--messages N]
// --one-thread: the CPU time of a 64-byte put + get in one thread (no other process, so no
// cross-CPU traffic), a fixed 1 MiB ring and a default Queue(), and of a non-blocking get of an
// empty queue through the C ABI, the best of N repetitions:
//   queue_put_get_64B_one_thread <ns> ns, queue_put_get_64B_one_thread_default <ns> ns,
//   queue_empty_poll_capi <ns> ns
// --vs-ring: 64-byte messages, one producer process -> one consumer process, a Queue with a fixed
// 1 MiB ring and a default Queue() beside the raw SPSC ring of ../shared/bench/raw_ipc_bench.cpp
// (the same algorithm, rebuilt here: a 4096-slot ring of 64-byte slots in MAP_SHARED memory,
// both sides copying every message, an index store per message, spinning), one repetition of each
// in turn (the order reversed every other repetition), with an explicit placement for each: `same`
// pins both processes to CPU $SAME_CPU (default 1), `split` the consumer (parent) to $PARENT_CPU
// (default 1) and the producer (child) to $CHILD_CPU (default 0); `both` (the default) alternates
// them. Prints one line per repetition:
//   pair <placement> <rep> ring <msgs/s> fixed <msgs/s> default <msgs/s>
// and, per placement, the medians of the ratios of a repetition's Queue to its raw ring:
//   queue_vs_ring_64B_<placement> <ratio> x, queue_default_vs_ring_64B_<placement> <ratio> x
#include <mproc.h>
#include <mproc/process.hpp>
#include <mproc/queue.hpp>

#include "bench_placement.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <immintrin.h>
#include <new>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <vector>

namespace {

using mproc::Queue;
using mproc::QueueOptions;

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

// A one-shot "go" over a pipe, so that timing starts after fork and setup.
class Go {
 public:
  Go() {
    if (::pipe(fds_) != 0) die("pipe");
  }
  ~Go() {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  void wait() {
    char c;
    if (::read(fds_[0], &c, 1) != 1) die("read go");
  }
  void fire(int children = 1) {
    for (int i = 0; i < children; ++i)
      if (::write(fds_[1], "g", 1) != 1) die("write go");
  }

 private:
  int fds_[2];
};

void wait_child(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) die("waitpid");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "child %d failed (status %d)\n", static_cast<int>(pid), status);
    std::exit(2);
  }
}

// Producer = child, consumer = the parent; both copy every message (as the raw SPSC ring does).
// Returns seconds for n messages.
double spsc_seconds(std::uint64_t n, std::size_t size, std::size_t capacity) {
  Queue q(QueueOptions{0, capacity});
  Go go;
  const pid_t pid = mproc::fork();
  if (pid == 0) {
    mproc::bench::pin_child();
    std::vector<char> message(size, 'p');
    go.wait();
    for (std::uint64_t i = 0; i < n; ++i) {
      std::memcpy(message.data(), &i, sizeof i);
      q.put_bytes(message.data(), size);
    }
    ::_exit(0);
  }
  std::vector<char> into(size);
  std::uint64_t sum = 0;
  const double t0 = now_s();
  go.fire();
  for (std::uint64_t i = 0; i < n; ++i) {
    if (q.get_into(into.data(), into.size()) != size) die("short message");
    std::uint64_t seq;
    std::memcpy(&seq, into.data(), sizeof seq);
    sum += seq;
  }
  const double dt = now_s() - t0;
  wait_child(pid);
  if (sum != n * (n - 1) / 2) die("checksum mismatch");
  return dt;
}

// The raw SPSC ring of ../shared/bench/raw_ipc_bench.cpp (spsc_ring_s with batch 1): producer =
// child, consumer = parent, 64-byte messages copied in and out of a 4096-slot ring in MAP_SHARED
// memory, tail (head) stored after every message, a full (empty) ring polled with pause.
// Returns seconds for n messages.
double raw_ring_seconds(std::uint64_t n) {
  constexpr std::size_t kMsg = 64;
  constexpr std::uint64_t kCap = 4096;
  struct Header {
    alignas(64) std::atomic<std::uint64_t> head{0};
    alignas(64) std::atomic<std::uint64_t> tail{0};
    alignas(64) char pad[64];
  };
  const std::size_t bytes = sizeof(Header) + kCap * kMsg;
  void* mem = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) die("mmap");
  auto* h = new (mem) Header();
  char* data = static_cast<char*>(mem) + sizeof(Header);
  std::memset(data, 0, kCap * kMsg);
  Go go;
  const pid_t pid = ::fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    mproc::bench::pin_child();
    char src[kMsg];
    std::memset(src, 'p', sizeof src);
    go.wait();
    std::uint64_t t = 0, cached_head = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
      while (t - cached_head >= kCap) {
        cached_head = h->head.load(std::memory_order_acquire);
        if (t - cached_head >= kCap) _mm_pause();
      }
      char* slot = data + (t & (kCap - 1)) * kMsg;
      std::memcpy(slot, src, kMsg);
      std::memcpy(slot, &i, 8);
      h->tail.store(++t, std::memory_order_release);
    }
    ::_exit(0);
  }
  char dst[kMsg];
  std::uint64_t hd = 0, cached_tail = 0, sum = 0;
  const double t0 = now_s();
  go.fire();
  while (hd < n) {
    if (hd == cached_tail) {
      cached_tail = h->tail.load(std::memory_order_acquire);
      if (hd == cached_tail) {
        _mm_pause();
        continue;
      }
    }
    std::memcpy(dst, data + (hd & (kCap - 1)) * kMsg, kMsg);
    std::uint64_t seq;
    std::memcpy(&seq, dst, 8);
    sum += seq;
    h->head.store(++hd, std::memory_order_release);
  }
  const double dt = now_s() - t0;
  wait_child(pid);
  if (sum != n * (n - 1) / 2) die("ring checksum mismatch");
  ::munmap(mem, bytes);
  return dt;
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n == 0 ? 0 : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// --vs-ring (see the file comment).
int vs_ring(const std::string& placement, int reps, std::uint64_t n) {
  struct Place {
    mproc::bench::Placement where;
    std::vector<double> fixed_ratio, default_ratio;
  };
  std::vector<Place> places;
  for (const mproc::bench::Placement& p : mproc::bench::placements(placement))
    places.push_back({p, {}, {}});
  if (places.empty()) {
    std::fprintf(stderr, "--placement must be same, split or both\n");
    return 2;
  }
  for (int rep = 0; rep < reps; ++rep) {
    for (Place& p : places) {
      mproc::bench::enter(p.where);
      double ring = 0, fixed = 0, growing = 0;
      auto run = [&](int which) {
        if (which == 0) ring = static_cast<double>(n) / raw_ring_seconds(n);
        if (which == 1) fixed = static_cast<double>(n) / spsc_seconds(n, 64, std::size_t{1} << 20);
        if (which == 2) growing = static_cast<double>(n) / spsc_seconds(n, 64, 0);
      };
      for (int i = 0; i < 3; ++i) run(rep % 2 == 0 ? i : 2 - i);
      std::printf("pair %s %d ring %.6g fixed %.6g default %.6g\n", p.where.name, rep, ring, fixed,
                  growing);
      std::fflush(stdout);
      p.fixed_ratio.push_back(fixed / ring);
      p.default_ratio.push_back(growing / ring);
    }
  }
  for (const Place& p : places) {
    std::printf("queue_vs_ring_64B_%s %.3g x\n", p.where.name, median_of(p.fixed_ratio));
    std::printf("queue_default_vs_ring_64B_%s %.3g x\n", p.where.name, median_of(p.default_ratio));
  }
  return 0;
}

// This process's CPU time, in ns.
double cpu_ns() {
  timespec t{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}

// --one-thread: the CPU cost of a 64-byte put and get with no other process, so no cross-CPU
// traffic: one thread puts a message and takes it back, n times, on a fixed 1 MiB ring or on a
// default Queue(), in ns of process CPU time per put + get.
double put_get_ns(std::uint64_t n, std::size_t capacity) {
  Queue q(QueueOptions{0, capacity});
  char message[64];
  char into[64];
  std::memset(message, 'p', sizeof message);
  const double start = cpu_ns();
  for (std::uint64_t i = 0; i < n; ++i) {
    std::memcpy(message, &i, sizeof i);
    q.put_bytes(message, sizeof message);
    if (q.get_into(into, sizeof into) != sizeof into || std::memcmp(into, &i, sizeof i) != 0)
      die("put + get");
  }
  return (cpu_ns() - start) / static_cast<double>(n);
}

// A poll of an empty queue (Python's get_nowait loop, a C caller's timeout 0) through the C ABI,
// ns per call.
double empty_poll_ns(std::uint64_t n) {
  mproc_queue_t* q = nullptr;
  if (mproc_queue_create(nullptr, &q) != 0) die("mproc_queue_create");
  char into[64];
  std::size_t len = 0;
  const double start = cpu_ns();
  for (std::uint64_t i = 0; i < n; ++i)
    if (mproc_queue_get_into(q, into, sizeof into, &len, 0) != MPROC_EEMPTY) die("empty poll");
  const double ns = (cpu_ns() - start) / static_cast<double>(n);
  mproc_queue_destroy(q);
  return ns;
}

// The best of `reps` repetitions of each.
int one_thread(int reps, std::uint64_t n) {
  double fixed = 0, growing = 0, poll = 0;
  for (int rep = 0; rep < reps; ++rep) {
    const double f = put_get_ns(n, std::size_t{1} << 20);
    const double d = put_get_ns(n, 0);
    const double p = empty_poll_ns(n);
    fixed = rep == 0 ? f : std::min(fixed, f);
    growing = rep == 0 ? d : std::min(growing, d);
    poll = rep == 0 ? p : std::min(poll, p);
  }
  std::printf("queue_put_get_64B_one_thread %.4g ns\n", fixed);
  std::printf("queue_put_get_64B_one_thread_default %.4g ns\n", growing);
  std::printf("queue_empty_poll_capi %.4g ns\n", poll);
  return 0;
}

// Two producer and two consumer processes; the parent only times. Returns seconds.
double mpmc_seconds(std::uint64_t n, std::size_t size, int producers, int consumers) {
  Queue q;
  Go go;
  std::vector<pid_t> pids;
  for (int p = 0; p < producers; ++p) {
    const pid_t pid = mproc::fork();
    if (pid == 0) {
      std::vector<char> message(size, 'p');
      go.wait();
      for (std::uint64_t i = 0; i < n / static_cast<std::uint64_t>(producers); ++i) {
        std::memcpy(message.data(), &i, sizeof i);
        q.put_bytes(message.data(), size);
      }
      ::_exit(0);
    }
    pids.push_back(pid);
  }
  std::vector<pid_t> consumer_pids;
  for (int c = 0; c < consumers; ++c) {
    const pid_t pid = mproc::fork();
    if (pid == 0) {
      std::vector<char> into(size);
      go.wait();
      for (;;) {
        q.get_into(into.data(), into.size());
        std::uint64_t seq;
        std::memcpy(&seq, into.data(), sizeof seq);
        if (seq == UINT64_MAX) ::_exit(0);
      }
    }
    consumer_pids.push_back(pid);
  }
  const double t0 = now_s();
  go.fire(producers + consumers);
  for (pid_t pid : pids) wait_child(pid);
  std::vector<char> stop(size, 0);
  const std::uint64_t sentinel = UINT64_MAX;
  std::memcpy(stop.data(), &sentinel, sizeof sentinel);
  for (int c = 0; c < consumers; ++c) q.put_bytes(stop.data(), size);
  for (pid_t pid : consumer_pids) wait_child(pid);
  return now_s() - t0;
}

// Round trips of a 64-byte message between two processes. Returns microseconds per round trip.
double pingpong_us(int rounds) {
  Queue there, back;
  Go go;
  const pid_t pid = mproc::fork();
  char message[64] = {};
  if (pid == 0) {
    go.wait();
    for (int i = 0; i < rounds; ++i) {
      there.get_into(message, sizeof message);
      back.put_bytes(message, sizeof message);
    }
    ::_exit(0);
  }
  go.fire();
  const double t0 = now_s();
  for (int i = 0; i < rounds; ++i) {
    there.put_bytes(message, sizeof message);
    back.get_into(message, sizeof message);
  }
  const double dt = now_s() - t0;
  wait_child(pid);
  return dt / rounds * 1e6;
}

// Bytes of tmpfs memory the queue's segment occupies now.
double resident_bytes(const Queue& q) {
  struct stat st {};
  if (::stat(("/dev/shm" + q.handle()).c_str(), &st) != 0) die("stat segment");
  return static_cast<double>(st.st_blocks) * 512.0;
}

void resident(std::size_t capacity, const char* idle_name, const char* used_name) {
  Queue q(QueueOptions{0, capacity});
  emit(idle_name, {resident_bytes(q)}, "bytes");
  // One lap of the ring touches every page of it.
  std::vector<char> message(std::min<std::size_t>(capacity / 4, 4096), 'r');
  std::size_t written = 0;
  while (written < 2 * capacity) {
    q.put_bytes(message.data(), message.size());
    (void)q.get_bytes();
    written += message.size() + 8;
  }
  emit(used_name, {resident_bytes(q)}, "bytes");
}

}  // namespace

int main(int argc, char** argv) {
  // --small: only the 64-byte SPSC lines; --large: only the 64 KiB and 1 MiB SPSC lines.
  bool quick = false, small_only = false, large_only = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--vs-ring") == 0) {
      std::string placement = "both";
      int reps = 3;
      std::uint64_t n = 1'000'000;
      for (int j = 1; j + 1 < argc; ++j) {
        if (std::strcmp(argv[j], "--placement") == 0) placement = argv[j + 1];
        if (std::strcmp(argv[j], "--reps") == 0) reps = std::atoi(argv[j + 1]);
        if (std::strcmp(argv[j], "--messages") == 0) n = std::strtoull(argv[j + 1], nullptr, 10);
      }
      return vs_ring(placement, reps, n);
    }
    if (std::strcmp(argv[i], "--one-thread") == 0) {
      int reps = 5;
      std::uint64_t n = 2'000'000;
      for (int j = 1; j + 1 < argc; ++j) {
        if (std::strcmp(argv[j], "--reps") == 0) reps = std::atoi(argv[j + 1]);
        if (std::strcmp(argv[j], "--messages") == 0) n = std::strtoull(argv[j + 1], nullptr, 10);
      }
      return one_thread(reps, n);
    }
    quick = quick || std::strcmp(argv[i], "--quick") == 0;
    small_only = small_only || std::strcmp(argv[i], "--small") == 0;
    large_only = large_only || std::strcmp(argv[i], "--large") == 0;
  }
  const int reps = quick ? 3 : 5;
  std::vector<double> s;

  const std::uint64_t n_small = quick ? 1'000'000 : 5'000'000;
  if (!large_only) {
    for (int r = 0; r < reps; ++r)
      s.push_back(static_cast<double>(n_small) / spsc_seconds(n_small, 64, std::size_t{1} << 20));
    emit("queue_spsc_64B", s, "msgs/s");
    s.clear();
    // The default queue (capacity_bytes 0: bounded only by memory, its first ring 1 MiB).
    for (int r = 0; r < reps; ++r)
      s.push_back(static_cast<double>(n_small) / spsc_seconds(n_small, 64, 0));
    emit("queue_spsc_64B_default", s, "msgs/s");
    s.clear();
  }
  if (small_only) return 0;

  // Large messages: a fixed ring and the default Queue() alternate, so that both see the same load.
  auto large = [&](const char* name, std::uint64_t n, std::size_t size, std::size_t capacity) {
    std::vector<double> fixed, growing;
    for (int r = 0; r < reps; ++r) {
      fixed.push_back(static_cast<double>(n * size) / 1e6 / spsc_seconds(n, size, capacity));
      growing.push_back(static_cast<double>(n * size) / 1e6 / spsc_seconds(n, size, 0));
    }
    emit(name, fixed, "MB/s");
    emit((std::string(name) + "_default").c_str(), growing, "MB/s");
  };
  large("queue_spsc_64KiB", quick ? 10'000 : 50'000, 64 * 1024, std::size_t{1} << 20);
  large("queue_spsc_1MiB", quick ? 1'000 : 5'000, std::size_t{1} << 20, std::size_t{4} << 20);
  if (large_only) return 0;

  const std::uint64_t n_mpmc = quick ? 1'000'000 : 4'000'000;
  for (int r = 0; r < reps; ++r)
    s.push_back(static_cast<double>(n_mpmc) / mpmc_seconds(n_mpmc, 64, 2, 2));
  emit("queue_mpmc_2x2_64B", s, "msgs/s");
  s.clear();

  for (int r = 0; r < reps; ++r) s.push_back(pingpong_us(quick ? 20'000 : 100'000));
  emit("queue_pingpong_rtt", s, "us");

  resident(std::size_t{1} << 20, "queue_resident_idle_1MiB", "queue_resident_used_1MiB");
  resident(std::size_t{64} << 10, "queue_resident_idle_64KiB", "queue_resident_used_64KiB");
  return 0;
}
