// mproc pipe benchmarks, measured the way /work/shared/bench/raw_ipc_bench.cpp measures the raw
// socketpair: a 64-byte ping-pong between two processes (25000 round trips after 2000 warm-up
// ones) and a one-way stream of 2000 messages of 1 MiB, each repeated 3 times.
// stdout: `metric value unit` (the median of the repetitions); stderr: every repetition.
// Usage: mproc_pipe_bench [pingpong] [stream]   (default: both)
#include <mproc/connection.hpp>
#include <mproc/process.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
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

// us per 64-byte round trip.
double pingpong_us(Receive how) {
  auto [parent_end, child_end] = mproc::pipe();
  mproc::Process child([&, &c = child_end] {
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

template <class Fn>
std::vector<double> repeat(Fn&& fn) {
  std::vector<double> samples;
  for (int r = 0; r < kReps; ++r) samples.push_back(fn());
  return samples;
}

}  // namespace

int main(int argc, char** argv) {
  auto wanted = [&](const char* group) {
    if (argc < 2) return true;
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
  if (wanted("stream")) {
    emit("mproc_pipe_1MiB_throughput", repeat([] { return stream_mbps(Receive::into_buffer); }),
         "MB/s");
    emit("mproc_pipe_1MiB_throughput_recv_bytes",
         repeat([] { return stream_mbps(Receive::as_string); }), "MB/s");
  }
  return 0;
}
