#include "support/leak_check.hpp"

#include <mproc/process.hpp>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <dirent.h>
#include <sys/wait.h>

namespace mproc::test {

std::set<int> open_fds() {
  std::set<int> fds;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return fds;
  const int own = ::dirfd(dir);
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    const int fd = std::atoi(entry->d_name);
    if (fd != own) fds.insert(fd);
  }
  ::closedir(dir);
  return fds;
}

bool has_children() {
  siginfo_t info{};
  // WNOWAIT: look without reaping. ECHILD means there is no child at all.
  return ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0 || errno != ECHILD;
}

void LeakCheckedTest::SetUp() { fds_before_ = open_fds(); }

void LeakCheckedTest::TearDown() {
  EXPECT_FALSE(has_children()) << "the test left a child process (running or zombie)";
  // A test that failed half-way may have dropped a Process whose child still runs: detached, it
  // would be joined at exit and hang the whole binary. Kill what is left (our unreaped children,
  // so their pids cannot have been reused) and let the library reap them.
  for (const auto& child : mproc::active_children()) ::kill(child.pid(), SIGKILL);
  while (!mproc::active_children().empty()) {
    siginfo_t info{};
    ::waitid(P_ALL, 0, &info, WEXITED | WNOWAIT);  // until one of them has ended
  }
  const auto fds_after = open_fds();
  for (int fd : fds_after)
    EXPECT_TRUE(fds_before_.count(fd)) << "the test leaked file descriptor " << fd;
}

}  // namespace mproc::test
