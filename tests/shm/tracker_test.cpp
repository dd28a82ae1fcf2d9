// The tracker: names of a creator that dies (SIGKILL) are removed; the tracker is nobody's child,
// keeps nothing of its owner open or mapped, belongs to one process (not to its forked children),
// and is restarted if it dies.
#include <mproc/error.hpp>

#include <cerrno>
#include <dirent.h>
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <sstream>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shm/tracker.hpp"
#include "shm_test_support.hpp"
#include "support/signal.hpp"

namespace mproc::test {
namespace {

using detail::shm::Segment;
using detail::shm::tracker_pid;

using TrackerTest = ShmTest;

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// Waits (at most `seconds`) for the process behind `pidfd` to end.
bool wait_exit(int pidfd, int seconds) {
  pollfd pfd{pidfd, POLLIN, 0};
  int rc;
  while ((rc = ::poll(&pfd, 1, seconds * 1000)) < 0 && errno == EINTR) {
  }
  return rc == 1;
}

void reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

// SIGKILLs our child `creator` and reaps it; true once its tracker `tracker` has exited too (it
// sees EOF, unlinks what is left, and ends). The tracker's pidfd is opened before the kill, so its
// pid cannot be recycled meanwhile.
bool kill_creator_and_wait_for_tracker(pid_t creator, pid_t tracker) {
  const int pidfd = tracker > 0 ? pidfd_open(tracker) : -1;
  ::kill(creator, SIGKILL);
  reap(creator);
  const bool ended = pidfd >= 0 && wait_exit(pidfd, 30);
  if (pidfd >= 0) ::close(pidfd);
  return ended;
}

TEST_F(TrackerTest, TheTrackerIsNotOurChildAndKeepsOnlyItsSocket) {
  const pid_t tracker = tracker_pid();
  ASSERT_GT(tracker, 0);
  EXPECT_FALSE(has_children());
  // Its descriptors: stdin/stdout (/dev/null), stderr, and its socket — nothing of ours.
  std::set<int> fds;
  const std::string dir = "/proc/" + std::to_string(tracker) + "/fd";
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') fds.insert(std::atoi(e->d_name));
    ::closedir(d);
  }
  EXPECT_EQ(fds, (std::set<int>{0, 1, 2, 3}));
}

TEST_F(TrackerTest, TheTrackerKeepsNoSharedMappingOfItsOwner) {
  Signal channel, hold;  // child -> test; test -> child
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // A shared mapping exists before the tracker starts; the tracker must not pin it.
    void* shared = ::mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    Segment s = make_segment();
    channel.send(std::to_string(tracker_pid()));
    hold.receive();  // until the test has looked
    s.destroy();
    ::munmap(shared, 1 << 20);
    ::_exit(0);
  }
  const pid_t tracker = std::atoi(channel.receive().c_str());
  int shared_mappings = -1;
  if (FILE* f = std::fopen(("/proc/" + std::to_string(tracker) + "/maps").c_str(), "r")) {
    shared_mappings = 0;
    char line[512];
    while (std::fgets(line, sizeof line, f)) {
      char perms[5] = {};
      if (std::sscanf(line, "%*s %4s", perms) == 1 && perms[3] == 's') ++shared_mappings;
    }
    std::fclose(f);
  }
  hold.send("done");
  reap(child);
  EXPECT_GT(tracker, 0);
  EXPECT_EQ(shared_mappings, 0);
}

TEST_F(TrackerTest, SegmentsOfACreatorKilledBySigkillAreRemoved) {
  Signal channel, hold;  // child -> test; test -> child
  const pid_t creator = ::fork();
  ASSERT_GE(creator, 0);
  if (creator == 0) {
    Segment kept1 = make_segment();
    Segment gone = make_segment();
    Segment kept2 = make_segment(1 << 20);
    const std::string gone_name = gone.name();
    gone.destroy();  // unlinked normally: unregistered
    channel.send(std::to_string(tracker_pid()));
    channel.send(kept1.name());
    channel.send(kept2.name());
    channel.send(gone_name);
    hold.receive(std::chrono::seconds(60));  // killed while waiting here
    ::_exit(1);
  }
  const pid_t tracker = std::atoi(channel.receive().c_str());
  const std::string kept1 = channel.receive(), kept2 = channel.receive(), gone = channel.receive();
  EXPECT_NE(tracker, tracker_pid());  // the child's own tracker, not ours
  EXPECT_TRUE(shm_exists(kept1));
  EXPECT_TRUE(shm_exists(kept2));
  EXPECT_FALSE(shm_exists(gone));
  EXPECT_TRUE(kill_creator_and_wait_for_tracker(creator, tracker));
  EXPECT_FALSE(shm_exists(kept1));
  EXPECT_FALSE(shm_exists(kept2));
  EXPECT_TRUE(shm_entries_of(creator).empty());
}

TEST_F(TrackerTest, ANameUnlinkedAndCreatedAnewByAnotherProcessIsLeftToIt) {
  Signal channel, hold;
  const pid_t creator = ::fork();
  ASSERT_GE(creator, 0);
  if (creator == 0) {
    Segment mine = make_segment();
    channel.send(std::to_string(tracker_pid()));
    channel.send(mine.name());
    hold.receive(std::chrono::seconds(60));  // killed while waiting here
    ::_exit(1);
  }
  const pid_t tracker = std::atoi(channel.receive().c_str());
  const std::string name = channel.receive();
  ASSERT_TRUE(shm_exists(name));
  // Someone else unlinks the creator's segment, and a third process creates the same name.
  ASSERT_EQ(::shm_unlink(name.c_str()), 0);
  const int fd = ::shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ::close(fd);
  EXPECT_TRUE(kill_creator_and_wait_for_tracker(creator, tracker));
  EXPECT_TRUE(shm_exists(name)) << "the dead creator's tracker removed another process's file";
  ::shm_unlink(name.c_str());
}

TEST_F(TrackerTest, AForkedChildDoesNotKeepItsParentsTrackerAlive) {
  // creator forks a grandchild that outlives it; the grandchild inherited every descriptor of the
  // creator, but not the tracker's socket (closed at fork), so the creator's death still counts.
  Signal channel, from_grandchild, hold, release;
  const pid_t creator = ::fork();
  ASSERT_GE(creator, 0);
  if (creator == 0) {
    Segment s = make_segment();
    const pid_t grandchild = ::fork();
    if (grandchild == 0) {
      from_grandchild.send(std::to_string(tracker_pid()));  // none until it needs one
      release.receive(std::chrono::seconds(60));
      ::_exit(0);
    }
    channel.send(std::to_string(grandchild));
    channel.send(std::to_string(tracker_pid()));
    channel.send(s.name());
    hold.receive(std::chrono::seconds(60));  // killed while waiting here
    ::_exit(1);
  }
  const pid_t grandchild = std::atoi(channel.receive().c_str());
  const pid_t tracker = std::atoi(channel.receive().c_str());
  const std::string name = channel.receive();
  EXPECT_EQ(from_grandchild.receive(), "0");
  const int grandchild_fd = grandchild > 0 ? pidfd_open(grandchild) : -1;
  EXPECT_TRUE(kill_creator_and_wait_for_tracker(creator, tracker));  // the grandchild still runs
  EXPECT_FALSE(shm_exists(name));
  release.send("go");
  // The grandchild was re-parented (to init or a subreaper): not ours to reap; wait for its end.
  EXPECT_GE(grandchild_fd, 0);
  if (grandchild_fd >= 0) {
    EXPECT_TRUE(wait_exit(grandchild_fd, 30));
  }
  if (grandchild_fd >= 0) ::close(grandchild_fd);
}

TEST_F(TrackerTest, AKilledTrackerIsReplacedAndToldEveryName) {
  Signal channel, hold;  // child -> test; test -> child
  const pid_t creator = ::fork();
  ASSERT_GE(creator, 0);
  if (creator == 0) {
    Segment first = make_segment();
    const pid_t old_tracker = tracker_pid();
    const int old_fd = pidfd_open(old_tracker);
    ::kill(old_tracker, SIGKILL);
    wait_exit(old_fd, 30);
    ::close(old_fd);
    Segment second = make_segment();  // finds the tracker gone: starts another, re-registers
    channel.send(std::to_string(old_tracker));
    channel.send(std::to_string(tracker_pid()));
    channel.send(first.name());
    channel.send(second.name());
    hold.receive(std::chrono::seconds(60));  // killed while waiting here
    ::_exit(1);
  }
  const pid_t old_tracker = std::atoi(channel.receive().c_str());
  const pid_t tracker = std::atoi(channel.receive().c_str());
  const std::string first = channel.receive(), second = channel.receive();
  EXPECT_NE(tracker, old_tracker);
  EXPECT_TRUE(shm_exists(first));
  EXPECT_TRUE(shm_exists(second));
  EXPECT_TRUE(kill_creator_and_wait_for_tracker(creator, tracker));
  EXPECT_FALSE(shm_exists(first));  // registered with the first tracker, then again with the new
  EXPECT_FALSE(shm_exists(second));
}

TEST_F(TrackerTest, NamesTooLongToTrackAreRefused) {
  try {
    detail::shm::track("/" + std::string(300, 'x'));
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), std::make_error_code(std::errc::invalid_argument));
  }
}

}  // namespace
}  // namespace mproc::test
