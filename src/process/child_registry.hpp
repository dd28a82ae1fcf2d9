// The children this process started whose Process objects still exist (so whose pidfds are still
// open), reaped or not, and the detached ones (their Process object was destroyed while they ran)
// until they are reaped. Every reap goes through here, under
// one lock, with waitid(P_PIDFD) on the child's own pidfd: never waitpid(-1), so children that other
// code started are never stolen, and a recycled pid is never signalled or waited for.
//
// Fork safety: the lock is taken before fork by the library's fork handlers (base/fork_handlers.hpp, ForkStage::child_registry)
// and released after fork in both processes; in the child the registry is emptied and the parent's pidfds are closed, because
// the parent's children are not the child's.
#pragma once

#include <mproc/process.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace mproc::detail {

// This process's pid, without a system call per question (glibc no longer caches getpid()): read
// once, forgotten in every child of fork(2) by the registry's fork handler. A child created by a
// raw clone(2) that bypasses the fork handlers would see its parent's pid: the library never does.
pid_t own_pid() noexcept;

struct ChildState {
  ChildState(pid_t pid_, int pidfd_, std::string name_, bool daemon_, pid_t owner_)
      : pid(pid_), pidfd(pidfd_), name(std::move(name_)), daemon(daemon_), owner(owner_) {}
  ChildState(const ChildState&) = delete;
  ChildState& operator=(const ChildState&) = delete;

  const pid_t pid;
  int pidfd;  // -1 once released, or in a forked child where it belongs to the parent
  const std::string name;
  const bool daemon;
  const pid_t owner;              // the process that forked it
  std::optional<int> exit_code;   // guarded by the registry's lock
  bool detached = false;          // its Process object is gone; guarded by the registry's lock
};

class ChildRegistry {
 public:
  static ChildRegistry& instance();

  void add(std::shared_ptr<ChildState> child);
  // Closes the child's pidfd and forgets it; the child must have been reaped.
  void release(ChildState& child);
  // The child's Process object is going away while the child may still run (Python's semantics:
  // the child runs on). The registry keeps it, reaps it when it has ended (at the next start(),
  // active_children() or detach, as Python's _cleanup does) and finishes it at exit like any other.
  void detach(ChildState& child);
  // Reaps the child if it has ended (without blocking); returns its exit code if it has.
  std::optional<int> try_reap(ChildState& child);
  // Waits (the child is known to have ended, or `block` asks to wait for it) and reaps.
  int reap_blocking(ChildState& child);
  // Reaps what has ended; returns the children still running.
  std::vector<ProcessInfo> active_children();
  // Reaps what has ended, as active_children() does, without listing the rest.
  void reap_ended();
  // True if `pid` is one of our children that is still running.
  bool is_running_child(pid_t pid);
  // True if `pid` was started by a Process of this process and is tracked here.
  bool is_registered(pid_t pid);
  // SIGTERM, wait up to `grace`, SIGKILL, reap. No effect on a reaped child.
  void stop(ChildState& child, Seconds grace);
  // At normal exit: terminate daemon children, join the others (Python's _exit_function).
  void finish_at_exit();

  // For the fork hooks.
  void lock_for_fork() { mutex_.lock(); }
  void unlock_after_fork_in_parent() { mutex_.unlock(); }
  void reset_after_fork_in_child();

 private:
  ChildRegistry();
  // Records the status from waitid. Caller holds mutex_.
  int record_exit_locked(ChildState& child, int how, int status);
  std::optional<int> try_reap_locked(ChildState& child);
  void release_locked(ChildState& child);
  // Reaps and forgets the detached children that have ended. Caller holds mutex_.
  void reap_detached_locked() noexcept;

  std::mutex mutex_;
  std::vector<std::shared_ptr<ChildState>> children_;
};

// Sends `signal` through the pidfd; a child that has already exited is not an error.
void signal_child(const ChildState& child, int signal);

}  // namespace mproc::detail
