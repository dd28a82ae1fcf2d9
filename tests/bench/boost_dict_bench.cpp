// The peer of mproc_manager_bench (compare_manager.sh): the same work on a boost::unordered_map in
// Boost.Interprocess shared memory under one interprocess_mutex, as a C++ program would share a
// dict without mproc. It is not crash-consistent: a process killed holding the mutex, or in the
// middle of an insert, leaves the map locked or broken. A child sets 20 000 keys "k<i>" -> i (one
// lock each), then the parent reads them all back (one lock each, looked up without building a
// shared-memory string). Output as manager_bench.cpp: one `metric value unit` line per figure
// (the median of the repetitions) on stdout, every repetition on stderr.
//   boost_dict_ops         2n / (set time + get time)
//   boost_dict_set_child   n / set time (in the child)
//   boost_dict_get_parent  n / get time (in the parent)
// Build: g++ -O2 -std=c++17 -pthread boost_dict_bench.cpp -o boost_dict_bench -lrt (Debian's
// libboost-dev: header-only). Usage: boost_dict_bench [--quick]
#include <boost/container_hash/hash.hpp>
#include <boost/interprocess/allocators/allocator.hpp>
#include <boost/interprocess/containers/string.hpp>
#include <boost/interprocess/managed_shared_memory.hpp>
#include <boost/interprocess/sync/interprocess_mutex.hpp>
#include <boost/interprocess/sync/scoped_lock.hpp>
#include <boost/unordered_map.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <vector>

namespace bip = boost::interprocess;

namespace {

using Segment = bip::managed_shared_memory::segment_manager;
using CharAllocator = bip::allocator<char, Segment>;
using ShmString = bip::basic_string<char, std::char_traits<char>, CharAllocator>;

// One hash and one equality for shared strings and plain string views, so that a lookup needs no
// shared-memory allocation.
struct Hash {
  std::size_t operator()(std::string_view s) const { return boost::hash_range(s.begin(), s.end()); }
  std::size_t operator()(const ShmString& s) const { return (*this)(std::string_view(s.data(), s.size())); }
};
struct Equal {
  static std::string_view view(const ShmString& s) { return {s.data(), s.size()}; }
  bool operator()(const ShmString& a, const ShmString& b) const { return view(a) == view(b); }
  bool operator()(std::string_view a, const ShmString& b) const { return a == view(b); }
  bool operator()(const ShmString& a, std::string_view b) const { return view(a) == b; }
};
using Value = std::pair<const ShmString, long>;
using Map = boost::unordered_map<ShmString, long, Hash, Equal, bip::allocator<Value, Segment>>;

struct Shared {
  bip::interprocess_mutex mutex;
};

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

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const int n = quick ? 1000 : 20000;
  const int reps = quick ? 1 : 5;
  std::vector<double> set_rates, get_rates, total_rates;
  const std::string name = "boost_dict_bench_" + std::to_string(::getpid());
  for (int rep = 0; rep < reps; ++rep) {
    bip::shared_memory_object::remove(name.c_str());
    bip::managed_shared_memory segment(bip::create_only, name.c_str(), 64 << 20);
    auto* shared = segment.construct<Shared>("shared")();
    Map* map = segment.construct<Map>("map")(0, Hash(), Equal(), segment.get_segment_manager());
    int fds[2];
    if (::pipe(fds) != 0) die("pipe");
    const pid_t pid = ::fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
      CharAllocator chars(segment.get_segment_manager());
      const double t0 = now_s();
      for (int i = 0; i < n; ++i) {
        const std::string key = "k" + std::to_string(i);
        bip::scoped_lock<bip::interprocess_mutex> lock(shared->mutex);
        auto it = map->find(std::string_view(key), Hash(), Equal());
        if (it != map->end()) it->second = i;
        else map->emplace(ShmString(key.data(), key.size(), chars), i);
      }
      const double seconds = now_s() - t0;
      if (::write(fds[1], &seconds, sizeof seconds) != sizeof seconds) ::_exit(1);
      ::_exit(0);
    }
    double set_seconds = 0;
    if (::read(fds[0], &set_seconds, sizeof set_seconds) != sizeof set_seconds) die("read");
    ::close(fds[0]);
    ::close(fds[1]);
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
      die("setter");
    const double t0 = now_s();
    long sum = 0;
    for (int i = 0; i < n; ++i) {
      const std::string key = "k" + std::to_string(i);
      bip::scoped_lock<bip::interprocess_mutex> lock(shared->mutex);
      auto it = map->find(std::string_view(key), Hash(), Equal());
      if (it != map->end()) sum += it->second;
    }
    const double get_seconds = now_s() - t0;
    segment.destroy<Map>("map");
    bip::shared_memory_object::remove(name.c_str());
    if (sum != static_cast<long>(n) * (n - 1) / 2) {
      std::fprintf(stderr, "wrong sum %ld\n", sum);
      return 1;
    }
    set_rates.push_back(n / set_seconds);
    get_rates.push_back(n / get_seconds);
    total_rates.push_back(2 * n / (set_seconds + get_seconds));
  }
  emit("boost_dict_ops", total_rates, "ops/s");
  emit("boost_dict_set_child", set_rates, "ops/s");
  emit("boost_dict_get_parent", get_rates, "ops/s");
  return 0;
}
