// mproc::fork, getpid/getppid and cpu_count.
#include <mproc/process.hpp>

#include <gtest/gtest.h>

#include <sched.h>
#include <sys/wait.h>
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
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(ForkTest, AProcessStartedInARawForkChildWorks) {
  // The child of mproc::fork() starts and joins its own Process: the registry it inherited is
  // usable (its lock was released after fork).
  const pid_t pid = mproc::fork();
  if (pid == 0) {
    mproc::Process p([] { return 6; });
    p.start();
    p.join();
    ::_exit(*p.exitcode() == 6 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(CpuCount, FollowsTheAffinityMask) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(::sched_getaffinity(0, sizeof set, &set), 0);
  EXPECT_EQ(mproc::cpu_count(), CPU_COUNT(&set));
  EXPECT_GE(mproc::cpu_count(), 1);
}

}  // namespace
