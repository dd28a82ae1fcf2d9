// What happens to children when their parent exits normally: daemon children are terminated,
// the others are joined (Python's semantics), both when the parent is a Process child and when it
// leaves through std::exit (the atexit path).
#include <mproc/process.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/leak_check.hpp"

namespace {

using namespace std::chrono_literals;
using ExitTest = mproc::test::LeakCheckedTest;

// True if `fd` reaches end-of-file (every writer gone) within `ms`.
bool eof_within(int fd, int ms) {
  pollfd pfd{fd, POLLIN, 0};
  for (;;) {
    const int rc = ::poll(&pfd, 1, ms);
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) return false;
    char buf[64];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

// A grandchild that blocks forever holding `alive_w` (so its death shows as EOF on the read end)
// and reports its pid on `pid_w`.
void block_forever_holding(int alive_w, int pid_w) {
  (void)alive_w;
  const pid_t me = ::getpid();
  (void)::write(pid_w, &me, sizeof me);
  for (;;) ::pause();
}

pid_t read_pid(int fd) {
  pid_t pid = 0;
  return ::read(fd, &pid, sizeof pid) == static_cast<ssize_t>(sizeof pid) ? pid : 0;
}

TEST_F(ExitTest, DaemonChildrenAreTerminatedWhenTheirParentFinishes) {
  int alive[2];
  int pids[2];
  ASSERT_EQ(::pipe2(alive, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(pids, O_CLOEXEC), 0);
  mproc::Process parent([&] {
    mproc::Process daemon_child([&] { block_forever_holding(alive[1], pids[1]); });
    daemon_child.set_daemon(true);
    daemon_child.start();
    (void)read_pid(pids[0]);  // wait until it runs
    // The Process object is leaked on purpose: only the exit-time handling may stop the child.
    new mproc::Process(std::move(daemon_child));
  });
  parent.start();
  ::close(alive[1]);
  ::close(pids[1]);
  parent.join();
  EXPECT_EQ(parent.exitcode(), 0);
  const bool ended = eof_within(alive[0], 30'000);
  EXPECT_TRUE(ended) << "the daemon grandchild outlived its parent";
  ::close(alive[0]);
  ::close(pids[0]);
}

TEST_F(ExitTest, NonDaemonChildrenAreJoinedBeforeTheParentExits) {
  int gate[2];
  ASSERT_EQ(::pipe2(gate, O_CLOEXEC), 0);
  mproc::Process parent([&] {
    auto* child = new mproc::Process([&] {  // leaked on purpose, see above
      ::close(gate[1]);
      char c;
      (void)::read(gate[0], &c, 1);
      return;
    });
    child->start();
    ::close(gate[1]);  // only the test process may hold the gate open
  });
  parent.start();
  // The parent's target has returned, but it must wait for its non-daemon child, which waits for
  // the gate: so the parent cannot have exited yet, however long we look.
  EXPECT_FALSE(parent.join(50ms));
  ::close(gate[1]);
  ::close(gate[0]);
  EXPECT_TRUE(parent.join(60s));
  EXPECT_EQ(parent.exitcode(), 0);
}

TEST_F(ExitTest, StdExitTerminatesDaemonChildren) {
  int alive[2];
  int pids[2];
  ASSERT_EQ(::pipe2(alive, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(pids, O_CLOEXEC), 0);
  const pid_t pid = mproc::fork();
  if (pid == 0) {
    // Kept alive by a static pointer until exit (reachable, so LeakSanitizer does not report it).
    static mproc::Process* daemon_child = nullptr;
    daemon_child = new mproc::Process([&] { block_forever_holding(alive[1], pids[1]); });
    daemon_child->set_daemon(true);
    daemon_child->start();
    (void)read_pid(pids[0]);
    std::exit(0);  // the atexit handler finishes the daemon child
  }
  ::close(alive[1]);
  ::close(pids[1]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_TRUE(eof_within(alive[0], 30'000)) << "the daemon child outlived std::exit";
  ::close(alive[0]);
  ::close(pids[0]);
}

// Python's semantics for a dropped Process object: the child runs on and is joined at exit.
TEST_F(ExitTest, ADroppedNonDaemonChildIsJoinedBeforeTheParentExits) {
  int gate[2];
  ASSERT_EQ(::pipe2(gate, O_CLOEXEC), 0);
  mproc::Process parent([&] {
    {
      mproc::Process child([&] {
        ::close(gate[1]);
        char c;
        (void)::read(gate[0], &c, 1);
      });
      child.start();
    }  // dropped while it runs
    ::close(gate[1]);
  });
  parent.start();
  EXPECT_FALSE(parent.join(50ms)) << "the parent did not wait for its dropped child";
  ::close(gate[1]);
  ::close(gate[0]);
  EXPECT_TRUE(parent.join(60s));
  EXPECT_EQ(parent.exitcode(), 0);
}

// A dropped daemon child is terminated at its parent's exit, and one that ignores SIGTERM is
// killed after the grace period.
TEST_F(ExitTest, ADroppedDaemonChildIgnoringSigtermIsKilledWhenTheParentFinishes) {
  int alive[2];
  int pids[2];
  ASSERT_EQ(::pipe2(alive, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(pids, O_CLOEXEC), 0);
  mproc::Process parent([&] {
    {
      mproc::Process daemon_child([&] {
        ::signal(SIGTERM, SIG_IGN);  // in the grandchild only
        block_forever_holding(alive[1], pids[1]);
      });
      daemon_child.set_daemon(true);
      daemon_child.start();
      (void)read_pid(pids[0]);  // wait until it runs (and ignores SIGTERM)
    }
  });
  parent.start();
  ::close(alive[1]);
  ::close(pids[1]);
  parent.join();
  EXPECT_EQ(parent.exitcode(), 0);
  EXPECT_TRUE(eof_within(alive[0], 30'000)) << "the daemon grandchild outlived its parent";
  ::close(alive[0]);
  ::close(pids[0]);
}

}  // namespace
