// The references of compare_pool.sh, measured in the same run as mproc_pool_bench (issue 17
// items 4 and 6). Prints `metric value unit` (the median of repetitions) on stdout and every
// repetition on stderr, like mproc_pool_bench.
//
//   mproc_pool_ref_bench tiny [reps]      ref_pool_tiny: a minimal forked pool's tiny-task rate
//   mproc_pool_ref_bench pingpong [reps]  raw_socketpair_roundtrip: the one-hop round trip
//
// The minimal pool is what a pool cannot do with less: two forked workers, and per worker a task
// ring and a result ring in shared memory, each single-producer single-consumer, with one index
// store per task (no slots, no ids, no serialization, no trust checks, no deaths handled). A
// waiting side spins a little (not when confined to one CPU), then sleeps on a futex after raising
// a flag (Dekker-style, the same protocol as the Pool's rings; the waker lowers it, so one wake
// call per sleep), so that it stays fair when both sides share one CPU. The
// parent submits the tasks round robin, draining results whenever a task ring is full, then
// collects the rest: the shape of `apply_async` x N then `get` x N in mproc_pool_bench.
//
// The socketpair ping-pong is raw_ipc_bench's (../shared/bench): 64-byte messages, one child.
// It is here so that the round-trip comparison runs alternating with mproc in one process
// placement, without raw_ipc_bench's pure-spin group (which never ends on one CPU).
//
// A benchmark reference, not library code: it uses fork, mmap and futex directly.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <linux/futex.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "bench_report.hpp"

namespace {

using mproc::bench::emit;
using mproc::bench::now_s;

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::exit(2);
}

void futex_wait(std::atomic<uint32_t>& word, uint32_t expected) {
  const timespec slice{0, 10'000'000};  // bounded, so that a lost race costs 10 ms, not a hang
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT, expected, &slice, nullptr, 0);
}

void futex_wake(std::atomic<uint32_t>& word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

inline void relax() { __builtin_ia32_pause(); }

// One side's sleep flag and wake word.
struct alignas(64) Sleeper {
  std::atomic<uint32_t> sleeping{0};
  std::atomic<uint32_t> wake{0};
};

// Wakes `s` if it sleeps (after the caller published its index). The waker lowers the flag: one
// system call per sleep, however many tasks are published meanwhile.
void wake(Sleeper& s) {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (s.sleeping.load(std::memory_order_relaxed) != 0 &&
      s.sleeping.exchange(0, std::memory_order_seq_cst) != 0) {
    s.wake.fetch_add(1, std::memory_order_seq_cst);
    futex_wake(s.wake);
  }
}

constexpr int kSpins = 200;  // as the Pool's worker

// Spinning helps only if the peer runs meanwhile: not when this process may use one CPU only
// (PLACEMENT=same), where the Pool does not spin either (base/spin_policy.hpp).
bool may_spin() {
  static const bool multi = [] {
    cpu_set_t set;
    return sched_getaffinity(0, sizeof set, &set) != 0 || CPU_COUNT(&set) > 1;
  }();
  return multi;
}

// Waits until `ready()`: spins, then sleeps on `s` with the flag raised.
template <class Ready>
void wait_until(Sleeper& s, Ready ready) {
  for (int i = 0, spins = may_spin() ? kSpins : 0; i < spins; ++i) {
    if (ready()) return;
    relax();
  }
  while (!ready()) {
    const uint32_t seen = s.wake.load(std::memory_order_seq_cst);
    s.sleeping.store(1, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!ready()) futex_wait(s.wake, seen);
    s.sleeping.store(0, std::memory_order_relaxed);
  }
}

constexpr uint64_t kRing = 4096;  // entries per ring, a power of two

// A single-producer single-consumer ring of 64-bit values: one index store per value.
struct Ring {
  alignas(64) std::atomic<uint64_t> write{0};
  alignas(64) std::atomic<uint64_t> read{0};
  alignas(64) uint64_t data[kRing];
};

struct Channel {
  Ring tasks, results;
  Sleeper worker;  // the worker sleeps here waiting for tasks
  alignas(64) std::atomic<uint32_t> stop{0};
};

struct Shared {
  Sleeper parent;  // the parent sleeps here waiting for results (of any worker)
  Channel channels[2];
};

int task(uint64_t i) { return static_cast<int>(i) + 1; }  // mproc_pool_bench's f

void worker(Shared& sh, Channel& ch) {
  uint64_t r = 0, w = 0;
  for (;;) {
    wait_until(ch.worker, [&] {
      return ch.tasks.write.load(std::memory_order_acquire) != r ||
             ch.stop.load(std::memory_order_acquire) != 0;
    });
    const uint64_t end = ch.tasks.write.load(std::memory_order_acquire);
    if (end == r) _exit(0);  // stop, and nothing left
    for (; r != end; ++r) {
      const uint64_t arg = ch.tasks.data[r % kRing];
      ch.tasks.read.store(r + 1, std::memory_order_release);
      // Room in the result ring: the parent keeps at most kRing tasks per worker in flight.
      ch.results.data[w % kRing] = static_cast<uint64_t>(task(arg));
      ch.results.write.store(++w, std::memory_order_release);
      wake(sh.parent);
    }
  }
}

// The parent's view of the pool.
struct Pool {
  Shared* sh;
  pid_t pids[2];
  uint64_t sent[2] = {0, 0};  // private indices: task write, result read
  uint64_t got[2] = {0, 0};

  Pool() {
    void* p = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                   -1, 0);
    if (p == MAP_FAILED) die("mmap");
    sh = new (p) Shared();
    for (int k = 0; k < 2; ++k) {
      pids[k] = fork();
      if (pids[k] < 0) die("fork");
      if (pids[k] == 0) worker(*sh, sh->channels[k]);
    }
  }
  ~Pool() {
    for (auto& ch : sh->channels) {
      ch.stop.store(1, std::memory_order_seq_cst);
      ch.worker.wake.fetch_add(1);
      futex_wake(ch.worker.wake);
    }
    for (pid_t pid : pids) waitpid(pid, nullptr, 0);
    munmap(sh, sizeof(Shared));
  }

  // Takes every result published; returns their sum.
  uint64_t drain() {
    uint64_t sum = 0;
    for (int k = 0; k < 2; ++k) {
      Ring& ring = sh->channels[k].results;
      const uint64_t end = ring.write.load(std::memory_order_acquire);
      for (; got[k] != end; ++got[k]) sum += ring.data[got[k] % kRing];
      ring.read.store(got[k], std::memory_order_release);
    }
    return sum;
  }
  bool results_waiting() const {
    for (int k = 0; k < 2; ++k)
      if (sh->channels[k].results.write.load(std::memory_order_acquire) != got[k]) return true;
    return false;
  }

  // Runs tasks 0..n-1; returns the sum of their results.
  uint64_t run(uint64_t n) {
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; ++i) {
      const int k = static_cast<int>(i & 1);
      Channel& ch = sh->channels[k];
      while (sent[k] - got[k] >= kRing) {  // full: its results first
        sum += drain();
        if (sent[k] - got[k] >= kRing) wait_until(sh->parent, [&] { return results_waiting(); });
      }
      ch.tasks.data[sent[k] % kRing] = i;
      ch.tasks.write.store(++sent[k], std::memory_order_release);
      wake(ch.worker);
    }
    while (got[0] != sent[0] || got[1] != sent[1]) {
      sum += drain();
      if (got[0] != sent[0] || got[1] != sent[1])
        wait_until(sh->parent, [&] { return results_waiting(); });
    }
    return sum;
  }
};

int bench_tiny(int reps) {
  Pool pool;
  pool.run(1000);  // workers up and warm
  const uint64_t n = 20000;  // as mproc_pool_bench's apply_async tiny
  std::vector<double> rates;
  for (int r = 0; r < reps; ++r) {
    const double t0 = now_s();
    const uint64_t sum = pool.run(n);
    const double dt = now_s() - t0;
    if (sum != n * (n + 1) / 2) std::abort();
    rates.push_back(static_cast<double>(n) / dt);
  }
  emit("ref_pool_tiny", rates, "tasks/s");
  return 0;
}

void io(bool write_side, int fd, char* buf) {
  size_t done = 0;
  while (done < 64) {
    const ssize_t k = write_side ? write(fd, buf + done, 64 - done) : read(fd, buf + done, 64 - done);
    if (k <= 0) die(write_side ? "write" : "read");
    done += static_cast<size_t>(k);
  }
}

int bench_pingpong(int reps) {
  const int n = 5000, warm = 2000;
  std::vector<double> us;
  for (int r = 0; r < reps; ++r) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) die("socketpair");
    char buf[64];
    std::memset(buf, 'x', sizeof buf);
    const pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
      for (int i = 0; i < n + warm; ++i) {
        io(false, sv[1], buf);
        io(true, sv[1], buf);
      }
      _exit(0);
    }
    for (int i = 0; i < warm; ++i) {
      io(true, sv[0], buf);
      io(false, sv[0], buf);
    }
    const double t0 = now_s();
    for (int i = 0; i < n; ++i) {
      io(true, sv[0], buf);
      io(false, sv[0], buf);
    }
    us.push_back((now_s() - t0) / n * 1e6);
    waitpid(pid, nullptr, 0);
    close(sv[0]);
    close(sv[1]);
  }
  emit("raw_socketpair_roundtrip", us, "us");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc >= 3 ? std::atoi(argv[2]) : 3;
  if (argc >= 2 && std::strcmp(argv[1], "tiny") == 0) return bench_tiny(reps);
  if (argc >= 2 && std::strcmp(argv[1], "pingpong") == 0) return bench_pingpong(reps);
  std::fprintf(stderr, "usage: mproc_pool_ref_bench tiny|pingpong [reps]\n");
  return 2;
}
