// Promise: a killed segment tracker is replaced at once (its owner watches it through a pidfd)
// and told every live name, so that the owner's segments are removed when the owner dies later —
// even if the owner creates no segment in between (the tracker used to be restarted only then).
#include <mproc/log.hpp>
#include <mproc/shared_memory.hpp>

#include <atomic>
#include <string_view>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <sys/mman.h>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <sys/stat.h>
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
  bool checked = false;  // the test's own check, made in the owner
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

// Waits (polled, bounded: there is no event for "the tracker was replaced") for a tracker other
// than `old`; 0 if none came within 2 s.
pid_t replacement_of(pid_t old) {
  const detail::Deadline deadline(2s);
  while (!deadline.expired()) {
    const pid_t now = detail::shm::tracker_pid();
    if (now != 0 && now != old) return now;
    std::this_thread::sleep_for(1ms);
  }
  return 0;
}

// Runs `body` in a forked owner (it creates a segment and fills the Report), then SIGKILLs the
// owner. The test process is a subreaper meanwhile, so that the owner's trackers (double-forked)
// become its children to wait for and reap.
template <class Body>
bool run_owner(Body body, Report& r) {
  EXPECT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
  int report_pipe[2];
  EXPECT_EQ(::pipe2(report_pipe, O_CLOEXEC), 0);
  const pid_t owner = ::fork();
  EXPECT_GE(owner, 0);
  if (owner == 0) {
    ::close(report_pipe[0]);
    Report mine;
    body(mine);
    if (::write(report_pipe[1], &mine, sizeof mine) != sizeof mine) ::_exit(1);
    for (;;) ::pause();  // killed while waiting here
  }
  ::close(report_pipe[1]);
  pollfd p{report_pipe[0], POLLIN, 0};
  const bool reported =
      ::poll(&p, 1, 60'000) > 0 && ::read(report_pipe[0], &r, sizeof r) == sizeof r;
  ::close(report_pipe[0]);
  ::kill(owner, SIGKILL);
  ::waitpid(owner, nullptr, 0);
  return reported;
}

// After the owner's death: the old tracker ended, a new one replaced it, saw the owner die and
// removed the owner's segment.
void expect_replaced_and_cleaned(const Report& r) {
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

// The descriptor number of this process's pidfd for `pid` (its fdinfo names the pid), or -1.
int pidfd_number_of(pid_t pid) {
  const std::string wanted = "Pid:\t" + std::to_string(pid) + "\n";
  for (int fd = 3; fd < 1024; ++fd) {
    std::ifstream info("/proc/self/fdinfo/" + std::to_string(fd));
    const std::string text((std::istreambuf_iterator<char>(info)),
                           std::istreambuf_iterator<char>());
    if (text.find(wanted) != std::string::npos) return fd;
  }
  return -1;
}

class TrackerFault : public FaultTest {};

TEST_F(TrackerFault, AKilledTrackerIsReplacedAtOnceAndTheOwnersSegmentsAreStillRemoved) {
  Report r;
  ASSERT_TRUE(run_owner(
      [](Report& mine) {
        auto segment = SharedMemory::create(4096);  // the owner's only segment; never unlinked
        std::snprintf(mine.name, sizeof mine.name, "%s", segment.name().c_str());
        mine.old_tracker = detail::shm::tracker_pid();
        ::kill(mine.old_tracker, SIGKILL);
        // The owner does nothing with segments now; its watcher alone must replace the tracker.
        mine.new_tracker = replacement_of(mine.old_tracker);
      },
      r));
  expect_replaced_and_cleaned(r);
}

// A program that closes a descriptor it does not own (a close-every-fd loop) may get the
// tracker's pidfd number back for a file of its own. The watcher, still asleep on the old pidfd,
// wakes when the tracker dies: it must replace the tracker without closing the program's file.
TEST_F(TrackerFault, ThePidfdsNumberReusedByTheProgramIsNeverClosedByTheWatcher) {
  Report r;
  ASSERT_TRUE(run_owner(
      [](Report& mine) {
        auto segment = SharedMemory::create(4096);
        std::snprintf(mine.name, sizeof mine.name, "%s", segment.name().c_str());
        mine.old_tracker = detail::shm::tracker_pid();
        const int number = pidfd_number_of(mine.old_tracker);
        const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (number < 0 || null < 0 || ::dup2(null, number) != number) ::_exit(2);
        ::close(null);
        struct stat before {};
        ::fstat(number, &before);
        ::kill(mine.old_tracker, SIGKILL);
        mine.new_tracker = replacement_of(mine.old_tracker);
        struct stat after {};
        mine.checked = ::fstat(number, &after) == 0 && after.st_ino == before.st_ino &&
                       after.st_dev == before.st_dev;
      },
      r));
  EXPECT_TRUE(r.checked) << "the watcher closed a descriptor the program owned";
  expect_replaced_and_cleaned(r);
}

// The watcher logs when it replaces a killed tracker. A host's log handler may call the library
// back, creating a segment, which takes the tracker's lock: the watcher must log after releasing
// it (it used to log holding it, and such a handler deadlocked the watcher).
std::atomic<int> g_segments_made_by_the_handler{0};

TEST_F(TrackerFault, ALogHandlerThatCreatesASegmentDoesNotDeadlockTheWatcher) {
  Report r;
  ASSERT_TRUE(run_owner(
      [](Report& mine) {
        set_log_handler([](LogLevel, std::string_view message) {
          if (message.find("shm tracker") == std::string_view::npos) return;
          SharedMemory::create(64).unlink();  // takes the tracker's lock
          g_segments_made_by_the_handler.fetch_add(1);
        });
        auto segment = SharedMemory::create(4096);
        std::snprintf(mine.name, sizeof mine.name, "%s", segment.name().c_str());
        mine.old_tracker = detail::shm::tracker_pid();
        ::kill(mine.old_tracker, SIGKILL);
        mine.new_tracker = replacement_of(mine.old_tracker);
        // The handler's segment was made once the watcher logged, after the replacement.
        const detail::Deadline deadline(2s);
        while (g_segments_made_by_the_handler.load() == 0 && !deadline.expired())
          std::this_thread::sleep_for(1ms);
        mine.checked = g_segments_made_by_the_handler.load() > 0;
      },
      r));
  EXPECT_TRUE(r.checked) << "the log handler never finished: the watcher logged holding its lock";
  expect_replaced_and_cleaned(r);
}

}  // namespace
}  // namespace mproc::test
