// The one preamble of every fork(2) in the library. Around the fork:
//   - stdio is flushed (Stdio::flush, flush_standard_streams below), so that what the parent
//     printed so far is written once, by the parent, not a second time by a child that inherited
//     the unwritten buffer;
//   - every signal is blocked, so that no handler of the program runs in the child before the
//     child knows who it is; the child keeps them blocked until it calls restore_signals();
//   - the library's fork handlers (fork_handlers.hpp) run, as for any fork().
// Usage:  ForkGuard guard;  const pid_t pid = guard.fork();
//         if (pid == 0) { ...become the child...; guard.restore_signals(); ... _exit(); }
//         if (pid < 0) ...errno...
// Thread-safety: one guard per fork, used by the thread that forks.
#pragma once

#include <signal.h>
#include <sys/types.h>

namespace mproc::detail {

// Flushes the standard streams that hold unwritten output: std::cout and std::cerr when they
// buffer on their own (after sync_with_stdio(false), or with a replaced streambuf), stdout and
// stderr when their C buffers hold bytes. A stream holding nothing is not touched: a flush takes
// the stream's lock, a write, and after each fork every page written first costs a copy-on-write
// fault (a start + join of a Process would pay several for streams that had nothing to write).
void flush_standard_streams() noexcept;

class ForkGuard {
 public:
  enum class Stdio { flush, leave };
  explicit ForkGuard(Stdio stdio = Stdio::flush) noexcept;
  // Restores the caller's signal mask if it is still blocked (the parent, or a child that left
  // without calling restore_signals()).
  ~ForkGuard() { restore_signals(); }
  ForkGuard(const ForkGuard&) = delete;
  ForkGuard& operator=(const ForkGuard&) = delete;

  // fork(2) with every signal blocked. Returns what fork returns: the child's pid in the parent
  // (whose signal mask is restored before this returns), 0 in the child (signals still blocked),
  // -1 with errno on failure (the mask restored, errno kept).
  pid_t fork() noexcept;
  // Restores the signal mask the caller had before the guard.
  void restore_signals() noexcept;
  // That mask, for a child that restores it later by itself.
  const sigset_t* saved_mask() const noexcept { return &saved_; }

 private:
  sigset_t saved_;
  bool blocked_ = false;
};

}  // namespace mproc::detail
