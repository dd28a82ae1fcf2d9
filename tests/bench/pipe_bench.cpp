// mproc pipe benchmarks, measured the way /work/shared/bench/raw_ipc_bench.cpp measures the raw
// socketpair: a 64-byte ping-pong between two processes (25000 round trips after 2000 warm-up
// ones) and a one-way stream of 2000 messages of 1 MiB, each repeated 3 times.
// stdout: `metric value unit` (the median of the repetitions); stderr: every repetition.
// Usage: mproc_pipe_bench [pingpong] [paired] [stream] [--placement same|split|both]
//        (default: all groups)
// `paired` alternates, repetition by repetition, the mproc ping-pong with a raw socketpair one
// (SOCK_STREAM, write/read, as raw_ipc_bench) in this process, and reports the ratio of each pair
// in wall time and in CPU time (both processes): on a loaded machine two runs of one program a
// minute apart differ by 2x, a pair run back to back much less, and CPU time not at all with load.
// With --placement the pairs run pinned (bench_placement.hpp: `same` both processes on one CPU,
// `split` one CPU each, `both` the two in turn, pair by pair) and every paired line's name ends in
// _same or _split; without it, where the caller's affinity puts them.
#include <mproc/connection.hpp>
#include <mproc/process.hpp>

#include "bench_placement.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

constexpr int kReps = 3;
constexpr int kWarm = 2000;
constexpr int kRoundTrips = 25000;
constexpr int kStreamMessages = 2000;
constexpr std::size_t kStreamSize = 1 << 20;

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string format(double v) {
  char buffer[64];
  if (v >= 1000 || v <= -1000)
    std::snprintf(buffer, sizeof buffer, "%.0f", v);
  else
    std::snprintf(buffer, sizeof buffer, "%.4g", v);
  return buffer;
}

void emit(const char* name, std::vector<double> samples, const char* unit) {
  std::vector<double> sorted = samples;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t n = sorted.size();
  const double median = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  std::printf("%s %s %s\n", name, format(median).c_str(), unit);
  std::fflush(stdout);
  std::fprintf(stderr, "# %s n=%zu samples=", name, n);
  for (double s : samples) std::fprintf(stderr, "%s ", format(s).c_str());
  std::fprintf(stderr, "\n");
}

void check(mproc::Process& child) {
  child.join();
  if (child.exitcode() != 0) {
    std::fprintf(stderr, "child failed\n");
    std::exit(2);
  }
}

enum class Receive { into_buffer, as_string };

// CPU seconds of this process and of its reaped children.
double cpu_s() {
  rusage self{}, children{};
  ::getrusage(RUSAGE_SELF, &self);
  ::getrusage(RUSAGE_CHILDREN, &children);
  double sum = 0;
  for (const timeval* t : {&self.ru_utime, &self.ru_stime, &children.ru_utime, &children.ru_stime})
    sum += double(t->tv_sec) + double(t->tv_usec) * 1e-6;
  return sum;
}

void write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n <= 0) std::exit(2);
    data += n;
    size -= std::size_t(n);
  }
}

void read_all(int fd, char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::read(fd, data, size);
    if (n <= 0) std::exit(2);
    data += n;
    size -= std::size_t(n);
  }
}

// us per 64-byte round trip over a raw AF_UNIX SOCK_STREAM socketpair, as raw_ipc_bench measures
// it (a forked child echoes; the clock starts after the warm-up).
double raw_socketpair_pingpong_us() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) std::exit(2);
  char buffer[64];
  std::memset(buffer, 'x', sizeof buffer);
  const pid_t pid = ::fork();
  if (pid < 0) std::exit(2);
  if (pid == 0) {
    mproc::bench::pin_child();
    ::close(sv[0]);
    for (int i = 0; i < kRoundTrips + kWarm; ++i) {
      read_all(sv[1], buffer, sizeof buffer);
      write_all(sv[1], buffer, sizeof buffer);
    }
    ::_exit(0);
  }
  ::close(sv[1]);
  double t0 = 0;
  for (int i = 0; i < kRoundTrips + kWarm; ++i) {
    if (i == kWarm) t0 = now_s();
    write_all(sv[0], buffer, sizeof buffer);
    read_all(sv[0], buffer, sizeof buffer);
  }
  const double elapsed = now_s() - t0;
  ::close(sv[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  return elapsed / kRoundTrips * 1e6;
}

// us per 64-byte round trip.
double pingpong_us(Receive how) {
  auto [parent_end, child_end] = mproc::pipe();
  mproc::Process child([&, &c = child_end] {
    mproc::bench::pin_child();
    char buffer[64];
    for (int i = 0; i < kRoundTrips + kWarm; ++i) {
      if (how == Receive::into_buffer) {
        const std::size_t n = c.recv_bytes_into(buffer, sizeof buffer);
        c.send_bytes(buffer, n);
      } else {
        c.send_bytes(c.recv_bytes());
      }
    }
  });
  child.start();
  child_end.close();
  char buffer[64];
  std::memset(buffer, 'x', sizeof buffer);
  double t0 = 0;
  for (int i = 0; i < kRoundTrips + kWarm; ++i) {
    if (i == kWarm) t0 = now_s();
    parent_end.send_bytes(buffer, sizeof buffer);
    if (how == Receive::into_buffer) {
      parent_end.recv_bytes_into(buffer, sizeof buffer);
    } else {
      const std::string reply = parent_end.recv_bytes();
      std::memcpy(buffer, reply.data(), sizeof buffer);
    }
  }
  const double elapsed = now_s() - t0;
  check(child);
  return elapsed / kRoundTrips * 1e6;
}

// us per round trip of an int64 value through send<T>/recv<T>.
double pingpong_value_us() {
  auto [parent_end, child_end] = mproc::pipe();
  mproc::Process child([&, &c = child_end] {
    for (int i = 0; i < kRoundTrips + kWarm; ++i) c.send(c.recv<std::int64_t>() + 1);
  });
  child.start();
  child_end.close();
  std::int64_t value = 0;
  double t0 = 0;
  for (int i = 0; i < kRoundTrips + kWarm; ++i) {
    if (i == kWarm) t0 = now_s();
    parent_end.send(value);
    value = parent_end.recv<std::int64_t>();
  }
  const double elapsed = now_s() - t0;
  check(child);
  if (value != kRoundTrips + kWarm) std::exit(2);
  return elapsed / kRoundTrips * 1e6;
}

// MB/s of 1 MiB messages from a child to the parent.
double stream_mbps(Receive how) {
  auto [parent_end, child_end] = mproc::pipe();
  mproc::Process child([&, &c = child_end] {
    const std::vector<char> message(kStreamSize, 'x');
    c.recv_bytes();  // go: timing starts after the fork and the setup
    for (int i = 0; i < kStreamMessages; ++i) c.send_bytes(message.data(), message.size());
  });
  child.start();
  child_end.close();
  std::vector<char> buffer(kStreamSize, 0);
  const double t0 = now_s();
  parent_end.send_bytes("g");
  for (int i = 0; i < kStreamMessages; ++i) {
    if (how == Receive::into_buffer) {
      if (parent_end.recv_bytes_into(buffer.data(), buffer.size()) != kStreamSize) std::exit(2);
    } else {
      if (parent_end.recv_bytes().size() != kStreamSize) std::exit(2);
    }
  }
  const double elapsed = now_s() - t0;
  check(child);
  return double(kStreamMessages) * double(kStreamSize) / 1e6 / elapsed;
}

// The mproc ping-pong (recv_bytes_into) and the raw one, alternating which goes first; per pair
// the wall-time and CPU-time ratios mproc / raw. With placements, each pair runs in each of them
// in turn; a name then ends in the placement's.
void paired_pingpong(const std::vector<mproc::bench::Placement>& places) {
  struct Series {
    std::vector<double> raw, mproc, wall_ratio, cpu_ratio;
  };
  const std::size_t n = places.empty() ? 1 : places.size();
  std::vector<Series> series(n);
  for (int r = 0; r < 2 * kReps + 1; ++r) {
    for (std::size_t p = 0; p < n; ++p) {
      if (!places.empty()) mproc::bench::enter(places[p]);
      double wall[2], cpu[2];
      for (int k = 0; k < 2; ++k) {
        const bool mproc_turn = (r + k) % 2 == 0;
        const double c0 = cpu_s();
        const double us =
            mproc_turn ? pingpong_us(Receive::into_buffer) : raw_socketpair_pingpong_us();
        wall[mproc_turn ? 0 : 1] = us;
        cpu[mproc_turn ? 0 : 1] = cpu_s() - c0;
      }
      Series& s = series[p];
      s.mproc.push_back(wall[0]);
      s.raw.push_back(wall[1]);
      s.wall_ratio.push_back(wall[0] / wall[1]);
      s.cpu_ratio.push_back(cpu[0] / cpu[1]);
    }
  }
  for (std::size_t p = 0; p < n; ++p) {
    const std::string suffix = places.empty() ? "" : std::string("_") + places[p].name;
    emit(("paired_raw_socketpair_roundtrip" + suffix).c_str(), series[p].raw, "us");
    emit(("paired_mproc_pipe_roundtrip" + suffix).c_str(), series[p].mproc, "us");
    emit(("paired_mproc_pipe_roundtrip_vs_raw" + suffix).c_str(), series[p].wall_ratio, "x");
    emit(("paired_mproc_pipe_roundtrip_cpu_vs_raw" + suffix).c_str(), series[p].cpu_ratio, "x");
  }
}

template <class Fn>
std::vector<double> repeat(Fn&& fn) {
  std::vector<double> samples;
  for (int r = 0; r < kReps; ++r) samples.push_back(fn());
  return samples;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<mproc::bench::Placement> places;
  bool any_group = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--placement") == 0 && i + 1 < argc) {
      places = mproc::bench::placements(argv[++i]);
      if (places.empty()) {
        std::fprintf(stderr, "--placement must be same, split or both\n");
        return 2;
      }
    } else {
      any_group = true;
    }
  }
  auto wanted = [&](const char* group) {
    if (!any_group) return true;
    for (int i = 1; i < argc; ++i)
      if (std::strcmp(argv[i], group) == 0) return true;
    return false;
  };
  if (wanted("pingpong")) {
    emit("mproc_pipe_roundtrip", repeat([] { return pingpong_us(Receive::into_buffer); }), "us");
    emit("mproc_pipe_roundtrip_recv_bytes", repeat([] { return pingpong_us(Receive::as_string); }),
         "us");
    emit("mproc_pipe_roundtrip_value", repeat(pingpong_value_us), "us");
  }
  if (wanted("paired")) paired_pingpong(places);
  if (wanted("stream")) {
    emit("mproc_pipe_1MiB_throughput", repeat([] { return stream_mbps(Receive::into_buffer); }),
         "MB/s");
    emit("mproc_pipe_1MiB_throughput_recv_bytes",
         repeat([] { return stream_mbps(Receive::as_string); }), "MB/s");
  }
  return 0;
}
