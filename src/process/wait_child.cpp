// mproc::wait_child: reaping a child made with the raw mproc::fork(), so user code needs no
// ::waitpid. It waits on that one pid (waitid(P_PIDFD) on a pidfd of its own), never on -1.
#include <mproc/process.hpp>

#include <cerrno>
#include <sys/wait.h>
#include <unistd.h>

#include "base/deadline.hpp"
#include "process/child_registry.hpp"
#include "process/pidfd.hpp"

namespace mproc {
namespace {

// Owns a pidfd for the duration of one wait.
class PidfdGuard {
 public:
  explicit PidfdGuard(int fd) noexcept : fd_(fd) {}
  ~PidfdGuard() {
    if (fd_ >= 0) ::close(fd_);
  }
  PidfdGuard(const PidfdGuard&) = delete;
  PidfdGuard& operator=(const PidfdGuard&) = delete;
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

std::optional<int> wait_child_until(pid_t pid, const detail::Deadline& deadline) {
  if (pid <= 0) throw_errno(EINVAL,
                            "wait_child: pid " + std::to_string(pid) + " is not a process id");
  if (detail::ChildRegistry::instance().is_registered(pid))
    throw Error(errc::bad_state, "wait_child: pid " + std::to_string(pid) +
                                     " was started by a Process: join it instead");
  // pidfd_open(2) also opens a zombie; ESRCH means no such process at all.
  PidfdGuard pidfd(detail::pidfd_open(pid));
  if (pidfd.get() < 0)
    throw_errno(errno, "wait_child: pidfd_open of pid " + std::to_string(pid));
  siginfo_t info{};
  // Look without reaping, so that a process that is not our child is refused at once (ECHILD)
  // instead of being waited for.
  while (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd.get()), &info,
                  WEXITED | WNOHANG | WNOWAIT) != 0) {
    if (errno != EINTR) throw_errno(errno, "wait_child: waitid for pid " + std::to_string(pid));
  }
  if (!detail::wait_readable(pidfd.get(), deadline)) return std::nullopt;
  while (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd.get()), &info,
                  WEXITED) != 0) {
    // ECHILD: not our child (or someone else reaped it first).
    if (errno != EINTR) throw_errno(errno, "wait_child: waitid for pid " + std::to_string(pid));
  }
  return info.si_code == CLD_EXITED ? info.si_status : -info.si_status;
}

}  // namespace

int wait_child(pid_t pid) { return *wait_child_until(pid, detail::Deadline()); }

std::optional<int> wait_child(pid_t pid, Seconds timeout) {
  detail::check_timeout(timeout, "wait_child");
  return wait_child_until(pid, detail::Deadline(timeout));
}

}  // namespace mproc
