// Which /dev/shm names exist: for tests that check that nothing of theirs is left behind.
#pragma once

#include <dirent.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

namespace mproc::test {

// The /dev/shm entries created by process `pid` (names /mproc-<pid>-...).
inline std::vector<std::string> shm_entries_of(pid_t pid) {
  std::vector<std::string> found;
  const std::string prefix = "mproc-" + std::to_string(pid) + "-";
  DIR* dir = ::opendir("/dev/shm");
  if (dir == nullptr) return found;
  while (const dirent* entry = ::readdir(dir))
    if (std::strncmp(entry->d_name, prefix.c_str(), prefix.size()) == 0)
      found.emplace_back(entry->d_name);
  ::closedir(dir);
  return found;
}

// True if the segment `name` ("/mproc-...") exists.
inline bool shm_exists(const std::string& name) {
  return ::access(("/dev/shm" + name).c_str(), F_OK) == 0;
}

}  // namespace mproc::test
