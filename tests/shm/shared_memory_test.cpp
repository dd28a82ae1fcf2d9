// SharedMemory: create / attach across processes, the verbs, the errors, and cleanup of what a
// dead creator left.
#include <mproc/process.hpp>
#include <mproc/shared_memory.hpp>

#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <set>
#include <sys/mman.h>
#include <sys/stat.h>

#include <poll.h>
#include <sys/syscall.h>

#include "shm/tracker.hpp"
#include "shm_api_support.hpp"

namespace mproc::test {
namespace {

using SharedMemoryTest = ShmApiTest;

// Waits (at most 30 s) for the process `pid` to end, through a pidfd opened while it surely runs.
bool wait_tracker_exit(int pidfd) {
  pollfd pfd{pidfd, POLLIN, 0};
  int rc;
  while ((rc = ::poll(&pfd, 1, 30000)) < 0 && errno == EINTR) {
  }
  ::close(pidfd);
  return rc == 1;
}

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

TEST_F(SharedMemoryTest, AProcessStartedEarlierAttachesByNameAndSeesTheWrites) {
  Signal to_child, to_parent;
  Process child([&] {
    const std::string name = to_child.receive();
    SharedMemory shm = SharedMemory::attach(name);
    auto* bytes = static_cast<unsigned char*>(shm.buf());
    const bool ok = shm.size() == 8192 && bytes[0] == 0x5a && bytes[8191] == 0xa5;
    bytes[1] = 0x42;  // seen by the parent
    to_parent.send(ok ? "ok" : "bad");
    throw mproc::SystemExit(ok ? 0 : 1);
  });
  child.start();
  SharedMemory shm(test_shm_name("attach"), true, 8192);
  auto* bytes = static_cast<unsigned char*>(shm.buf());
  EXPECT_EQ(bytes[100], 0) << "a new segment is zero-filled";
  bytes[0] = 0x5a;
  bytes[8191] = 0xa5;
  to_child.send(shm.name());
  EXPECT_EQ(to_parent.receive(), "ok");
  child.join();
  EXPECT_EQ(child.exitcode(), 0);
  EXPECT_EQ(bytes[1], 0x42);
  EXPECT_TRUE(shm_exists(shm.name())) << "an attacher's close never removes the name";
  shm.close();
  EXPECT_TRUE(shm_exists(shm.name())) << "close only unmaps";
  shm.unlink();
  EXPECT_FALSE(shm_exists(shm.name()));
}

TEST_F(SharedMemoryTest, NamesWithAndWithoutTheSlashAreTheSame) {
  const std::string name = test_shm_name("slash");
  SharedMemory a = SharedMemory::create(100, name.substr(1));
  EXPECT_EQ(a.name(), name);
  SharedMemory b = SharedMemory::attach(name);
  static_cast<char*>(a.buf())[7] = 'x';
  EXPECT_EQ(static_cast<char*>(b.buf())[7], 'x');
  EXPECT_EQ(b.size(), 100u);
  EXPECT_FALSE(b.is_creator());
  EXPECT_TRUE(a.is_creator());
  a.unlink();
}

TEST_F(SharedMemoryTest, GeneratedNamesAreUniqueAndCarryThePid) {
  std::set<std::string> names;
  std::vector<SharedMemory> segments;
  for (int i = 0; i < 50; ++i) {
    segments.push_back(SharedMemory::create(64));
    EXPECT_EQ(segments.back().name().rfind("/mproc-" + std::to_string(::getpid()) + "-", 0), 0u);
    names.insert(segments.back().name());
  }
  EXPECT_EQ(names.size(), 50u);
  for (auto& s : segments) s.unlink();
}

TEST_F(SharedMemoryTest, BadArgumentsAreClearErrors) {
  expect_error([] { SharedMemory::create(0); }, std::errc::invalid_argument);
  expect_error([] { SharedMemory::create(16, "/a/b"); }, std::errc::invalid_argument);
  expect_error([] { SharedMemory::create(16, "/" + std::string(252, 'x')); },
               std::errc::invalid_argument);
  expect_error([] { SharedMemory::attach(""); }, std::errc::invalid_argument);
  expect_error([] { SharedMemory::attach("/"); }, std::errc::invalid_argument);
  // A newline would forge a line of the tracker's report; "." and ".." are directories.
  for (const char* bad : {"/x\nmproc shm tracker: removed", "..", "/.", "\r", "a\x01b"}) {
    expect_error([&] { SharedMemory::create(16, bad); }, std::errc::invalid_argument);
    expect_error([&] { SharedMemory::attach(bad); }, std::errc::invalid_argument);
  }
  expect_error([] { SharedMemory::attach(test_shm_name("missing")); },
               std::errc::no_such_file_or_directory);
  SharedMemory shm = SharedMemory::create(16, test_shm_name("exists"));
  expect_error([] { SharedMemory::create(16, test_shm_name("exists")); }, std::errc::file_exists);
  expect_error([] { SharedMemory(test_shm_name("exists"), false, 17); },
               std::errc::invalid_argument);
  shm.close();
  expect_error([&] { shm.buf(); }, errc::closed);
  EXPECT_EQ(shm.size(), 16u);
  shm.unlink();
  expect_error([&] { shm.unlink(); }, std::errc::no_such_file_or_directory);
}

TEST_F(SharedMemoryTest, LongestNameWorks) {
  const std::string prefix = test_shm_name("long-");
  const std::string name = prefix + std::string(251 - prefix.size(), 'n');
  ASSERT_EQ(name.size(), 251u);
  SharedMemory shm = SharedMemory::create(16, name);
  EXPECT_TRUE(shm_exists(name));
  shm.unlink();
}

TEST_F(SharedMemoryTest, AttachesASegmentMadeWithoutMproc) {
  // As Python's SharedMemory or any program would make it: shm_open, ftruncate, no header.
  const std::string name = test_shm_name("foreign");
  const int fd = ::shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, 3000), 0);
  ASSERT_EQ(::pwrite(fd, "hello", 5, 0), 5);
  ::close(fd);
  SharedMemory shm = SharedMemory::attach(name);
  EXPECT_EQ(shm.size(), 3000u);
  EXPECT_EQ(std::memcmp(shm.buf(), "hello", 5), 0);
  shm.unlink();
}

TEST_F(SharedMemoryTest, AnEmptySegmentIsRefusedAfterTheWait) {
  const std::string name = test_shm_name("empty");
  const int fd = ::shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ::close(fd);
  expect_error([&] { SharedMemory::attach(name); }, errc::bad_state);
  ::shm_unlink(name.c_str());
}

TEST_F(SharedMemoryTest, ANamedSegmentOfAKilledCreatorIsRemovedByItsTracker) {
  Signal to_parent;
  const std::string named = test_shm_name("killed");
  Process creator([&] {
    SharedMemory a = SharedMemory::create(4096, named);
    SharedMemory b = SharedMemory::create(4096);  // a generated name: /mproc-<child pid>-...
    static_cast<char*>(b.buf())[0] = 'k';
    to_parent.send(b.name());
    to_parent.send(std::to_string(detail::shm::tracker_pid()));
    for (;;) ::pause();
    return;
  });
  creator.start();
  const std::string generated = to_parent.receive();
  const int tracker = pidfd_open(static_cast<pid_t>(std::atol(to_parent.receive().c_str())));
  ASSERT_FALSE(generated.empty());
  ASSERT_GE(tracker, 0);
  EXPECT_TRUE(shm_exists(named));
  EXPECT_TRUE(shm_exists(generated));
  // Attached here: the memory outlives the creator, the name does not.
  SharedMemory kept = SharedMemory::attach(generated);
  creator.kill();
  creator.join();
  // The tracker notices the creator's end (its socket closes), unlinks both, and exits.
  EXPECT_TRUE(wait_tracker_exit(tracker));
  EXPECT_FALSE(shm_exists(named));
  EXPECT_FALSE(shm_exists(generated));
  EXPECT_EQ(static_cast<char*>(kept.buf())[0], 'k');
  expect_error([&] { kept.unlink(); }, std::errc::no_such_file_or_directory);
}

TEST_F(SharedMemoryTest, ACreatorThatExitsWithoutUnlinkLeavesNothing) {
  const std::string name = test_shm_name("exit");
  Signal to_parent, to_child;
  Process creator([&] {
    SharedMemory shm = SharedMemory::create(4096, name);
    shm.close();
    to_parent.send(std::to_string(detail::shm::tracker_pid()));
    throw mproc::SystemExit(to_child.receive() == "go" ? 0 : 1);  // the tracker runs until the parent watches it
  });
  creator.start();
  const int tracker = pidfd_open(static_cast<pid_t>(std::atol(to_parent.receive().c_str())));
  to_child.send("go");
  ASSERT_GE(tracker, 0);
  creator.join();
  EXPECT_EQ(creator.exitcode(), 0);
  EXPECT_TRUE(wait_tracker_exit(tracker));
  EXPECT_FALSE(shm_exists(name));
}

TEST_F(SharedMemoryTest, AForkedChildDoesNotOwnTheName) {
  SharedMemory shm = SharedMemory::create(64, test_shm_name("fork"));
  Process child([&] {
    static_cast<char*>(shm.buf())[0] = 'c';
    const bool creator = shm.is_creator();
    shm.close();
    throw mproc::SystemExit(creator ? 1 : 0);
  });
  child.start();
  child.join();
  EXPECT_EQ(child.exitcode(), 0);
  EXPECT_EQ(static_cast<char*>(shm.buf())[0], 'c');
  EXPECT_TRUE(shm_exists(shm.name()));
  shm.unlink();
}

}  // namespace
}  // namespace mproc::test
