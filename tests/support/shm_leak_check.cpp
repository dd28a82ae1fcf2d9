#include "support/shm_leak_check.hpp"

#include <mproc/shared_memory.hpp>

#include <dirent.h>
#include <unistd.h>

#include <cstring>

namespace mproc::test {

std::vector<std::string> shm_entries_of(pid_t pid) {
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

bool shm_exists(const std::string& name) {
  return ::access(("/dev/shm" + name).c_str(), F_OK) == 0;
}

void ShmLeakCheckedTest::SetUp() {
  SharedMemory::create(1).unlink();  // starts the tracker
  LeakCheckedTest::SetUp();
  const auto before = shm_entries_of(::getpid());
  shm_before_.insert(before.begin(), before.end());
  EXPECT_TRUE(shm_before_.empty()) << "a segment of this process existed before the test";
}

void ShmLeakCheckedTest::TearDown() {
  LeakCheckedTest::TearDown();
  for (const auto& name : shm_entries_of(::getpid()))
    if (shm_before_.count(name) == 0) ADD_FAILURE() << "the test left /dev/shm/" << name;
}

}  // namespace mproc::test
