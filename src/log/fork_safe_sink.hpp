// A stderr sink that writes each formatted line with a single write(2) (so concurrent processes
// never interleave within a line) and whose lock can be held across fork(): the library's fork
// hooks (common/fork_hooks.hpp) call lock_for_fork() before fork and unlock_after_fork() in both
// parent and child. Without that, a child forked while another thread logs would inherit a held
// mutex and deadlock on its first log line.
#pragma once

#include <spdlog/sinks/base_sink.h>

#include <mutex>

namespace mproc::detail {

class ForkSafeStderrSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  void lock_for_fork() { mutex_.lock(); }
  void unlock_after_fork() { mutex_.unlock(); }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}
};

}  // namespace mproc::detail
