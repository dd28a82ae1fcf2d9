// mproc::fork, getpid/getppid and cpu_count.
#include <mproc/process.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include "support/leak_check.hpp"

namespace {

using ForkTest = mproc::test::LeakCheckedTest;

TEST_F(ForkTest, ChildSeesItsParentsPid) {
  const pid_t parent = mproc::getpid();
  EXPECT_EQ(parent, ::getpid());
  const pid_t pid = mproc::fork();
  if (pid == 0) ::_exit(mproc::getppid() == parent && mproc::getpid() != parent ? 0 : 1);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(mproc::wait_child(pid), 0);
}

TEST_F(ForkTest, WaitChildReapsARawForkChildWithItsCodeOrSignal) {
  const pid_t exits = mproc::fork();
  if (exits == 0) ::_exit(7);
  EXPECT_EQ(mproc::wait_child(exits), 7);
  int gate[2];
  ASSERT_EQ(::pipe2(gate, O_CLOEXEC), 0);
  const pid_t blocked = mproc::fork();
  if (blocked == 0) {
    char c;
    ::close(gate[1]);
    ::_exit(static_cast<int>(::read(gate[0], &c, 1)));
  }
  ::close(gate[0]);
  EXPECT_EQ(mproc::wait_child(blocked, std::chrono::milliseconds(0)), std::nullopt);
  ASSERT_EQ(::kill(blocked, SIGKILL), 0);
  EXPECT_EQ(mproc::wait_child(blocked, std::chrono::seconds(30)), -SIGKILL);
  ::close(gate[1]);
  // Errors: reaped already, not a child, a Process's child.
  auto code_of = [](auto&& call) {
    try {
      call();
    } catch (const mproc::Error& e) {
      return e.code();
    }
    return std::error_code();
  };
  EXPECT_EQ(code_of([&] { mproc::wait_child(exits); }), std::errc::no_such_process);
  EXPECT_EQ(code_of([] { mproc::wait_child(1); }), std::errc::no_child_process);
  EXPECT_EQ(code_of([] { mproc::wait_child(0); }), std::errc::invalid_argument);
  mproc::Process p([] {});
  p.start();
  EXPECT_EQ(code_of([&] { mproc::wait_child(*p.pid()); }),
            mproc::make_error_code(mproc::errc::bad_state));
  p.join();
}

TEST_F(ForkTest, AProcessStartedInARawForkChildWorks) {
  // The child of mproc::fork() starts and joins its own Process: the registry it inherited is
  // usable (its lock was released after fork).
  const pid_t pid = mproc::fork();
  if (pid == 0) {
    mproc::Process p([] { throw mproc::SystemExit(6); });
    p.start();
    p.join();
    ::_exit(*p.exitcode() == 6 ? 0 : 1);
  }
  EXPECT_EQ(mproc::wait_child(pid), 0);
}

TEST(CpuCount, FollowsTheAffinityMask) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(::sched_getaffinity(0, sizeof set, &set), 0);
  EXPECT_EQ(mproc::cpu_count(), CPU_COUNT(&set));
  EXPECT_GE(mproc::cpu_count(), 1);
}

}  // namespace
