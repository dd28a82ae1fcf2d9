#include <mproc/process.hpp>

#include <cerrno>
#include <sched.h>
#include <unistd.h>

#include "base/guarded_fork.hpp"

namespace mproc {

pid_t fork() {
  // Python's os.fork does not flush stdio: neither does this.
  detail::ForkGuard guard(detail::ForkGuard::Stdio::leave);
  const pid_t pid = guard.fork();
  if (pid == 0) guard.restore_signals();
  if (pid < 0) throw_errno(errno, "fork");
  return pid;
}

int cpu_count() {
  const long configured = ::sysconf(_SC_NPROCESSORS_CONF);
  const int max_cpus = configured > 0 ? static_cast<int>(configured) : 1024;
  cpu_set_t* set = CPU_ALLOC(max_cpus);
  if (set != nullptr) {
    const size_t size = CPU_ALLOC_SIZE(max_cpus);
    CPU_ZERO_S(size, set);
    const int count = ::sched_getaffinity(0, size, set) == 0 ? CPU_COUNT_S(size, set) : 0;
    CPU_FREE(set);
    if (count > 0) return count;
  }
  const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
  return online > 0 ? static_cast<int>(online) : 1;
}

}  // namespace mproc
