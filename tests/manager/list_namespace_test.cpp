// BytesList / List<T> and Namespace: Python's operations, index errors, growth, many processes.
#include <mproc/list.hpp>
#include <mproc/manager.hpp>

#include <algorithm>
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

TEST_F(ListTest, NegativeAndOutOfRangeIndexesAreErrorsAndChangeNothing) {
  BytesList l;
  expect_code([&] { l.pop(); }, erange());
  l.append("x");
  expect_code([&] { (void)l.get(-1); }, erange());
  expect_code([&] { (void)l.get(1); }, erange());
  expect_code([&] { l.set(1, "y"); }, erange());
  expect_code([&] { l.set(-1, "y"); }, erange());
  expect_code([&] { l.insert(2, "y"); }, erange());
  expect_code([&] { l.insert(-1, "y"); }, erange());
  expect_code([&] { (void)l.pop(1); }, erange());
  expect_code([&] { (void)l.pop(-1); }, erange());
  EXPECT_EQ(l.snapshot(), std::vector<std::string>{"x"});
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
