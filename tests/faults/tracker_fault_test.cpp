// Promise: a killed segment tracker is replaced at once (its owner watches it through a pidfd)
// and told every live name, so that the owner's segments are removed when the owner dies later —
// even if the owner creates no segment in between (the tracker used to be restarted only then).
#include <mproc/shared_memory.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <sys/mman.h>
#include <fcntl.h>
#include <poll.h>
#include <string>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>

#include "base/deadline.hpp"
#include "fault_support.hpp"
#include "process/pidfd.hpp"
#include "shm/tracker.hpp"

namespace mproc::test {
namespace {

using namespace std::chrono_literals;

struct Report {
  pid_t old_tracker = 0;
  pid_t new_tracker = 0;  // 0: not replaced within 2 s
  char name[64] = {};
};

// Waits until `pid` has ended (at most `timeout`), reaping it if it is our child.
bool ended_within(pid_t pid, std::chrono::milliseconds timeout) {
  const int pidfd = detail::pidfd_open(pid);
  if (pidfd < 0) return errno == ESRCH;
  pollfd p{pidfd, POLLIN, 0};
  const bool ended = ::poll(&p, 1, static_cast<int>(timeout.count())) > 0;
  siginfo_t info{};
  if (ended)
    ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED | WNOHANG);
  ::close(pidfd);
  return ended;
}

class TrackerFault : public FaultTest {};

TEST_F(TrackerFault, AKilledTrackerIsReplacedAtOnceAndTheOwnersSegmentsAreStillRemoved) {
  // Subreaper: the owner's trackers (double-forked) become our children, to wait for and reap.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
  int report_pipe[2];
  ASSERT_EQ(::pipe2(report_pipe, O_CLOEXEC), 0);
  const pid_t owner = ::fork();
  ASSERT_GE(owner, 0);
  if (owner == 0) {
    ::close(report_pipe[0]);
    Report r;
    auto segment = SharedMemory::create(4096);  // the owner's only segment; never unlinked
    std::snprintf(r.name, sizeof r.name, "%s", segment.name().c_str());
    r.old_tracker = detail::shm::tracker_pid();
    ::kill(r.old_tracker, SIGKILL);
    // The owner does nothing with segments now; its watcher alone must replace the tracker.
    // Polled, bounded: there is no event for "the tracker was replaced".
    const detail::Deadline deadline(2s);
    while (!deadline.expired()) {
      const pid_t now = detail::shm::tracker_pid();
      if (now != 0 && now != r.old_tracker) {
        r.new_tracker = now;
        break;
      }
      std::this_thread::sleep_for(1ms);
    }
    if (::write(report_pipe[1], &r, sizeof r) != sizeof r) ::_exit(1);
    for (;;) ::pause();  // killed while waiting here
  }
  ::close(report_pipe[1]);
  Report r;
  pollfd p{report_pipe[0], POLLIN, 0};
  const bool reported =
      ::poll(&p, 1, 60'000) > 0 && ::read(report_pipe[0], &r, sizeof r) == sizeof r;
  ::close(report_pipe[0]);
  ::kill(owner, SIGKILL);
  ::waitpid(owner, nullptr, 0);
  ASSERT_TRUE(reported);
  EXPECT_TRUE(ended_within(r.old_tracker, 10s));
  EXPECT_NE(r.new_tracker, 0) << "the killed tracker was not replaced within 2 s";
  if (r.new_tracker != 0) {
    // The new tracker sees its owner die, removes the name, and ends.
    EXPECT_TRUE(ended_within(r.new_tracker, 10s));
    EXPECT_NE(::access(("/dev/shm" + std::string(r.name)).c_str(), F_OK), 0)
        << r.name << " leaked: the new tracker did not know it";
  }
  ::shm_unlink(r.name);  // whatever happened, leave nothing behind
  ::prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
}

}  // namespace
}  // namespace mproc::test
