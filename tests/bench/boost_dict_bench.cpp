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

#include "bench_timing.hpp"

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

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const int n = quick ? 1000 : 20000;
  const int reps = quick ? 1 : 5;
  bench::SetGetRates rates;
  const std::string name = "boost_dict_bench_" + std::to_string(::getpid());
  for (int rep = 0; rep < reps; ++rep) {
    bip::shared_memory_object::remove(name.c_str());
    bip::managed_shared_memory segment(bip::create_only, name.c_str(), 64 << 20);
    auto* shared = segment.construct<Shared>("shared")();
    Map* map = segment.construct<Map>("map")(0, Hash(), Equal(), segment.get_segment_manager());
    const auto set_all = [&] {
      CharAllocator chars(segment.get_segment_manager());
      for (int i = 0; i < n; ++i) {
        const std::string key = "k" + std::to_string(i);
        bip::scoped_lock<bip::interprocess_mutex> lock(shared->mutex);
        auto it = map->find(std::string_view(key), Hash(), Equal());
        if (it != map->end()) it->second = i;
        else map->emplace(ShmString(key.data(), key.size(), chars), i);
      }
    };
    const auto get_all = [&] {
      long sum = 0;
      for (int i = 0; i < n; ++i) {
        const std::string key = "k" + std::to_string(i);
        bip::scoped_lock<bip::interprocess_mutex> lock(shared->mutex);
        auto it = map->find(std::string_view(key), Hash(), Equal());
        if (it != map->end()) sum += it->second;
      }
      return sum;
    };
    bench::set_then_get(n, set_all, get_all, rates);
    segment.destroy<Map>("map");
    bip::shared_memory_object::remove(name.c_str());
  }
  rates.emit_all("boost_dict");
  return 0;
}
