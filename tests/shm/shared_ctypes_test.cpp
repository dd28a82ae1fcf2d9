// Value and Array: shared through fork and by handle, their lock, raw versions, attach checks.
#include <mproc/process.hpp>
#include <mproc/shared_ctypes.hpp>

#include <array>
#include <mutex>
#include <vector>

#include "shm_api_support.hpp"

namespace mproc::test {
namespace {

using SharedCtypesTest = ShmApiTest;

struct Point {
  double x;
  int y;
};

TEST_F(SharedCtypesTest, FourProcessesCountUnderTheValuesLock) {
  Value<long> counter(0);
  constexpr int kPerProcess = 20000;
  std::vector<Process> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      for (int i = 0; i < kPerProcess; ++i) {
        std::lock_guard guard(counter);
        ++*counter.get_obj();
      }
      return;
    });
    workers.back().start();
  }
  for (auto& w : workers) {
    w.join();
    EXPECT_EQ(w.exitcode(), 0);
  }
  EXPECT_EQ(counter.get(), 4L * kPerProcess);
}

TEST_F(SharedCtypesTest, AProcessStartedEarlierAttachesValueAndArrayByHandle) {
  Signal to_child, to_parent;
  Process child([&] {
    auto v = Value<Point>::attach(to_child.receive());
    auto a = Array<int>::attach(to_child.receive());
    const Point p = v.get();
    bool ok = p.x == 1.5 && p.y == 7 && a.size() == 5 && a.get(4) == 40 && v.has_lock();
    for (std::size_t i = 0; i < a.size(); ++i) a.set(i, a.get(i) + 1);
    v.set(Point{2.5, 8});
    {
      std::lock_guard guard(v.get_lock());  // the same recursive lock the creator has
      ++v.get_obj()->y;
    }
    to_parent.send(ok ? "ok" : "bad");
    throw mproc::SystemExit(ok ? 0 : 1);
  });
  child.start();
  Value<Point> v(Point{1.5, 7});
  const std::array<int, 5> init{0, 10, 20, 30, 40};
  Array<int> a{std::span<const int>(init)};
  to_child.send(v.handle());
  to_child.send(a.handle());
  EXPECT_EQ(to_parent.receive(), "ok");
  child.join();
  EXPECT_EQ(child.exitcode(), 0);
  EXPECT_EQ(v.get().x, 2.5);
  EXPECT_EQ(v.get().y, 9);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], init[i] + 1);
}

TEST_F(SharedCtypesTest, ArraysFromAListOrAnyRange) {
  Array<int> listed{1, 2, 3};  // Python's Array('i', [1, 2, 3])
  EXPECT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed.get(2), 3);
  EXPECT_TRUE(listed.has_lock());
  Array<int> sized(4);  // parentheses: a size, as before
  EXPECT_EQ(sized.size(), 4u);
  EXPECT_EQ(sized.get(3), 0);
  const std::vector<int> init{5, 6, 7, 8};
  Array<int> from_vector(init);  // no std::span cast, so no most-vexing parse
  EXPECT_EQ(from_vector.size(), 4u);
  EXPECT_EQ(from_vector.get(0), 5);
  Array<int> from_temporary(std::vector<int>{9, 10}, false);
  EXPECT_FALSE(from_temporary.has_lock());
  EXPECT_EQ(from_temporary.get(1), 10);
  Array<double> from_view(std::views::iota(0, 5));  // a lazy range of another element type
  EXPECT_EQ(from_view.size(), 5u);
  EXPECT_EQ(from_view.get(4), 4.0);
  RawArray<int> raw{1, 2};
  EXPECT_FALSE(raw.has_lock());
  EXPECT_EQ(raw.get(1), 2);
  RawArray<int> raw_from_vector(init);
  EXPECT_EQ(raw_from_vector.size(), 4u);
  Array<int> empty(std::vector<int>{});
  EXPECT_EQ(empty.size(), 0u);
  // A child sees the copied elements.
  Process child([&] {
    if (from_vector.get(3) != 8 || listed.get(0) != 1) throw mproc::SystemExit(1);
  });
  child.start();
  child.join();
  EXPECT_EQ(child.exitcode(), 0);
}

TEST_F(SharedCtypesTest, RawVersionsHaveNoLock) {
  RawValue<int> v(3);
  RawArray<double> a(10);
  EXPECT_FALSE(v.has_lock());
  EXPECT_FALSE(a.has_lock());
  expect_error([&] { v.get_lock(); }, errc::bad_state);
  expect_error([&] { a.acquire(); }, errc::bad_state);
  a.set(9, 4.0);
  EXPECT_EQ(a.span()[9], 4.0);
  EXPECT_EQ(v.get(), 3);
  auto again = Value<int>::attach(v.handle());
  EXPECT_FALSE(again.has_lock());
  again.set(5);
  EXPECT_EQ(*v.get_obj(), 5);
}

TEST_F(SharedCtypesTest, AttachChecksTheShape) {
  Value<int> v(1);
  Array<int> a(4);
  Array<long> empty(0);
  EXPECT_EQ(empty.size(), 0u);
  expect_error([&] { Value<long>::attach(v.handle()); }, errc::bad_handle);   // another size
  expect_error([&] { Array<int>::attach(v.handle()); }, errc::bad_handle);    // a Value
  expect_error([&] { Value<int>::attach(a.handle()); }, errc::bad_handle);    // 4 elements
  expect_error([&] { Value<float>::attach(a.handle()); }, errc::bad_handle);  // 4 elements
  expect_error([] { Value<int>::attach(test_shm_name("no-value")); },
               std::errc::no_such_file_or_directory);
  expect_error([] { Value<int>::attach("not a handle"); }, std::errc::invalid_argument);
  Lock lock(attachable);
  expect_error([&] { Value<int>::attach(lock.handle()); }, errc::bad_handle);  // not a value
  expect_error([&] { a.get(4); }, std::errc::result_out_of_range);
  expect_error([&] { a.set(4, 0); }, std::errc::result_out_of_range);
}

TEST_F(SharedCtypesTest, TheNameGoesWithTheCreatorsLastCopy) {
  std::string handle;
  {
    Value<int> v(1);
    Value<int> copy = v;  // copies share the segment
    handle = v.handle();
    EXPECT_TRUE(shm_exists(handle));
  }
  EXPECT_FALSE(shm_exists(handle));
  expect_error([&] { Value<int>::attach(handle); }, std::errc::no_such_file_or_directory);
}

TEST_F(SharedCtypesTest, AHolderThatDiesLeavesTheLockRecoverable) {
  Value<int> v(0);
  Signal to_parent;
  Process holder([&] {
    v.acquire();
    *v.get_obj() = 99;
    to_parent.send("held");
    for (;;) ::pause();
    return;
  });
  holder.start();
  ASSERT_EQ(to_parent.receive(), "held");
  holder.kill();
  holder.join();
  ASSERT_TRUE(v.acquire(true, Seconds(30)));
  EXPECT_TRUE(v.get_lock().owner_died());
  EXPECT_EQ(*v.get_obj(), 99);
  v.release();
  EXPECT_EQ(v.get(), 99);
}

}  // namespace
}  // namespace mproc::test
