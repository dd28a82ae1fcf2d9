// BytesList / List<T> and Namespace: Python's operations, index errors, growth, many processes.
#include <mproc/list.hpp>
#include <mproc/manager.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "manager_test_support.hpp"

namespace mproc::test {
namespace {

using ListTest = ManagerTest;
using NamespaceTest = ManagerTest;

std::error_code erange() { return std::make_error_code(std::errc::result_out_of_range); }

template <class F>
void expect_code(F f, std::error_code code) {
  try {
    f();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
  }
}

TEST_F(ListTest, PythonListOperations) {
  BytesList l;
  l.append("a");
  l.extend(std::vector<std::string>{"b", "c", "d"});
  EXPECT_EQ(l.size(), 4u);
  EXPECT_EQ(l.get(0), "a");
  EXPECT_EQ(l.get(3), "d");
  l.set(1, "B");
  l.insert(0, "start");
  l.insert(5, "end");  // at size: appends
  l.insert(3, "mid");
  EXPECT_EQ(l.snapshot(),
            (std::vector<std::string>{"start", "a", "B", "mid", "c", "d", "end"}));
  EXPECT_EQ(l.pop(), "end");
  EXPECT_EQ(l.pop(0), "start");
  EXPECT_EQ(l.pop(2), "mid");
  EXPECT_EQ(l.snapshot(), (std::vector<std::string>{"a", "B", "c", "d"}));
  l.clear();
  EXPECT_TRUE(l.empty());
  l.append("again");
  EXPECT_EQ(l.snapshot(), std::vector<std::string>{"again"});
}

TEST_F(ListTest, NegativeIndexesCountFromTheEndAndOutOfRangeOnesChangeNothing) {
  BytesList l;
  expect_code([&] { l.pop(); }, erange());
  l.extend(std::vector<std::string>{"x", "y", "z"});
  EXPECT_EQ(l.get(-1), "z");
  EXPECT_EQ(l.get(-3), "x");
  l.set(-2, "Y");
  EXPECT_EQ(l.pop(-3), "x");
  expect_code([&] { (void)l.get(-3); }, erange());
  expect_code([&] { (void)l.get(2); }, erange());
  expect_code([&] { l.set(2, "w"); }, erange());
  expect_code([&] { l.set(-3, "w"); }, erange());
  expect_code([&] { (void)l.pop(2); }, erange());
  expect_code([&] { (void)l.pop(-3); }, erange());
  expect_code([&] { (void)l.get(PTRDIFF_MIN); }, erange());
  EXPECT_EQ(l.snapshot(), (std::vector<std::string>{"Y", "z"}));
}

std::string joined(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) out += v;
  return out;
}

BytesList digits() {
  BytesList l;
  for (int i = 0; i < 10; ++i) l.append(std::to_string(i));
  return l;
}

struct SliceCase {
  std::optional<std::ptrdiff_t> start, stop;
  std::ptrdiff_t step;
  const char* expected;
};

// Expected values from CPython 3.11 on list("0123456789").
TEST_F(ListTest, SlicesSelectWhatPythonSelects) {
  const SliceCase cases[] = {
      {std::nullopt, std::nullopt, -1, "9876543210"}, {2, 8, 3, "25"},
      {-3, std::nullopt, 1, "789"},                   {8, 2, -2, "864"},
      {-100, 100, 1, "0123456789"},                   {std::nullopt, std::nullopt, 3, "0369"},
      {5, std::nullopt, -2, "531"},                   {100, -100, -3, "9630"},
      {3, 3, 1, ""},                                  {7, 2, 1, ""},
      {-1, -11, -4, "951"},                           {PTRDIFF_MIN, PTRDIFF_MAX, 4, "048"},
  };
  BytesList l = digits();
  for (const auto& c : cases) EXPECT_EQ(joined(l.slice(c.start, c.stop, c.step)), c.expected);
  expect_code([&] { (void)l.slice(0, 5, 0); }, std::make_error_code(std::errc::invalid_argument));
}

TEST_F(ListTest, SliceDeletionAndAssignmentAreOneStepEachAsInPython) {
  const SliceCase deletions[] = {
      {std::nullopt, std::nullopt, -1, ""}, {2, 8, 3, "01346789"},
      {-3, std::nullopt, 1, "0123456"},     {8, 2, -2, "0123579"},
      {-100, 100, 1, ""},                   {std::nullopt, std::nullopt, 3, "124578"},
      {5, std::nullopt, -2, "0246789"},     {100, -100, -3, "124578"},
      {3, 3, 1, "0123456789"},              {-1, -11, -4, "0234678"},
  };
  for (const auto& c : deletions) {
    BytesList l = digits();
    l.erase_slice(c.start, c.stop, c.step);
    EXPECT_EQ(joined(l.snapshot()), c.expected);
  }
  {
    BytesList l = digits();
    l.set_slice(2, 5, std::vector<std::string>{"a", "b"});
    EXPECT_EQ(joined(l.snapshot()), "01ab56789");
  }
  {
    BytesList l = digits();
    l.set_slice(7, 2, std::vector<std::string>{"x"});  // an empty slice: inserts at its start
    EXPECT_EQ(joined(l.snapshot()), "0123456x789");
  }
  {
    BytesList l = digits();
    l.set_slice(std::nullopt, std::nullopt, std::vector<std::string>{"p", "q", "r", "s"}, -3);
    EXPECT_EQ(joined(l.snapshot()), "s12r45q78p");
    expect_code([&] { l.set_slice(std::nullopt, std::nullopt, std::vector<std::string>{"p"}, 2); },
                std::make_error_code(std::errc::invalid_argument));
    EXPECT_EQ(joined(l.snapshot()), "s12r45q78p");  // unchanged
  }
  {
    BytesList l = digits();
    l.insert(-3, "i");
    l.insert(100, "e");
    l.insert(-100, "s");  // insert clamps, as Python's
    EXPECT_EQ(joined(l.snapshot()), "s0123456i789e");
  }
  // A typed list, and a process that sees the whole change or none of it.
  List<int> typed;
  typed.extend(std::vector<int>{1, 2, 3, 4, 5});
  typed.set_slice(1, -1, {20, 30});
  EXPECT_EQ(typed.snapshot(), (std::vector<int>{1, 20, 30, 5}));
  EXPECT_EQ(typed.slice(std::nullopt, std::nullopt, -2), (std::vector<int>{5, 20}));
  typed.erase_slice(std::nullopt, 2);
  EXPECT_EQ(typed.snapshot(), (std::vector<int>{30, 5}));
}

TEST_F(ListTest, RemoveIndexCountAndContainsCompareValues) {
  List<std::string> l;
  l.extend(std::vector<std::string>{"a", "b", "a", "c", "a"});
  EXPECT_TRUE(l.contains("c"));
  EXPECT_FALSE(l.contains("z"));
  EXPECT_EQ(l.count("a"), 3u);
  EXPECT_EQ(l.count("z"), 0u);
  EXPECT_EQ(l.index("a"), 0u);
  EXPECT_EQ(l.index("a", 1), 2u);
  EXPECT_EQ(l.index("a", -2), 4u);
  expect_code([&] { (void)l.index("a", 1, 2); }, std::make_error_code(std::errc::no_such_file_or_directory));
  expect_code([&] { (void)l.index("c", 0, -2); }, std::make_error_code(std::errc::no_such_file_or_directory));
  l.remove("a");  // the first one
  EXPECT_EQ(l.snapshot(), (std::vector<std::string>{"b", "a", "c", "a"}));
  expect_code([&] { l.remove("z"); }, std::make_error_code(std::errc::no_such_file_or_directory));
  EXPECT_EQ(l.size(), 4u);
}

TEST_F(ListTest, SortIsStableByTheValuesOrAComparatorAndReverseKeepsEqualsInOrder) {
  List<int> numbers;
  numbers.extend(std::vector<int>{5, -3, 12, 0, 7, -3});
  numbers.sort();
  EXPECT_EQ(numbers.snapshot(), (std::vector<int>{-3, -3, 0, 5, 7, 12}));
  numbers.sort(std::greater<>{});
  EXPECT_EQ(numbers.snapshot(), (std::vector<int>{12, 7, 5, 0, -3, -3}));
  numbers.reverse();
  EXPECT_EQ(numbers.snapshot(), (std::vector<int>{-3, -3, 0, 5, 7, 12}));
  // Python: sorted(words, key=len, reverse=True) keeps equal lengths in their order.
  List<std::string> words;
  words.extend(std::vector<std::string>{"bb", "a", "cc", "ddd", "e"});
  auto by_length = [](const std::string& x, const std::string& y) { return x.size() < y.size(); };
  words.sort(by_length, true);
  EXPECT_EQ(words.snapshot(), (std::vector<std::string>{"ddd", "bb", "cc", "a", "e"}));
  words.sort(by_length);
  EXPECT_EQ(words.snapshot(), (std::vector<std::string>{"a", "e", "bb", "cc", "ddd"}));
  // Bytes order for a BytesList; a comparator that reads the bytes otherwise.
  BytesList raw;
  raw.extend(std::vector<std::string>{"b", "ab", "a", "", "ba"});
  raw.sort();
  EXPECT_EQ(raw.snapshot(), (std::vector<std::string>{"", "a", "ab", "b", "ba"}));
  raw.sort([](std::string_view a, std::string_view b, void*) {
    return static_cast<int>(a.size()) - static_cast<int>(b.size());
  }, nullptr, true);
  EXPECT_EQ(raw.snapshot(), (std::vector<std::string>{"ab", "ba", "a", "b", ""}));
  // A permutation that is not one changes nothing.
  expect_code([&] {
    raw.reorder([](const std::vector<std::string_view>&, std::vector<std::size_t>& order, void*) {
      order.assign(order.size(), 0);
    }, nullptr);
  }, std::make_error_code(std::errc::invalid_argument));
  EXPECT_EQ(raw.snapshot(), (std::vector<std::string>{"ab", "ba", "a", "b", ""}));
}

TEST_F(ListTest, TypedListGrowsAndCompacts) {
  List<int> l;
  std::vector<int> model;
  for (int i = 0; i < 30000; ++i) {
    l.append(i);
    model.push_back(i);
  }
  for (int i = 0; i < 30000; i += 1000) {
    l.set(i, -i);
    model[static_cast<std::size_t>(i)] = -i;
  }
  for (int i = 0; i < 50; ++i) {
    l.insert(i * 7, 1000000 + i);
    model.insert(model.begin() + i * 7, 1000000 + i);
    EXPECT_EQ(l.pop(i * 3), model[static_cast<std::size_t>(i * 3)]);
    model.erase(model.begin() + i * 3);
  }
  for (int i = 0; i < 20000; ++i) {
    EXPECT_EQ(l.pop(), model.back());
    model.pop_back();
  }
  EXPECT_EQ(l.snapshot(), model);
  List<std::string> strings;
  strings.extend(std::vector<std::string>{"p", "q"});
  EXPECT_EQ(strings.get(1), "q");
}

TEST_F(ListTest, ManyProcessesAppendingLoseNothing) {
  List<int> l;
  constexpr int kChildren = 4, kEach = 2000;
  run_children(kChildren, [&](int c) {
    auto mine = List<int>::attach(l.handle());
    for (int i = 0; i < kEach; ++i) mine.append(c * kEach + i);
  });
  auto all = l.snapshot();
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kChildren * kEach));
  std::sort(all.begin(), all.end());
  for (int i = 0; i < kChildren * kEach; ++i) ASSERT_EQ(all[static_cast<std::size_t>(i)], i);
}

TEST_F(NamespaceTest, TypedAttributes) {
  Namespace ns;
  ns.set("x", 1.5);
  ns.set("name", std::string("mproc"));
  EXPECT_EQ(ns.get<double>("x"), 1.5);
  EXPECT_EQ(ns.get<std::string>("name"), "mproc");
  EXPECT_EQ(ns.get<int>("missing", 7), 7);
  try {
    (void)ns.get<int>("missing");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), std::make_error_code(std::errc::no_such_file_or_directory));
    EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos);
  }
  EXPECT_THROW((void)ns.get<int>("x"), Error);  // 8 bytes of a double are not an int
  EXPECT_TRUE(ns.has("x"));
  EXPECT_TRUE(ns.del("x"));
  EXPECT_FALSE(ns.has("x"));
  EXPECT_EQ(ns.attributes(), std::vector<std::string>{"name"});
  auto other = Namespace::attach(ns.handle());
  run_children(1, [&](int) { Namespace::attach(ns.handle()).set("from_child", 42); });
  EXPECT_EQ(other.get<int>("from_child"), 42);
  EXPECT_THROW((void)BytesDict::attach(ns.handle()), Error);  // a Namespace is not a dict
}

}  // namespace
}  // namespace mproc::test
