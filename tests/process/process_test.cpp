// mproc::Process with real forked children.
#include <mproc/process.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <csignal>
#include <fcntl.h>
#include <iostream>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "support/expect_error.hpp"
#include "support/gate.hpp"
#include "support/leak_check.hpp"

namespace {

using namespace std::chrono_literals;
using mproc::errc;
using mproc::Process;
using ProcessTest = mproc::test::LeakCheckedTest;
using mproc::test::expect_error;
using mproc::test::Gate;

TEST_F(ProcessTest, PidIsEmptyBeforeStartAndSetAfter) {
  Process p([] {});
  EXPECT_FALSE(p.pid().has_value());
  EXPECT_FALSE(p.exitcode().has_value());
  EXPECT_FALSE(p.is_alive());
  p.start();
  ASSERT_TRUE(p.pid().has_value());
  EXPECT_GT(*p.pid(), 0);
  EXPECT_NE(*p.pid(), ::getpid());
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_F(ProcessTest, LambdaWithCapturesRunsInTheChild) {
  // The child reports through a pipe: its own copy of `value` and its pid.
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  int value = 41;  // not const: a constant would not need the capture (clang warns)
  std::string text = "captured";
  Process p([&, value] {
    const std::string message = text + " " + std::to_string(value + 1) + " " +
                                std::to_string(::getpid());
    EXPECT_EQ(::write(fds[1], message.data(), message.size()),
              static_cast<ssize_t>(message.size()));
  });
  p.start();
  ::close(fds[1]);
  char buf[128] = {};
  const ssize_t n = ::read(fds[0], buf, sizeof buf - 1);
  ::close(fds[0]);
  p.join();
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)),
            "captured 42 " + std::to_string(*p.pid()));
}

TEST_F(ProcessTest, ArgumentsAreCopiedIntoTheTarget) {
  Process p([](int a, const std::string& b) { throw mproc::SystemExit(a + static_cast<int>(b.size())); }, 3,
            std::string("four"));
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 7);
}

TEST_F(ProcessTest, ExitCodes) {
  Process zero([] {});
  // As Python: a returned value is ignored (exit code 0, even for 256 or a non-int).
  Process returns_seven([] { return 7; });
  Process returns_256([] { return 256; });
  Process returns_data([] { return std::string("data"); });
  Process system_exit_300([] { throw mproc::SystemExit(300); });
  Process system_exit([] { throw mproc::SystemExit(3); });
  Process exception([] { throw std::runtime_error("boom"); });
  Process not_std([] { throw 42; });
  Process exits([]() -> int { ::_exit(9); });
  for (Process* p : {&zero, &returns_seven, &returns_256, &returns_data, &system_exit_300,
                     &system_exit, &exception, &not_std, &exits})
    p->start();
  for (Process* p : {&zero, &returns_seven, &returns_256, &returns_data, &system_exit_300,
                     &system_exit, &exception, &not_std, &exits})
    p->join();
  EXPECT_EQ(zero.exitcode(), 0);
  EXPECT_EQ(returns_seven.exitcode(), 0);
  EXPECT_EQ(returns_256.exitcode(), 0);
  EXPECT_EQ(returns_data.exitcode(), 0);
  EXPECT_EQ(system_exit_300.exitcode(), 300 & 0xff);  // as _exit: the low 8 bits
  EXPECT_EQ(system_exit.exitcode(), 3);
  EXPECT_EQ(exception.exitcode(), 1);
  EXPECT_EQ(not_std.exitcode(), 1);
  EXPECT_EQ(exits.exitcode(), 9);
}

TEST_F(ProcessTest, TerminateAndKillGiveMinusTheSignal) {
  Gate gate;
  Process terminated([&] { gate.pass(); });
  Process killed([&] { gate.pass(); });
  terminated.start();
  killed.start();
  terminated.terminate();
  killed.kill();
  terminated.join();
  killed.join();
  EXPECT_EQ(terminated.exitcode(), -SIGTERM);
  EXPECT_EQ(killed.exitcode(), -SIGKILL);
  // Signalling a child that already ended is not an error.
  EXPECT_NO_THROW(terminated.terminate());
  EXPECT_NO_THROW(killed.kill());
}

TEST_F(ProcessTest, JoinWithTimeoutOnARunningChildReturnsFalse) {
  Gate gate;
  Process p([&] { gate.pass(); });
  p.start();
  EXPECT_FALSE(p.join(10ms));
  EXPECT_TRUE(p.is_alive());
  EXPECT_FALSE(p.exitcode().has_value());
  gate.open_all();
  EXPECT_TRUE(p.join(60s));
  EXPECT_FALSE(p.is_alive());
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_F(ProcessTest, JoinRejectsNegativeAndNaNTimeouts) {
  Process p([] {});
  p.start();
  for (double bad : {-1.0, std::numeric_limits<double>::quiet_NaN()}) {
    try {
      p.join(mproc::Seconds(bad));
      ADD_FAILURE() << "expected EINVAL";
    } catch (const mproc::Error& e) {
      EXPECT_EQ(e.code(), std::errc::invalid_argument);
    }
  }
  p.join();
}

TEST_F(ProcessTest, SentinelBecomesReadableWhenTheChildEnds) {
  Gate gate;
  Process p([&] { gate.pass(); });
  p.start();
  pollfd pfd{p.sentinel(), POLLIN, 0};
  EXPECT_EQ(::poll(&pfd, 1, 0), 0) << "readable while the child still runs";
  gate.open_all();
  EXPECT_EQ(::poll(&pfd, 1, 60'000), 1);
  EXPECT_TRUE(pfd.revents & POLLIN);
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_F(ProcessTest, StateErrors) {
  Process p([] {});
  expect_error([&] { p.join(); }, errc::bad_state);
  expect_error([&] { p.terminate(); }, errc::bad_state);
  expect_error([&] { (void)p.sentinel(); }, errc::bad_state);
  p.start();
  expect_error([&] { p.start(); }, errc::bad_state);
  expect_error([&] { p.set_daemon(true); }, errc::bad_state);
  p.join();
  p.close();
  p.close();  // closing twice is a no-op
  expect_error([&] { p.join(); }, errc::closed);
  expect_error([&] { (void)p.is_alive(); }, errc::closed);
  expect_error([&] { (void)p.exitcode(); }, errc::closed);
  expect_error([&] { p.start(); }, errc::closed);
}

TEST_F(ProcessTest, CloseWhileRunningIsRefused) {
  Gate gate;
  Process p([&] { gate.pass(); });
  p.start();
  expect_error([&] { p.close(); }, errc::bad_state);
  gate.open_all();
  p.join();
  p.close();
}

TEST_F(ProcessTest, HundredChildrenTerminatedAndKilledLeaveNoZombie) {
  Gate gate;
  std::vector<Process> children;
  for (int i = 0; i < 100; ++i) children.emplace_back([&] { gate.pass(); });
  for (auto& child : children) child.start();
  EXPECT_EQ(mproc::active_children().size(), 100u);
  for (size_t i = 0; i < children.size(); ++i) {
    if (i % 2) children[i].terminate();
    else children[i].kill();
  }
  for (auto& child : children) child.join();
  for (size_t i = 0; i < children.size(); ++i)
    EXPECT_EQ(children[i].exitcode(), i % 2 ? -SIGTERM : -SIGKILL);
  EXPECT_TRUE(mproc::active_children().empty());
  // The fixture's TearDown checks that no child (zombie or running) and no fd is left.
}

// Python's semantics: dropping the Process object does not stop the child; the library still
// reaps it once it has ended (here at active_children(), as Python's _cleanup does).
TEST_F(ProcessTest, DroppingARunningProcessDetachesItAndTheLibraryReapsIt) {
  Gate gate;
  int out[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  pid_t pid = 0;
  {
    Process p([&] {
      gate.pass();
      EXPECT_EQ(::write(out[1], "ran on", 6), 6);
    });
    p.start();
    pid = *p.pid();
  }
  ::close(out[1]);
  // Still running, still listed among our children.
  const auto running = mproc::active_children();
  ASSERT_EQ(running.size(), 1u);
  EXPECT_EQ(running[0].pid(), pid);
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  ASSERT_GE(pidfd, 0);
  gate.open_all();
  char buf[16] = {};
  ASSERT_EQ(::read(out[0], buf, sizeof buf), 6) << "the dropped child was stopped";
  EXPECT_EQ(std::string(buf, 6), "ran on");
  ::close(out[0]);
  pollfd ended{pidfd, POLLIN, 0};
  ASSERT_EQ(::poll(&ended, 1, 30'000), 1);  // the child has exited (a zombie until reaped)
  ::close(pidfd);
  EXPECT_TRUE(mproc::active_children().empty());
  // Reaped by the library: no longer our child.
  EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

TEST_F(ProcessTest, MoveAssigningOverARunningProcessDetachesIt) {
  Gate gate;
  Process p([&] { gate.pass(); });
  p.start();
  const pid_t pid = *p.pid();
  p = Process([] {});
  ASSERT_EQ(mproc::active_children().size(), 1u);
  EXPECT_EQ(mproc::active_children()[0].pid(), pid);
  gate.open_all();
  // Wait for its end through a pidfd of our own, then let the library reap it.
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  ASSERT_GE(pidfd, 0);
  pollfd ended{pidfd, POLLIN, 0};
  ASSERT_EQ(::poll(&ended, 1, 30'000), 1);
  ::close(pidfd);
  EXPECT_TRUE(mproc::active_children().empty());
}

TEST_F(ProcessTest, ChildDoesNotInheritTheParentsPidfds) {
  Process first([] {});
  first.start();
  first.join();
  const int sibling_fd = first.sentinel();  // still open: first is not closed
  Process second([sibling_fd] { throw mproc::SystemExit(::fcntl(sibling_fd, F_GETFD) == -1 ? 0 : 1); });
  second.start();
  second.join();
  EXPECT_EQ(second.exitcode(), 0) << "the child could see its sibling's pidfd";
}

TEST_F(ProcessTest, SubclassOverridingRun) {
  class Worker : public Process {
   public:
    explicit Worker(int code) : code_(code) {}

   protected:
    void run() override { throw mproc::SystemExit(code_); }

   private:
    int code_;
  };
  Worker w(5);
  w.start();
  w.join();
  EXPECT_EQ(w.exitcode(), 5);
}

TEST_F(ProcessTest, NamesAndDaemon) {
  Process p([] {});
  EXPECT_EQ(p.name().rfind("Process-", 0), 0u) << p.name();
  p.set_name("worker");
  EXPECT_EQ(p.name(), "worker");
  EXPECT_FALSE(p.daemon());
  p.set_daemon(true);
  EXPECT_TRUE(p.daemon());
  p.start();
  p.join();
}

TEST_F(ProcessTest, ADaemonMayNotHaveChildren) {
  Process p([] {
    Process grandchild([] {});
    try {
      grandchild.start();
    } catch (const mproc::Error& e) {
      throw mproc::SystemExit(e.code() == errc::bad_state ? 0 : 2);
    }
    grandchild.join();
    throw mproc::SystemExit(1);
  });
  p.set_daemon(true);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_F(ProcessTest, MovedProcessKeepsItsChild) {
  Gate gate;
  Process a([&] { gate.pass(); });
  a.start();
  const auto pid = a.pid();
  Process b(std::move(a));
  EXPECT_EQ(b.pid(), pid);
  EXPECT_TRUE(b.is_alive());
  gate.open_all();
  b.join();
  EXPECT_EQ(b.exitcode(), 0);
}

TEST_F(ProcessTest, ChildOfChildIsReapedByTheChild) {
  Process p([] {
    Process inner([] { throw mproc::SystemExit(4); });
    inner.start();
    inner.join();
    throw mproc::SystemExit(*inner.exitcode() == 4 ? 0 : 1);
  });
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

}  // namespace

namespace {

// Runs `body` in a child Process whose stdout is a pipe (fully buffered, as for any file), and
// returns what reached the pipe once it and its own children are done.
template <class Body>
std::string stdout_of(Body body) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
  const int write_end = out[1];
  Process parent([write_end, body] {
    ::dup2(write_end, STDOUT_FILENO);
    body();
  });
  parent.start();
  ::close(out[1]);
  std::string text;
  char buf[256];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  ::close(out[0]);
  parent.join();
  EXPECT_EQ(parent.exitcode(), 0);
  return text;
}

TEST_F(ProcessTest, StartFlushesTheParentsStdioSoTheChildDoesNotRepeatIt) {
  // Print without flushing, start a grandchild that prints one line: the pipe must carry the
  // parent's line exactly once.
  const std::string text = stdout_of([] {
    std::printf("parent line\n");  // stays in the buffer: stdout is not a terminal
    Process child([] { std::printf("child line\n"); });
    child.start();
    child.join();
  });
  EXPECT_EQ(text, "parent line\nchild line\n");
}

TEST_F(ProcessTest, StartAndExitFlushCoutWhenItBuffersOnItsOwn) {
  // After sync_with_stdio(false) std::cout keeps its own buffer, apart from stdout's: start()
  // must flush it (or the child repeats the parent's line) and the child's exit must flush it (or
  // the child's line is lost). Streams that write through to stdio are left alone (nothing to do).
  const std::string text = stdout_of([] {
    std::ios::sync_with_stdio(false);
    std::cout << "parent line\n";  // stays in cout's own buffer
    Process child([] { std::cout << "child line\n"; });
    child.start();
    child.join();
  });
  EXPECT_EQ(text, "parent line\nchild line\n");
}

}  // namespace
