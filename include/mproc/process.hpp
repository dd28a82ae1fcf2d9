// Processes: Python's os.fork / multiprocessing.Process, natively.
//
// A Process runs a callable (or an overridden run()) in a forked child. The child is a copy of the
// parent, so a lambda with captures, a function pointer or a bound object all work; the child runs
// its copy and never returns into the parent's code: after the target it flushes stdio and calls
// _exit. As in Python, the target's return value is ignored and the child exits with code 0;
// throwing mproc::SystemExit{n} (Python's sys.exit(n)) ends it with code n; an exception escaping
// the target is logged (type and message) and the child exits with code 1.
//
// Reaping: children are tracked through a pidfd (pidfd_open(2)), never with waitpid(-1), so the
// library never steals another component's children and never changes signal dispositions.
// Destroying a Process whose child is still running detaches it, as Python does when a Process
// object is dropped: the child runs on, and the library reaps it once it has ended (at the next
// start() or active_children() call, or at exit), so it never stays a zombie for long. At normal
// exit (std::exit or return from main), every child still running, detached or not, is handled as
// Python does: daemon children are terminated, the others are joined.
//
// Errors are thrown as mproc::Error (see error.hpp).
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/by_handle.hpp>
#include <mproc/error.hpp>
#include <mproc/export.h>
#include <mproc/seconds.hpp>

#include <chrono>
#include <concepts>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace mproc {

// fork(2), with the library's state made safe in the child (locks released, the parent's children
// forgotten). Returns the child's pid in the parent and 0 in the child. Errors: the errno of fork.
MPROC_API pid_t fork();
// Waits for a child made with mproc::fork() to end and reaps it (no ::waitpid needed). Returns its
// exit code, or minus the signal number that ended it (as Process::exitcode). Waits on that pid
// only, never on -1. Errors: EINVAL (pid <= 0), ESRCH (no such process), ECHILD (not a child of
// this process, or already reaped), bad_state (started by a Process: join that instead).
MPROC_API int wait_child(pid_t pid);
// The same, waiting at most `timeout`: empty if the child still runs then (it is not reaped).
// A negative or NaN timeout is EINVAL.
MPROC_API std::optional<int> wait_child(pid_t pid, Seconds timeout);
MPROC_API pid_t getpid() noexcept;
MPROC_API pid_t getppid() noexcept;

// CPUs this process may run on (its affinity mask), at least 1.
MPROC_API int cpu_count();

/// Thrown from a child's target to end the child with `code`, as Python's sys.exit(code).
/// Deliberately not a std::exception, so `catch (const std::exception&)` in user code lets it pass.
/// Thread-safety: a value.
/// Errors: none.
/// Fork-safety: a value.
class MPROC_API SystemExit {
 public:
  explicit SystemExit(int code) noexcept : code_(code) {}
  int code() const noexcept { return code_; }

 private:
  int code_;
};

/// What the library knows of a process: itself, its parent or one of its children.
/// Thread-safety: a value; is_alive() is safe from any thread.
/// Errors: none.
/// Fork-safety: a value.
class MPROC_API ProcessInfo {
 public:
  ProcessInfo(std::string name, pid_t pid, bool daemon = false)
      : name_(std::move(name)), pid_(pid), daemon_(daemon) {}
  const std::string& name() const noexcept { return name_; }
  pid_t pid() const noexcept { return pid_; }
  // Python's Process.daemon: true for a daemon child (terminated when its parent exits, and not
  // allowed children of its own); false for the main process, and for a parent whose flag is
  // unknown here.
  bool daemon() const noexcept { return daemon_; }
  // This process: true. The parent: true while it has not exited (we have not been reparented).
  // A child: true until it exits.
  bool is_alive() const;

 private:
  std::string name_;
  pid_t pid_;
  bool daemon_;
};

// The process calling it: "MainProcess" in the main program, the Process's name in a child.
MPROC_API ProcessInfo current_process();
// The process that started this one, or empty in the main process.
MPROC_API std::optional<ProcessInfo> parent_process();
// The running children started by this process through Process::start(). As in Python, calling it
// reaps children that have already finished.
MPROC_API std::vector<ProcessInfo> active_children();

namespace detail {

struct ChildState;

class TaskBase {
 public:
  virtual ~TaskBase() = default;
  virtual void call() = 0;
};

template <class Fn>
class Task final : public TaskBase {
 public:
  explicit Task(Fn fn) : fn_(std::move(fn)) {}
  void call() override { fn_(); }

 private:
  Fn fn_;
};

}  // namespace detail

/// A child process. Move-only.
/// Thread-safety: one Process object may be used by one thread at a time; different Process objects
/// may be used from different threads. Only the process that started a child may join, signal or
/// close it (as in Python); elsewhere those calls throw errc::bad_state.
/// Errors: throws mproc::Error (errno or mproc::errc code): errc::bad_state (started twice, not
/// started, not this process's child), errc::closed (after close()), the errno of fork /
/// pidfd_open.
/// Fork-safety: only the process that started a child may join, signal or close it; a forked child
/// forgets its parent's children (their Process objects do nothing there).
class MPROC_API Process {
 public:
  // For subclasses that override run().
  Process();

  // Runs target(args...) in the child. Arguments are decay-copied, as by std::thread, except
  // move-only shared objects passed as lvalues (a Queue, a Connection, a SharedMemory, a Manager
  // container: see <mproc/by_handle.hpp>): the Process keeps a second object for the same queue
  // (pipe end, segment, ...), which the child gets; the caller keeps its own. The target may take
  // them by reference or by value. The parent drops its copies once start() has forked the child
  // (as Python does), so a pipe end passed here is not held open by the Process. Whatever the
  // target returns is ignored, as in Python: the exit code is 0 unless the target throws
  // mproc::SystemExit{n} (code n) or another exception (code 1).
  template <class F, class... Args>
    requires detail::invocable_with_stored<std::decay_t<F>, std::decay_t<Args>...>
  explicit Process(F&& target, Args&&... args) : Process() {
    target_ = std::make_unique<detail::Task<BoundTarget<std::decay_t<F>, std::decay_t<Args>...>>>(
        BoundTarget<std::decay_t<F>, std::decay_t<Args>...>{
            std::forward<F>(target),
            std::tuple<std::decay_t<Args>...>(
                detail::stored_argument<Args>(std::forward<Args>(args))...)});
  }

  // Detaches a still-running child (it runs on and is reaped by the library); see the file comment.
  virtual ~Process();
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Forks the child. Errors: bad_state (started twice, or called from a daemon process, which may
  // not have children), closed, the errno of fork or pidfd_open.
  void start();
  // Waits for the child to end. Errors: bad_state (not started, not our child), closed.
  void join();
  // Waits at most `timeout`; returns true if the child has ended. A negative or NaN timeout is
  // EINVAL. A signal never shortens or stretches the wait.
  bool join(Seconds timeout);
  // False before start() and after the child ended.
  bool is_alive();
  // Empty before start().
  std::optional<pid_t> pid() const noexcept;
  // Empty before start and while running; the exit code; minus the signal number if a signal
  // ended the child.
  std::optional<int> exitcode();
  // SIGTERM / SIGKILL through the pidfd (never a recycled pid). No effect once the child ended.
  void terminate();
  void kill();
  // A file descriptor that becomes readable when the child ends (a pidfd), valid until close().
  // Usable with poll/epoll or mproc::wait. Errors: bad_state before start, closed.
  int sentinel() const;
  // Releases the pidfd. Errors: bad_state if the child is still running. Afterwards every call but
  // name(), daemon() and pid() throws errc::closed. Closing twice is a no-op.
  void close();

  const std::string& name() const noexcept { return name_; }
  void set_name(std::string name);
  bool daemon() const noexcept { return daemon_; }
  // Errors: bad_state after start().
  void set_daemon(bool daemon);
  // Opt-in, off by default (Python's behaviour: a child outlives a parent that is killed): the
  // child is killed (SIGKILL) as soon as this process ends, however it ends, busy or not. It
  // watches the parent process from a small thread of its own (PR_SET_PDEATHSIG would fire when
  // the *thread* that called start() exits). Errors: bad_state after start().
  void set_die_with_parent(bool die);
  bool die_with_parent() const noexcept { return die_with_parent_; }

 protected:
  // Runs in the child. The default calls the target given to the constructor.
  virtual void run();

 private:
  template <class F, class... Args>
  struct BoundTarget {
    F fn;
    std::tuple<Args...> args;
    void operator()() {
      (void)detail::apply_stored(fn, args);
    }
  };

  [[noreturn]] void run_child(const void* saved_signal_mask, pid_t parent_pid,
                              const std::string& parent_name);
  void check_usable(const char* operation) const;
  void detach() noexcept;

  std::unique_ptr<detail::TaskBase> target_;
  std::string name_;
  std::string identity_;  // "1:2": the second child of this process's first child
  bool daemon_ = false;
  bool die_with_parent_ = false;
  bool closed_ = false;
  pid_t parent_pid_ = 0;  // the process that called start()
  std::shared_ptr<detail::ChildState> child_;
};

}  // namespace mproc
