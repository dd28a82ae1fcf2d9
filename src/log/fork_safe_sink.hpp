// A stderr sink that writes each formatted line with a single write(2) (so concurrent processes
// never interleave within a line) and whose lock can be held across fork(): the library's fork
// handlers (base/fork_handlers.hpp, ForkStage::log_sink) call lock_for_fork() before fork and unlock_after_fork() in both
// parent and child. Without that, a child forked while another thread logs would inherit a held
// mutex and deadlock on its first log line.
//
// A host program may install a handler (mproc::set_log_handler, mproc_log_set_handler): lines then
// go to it instead of stderr, unformatted (the host's logger adds its own time, pid and so on). The
// handler is called under the sink's lock, so lines reach it one at a time, and it is replaced
// under the same lock, so a line never goes to a handler that has just been removed.
#pragma once

#include <mproc/log.hpp>

#include <spdlog/sinks/base_sink.h>

#include <mutex>

namespace mproc::detail {

class ForkSafeStderrSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  void lock_for_fork() { mutex_.lock(); }
  void unlock_after_fork() { mutex_.unlock(); }

  // An empty handler restores stderr. Takes the sink's lock: must not be called from a handler.
  void set_handler(LogHandler handler);

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}

 private:
  void write_to_stderr(const spdlog::details::log_msg& msg);

  LogHandler handler_;  // guarded by mutex_
};

}  // namespace mproc::detail
