// BytesDict and Dict<K, V>: Python's dict operations, growth, sharing by handle and by fork, and
// many writers at once.
#include <mproc/dict.hpp>
#include <mproc/list.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <string>
#include <thread>

#include "manager_test_support.hpp"

namespace mproc::test {
namespace {

using DictTest = ManagerTest;

std::error_code enoent() { return std::make_error_code(std::errc::no_such_file_or_directory); }

TEST_F(DictTest, PythonDictOperations) {
  BytesDict d;
  EXPECT_TRUE(d.empty());
  d.set("a", "1");
  d.set("b", "2");
  d.set("a", "one");  // replaces
  EXPECT_EQ(d.size(), 2u);
  EXPECT_EQ(d.get("a"), "one");
  EXPECT_EQ(d.get("zz"), std::nullopt);
  EXPECT_EQ(d.get("zz", "dflt"), "dflt");
  EXPECT_EQ(d.at("b"), "2");
  try {
    (void)d.at("zz");
    ADD_FAILURE() << "at() of a missing key did not throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), enoent());
  }
  EXPECT_TRUE(d.contains("b"));
  EXPECT_FALSE(d.contains("c"));
  EXPECT_EQ(d.setdefault("c", "3"), "3");
  EXPECT_EQ(d.setdefault("c", "4"), "3");
  EXPECT_EQ(d.pop("c"), "3");
  EXPECT_EQ(d.pop("c"), std::nullopt);
  EXPECT_TRUE(d.erase("b"));
  EXPECT_FALSE(d.erase("b"));
  d.update({{"x", "10"}, {"y", ""}, {"", "empty key"}});
  EXPECT_EQ(d.get(""), "empty key");
  EXPECT_EQ(d.get("y"), "");
  auto keys = d.keys();
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"", "a", "x", "y"}));
  auto items = d.items();
  std::sort(items.begin(), items.end());
  EXPECT_EQ(items.front(), (std::pair<std::string, std::string>{"", "empty key"}));
  EXPECT_EQ(d.values().size(), 4u);
  d.clear();
  EXPECT_EQ(d.size(), 0u);
  EXPECT_FALSE(d.contains("a"));
  d.set("after", "clear");
  EXPECT_EQ(d.get("after"), "clear");
}

using Keys = std::vector<std::string>;

TEST_F(DictTest, KeysValuesAndItemsComeInInsertionOrderAsInPython) {
  BytesDict d;
  for (const char* k : {"c", "a", "b", "z", "m"}) d.set(k, std::string("v") + k);
  EXPECT_EQ(d.keys(), (Keys{"c", "a", "b", "z", "m"}));
  d.set("a", "again");  // a replaced value keeps its place
  d.erase("b");
  d.set("b", "back");  // erased and inserted again: last
  EXPECT_EQ(d.keys(), (Keys{"c", "a", "z", "m", "b"}));
  EXPECT_EQ(d.values(), (Keys{"vc", "again", "vz", "vm", "back"}));
  const auto items = d.items();
  ASSERT_EQ(items.size(), 5u);
  EXPECT_EQ(items[1], (std::pair<std::string, std::string>{"a", "again"}));
  EXPECT_EQ(d.pop("c"), "vc");
  EXPECT_EQ(d.setdefault("new", "n"), "n");
  EXPECT_EQ(d.keys(), (Keys{"a", "z", "m", "b", "new"}));
  d.clear();
  d.set("after", "clear");
  d.set("before", "no");
  EXPECT_EQ(d.keys(), (Keys{"after", "before"}));
}

// Reads run without the lock (a sequence lock validates them): while another process and another
// thread rewrite, erase, re-insert, rehash, grow and compact the dict, every value read is one
// that was written for that key, whole.
TEST_F(DictTest, ReadsWithoutTheLockNeverSeeATornValue) {
  BytesDict d;
  auto value_for = [](int key, int round) {
    // Sizes from 1 byte to ~12 KiB, so records move and the data area grows and compacts.
    const std::string tag = std::to_string(key) + ":";
    return tag + std::string(static_cast<std::size_t>((round * 131 + key * 17) % 12000), 'a' + static_cast<char>(key % 26)) + "|";
  };
  auto valid = [](int key, const std::string& v) {
    const std::string tag = std::to_string(key) + ":";
    if (v.compare(0, tag.size(), tag) != 0 || v.back() != '|') return false;
    for (std::size_t i = tag.size(); i + 1 < v.size(); ++i)
      if (v[i] != 'a' + static_cast<char>(key % 26)) return false;
    return true;
  };
  constexpr int kKeys = 64;
  for (int k = 0; k < kKeys; ++k) d.set("key" + std::to_string(k), value_for(k, 0));
  auto write = [&](BytesDict& dict, int first_round, int rounds) {
    for (int round = first_round; round < first_round + rounds; ++round) {
      const int k = (round * 7) % kKeys;
      if (round % 5 == 0) dict.erase("key" + std::to_string(k));
      dict.set("key" + std::to_string(k), value_for(k, round));
    }
  };
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto mine = BytesDict::attach(d.handle());
    write(mine, 1, 20000);
    ::_exit(0);
  }
  std::atomic<bool> thread_done{false};
  std::thread writer([&] {
    write(d, 100000, 20000);
    thread_done = true;
  });
  std::uint64_t reads = 0, torn = 0, missing = 0;
  int status = 0;
  bool child_done = false;
  // Until both writers are done (each does a bounded amount of work).
  while (!thread_done || !child_done) {
    if (!child_done && ::waitpid(child, &status, WNOHANG) == child) child_done = true;
    for (int k = 0; k < kKeys; ++k) {
      const auto v = d.get("key" + std::to_string(k));
      ++reads;
      if (!v) ++missing;  // between an erase and its re-insert
      else if (!valid(k, *v)) ++torn;
    }
  }
  writer.join();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(torn, 0u) << "of " << reads << " reads";
  EXPECT_LT(missing, reads);
  for (int k = 0; k < kKeys; ++k) EXPECT_TRUE(valid(k, d.at("key" + std::to_string(k))));
}

TEST_F(DictTest, OrderSurvivesRehashesCompactionsAndProcesses) {
  Dict<int, std::string> d;
  std::vector<int> model;
  const std::string big(64 * 1024, 'x');
  // Growth (rehashes), erasures of every third key, re-insertions, and big values replaced until
  // the dict compacts its data area.
  for (int i = 0; i < 3000; ++i) {
    d.set(i, std::to_string(i));
    model.push_back(i);
    if (i % 3 == 2) {
      d.erase(i - 1);
      model.erase(std::find(model.begin(), model.end(), i - 1));
    }
    if (i % 500 == 499) {
      d.erase(0);
      model.erase(std::find(model.begin(), model.end(), 0));
      d.set(0, "zero");
      model.push_back(0);
    }
  }
  const int replaced = model[5];  // keeps its place
  for (int round = 0; round < 12; ++round) d.set(replaced, big + std::to_string(round));
  EXPECT_EQ(d.keys(), model);
  // Another process sees the same order, and its inserts land at the end.
  run_children(1, [&](int) {
    auto mine = Dict<int, std::string>::attach(d.handle());
    require(mine.keys() == model, "the child sees another order");
    mine.erase(model.front());
    mine.set(-1, "child");
  });
  model.erase(model.begin());
  model.push_back(-1);
  EXPECT_EQ(d.keys(), model);
  EXPECT_TRUE(d.values().back() == "child");
  EXPECT_EQ(d.items().size(), model.size());
}

TEST_F(DictTest, BinaryKeysAndValues) {
  BytesDict d;
  const std::string key("\0k\xff", 3), value("\0\1\2\0", 4);
  d.set(key, value);
  EXPECT_EQ(d.get(key), value);
  EXPECT_FALSE(d.contains(std::string("\0k", 2)));
}

TEST_F(DictTest, TypedDict) {
  Dict<std::string, int> d;
  d.set("one", 1);
  d.set("two", 2);
  EXPECT_EQ(d.get("one"), 1);
  EXPECT_EQ(d.get("three", 3), 3);
  EXPECT_EQ(d.find("three"), std::nullopt);
  EXPECT_THROW((void)d.get("three"), Error);
  EXPECT_EQ(d.setdefault("two", 5), 2);
  EXPECT_EQ(d.pop("one"), 1);
  EXPECT_EQ(d.size(), 1u);
  d.update(std::map<std::string, int>{{"a", 10}, {"b", 20}});
  auto items = d.items();
  std::sort(items.begin(), items.end());
  EXPECT_EQ(items, (std::vector<std::pair<std::string, int>>{{"a", 10}, {"b", 20}, {"two", 2}}));
  // Another value type under the same bytes: a clear codec error, not garbage.
  auto other = Dict<std::string, double>::attach(d.handle());
  d.set("c", 7);
  try {
    (void)other.get("c");
    ADD_FAILURE() << "decoding 4 bytes as a double did not throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::codec));
  }
  Dict<int, std::vector<double>> vectors;
  vectors.set(5, {1.5, 2.5});
  EXPECT_EQ(vectors.get(5), (std::vector<double>{1.5, 2.5}));
}

TEST_F(DictTest, GrowsFarPastItsFirstSizeAndCompacts) {
  BytesDict d;
  const std::string big(100000, 'x');
  for (int i = 0; i < 20000; ++i) d.set("key" + std::to_string(i), std::to_string(i * 3));
  for (int round = 0; round < 40; ++round) d.set("big", big + std::to_string(round));  // garbage
  for (int i = 0; i < 20000; i += 2) ASSERT_TRUE(d.erase("key" + std::to_string(i)));
  EXPECT_EQ(d.size(), 10001u);
  for (int i = 1; i < 20000; i += 2) ASSERT_EQ(d.get("key" + std::to_string(i)), std::to_string(i * 3));
  EXPECT_EQ(d.get("big"), big + "39");
}

TEST_F(DictTest, AttachByHandleSeesTheSameDictAndGrowthIsSeenEverywhere) {
  BytesDict d;
  auto other = BytesDict::attach(d.handle());
  d.set("k", "v");
  EXPECT_EQ(other.get("k"), "v");
  // The other object grows the segment a lot; the first one remaps on its next operation.
  for (int i = 0; i < 5000; ++i) other.set(std::to_string(i), std::string(200, 'y'));
  EXPECT_EQ(d.size(), 5001u);
  EXPECT_EQ(d.get("4999"), std::string(200, 'y'));
}

TEST_F(DictTest, AttachErrors) {
  EXPECT_THROW((void)BytesDict::attach("no-slash"), Error);
  try {
    (void)BytesDict::attach("/mproc-no-such-dict");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), enoent());
  }
  BytesList l;
  try {
    (void)BytesDict::attach(l.handle());
    ADD_FAILURE() << "a list attached as a dict";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::bad_handle));
  }
}

TEST_F(DictTest, TheCreatorOwnsTheName) {
  std::string handle;
  {
    BytesDict d;
    handle = d.handle();
    auto attached = BytesDict::attach(handle);
    d.set("k", "v");
    d.close();
    EXPECT_FALSE(shm_exists(handle));
    EXPECT_EQ(attached.get("k"), "v");  // still mapped, still usable
    attached.set("k2", "v2");
    EXPECT_EQ(attached.size(), 2u);
    EXPECT_THROW((void)d.size(), Error);  // closed
  }
  EXPECT_THROW((void)BytesDict::attach(handle), Error);
}

TEST_F(DictTest, ManyProcessesWritingAtOnceLoseNothing) {
  BytesDict d;
  constexpr int kChildren = 4, kEach = 3000;
  run_children(kChildren, [&](int c) {
    // Half the children use the inherited object, half attach by handle.
    std::optional<BytesDict> attached;
    if (c % 2) attached = BytesDict::attach(d.handle());
    BytesDict& target = attached ? *attached : d;
    for (int i = 0; i < kEach; ++i) {
      target.set(std::to_string(c) + ":" + std::to_string(i), std::to_string(i));
      if (i % 3 == 0) target.set("shared", std::to_string(c));
    }
  });
  EXPECT_EQ(d.size(), static_cast<std::size_t>(kChildren * kEach + 1));
  for (int c = 0; c < kChildren; ++c)
    for (int i = 0; i < kEach; ++i)
      ASSERT_EQ(d.get(std::to_string(c) + ":" + std::to_string(i)), std::to_string(i));
}

}  // namespace
}  // namespace mproc::test
