// Reads without the lock (a sequence lock validates them, issue 17 item 5): the dict's keys,
// values, items and size, every list read and a fresh handle's first read run without the lock,
// never see a torn value (fresh_handle_test.cpp: they do not wait for a process holding the
// lock).
#include <mproc/dict.hpp>
#include <mproc/list.hpp>
#include <mproc/manager.hpp>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "manager_test_support.hpp"

namespace mproc::test {
namespace {

using LockFreeReadTest = ManagerTest;

// A value that says which key (or slot) it was written for, and whose every byte can be checked:
// "<id>:" then a run of one letter (1 byte to ~12 KiB, so that records move, the data area grows
// and compacts) then "|".
std::string value_for(int id, int round) {
  const std::string tag = std::to_string(id) + ":";
  const auto run = static_cast<std::size_t>((round * 131 + id * 17) % 12000);
  return tag + std::string(run, static_cast<char>('a' + id % 26)) + "|";
}

// Whole: one value written for `id` (any id when id < 0).
bool whole(const std::string& v, int id = -1) {
  const std::size_t colon = v.find(':');
  if (colon == std::string::npos || colon == 0 || v.empty() || v.back() != '|') return false;
  const int found = std::atoi(v.substr(0, colon).c_str());
  if (id >= 0 && found != id) return false;
  for (std::size_t i = colon + 1; i + 1 < v.size(); ++i)
    if (v[i] != 'a' + found % 26) return false;
  return true;
}

// Runs write(first_round) in a forked child (through its own handle, made by attach) and in a
// thread of this process at once, and read() in this thread until both are done. Each writer
// does a bounded amount of work.
template <class Attach, class Write, class Read>
void race(Attach attach, Write write, Read read) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int code = 0;
    try {
      auto mine = attach();
      write(mine, 1);
    } catch (...) {
      code = 1;
    }
    ::_exit(code);
  }
  std::atomic<bool> thread_done{false};
  std::thread writer([&] {
    auto mine = attach();
    write(mine, 100000);
    thread_done = true;
  });
  int status = 0;
  bool child_done = false;
  while (!thread_done || !child_done) {
    if (!child_done && ::waitpid(child, &status, WNOHANG) == child) child_done = true;
    read();
  }
  writer.join();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
}

TEST_F(LockFreeReadTest, ListReadsNeverSeeATornValue) {
  BytesList l;
  constexpr int kSlots = 48;
  for (int i = 0; i < kSlots; ++i) l.append(value_for(i, 0));
  // Replaces, inserts and removes (new blocks), appends and pops (the length), and big values
  // (growth and compaction). The list keeps kSlots +- 1 elements.
  auto write = [&](BytesList& list, int first) {
    for (int round = first; round < first + 50000; ++round) {
      const int i = (round * 7) % kSlots;
      if (round % 5 == 0) {
        list.insert(i, value_for(i, round));
        list.pop(i);
      } else if (round % 7 == 0) {
        list.append(value_for(i, round));
        list.pop();
      } else {
        list.set(i, value_for(i, round));
      }
    }
  };
  std::uint64_t reads = 0, torn = 0;
  race([&] { return BytesList::attach(l.handle()); }, write, [&] {
    for (int i = 0; i < kSlots - 1; i += 4) {
      ++reads;
      torn += !whole(l.get(i));
    }
    for (const auto& v : l.snapshot()) {
      ++reads;
      torn += !whole(v);
    }
    for (const auto& v : l.slice(1, 30, 3)) {
      ++reads;
      torn += !whole(v);
    }
    // Each writer holds one element more for a moment (insert then pop, append then pop).
    ++reads;
    torn += l.size() < kSlots || l.size() > kSlots + 2;
    ++reads;
    torn += l.count("no such value") != 0 || l.contains("no such value");
  });
  EXPECT_EQ(torn, 0u) << "of " << reads << " reads";
  for (const auto& v : l.snapshot()) EXPECT_TRUE(whole(v));
}

TEST_F(LockFreeReadTest, DictKeysValuesItemsAndSizeNeverSeeATornEntry) {
  BytesDict d;
  constexpr int kKeys = 48;
  auto key = [](int k) { return "key" + std::to_string(k); };
  for (int k = 0; k < kKeys; ++k) d.set(key(k), value_for(k, 0));
  auto write = [&](BytesDict& dict, int first) {
    for (int round = first; round < first + 50000; ++round) {
      const int k = (round * 7) % kKeys;
      if (round % 5 == 0) dict.erase(key(k));
      dict.set(key(k), value_for(k, round));
    }
  };
  std::uint64_t reads = 0, torn = 0;
  race([&] { return BytesDict::attach(d.handle()); }, write, [&] {
    for (const auto& [k, v] : d.items()) {
      ++reads;
      torn += k.compare(0, 3, "key") != 0 || !whole(v, std::atoi(k.c_str() + 3));
    }
    for (const auto& v : d.values()) {
      ++reads;
      torn += !whole(v);
    }
    for (const auto& k : d.keys()) {
      ++reads;
      torn += k.compare(0, 3, "key") != 0;
    }
    ++reads;
    torn += d.size() + 2 < kKeys || d.size() > kKeys;  // each writer erases one key at most
  });
  EXPECT_EQ(torn, 0u) << "of " << reads << " reads";
  EXPECT_EQ(d.size(), static_cast<std::size_t>(kKeys));
}

}  // namespace
}  // namespace mproc::test
