// White-box crash consistency: a process is SIGKILLed at each crash point of every kind of change
// (layout.hpp's CrashPoint), holding the container's lock. Afterwards the container holds either
// the state before the change or the state after it, the lock is recovered (counted once), and
// the container keeps working.
#include <mproc/dict.hpp>
#include <mproc/list.hpp>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <functional>
#include <map>
#include <sstream>
#include <string>

#include <mproc/manager.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>

#include "manager/layout.hpp"
#include "shm/tracker.hpp"
#include "manager_test_support.hpp"

namespace mproc::test {
namespace {

using detail::manager::CrashPoint;
using detail::manager::g_crash_at;
using Recovery = ManagerTest;

using DictModel = std::map<std::string, std::string>;
using ListModel = std::vector<std::string>;

DictModel contents(const BytesDict& d) {
  auto items = d.items();
  return DictModel(items.begin(), items.end());
}

// Runs `change` in a child that dies at crash point `point` (or finishes the change and exits 0);
// returns true if it died there.
bool change_in_child_dying_at(int point, const std::function<void()>& change) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    g_crash_at.store(point);
    change();
    ::_exit(0);
  }
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  if (WIFSIGNALED(status)) {
    EXPECT_EQ(WTERMSIG(status), SIGKILL);
    return true;
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  return false;
}

// The keys that were there before keep their relative order, and new keys come after them.
bool order_kept(const std::vector<std::string>& before, const std::vector<std::string>& now) {
  std::size_t at = 0;
  bool in_new_tail = false;
  for (const auto& key : now) {
    const auto found = std::find(before.begin() + static_cast<std::ptrdiff_t>(at), before.end(), key);
    if (found == before.end()) {
      if (std::find(before.begin(), before.end(), key) != before.end()) return false;
      in_new_tail = true;
      continue;
    }
    if (in_new_tail) return false;
    at = static_cast<std::size_t>(found - before.begin()) + 1;
  }
  return true;
}

struct DictScenario {
  const char* name;
  std::function<void(BytesDict&)> prepare;
  std::function<void(BytesDict&)> change;
  std::function<void(DictModel&)> model;
};

std::vector<DictScenario> dict_scenarios() {
  const std::string big(300 * 1024, 'B');
  auto fill = [](int n) {
    return [n](BytesDict& d) {
      for (int i = 0; i < n; ++i) d.set("k" + std::to_string(i), "v" + std::to_string(i));
    };
  };
  return {
      {"insert into an empty dict", [](BytesDict&) {}, [](BytesDict& d) { d.set("new", "1"); },
       [](DictModel& m) { m["new"] = "1"; }},
      {"insert", fill(3), [](BytesDict& d) { d.set("new", "1"); },
       [](DictModel& m) { m["new"] = "1"; }},
      {"replace", fill(3), [](BytesDict& d) { d.set("k1", "changed"); },
       [](DictModel& m) { m["k1"] = "changed"; }},
      {"erase", fill(3), [](BytesDict& d) { d.erase("k2"); }, [](DictModel& m) { m.erase("k2"); }},
      {"insert that rehashes", fill(16), [](BytesDict& d) { d.set("new", "1"); },
       [](DictModel& m) { m["new"] = "1"; }},
      {"insert that grows the file", fill(2),
       [big](BytesDict& d) { d.set("huge", big + big + big); },
       [big](DictModel& m) { m["huge"] = big + big + big; }},
      {"replace that compacts past tail",
       [fill, big](BytesDict& d) {
         fill(50)(d);
         d.set("big", big);
         d.set("big", big);
       },
       [big](BytesDict& d) { d.set("big", big + "3"); },
       [big](DictModel& m) { m["big"] = big + "3"; }},
      {"replace that compacts below low",
       [fill, big](BytesDict& d) {
         fill(50)(d);
         for (int i = 0; i < 8; ++i) d.set("big", big + std::to_string(i));  // one compaction
         for (int i = 0; i < 2; ++i) d.set("big", big);
       },
       [big](BytesDict& d) { d.set("big", "small now"); },
       [](DictModel& m) { m["big"] = "small now"; }},
      {"clear", fill(5), [](BytesDict& d) { d.clear(); }, [](DictModel& m) { m.clear(); }},
  };
}

TEST_F(Recovery, EveryDictChangeIsAllOrNothingAtEveryCrashPoint) {
  std::map<int, int> kills;  // crash point -> how many changes died there
  for (const auto& scenario : dict_scenarios()) {
    for (int point = 1; point < static_cast<int>(CrashPoint::count_); ++point) {
      SCOPED_TRACE(std::string(scenario.name) + ", crash point " + std::to_string(point));
      BytesDict d;
      scenario.prepare(d);
      DictModel before = contents(d);
      DictModel after = before;
      scenario.model(after);
      const std::uint64_t recoveries = d.recoveries();
      const auto order_before = d.keys();
      const bool died = change_in_child_dying_at(point, [&] { scenario.change(d); });
      kills[point] += died;
      const DictModel now = contents(d);  // takes the lock: recovers it if the child died
      EXPECT_TRUE(now == before || now == after);
      EXPECT_TRUE(order_kept(order_before, d.keys()));
      if (!died) {
        EXPECT_EQ(now, after);
      }
      EXPECT_EQ(d.recoveries(), recoveries + (died ? 1 : 0));
      EXPECT_EQ(d.size(), now.size());
      // Still fully usable: more changes, including ones that allocate, rehash and compact.
      DictModel model = now;
      for (int i = 0; i < 300; ++i) {
        const std::string k = "more" + std::to_string(i % 40), v(static_cast<std::size_t>(i) * 97, 'm');
        d.set(k, v);
        model[k] = v;
      }
      d.erase("k0");
      model.erase("k0");
      d.set("k0", "last");
      model["k0"] = "last";
      EXPECT_EQ(contents(d), model);
      EXPECT_EQ(d.keys().back(), "k0");
      EXPECT_EQ(d.size(), model.size());
    }
  }
  // Every crash point was actually reached by some change (the test is not vacuous).
  for (int point = 1; point < static_cast<int>(CrashPoint::count_); ++point)
    EXPECT_GT(kills[point], 0) << "crash point " << point << " never reached";
}

struct ListScenario {
  const char* name;
  int prepare;  // elements appended first
  std::function<void(BytesList&)> change;
  std::function<void(ListModel&)> model;
};

TEST_F(Recovery, EveryListChangeIsAllOrNothingAtEveryCrashPoint) {
  const std::string big(200 * 1024, 'L');
  const std::vector<ListScenario> scenarios = {
      {"append to an empty list", 0, [](BytesList& l) { l.append("x"); },
       [](ListModel& m) { m.push_back("x"); }},
      {"append", 3, [](BytesList& l) { l.append("x"); }, [](ListModel& m) { m.push_back("x"); }},
      {"append that grows the block", 8, [](BytesList& l) { l.append("x"); },
       [](ListModel& m) { m.push_back("x"); }},
      {"extend", 5,
       [](BytesList& l) { l.extend(std::vector<std::string>{"e1", "e2", "e3", "e4", "e5"}); },
       [](ListModel& m) { m.insert(m.end(), {"e1", "e2", "e3", "e4", "e5"}); }},
      {"set", 5, [](BytesList& l) { l.set(2, "s"); }, [](ListModel& m) { m[2] = "s"; }},
      {"insert", 5, [](BytesList& l) { l.insert(1, "i"); },
       [](ListModel& m) { m.insert(m.begin() + 1, "i"); }},
      {"pop last", 5, [](BytesList& l) { l.pop(); }, [](ListModel& m) { m.pop_back(); }},
      {"pop first", 5, [](BytesList& l) { l.pop(0); }, [](ListModel& m) { m.erase(m.begin()); }},
      {"clear", 5, [](BytesList& l) { l.clear(); }, [](ListModel& m) { m.clear(); }},
      {"slice assignment", 6,
       [](BytesList& l) { l.set_slice(1, 4, std::vector<std::string>{"a", "b", "c", "d"}); },
       [](ListModel& m) {
         m.erase(m.begin() + 1, m.begin() + 4);
         m.insert(m.begin() + 1, {"a", "b", "c", "d"});
       }},
      {"slice deletion", 6, [](BytesList& l) { l.erase_slice(std::nullopt, std::nullopt, 2); },
       [](ListModel& m) {
         ListModel kept;
         for (std::size_t i = 1; i < m.size(); i += 2) kept.push_back(m[i]);
         m = kept;
       }},
      {"sort", 6, [](BytesList& l) { l.sort(nullptr, nullptr, true); },
       [](ListModel& m) { std::sort(m.rbegin(), m.rend()); }},
      {"remove", 6, [](BytesList& l) { l.remove("p3"); },
       [](ListModel& m) { m.erase(std::find(m.begin(), m.end(), "p3")); }},
      {"set that compacts", 5,
       [big](BytesList& l) {
         for (int i = 0; i < 4; ++i) l.set(0, big + std::to_string(i));
       },
       [big](ListModel& m) { m[0] = big + "3"; }},
  };
  std::map<int, int> kills;
  for (const auto& scenario : scenarios) {
    for (int point = 1; point < static_cast<int>(CrashPoint::count_); ++point) {
      SCOPED_TRACE(std::string(scenario.name) + ", crash point " + std::to_string(point));
      BytesList l;
      for (int i = 0; i < scenario.prepare; ++i) l.append("p" + std::to_string(i));
      ListModel before = l.snapshot();
      ListModel after = before;
      scenario.model(after);
      const bool died = change_in_child_dying_at(point, [&] { scenario.change(l); });
      kills[point] += died;
      const ListModel now = l.snapshot();
      // "set that compacts" makes several changes: any prefix of them may be there.
      if (std::string(scenario.name) != "set that compacts")
        EXPECT_TRUE(now == before || now == after);
      else
        EXPECT_EQ(now.size(), before.size());
      if (!died) {
        EXPECT_EQ(now, after);
      }
      EXPECT_EQ(l.recoveries(), died ? 1u : 0u);
      ListModel model = now;
      for (int i = 0; i < 200; ++i) {
        l.append(std::string(static_cast<std::size_t>(i) * 50, 'a'));
        model.push_back(std::string(static_cast<std::size_t>(i) * 50, 'a'));
      }
      l.insert(0, "front");
      model.insert(model.begin(), "front");
      EXPECT_EQ(l.pop(1), model[1]);
      model.erase(model.begin() + 1);
      EXPECT_EQ(l.snapshot(), model);
    }
  }
  for (int point = 1; point < static_cast<int>(CrashPoint::count_); ++point) {
    if (point == static_cast<int>(CrashPoint::after_index_write)) continue;  // dicts only
    if (point == static_cast<int>(CrashPoint::after_grow_truncate)) continue;  // lists of small
    EXPECT_GT(kills[point], 0) << "crash point " << point << " never reached";
  }
}

// Even a name another process still holds (a Manager's objects live while held) goes with its
// creating process: the tracker removes it; the holder's mapping stays valid.
TEST_F(Recovery, ACrashedOwnersNamesAreRemovedByItsTrackerEvenWhileHeld) {
  int fds[2];
  int go[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(go, O_CLOEXEC), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(go[1]);
    Manager m;
    auto d = m.dict<int, int>("x");
    d.set(1, 2);
    auto held = Manager().list<int>({7});  // a temporary Manager's list, held by the parent too
    const std::string names = std::to_string(detail::shm::tracker_pid()) + " " + m.name() + " " +
                              d.handle() + " " + held.handle() + "\n";
    (void)!::write(fds[1], names.data(), names.size());
    char byte = 0;
    (void)!::read(go[0], &byte, 1);  // end of file once the parent attached
    ::raise(SIGKILL);
  }
  ::close(fds[1]);
  ::close(go[0]);
  char buf[512] = {};
  std::size_t got = 0;
  // One line (the child waits for us before it dies, so no end of file yet).
  for (ssize_t n; std::memchr(buf, '\n', got) == nullptr &&
                  (n = ::read(fds[0], buf + got, sizeof buf - 1 - got)) > 0;)
    got += static_cast<std::size_t>(n);
  ::close(fds[0]);
  std::istringstream words(buf);
  pid_t tracker = 0;
  std::string manager_name, dict_name, list_name;
  words >> tracker >> manager_name >> dict_name >> list_name;
  ASSERT_GT(tracker, 0);
  auto held = List<int>::attach(list_name);
  ::close(go[1]);  // the child may die now
  // The tracker (not our child) ends after unlinking the dead owner's names: wait on its pidfd.
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, tracker, 0));
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    EXPECT_EQ(::poll(&p, 1, 30000), 1);
    ::close(pidfd);
  }  // else: the tracker had already gone
  EXPECT_FALSE(shm_exists(manager_name));
  EXPECT_FALSE(shm_exists(dict_name));
  EXPECT_FALSE(shm_exists(list_name));
  EXPECT_EQ(held.get(0), 7);
}

}  // namespace
}  // namespace mproc::test
