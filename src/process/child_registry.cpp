#include "process/child_registry.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <sys/wait.h>
#include <unistd.h>

#include "base/deadline.hpp"
#include "base/fork_handlers.hpp"
#include "log/logger.hpp"
#include "process/pidfd.hpp"

namespace mproc::detail {
namespace {

void finish_children_at_exit() { ChildRegistry::instance().finish_at_exit(); }

int exit_code_from(int how, int status) {
  return how == CLD_EXITED ? status : -status;
}

// Created, and its fork handlers registered (ForkStage::child_registry, the outermost lock), when
// the library is loaded: before any thread of the program can hold its lock.
const bool g_fork_handlers_registered = [] {
  ChildRegistry::instance();
  register_fork_handlers(ForkStage::child_registry,
                         {+[] { ChildRegistry::instance().lock_for_fork(); },
                          +[] { ChildRegistry::instance().unlock_after_fork_in_parent(); },
                          +[] { ChildRegistry::instance().reset_after_fork_in_child(); }});
  return true;
}();

// 0: not read yet in this process (a forked child starts with 0, see reset_after_fork_in_child).
std::atomic<pid_t> g_own_pid{0};

}  // namespace

pid_t own_pid() noexcept {
  pid_t pid = g_own_pid.load(std::memory_order_relaxed);
  if (pid == 0) {
    pid = ::getpid();
    g_own_pid.store(pid, std::memory_order_relaxed);
  }
  return pid;
}

ChildRegistry& ChildRegistry::instance() {
  // Never destroyed: atexit handlers and late destructors may still reap through it.
  static ChildRegistry* registry = new ChildRegistry;
  return *registry;
}

ChildRegistry::ChildRegistry() {
  std::atexit(finish_children_at_exit);
}

void ChildRegistry::add(std::shared_ptr<ChildState> child) {
  std::lock_guard lock(mutex_);
  reap_detached_locked();
  children_.push_back(std::move(child));
}

int ChildRegistry::record_exit_locked(ChildState& child, int how, int status) {
  child.exit_code = exit_code_from(how, status);
  // Reaped: nothing of the child runs any more, so what was taken for it at fork can go.
  release_child_references(child.pid);
  logger(LogCategory::process)
      .debug("{} (pid {}) ended with exit code {}", child.name, child.pid, *child.exit_code);
  return *child.exit_code;
}

void ChildRegistry::release(ChildState& child) {
  std::lock_guard lock(mutex_);
  release_locked(child);
}

void ChildRegistry::release_locked(ChildState& child) {
  if (child.pidfd >= 0) ::close(child.pidfd);
  child.pidfd = -1;
  std::erase_if(children_, [&](const auto& c) { return c.get() == &child; });
}

void ChildRegistry::detach(ChildState& child) {
  std::lock_guard lock(mutex_);
  child.detached = true;
  reap_detached_locked();
}

// No allocation here: it runs from destructors (~Process, through detach()), where a bad_alloc
// could only end in std::terminate. Ended children are erased in place.
void ChildRegistry::reap_detached_locked() noexcept {
  std::erase_if(children_, [this](const std::shared_ptr<ChildState>& child) noexcept {
    if (!child->detached) return false;
    try {
      if (!try_reap_locked(*child)) return false;
    } catch (const std::exception& e) {
      // waitid failing on our own pidfd should not happen; forget the child rather than retry
      // forever.
      try {
        logger(LogCategory::process)
            .error("could not reap detached child {} (pid {}): {}", child->name, child->pid,
                   e.what());
      } catch (...) {
        // the line is lost; the child is still forgotten
      }
    }
    if (child->pidfd >= 0) ::close(child->pidfd);
    child->pidfd = -1;
    return true;
  });
}

std::optional<int> ChildRegistry::try_reap_locked(ChildState& child) {
  if (child.exit_code) return child.exit_code;
  siginfo_t info{};
  for (;;) {
    if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(child.pidfd), &info,
                 WEXITED | WNOHANG) == 0)
      break;
    if (errno == EINTR) continue;
    throw_errno(errno, "waitid on the pidfd of " + child.name);
  }
  if (info.si_pid == 0) return std::nullopt;  // still running
  return record_exit_locked(child, info.si_code, info.si_status);
}

std::optional<int> ChildRegistry::try_reap(ChildState& child) {
  std::lock_guard lock(mutex_);
  return try_reap_locked(child);
}

int ChildRegistry::reap_blocking(ChildState& child) {
  std::lock_guard lock(mutex_);
  if (child.exit_code) return *child.exit_code;
  siginfo_t info{};
  // Holding the lock while blocking is fine here: callers come after the pidfd became readable
  // (the child has exited) or after SIGKILL, so the wait is short.
  while (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(child.pidfd), &info,
                  WEXITED) != 0) {
    if (errno != EINTR) throw_errno(errno, "waitid on the pidfd of " + child.name);
  }
  return record_exit_locked(child, info.si_code, info.si_status);
}

std::vector<ProcessInfo> ChildRegistry::active_children() {
  std::lock_guard lock(mutex_);
  reap_detached_locked();
  std::vector<ProcessInfo> running;
  for (const auto& child : children_)
    if (!try_reap_locked(*child)) running.emplace_back(child->name, child->pid, child->daemon);
  return running;
}

void ChildRegistry::reap_ended() {
  std::lock_guard lock(mutex_);
  reap_detached_locked();
  for (const auto& child : children_) try_reap_locked(*child);
}

bool ChildRegistry::is_running_child(pid_t pid) {
  std::lock_guard lock(mutex_);
  for (const auto& child : children_)
    if (child->pid == pid) return !try_reap_locked(*child);
  return false;
}

bool ChildRegistry::is_registered(pid_t pid) {
  std::lock_guard lock(mutex_);
  return std::any_of(children_.begin(), children_.end(),
                     [&](const auto& child) { return child->pid == pid; });
}

void signal_child(const ChildState& child, int signal) {
  if (pidfd_send_signal(child.pidfd, signal) != 0 && errno != ESRCH)
    throw_errno(errno, "pidfd_send_signal to " + child.name);
}

void ChildRegistry::stop(ChildState& child, Seconds grace) {
  if (try_reap(child)) return;
  signal_child(child, SIGTERM);
  if (!wait_readable(child.pidfd, Deadline(grace))) {
    logger(LogCategory::process)
        .warn("{} (pid {}) did not end within {:.1f} s of SIGTERM; sending SIGKILL", child.name,
              child.pid, grace.count());
    signal_child(child, SIGKILL);
  }
  reap_blocking(child);
}

void ChildRegistry::finish_at_exit() {
  std::vector<std::shared_ptr<ChildState>> snapshot;
  {
    std::lock_guard lock(mutex_);
    snapshot = children_;
  }
  for (const auto& child : snapshot) {
    if (child->owner != own_pid() || child->exit_code) continue;
    try {
      if (child->daemon) {
        stop(*child, Seconds(1.0));
      } else {
        logger(LogCategory::process)
            .debug("waiting for non-daemon child {} (pid {}) before exit", child->name, child->pid);
        wait_readable(child->pidfd, Deadline());
        reap_blocking(*child);
      }
    } catch (const std::exception& e) {
      logger(LogCategory::process)
          .error("at exit, could not finish {} (pid {}): {}", child->name, child->pid, e.what());
    }
  }
}

void ChildRegistry::reset_after_fork_in_child() {
  g_own_pid.store(0, std::memory_order_relaxed);  // a new process: read its pid when asked
  // The parent's pidfds were inherited; they are the parent's business, not ours.
  for (const auto& child : children_) {
    ::close(child->pidfd);
    child->pidfd = -1;
  }
  children_.clear();
  mutex_.unlock();
}

}  // namespace mproc::detail
