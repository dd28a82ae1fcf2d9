// Fork safety: children forked while another thread holds the library's locks (logging, the child
// registry) must not deadlock.
#include <mproc/log.hpp>
#include <mproc/process.hpp>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <fcntl.h>
#include <stdexcept>
#include <thread>
#include <unistd.h>

#include "support/leak_check.hpp"

namespace {

using namespace std::chrono_literals;
using ForkSafetyTest = mproc::test::LeakCheckedTest;

TEST_F(ForkSafetyTest, ForkWhileAnotherThreadLogsAndStartsProcesses) {
  // Everything runs inside a child, so that the test process stays single-threaded and its
  // stderr stays readable.
  mproc::Process outer([] {
    const int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    ::dup2(devnull, STDERR_FILENO);
    mproc::set_log_level(mproc::LogLevel::trace);  // every start and reap writes a line
    std::atomic<bool> stop{false};
    // The library registers its logger with spdlog, so this thread writes through the same sink
    // (and the same lock) as the library, as fast as it can.
    auto logger = spdlog::get("mproc");
    if (!logger) throw mproc::SystemExit(2);
    std::thread chatter([&] {
      const std::string filler(512, 'x');
      while (!stop.load()) logger->info("chatter {}", filler);
    });
    std::atomic<int> failures{0};
    // A deadlocked child is killed after a bounded wait and counted, and the run stops early.
    auto run_child = [&](mproc::Process& child, int expected_code) {
      child.start();
      if (!child.join(5s)) {
        child.kill();
        child.join();
        ++failures;
      } else if (child.exitcode() != expected_code) {
        ++failures;
      }
    };
    std::thread churn([&] {
      while (!stop.load() && failures.load() == 0) {
        mproc::Process p([] {});
        run_child(p, 0);
      }
    });
    for (int i = 0; i < 100 && failures.load() == 0; ++i) {
      // The child logs its exception at error level: it deadlocks if it inherited a held lock.
      mproc::Process child([] { throw std::runtime_error("logged from a child"); });
      run_child(child, 1);
    }
    stop = true;
    churn.join();
    chatter.join();
    throw mproc::SystemExit(failures.load() == 0 ? 0 : 1);
  });
  outer.start();
  ASSERT_TRUE(outer.join(60s)) << "the fork-safety run did not finish";
  EXPECT_EQ(outer.exitcode(), 0) << "a child forked during logging deadlocked or failed";
}

}  // namespace
