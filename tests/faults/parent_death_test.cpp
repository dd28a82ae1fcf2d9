// Promise: when the process that owns them is killed (SIGKILL: no destructor, no atexit), every
// pool worker — busy in a task or idle, forked or served by a fork server —, the fork server and
// the segment tracker leave within 2 s. A plain Process keeps Python's behaviour (it outlives
// its parent) unless it opted in with set_die_with_parent(true).
//
// The test process becomes a child subreaper (prctl(2)), so that the orphans of the killed owner
// become its children: it can wait for each through a pidfd and reap it, and nothing is left.
#include <mproc/pool.hpp>
#include <mproc/process.hpp>
#include <mproc/shared_memory.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <poll.h>
#include <string>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <vector>

#include "fault_support.hpp"
#include "support/gate.hpp"
#include "support/signal.hpp"
#include "process/pidfd.hpp"
#include "shm/tracker.hpp"
#include "base/futex.hpp"

namespace mproc::test {
namespace {

using namespace std::chrono_literals;

// What the owner reports: the processes that must leave with it, then the one that must not.
struct Pids {
  pid_t forked_worker, served_worker, server, tracker, opted_in_child, plain_child;
};

std::atomic<std::uint32_t>* g_started = nullptr;  // in a MAP_SHARED page every process inherits

// A task (or child) that tells it started, then works far longer than the test.
int busy(int) {
  g_started->fetch_add(1, std::memory_order_seq_cst);
  detail::futex_wake_all(*g_started);
  for (int i = 0; i < 600; ++i) std::this_thread::sleep_for(100ms);  // the workload, not a wait
  return 0;
}

[[noreturn]] void owner(int report_fd) {
  PoolOptions forked;
  forked.processes = 1;
  PoolOptions served = forked;
  served.start_method = StartMethod::forkserver;
  start_forkserver();  // after the shared page exists: served workers inherit it too
  // The Processes are started while this process has one thread. Forked beside the pools'
  // dispatcher threads, the opted-in child's parent watcher hung in 1 of ~24 sanitized runs: GCC
  // 12's libasan takes no lock of its allocator around fork (LLVM's runtime does since 18), so a
  // child can inherit an allocator lock held by another thread, and the watcher's first allocation
  // (calloc(152) when it starts) waited on it for ever; the child never left. (That hang, not a
  // slow watcher, is what missed the 3.5 s bound in CI; a normal build passes this test in 10-100
  // ms at load 20-35, a sanitized one in 270-400 ms.)
  Process opted_in([] { busy(0); });
  opted_in.set_die_with_parent(true);
  opted_in.start();
  Process plain([] { busy(0); });
  plain.start();
  Pool forked_pool(forked);
  Pool served_pool(served);
  auto a = forked_pool.apply_async(busy, 0);
  auto b = served_pool.apply_async(busy, 0);
  auto segment = SharedMemory::create(4096);  // starts the tracker
  // Both tasks and both children are running.
  const detail::Deadline deadline(30s);
  for (std::uint32_t n; (n = g_started->load()) < 4 && !deadline.expired();)
    detail::futex_wait(*g_started, n, deadline);
  const Pids pids{forked_pool.worker_pids().at(0), served_pool.worker_pids().at(0),
                  forkserver_pid(), detail::shm::tracker_pid(), *opted_in.pid(), *plain.pid()};
  if (::write(report_fd, &pids, sizeof pids) != sizeof pids) ::_exit(1);
  for (;;) ::pause();  // until killed
}

// Waits until `pid` has ended, at most until `deadline`, and reaps it if it is our child now.
bool ended_by(pid_t pid, std::chrono::steady_clock::time_point deadline) {
  const int pidfd = detail::pidfd_open(pid);
  if (pidfd < 0) return errno == ESRCH;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  pollfd p{pidfd, POLLIN, 0};
  const bool ended = ::poll(&p, 1, static_cast<int>(std::max<long>(left.count(), 0))) > 0;
  if (ended) {
    siginfo_t info{};
    ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED | WNOHANG);
  }
  ::close(pidfd);
  return ended;
}

void kill_and_reap(pid_t pid) {
  ::kill(pid, SIGKILL);
  ended_by(pid, std::chrono::steady_clock::now() + 10s);
}

class ParentDeath : public FaultTest {};

TEST_F(ParentDeath, WorkersServerAndTrackerLeaveWithinTwoSecondsOfTheOwnersDeath) {
  void* page = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(page, MAP_FAILED);
  g_started = new (page) std::atomic<std::uint32_t>(0);
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
  int report[2];
  ASSERT_EQ(::pipe2(report, O_CLOEXEC), 0);
  const pid_t owner_pid = ::fork();
  ASSERT_GE(owner_pid, 0);
  if (owner_pid == 0) {
    ::close(report[0]);
    owner(report[1]);
  }
  ::close(report[1]);
  Pids pids{};
  pollfd p{report[0], POLLIN, 0};
  const bool reported = ::poll(&p, 1, 60'000) > 0 && ::read(report[0], &pids, sizeof pids) == sizeof pids;
  ::close(report[0]);
  ::kill(owner_pid, SIGKILL);
  int status = 0;
  ::waitpid(owner_pid, &status, 0);
  const auto start = std::chrono::steady_clock::now();
  if (reported) {
    // The promise is 2 s (the watchers' pidfd wake-up, or their 1 s re-check); the slack covers
    // a sanitized build with other suites running. (The one CI miss of this bound was a hung
    // watcher, see owner(), not a slow one.)
    const auto deadline = start + 3500ms;
    EXPECT_TRUE(ended_by(pids.forked_worker, deadline)) << "a busy forked pool worker outlived it";
    EXPECT_TRUE(ended_by(pids.served_worker, deadline)) << "a busy served pool worker outlived it";
    EXPECT_TRUE(ended_by(pids.server, deadline)) << "the fork server outlived it";
    EXPECT_TRUE(ended_by(pids.tracker, deadline)) << "the segment tracker outlived it";
    EXPECT_TRUE(ended_by(pids.opted_in_child, deadline))
        << "a Process with set_die_with_parent(true) outlived it";
    // As in Python: a plain child lives on.
    EXPECT_FALSE(ended_by(pids.plain_child, std::chrono::steady_clock::now()));
    for (pid_t pid : {pids.forked_worker, pids.served_worker, pids.server, pids.tracker,
                      pids.opted_in_child, pids.plain_child})
      kill_and_reap(pid);
    // The other orphans, now this process's children, leave too: the fork server's standby twin
    // (the owner never knew its pid).
    bool orphans_left = false;
    for (;;) {
      const pid_t reaped = ::waitpid(-1, nullptr, WNOHANG);
      if (reaped < 0) break;  // ECHILD: none left
      if (reaped == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
          orphans_left = true;
          break;
        }
        std::this_thread::sleep_for(1ms);  // polled, bounded: no event tells of an orphan's end
      }
    }
    EXPECT_FALSE(orphans_left) << "an orphan of the owner (the fork server's twin) outlived it";
  } else {
    ADD_FAILURE() << "the owner did not report its processes";
  }
  ::prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
  ::munmap(page, 4096);
}

// True if process `pid` holds a pidfd of process `target` (its fdinfo names the pid).
bool holds_pidfd_of(pid_t pid, pid_t target) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/fdinfo/";
  const std::string wanted = "Pid:\t" + std::to_string(target) + "\n";
  for (int fd = 0; fd < 4096; ++fd) {
    std::ifstream info(dir + std::to_string(fd));
    if (!info) continue;
    const std::string text((std::istreambuf_iterator<char>(info)),
                           std::istreambuf_iterator<char>());
    if (text.find(wanted) != std::string::npos) return true;
  }
  return false;
}

// A child that closes every descriptor it did not open (a close-every-fd loop, as some programs
// run first thing in a child or a task) closes its parent watcher's pidfd too. The watcher must
// tell that from the parent's death: it checks getppid(), watches through a fresh pidfd, and never
// kills a healthy process.
TEST_F(ParentDeath, AWorkerThatClosesEveryDescriptorIsNotKilled) {
  Signal closed;
  Gate done;
  const int keep_write = closed.write_fd();
  const int keep_read = done.read_fd();
  Process child([keep_write, keep_read] {
    for (int fd = 3; fd < 4096; ++fd)
      if (fd != keep_write && fd != keep_read) ::close(fd);
    Signal::notify(keep_write, 'c');
    Gate::pass(keep_read);
  });
  child.set_die_with_parent(true);  // what a fork pool's workers do
  child.start();
  ASSERT_EQ(closed.wait(), 'c');
  const pid_t pid = *child.pid();
  // Polled, bounded: the watcher re-arms when it next wakes (within about a second); there is no
  // event to wait for.
  const detail::Deadline deadline(10s);
  bool rearmed = false;
  while (!(rearmed = holds_pidfd_of(pid, ::getpid())) && !deadline.expired() && child.is_alive())
    std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(rearmed) << "the parent watcher did not watch the parent again";
  EXPECT_TRUE(child.is_alive()) << "the parent watcher killed a healthy process";
  done.open_all();
  ASSERT_TRUE(child.join(30s));
  EXPECT_EQ(child.exitcode(), 0);
}

}  // namespace
}  // namespace mproc::test
