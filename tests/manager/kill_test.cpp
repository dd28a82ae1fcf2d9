// The crash guarantee, tested by force: writers that update one dict and one list are SIGKILLed
// at random moments (often inside an update, holding the lock) and replaced. At the end every
// update a writer reported as done is there, nothing is torn, and the containers stay consistent.
#include <mproc/dict.hpp>
#include <mproc/list.hpp>

#include <fcntl.h>
#include <poll.h>
#include <csignal>
#include <map>
#include <random>
#include <string>

#include "manager_test_support.hpp"

namespace mproc::test {
namespace {

using KillTest = ManagerTest;

constexpr int kWriters = 3;
constexpr int kKills = 40;

// Writer `id`'s n-th value: its size varies (some large, to make the containers grow and compact).
std::string value_of(int id, int n) {
  const std::size_t size = n % 50 == 7 ? 40000 : static_cast<std::size_t>((n * 37 + id) % 200);
  std::string v = std::to_string(id) + "/" + std::to_string(n) + "/";
  v.resize(v.size() + size, static_cast<char>('a' + (n + id) % 26));
  return v;
}

struct Writer {
  pid_t pid = -1;
  int id = 0;
  int fd = -1;         // reports: one int per completed iteration
  int confirmed = -1;  // last iteration reported done
};

[[noreturn]] void write_forever(BytesDict& d, BytesList& l, int id, int report) {
  for (int n = 0;; ++n) {
    d.set("w" + std::to_string(id) + "-" + std::to_string(n), value_of(id, n));
    d.set("latest" + std::to_string(id % 2), value_of(id, n));  // garbage: compactions
    if (n % 5 == 0) l.append(value_of(id, n));
    if (n % 11 == 3) d.erase("w" + std::to_string(id) + "-" + std::to_string(n - 3));
    if (::write(report, &n, sizeof n) != sizeof n) ::_exit(3);
  }
}

Writer start(BytesDict& d, BytesList& l, int id) {
  int fds[2];
  EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  Writer w;
  w.id = id;
  w.pid = ::fork();
  if (w.pid == 0) {
    ::close(fds[0]);
    write_forever(d, l, id, fds[1]);
  }
  ::close(fds[1]);
  w.fd = fds[0];
  return w;
}

// Reads w's reports until it has made `more` further iterations (bounded wait).
void drain(Writer& w, int more) {
  const int goal = w.confirmed + more;
  while (w.confirmed < goal) {
    pollfd p{w.fd, POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 30000), 1) << "writer " << w.id << " made no progress";
    int n = 0;
    ASSERT_EQ(::read(w.fd, &n, sizeof n), static_cast<ssize_t>(sizeof n));
    w.confirmed = n;
  }
}

void kill_and_reap(Writer& w) {
  ::kill(w.pid, SIGKILL);
  int status = 0;
  EXPECT_EQ(::waitpid(w.pid, &status, 0), w.pid);
  // Reports written before the kill count as confirmed too.
  int n = 0;
  while (::read(w.fd, &n, sizeof n) == static_cast<ssize_t>(sizeof n)) w.confirmed = n;
  ::close(w.fd);
}

TEST_F(KillTest, RandomKillsLoseNoCompletedUpdateAndLeaveTheContainersConsistent) {
  BytesDict d;
  BytesList l;
  std::mt19937 random(12345);
  std::vector<Writer> live;
  std::vector<Writer> done;
  int next_id = 0;
  for (int i = 0; i < kWriters; ++i) live.push_back(start(d, l, next_id++));
  for (int k = 0; k < kKills; ++k) {
    auto& victim = live[random() % live.size()];
    drain(victim, 1 + static_cast<int>(random() % 200));
    kill_and_reap(victim);
    done.push_back(victim);
    victim = start(d, l, next_id++);
  }
  for (auto& w : live) {
    drain(w, 1);
    kill_and_reap(w);
    done.push_back(w);
  }

  const auto items = d.items();
  EXPECT_EQ(d.size(), items.size());
  std::map<std::string, std::string> dict(items.begin(), items.end());
  for (const auto& w : done) {
    for (int n = 0; n <= w.confirmed; ++n) {
      const std::string key = "w" + std::to_string(w.id) + "-" + std::to_string(n);
      const bool erased = n % 11 == 0 && n + 3 <= w.confirmed;  // erased by iteration n + 3
      const bool maybe_erased = n % 11 == 0 && n + 3 == w.confirmed + 1;  // killed in that one
      auto it = dict.find(key);
      if (maybe_erased) {
        if (it != dict.end()) {
          EXPECT_EQ(it->second, value_of(w.id, n)) << key;
        }
      } else if (erased) {
        EXPECT_EQ(it, dict.end()) << key;
      } else {
        ASSERT_NE(it, dict.end()) << key << " was confirmed but is missing";
        EXPECT_EQ(it->second, value_of(w.id, n)) << key;
      }
    }
    // Nothing past the iteration that was in progress.
    EXPECT_EQ(dict.count("w" + std::to_string(w.id) + "-" + std::to_string(w.confirmed + 2)), 0u);
  }
  // The list: every confirmed append exactly once, each element whole.
  std::map<std::string, int> seen;
  for (const auto& v : l.snapshot()) ++seen[v];
  for (const auto& w : done)
    for (int n = 0; n <= w.confirmed; n += 5) EXPECT_EQ(seen[value_of(w.id, n)], 1) << w.id << "/" << n;
  for (const auto& [v, count] : seen) EXPECT_EQ(count, 1);
  // Still usable.
  d.set("final", "ok");
  l.append("final");
  EXPECT_EQ(d.get("final"), "ok");
  EXPECT_EQ(l.pop(), "final");
  std::printf("lock recoveries after %d kills: dict %llu, list %llu\n", kKills,
              static_cast<unsigned long long>(d.recoveries()),
              static_cast<unsigned long long>(l.recoveries()));
}

}  // namespace
}  // namespace mproc::test
