// Pool: the byte layout of task items and result records (fixed-size values travel without a
// length prefix), arguments of every shape through the pool's submission paths, and callbacks
// set while results resolve.
#include <mproc/pool.hpp>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "pool/pool_test_support.hpp"

namespace {

using mproc::detail::ItemStatus;
using mproc::detail::ItemView;
using mproc::test::Gate;
using mproc::test::PoolTest;

int twice(int x) { return 2 * x; }
std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}
void ignore(int) {}
std::monostate blank(int) { return {}; }

// Runs the invoker of `fn` on `items` (encoded by a TaskWriter) as a worker would, and returns
// the result records.
template <class Fn, class... A>
std::string run_items(Fn fn, const std::string& payload, uint32_t count) {
  std::string out;
  mproc::detail::invoke_items<Fn, A...>(reinterpret_cast<const char*>(&fn), payload.data(),
                                        payload.data() + payload.size(), count, out);
  return out;
}

// The item bytes of a TaskWriter payload (after invoker, callable and count).
template <class Fn>
std::string items_of(const std::string& payload) {
  return payload.substr(sizeof(uintptr_t) + sizeof(uint32_t) + sizeof(Fn) + sizeof(uint32_t));
}

TEST(PoolWire, FixedSizeArgumentsAndResultsCarryNoLengthPrefix) {
  using Fn = int (*)(int);
  mproc::detail::TaskWriter writer(&mproc::detail::invoke_items<Fn, int>, &twice);
  for (int i = 0; i < 3; ++i) writer.add(i + 10);
  const std::string items = items_of<Fn>(writer.finish());
  EXPECT_EQ(items.size(), 3 * sizeof(int));  // packed: no per-item size

  const std::string out = run_items<Fn, int>(&twice, items, 3);
  EXPECT_EQ(out.size(), 3 * (1 + sizeof(int)));  // [ok][value] each
  const char* p = out.data();
  for (int i = 0; i < 3; ++i) {
    ItemView item{};
    ASSERT_TRUE(mproc::detail::next_item<int>(p, out.data() + out.size(), item));
    EXPECT_EQ(item.status, ItemStatus::ok);
    EXPECT_EQ(mproc::decode<int>(std::string(item.data, item.size)), 2 * (i + 10));
  }
  EXPECT_EQ(p, out.data() + out.size());
}

TEST(PoolWire, VariableSizeValuesAreLengthPrefixed) {
  using Fn = std::string (*)(const std::string&, int);
  mproc::detail::TaskWriter writer(&mproc::detail::invoke_items<Fn, std::string, int>, &repeat);
  writer.add(std::string("ab"), 3);
  writer.add(std::string(""), 5);
  const std::string items = items_of<Fn>(writer.finish());
  // [u32 size][u32 "ab" length]["ab"][int] + [u32 size][u32 0][int]
  EXPECT_EQ(items.size(), (4 + 4 + 2 + 4) + (4 + 4 + 0 + 4));

  const std::string out = run_items<Fn, std::string, int>(&repeat, items, 2);
  ASSERT_EQ(out.size(), (1 + 4 + 6) + (1 + 4));
  const char* p = out.data();
  ItemView item{};
  ASSERT_TRUE(mproc::detail::next_item<std::string>(p, out.data() + out.size(), item));
  EXPECT_EQ(std::string(item.data, item.size), "ababab");
  ASSERT_TRUE(mproc::detail::next_item<std::string>(p, out.data() + out.size(), item));
  EXPECT_EQ(item.status, ItemStatus::ok);
  EXPECT_EQ(item.size, 0u);
  EXPECT_FALSE(mproc::detail::next_item<std::string>(p, out.data() + out.size(), item));
}

TEST(PoolWire, VoidAndMonostateResultsAreAStatusByteOnly) {
  using Void = void (*)(int);
  using Blank = std::monostate (*)(int);
  const std::string arg = mproc::encode(7);
  const std::string ok(1, static_cast<char>(ItemStatus::ok));
  EXPECT_EQ((run_items<Void, int>(&ignore, arg, 1)), ok);
  EXPECT_EQ((run_items<Blank, int>(&blank, arg, 1)), ok);
}

TEST(PoolWire, FailuresAlwaysCarryTheirText) {
  using Fn = int (*)(int);
  auto boom = +[](int) -> int { throw mproc::TaskFailure("no"); };
  const std::string out = run_items<Fn, int>(boom, mproc::encode(1), 1);
  const char* p = out.data();
  ItemView item{};
  ASSERT_TRUE(mproc::detail::next_item<int>(p, out.data() + out.size(), item));
  EXPECT_EQ(item.status, ItemStatus::exception);
  EXPECT_EQ(std::string(item.data, item.size), "no");
}

TEST(PoolWire, TruncatedItemsEachFailWithACodecError) {
  using Fn = int (*)(int);
  // Two items announced, one and a half present: the first runs, the rest fail, and the record
  // count still matches what was announced.
  std::string items = mproc::encode(1) + mproc::encode(2);
  items.resize(items.size() - 2);
  const std::string out = run_items<Fn, int>(&twice, items, 3);
  const char* p = out.data();
  const char* end = out.data() + out.size();
  ItemView item{};
  ASSERT_TRUE(mproc::detail::next_item<int>(p, end, item));
  EXPECT_EQ(item.status, ItemStatus::ok);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(mproc::detail::next_item<int>(p, end, item));
    EXPECT_EQ(item.status, ItemStatus::codec);
    EXPECT_NE(std::string(item.data, item.size).find("truncated"), std::string::npos);
  }
  EXPECT_EQ(p, end);
}

struct Point {
  double x, y;
};
Point mirror(Point p) { return {p.y, p.x}; }
int sum_big(std::array<int, 200> a) {  // fixed size, but too large for the on-stack payload
  int s = 0;
  for (int v : a) s += v;
  return s;
}
int sum_huge(std::array<int, 2000> a) {  // a payload large enough to be moved, not copied
  int s = 0;
  for (int v : a) s += v;
  return s;
}
int answer() { return 42; }

TEST_F(PoolTest, EveryArgumentShapeThroughApplyAndMap) {
  mproc::Pool pool(2);
  EXPECT_EQ(pool.apply(answer), 42);  // no arguments at all
  const Point p = pool.apply(mirror, Point{1.5, -2});
  EXPECT_EQ(p.x, -2);
  EXPECT_EQ(p.y, 1.5);
  std::array<int, 200> big{};
  big.fill(3);
  EXPECT_EQ(pool.apply(sum_big, big), 600);
  std::array<int, 2000> huge{};
  huge.fill(2);
  EXPECT_EQ(pool.apply(sum_huge, huge), 4000);
  EXPECT_EQ(pool.apply(repeat, std::string("xy"), 2), "xyxy");
  const auto mirrored = pool.map(mirror, std::vector<Point>{{1, 2}, {3, 4}}, 1);
  ASSERT_EQ(mirrored.size(), 2u);
  EXPECT_EQ(mirrored[1].x, 4);
  EXPECT_EQ(pool.map(sum_huge, std::vector<std::array<int, 2000>>(3, huge)),
            (std::vector<int>{4000, 4000, 4000}));
  pool.close();
  pool.join();
}

// apply_async's result states come from a per-thread cache of freed blocks (issue 17 item 6):
// a block freed in a thread is the next one that thread takes (not under AddressSanitizer, where
// every block goes back to the heap), and a block may be freed in another thread than the one
// that took it.
TEST(PoolWire, ResultStateBlocksAreReusedByTheThreadThatFreedThem) {
  using Cache = mproc::detail::BlockCache<128>;
  void* first = Cache::take();
  Cache::give(first);
  void* again = Cache::take();
  if (!mproc::detail::kAddressSanitizer) {
    EXPECT_EQ(again, first);
  }
  void* elsewhere = nullptr;
  std::thread other([&] {
    Cache::give(again);  // freed in another thread than the one that took it
    elsewhere = Cache::take();
    Cache::give(elsewhere);
  });
  other.join();
  if (!mproc::detail::kAddressSanitizer) {
    EXPECT_EQ(elsewhere, again);
  }
  auto state = mproc::detail::ApplyState<int>::make();
  state->resolve_value(7);
  EXPECT_EQ(mproc::AsyncResult<int>(state).get(), 7);
}

// A burst of tiny tasks, the results taken in submission order by one thread while another
// submits and drops its own results unread (their states end in the dispatcher thread): every
// value arrives, with the workers timing only a sample of the tasks.
TEST_F(PoolTest, ABurstOfTinyTasksFromTwoThreads) {
  mproc::Pool pool(2);
  constexpr int kTasks = 3000;
  std::thread dropper([&] {
    for (int i = 0; i < kTasks; ++i) (void)pool.apply_async(twice, i);
  });
  std::vector<mproc::AsyncResult<int>> results;
  results.reserve(kTasks);
  for (int i = 0; i < kTasks; ++i) results.push_back(pool.apply_async(twice, i));
  dropper.join();
  for (int i = 0; i < kTasks; ++i) ASSERT_EQ(results[static_cast<size_t>(i)].get(), 2 * i);
  pool.close();
  pool.join();
  EXPECT_EQ(pool.stats().completed, 2u * kTasks);
}

bool wait_then(int fd) { return Gate::pass(fd); }

TEST_F(PoolTest, CallbacksSetWhileResultsResolveRunExactlyOnce) {
  mproc::Pool pool(2);
  constexpr int n = 3000;
  std::atomic<int> ran{0};
  std::atomic<long> sum{0};
  std::vector<mproc::AsyncResult<int>> results;
  for (int i = 0; i < n; ++i) {
    results.push_back(pool.apply_async(twice, i));
    // Some resolve before this call, some during it, some after: each callback runs once.
    results.back().on_done([&](const int& v) {
      ran.fetch_add(1);
      sum.fetch_add(v);
    });
  }
  for (auto& r : results) r.wait();
  pool.close();
  pool.join();  // the dispatcher thread, where callbacks run, is gone
  EXPECT_EQ(ran.load(), n);
  EXPECT_EQ(sum.load(), static_cast<long>(n) * (n - 1));
}

TEST_F(PoolTest, ReplacedCallbacksNeverRun) {
  Gate gate;
  mproc::Pool pool(1);
  auto r = pool.apply_async(wait_then, gate.read_fd());
  std::atomic<int> first{0}, second{0};
  r.on_done([&](const bool&) { first.fetch_add(1); });
  r.on_done([&](const bool&) { second.fetch_add(1); });
  gate.open();
  EXPECT_TRUE(r.get());
  pool.close();
  pool.join();
  EXPECT_EQ(first.load(), 0);
  EXPECT_EQ(second.load(), 1);
}

}  // namespace
