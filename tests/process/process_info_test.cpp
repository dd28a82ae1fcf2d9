// current_process, parent_process, active_children.
#include <mproc/process.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <string>
#include <unistd.h>

#include "support/leak_check.hpp"

namespace {

using ProcessInfoTest = mproc::test::LeakCheckedTest;

TEST_F(ProcessInfoTest, MainProcess) {
  EXPECT_EQ(mproc::current_process().name(), "MainProcess");
  EXPECT_EQ(mproc::current_process().pid(), ::getpid());
  EXPECT_TRUE(mproc::current_process().is_alive());
  EXPECT_FALSE(mproc::parent_process().has_value());
  EXPECT_FALSE(mproc::current_process().daemon());
}

TEST_F(ProcessInfoTest, CurrentProcessKnowsItIsADaemon) {
  for (const bool daemon : {false, true}) {
    mproc::Process p([daemon] {
      if (mproc::current_process().daemon() != daemon) throw mproc::SystemExit(1);
    });
    p.set_daemon(daemon);
    p.start();
    p.join();
    EXPECT_EQ(p.exitcode(), 0) << "daemon " << daemon;
    EXPECT_EQ(mproc::active_children().size(), 0u);
  }
}

TEST_F(ProcessInfoTest, ChildKnowsItselfAndItsParent) {
  const pid_t parent = ::getpid();
  mproc::Process p([parent] {
    const auto me = mproc::current_process();
    const auto dad = mproc::parent_process();
    if (me.name() != "tester" || me.pid() != ::getpid()) throw mproc::SystemExit(1);
    if (!dad || dad->pid() != parent || dad->name() != "MainProcess") throw mproc::SystemExit(2);
    if (!dad->is_alive()) throw mproc::SystemExit(3);
    return;
  });
  p.set_name("tester");
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_F(ProcessInfoTest, ChildNamesNestTheIdentity) {
  mproc::Process p([] {
    mproc::Process inner([] {});
    const std::string expected = mproc::current_process().name() + ":";
    const bool nested = inner.name().rfind(expected, 0) == 0;
    throw mproc::SystemExit(nested ? 0 : 1);
  });
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 0) << p.name();
}

TEST_F(ProcessInfoTest, ActiveChildrenListsRunningOnesAndReapsFinished) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  mproc::Process waiting([&] {
    ::close(fds[1]);
    char c;
    (void)::read(fds[0], &c, 1);
  });
  mproc::Process quick([] {});
  waiting.start();
  quick.start();
  quick.join();
  auto children = mproc::active_children();
  ASSERT_EQ(children.size(), 1u);
  EXPECT_EQ(children[0].pid(), *waiting.pid());
  EXPECT_EQ(children[0].name(), waiting.name());
  EXPECT_TRUE(children[0].is_alive());
  ::close(fds[1]);
  ::close(fds[0]);
  waiting.join();
  EXPECT_TRUE(mproc::active_children().empty());
}

}  // namespace
