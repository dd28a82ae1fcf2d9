#include <mproc/process.hpp>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cxxabi.h>
#include <pthread.h>
#include <sys/wait.h>
#include <typeinfo>
#include <unistd.h>

#include "base/deadline.hpp"
#include "base/fork_handlers.hpp"
#include "base/guarded_fork.hpp"
#include "log/logger.hpp"
#include "process/child_registry.hpp"
#include "process/current_process.hpp"
#include "process/parent_watch.hpp"
#include "process/pidfd.hpp"

namespace mproc {
namespace {

std::string demangled_type_name(const std::type_info& type) {
  int status = 0;
  char* name = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  std::string result = status == 0 && name ? name : type.name();
  std::free(name);
  return result;
}

}  // namespace

Process::Process() : identity_(detail::next_child_identity()) { name_ = "Process-" + identity_; }

Process::~Process() { detach(); }

Process::Process(Process&& other) noexcept
    : target_(std::move(other.target_)),
      name_(std::move(other.name_)),
      identity_(std::move(other.identity_)),
      daemon_(other.daemon_),
      die_with_parent_(other.die_with_parent_),
      closed_(other.closed_),
      parent_pid_(other.parent_pid_),
      child_(std::move(other.child_)) {}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    detach();
    target_ = std::move(other.target_);
    name_ = std::move(other.name_);
    identity_ = std::move(other.identity_);
    daemon_ = other.daemon_;
    die_with_parent_ = other.die_with_parent_;
    closed_ = other.closed_;
    parent_pid_ = other.parent_pid_;
    child_ = std::move(other.child_);
  }
  return *this;
}

void Process::detach() noexcept {
  // In a forked sibling the copy of this object is not the child's owner: leave it alone.
  if (!child_ || parent_pid_ != detail::own_pid()) return;
  // As Python: the child runs on; the registry reaps it once it ends and joins (or, for a daemon,
  // terminates) it at normal exit.
  detail::ChildRegistry::instance().detach(*child_);
  child_.reset();
}

void Process::check_usable(const char* operation) const {
  if (closed_) throw Error(errc::closed, std::string(operation) + ": " + name_ + " is closed");
  if (!child_)
    throw Error(errc::bad_state, std::string(operation) + ": " + name_ + " has not been started");
  if (parent_pid_ != detail::own_pid())
    throw Error(errc::bad_state,
                std::string(operation) + ": " + name_ + " is not a child of this process");
}

void Process::start() {
  if (closed_) throw Error(errc::closed, "start: " + name_ + " is closed");
  if (child_) throw Error(errc::bad_state, "start: " + name_ + " was already started");
  if (detail::self().daemon)
    throw Error(errc::bad_state,
                "start: daemonic processes are not allowed to have children (" + name_ + ")");
  auto& registry = detail::ChildRegistry::instance();
  registry.reap_ended();  // as Python's start() does

  // As Python does: flush what the parent printed so far, or the child inherits the unwritten
  // buffer and prints it a second time when it flushes at exit. With every signal blocked, no
  // handler can run in the child before it knows who it is (run_child restores the mask).
  detail::ForkGuard guard(detail::ForkGuard::Stdio::flush);
  const pid_t parent_pid = detail::own_pid();
  const std::string parent_name = detail::self().name;
  const pid_t pid = [&guard] {
    // The fork handlers may take references for the child: filed under its pid just below and
    // given back when the registry reaps it (or at once if the fork failed).
    const detail::ReleasingChildFork releasing;
    return guard.fork();
  }();
  if (pid == 0) run_child(guard.saved_mask(), parent_pid, parent_name);
  const int fork_errno = errno;
  detail::adopt_fork_references(pid);
  if (pid < 0) throw_errno(fork_errno, "fork for " + name_);

  const int pidfd = detail::pidfd_open(pid);
  if (pidfd < 0) {
    // Without a pidfd the child cannot be tracked safely: do not leave it running untracked.
    const int open_errno = errno;
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    detail::release_child_references(pid);
    throw_errno(open_errno, "pidfd_open for " + name_);
  }
  parent_pid_ = parent_pid;
  child_ = std::make_shared<detail::ChildState>(pid, pidfd, name_, daemon_, parent_pid);
  registry.add(child_);
  // As Python's start() does: the target and its arguments are the child's now. Dropping the
  // parent's copies closes, for example, a pipe end the Process was given (see the constructor).
  target_.reset();
  detail::logger(LogCategory::process).debug("started {} (pid {})", name_, pid);
}

void Process::run_child(const void* saved_signal_mask, pid_t parent_pid,
                        const std::string& parent_name) {
  detail::become_child(name_, identity_, daemon_, parent_pid, parent_name);
  if (die_with_parent_) detail::die_with_parent(parent_pid);
  ::pthread_sigmask(SIG_SETMASK, static_cast<const sigset_t*>(saved_signal_mask), nullptr);
  int code = 0;
  try {
    run();  // as Python: returning is exit code 0, whatever the target returned
  } catch (const SystemExit& exit) {
    code = exit.code();
  } catch (const std::exception& e) {
    detail::logger(LogCategory::process)
        .error("{}: uncaught exception {}: {}", name_, demangled_type_name(typeid(e)), e.what());
    code = 1;
  } catch (...) {
    detail::logger(LogCategory::process)
        .error("{}: uncaught exception of a type not derived from std::exception", name_);
    code = 1;
  }
  // As Python's child does: flush what was printed, finish our own children, then leave without
  // running the parent's atexit handlers or static destructors. (C++ streams that hold nothing of
  // their own are not flushed: fflush(nullptr) writes what their C streams hold.)
  detail::flush_standard_streams();
  std::fflush(nullptr);
  detail::ChildRegistry::instance().finish_at_exit();
  detail::run_exit_handlers();  // what this child holds as its own
  ::_exit(code & 0xff);
}

void Process::run() {
  if (target_) target_->call();
}

void Process::join() {
  check_usable("join");
  detail::wait_readable(child_->pidfd, detail::Deadline());
  detail::ChildRegistry::instance().reap_blocking(*child_);
}

bool Process::join(Seconds timeout) {
  detail::check_timeout(timeout, "join");
  check_usable("join");
  if (!detail::wait_readable(child_->pidfd, detail::Deadline(timeout))) return false;
  detail::ChildRegistry::instance().reap_blocking(*child_);
  return true;
}

bool Process::is_alive() {
  if (closed_) throw Error(errc::closed, "is_alive: " + name_ + " is closed");
  if (!child_) return false;
  check_usable("is_alive");
  return !detail::ChildRegistry::instance().try_reap(*child_);
}

std::optional<pid_t> Process::pid() const noexcept {
  if (!child_) return std::nullopt;
  return child_->pid;
}

std::optional<int> Process::exitcode() {
  if (closed_) throw Error(errc::closed, "exitcode: " + name_ + " is closed");
  if (!child_) return std::nullopt;
  check_usable("exitcode");
  return detail::ChildRegistry::instance().try_reap(*child_);
}

void Process::terminate() {
  check_usable("terminate");
  detail::signal_child(*child_, SIGTERM);
}

void Process::kill() {
  check_usable("kill");
  detail::signal_child(*child_, SIGKILL);
}

int Process::sentinel() const {
  check_usable("sentinel");
  return child_->pidfd;
}

void Process::close() {
  if (closed_) return;
  if (child_) {
    check_usable("close");
    if (!detail::ChildRegistry::instance().try_reap(*child_))
      throw Error(errc::bad_state, "close: " + name_ + " is still running");
    detail::ChildRegistry::instance().release(*child_);
  }
  closed_ = true;
}

void Process::set_name(std::string name) { name_ = std::move(name); }

void Process::set_die_with_parent(bool die) {
  if (child_) throw Error(errc::bad_state, "set_die_with_parent: " + name_ + " was already started");
  die_with_parent_ = die;
}

void Process::set_daemon(bool daemon) {
  if (child_) throw Error(errc::bad_state, "set_daemon: " + name_ + " was already started");
  daemon_ = daemon;
}

}  // namespace mproc
