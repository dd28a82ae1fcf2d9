#include "log/fork_safe_sink.hpp"

#include <cerrno>
#include <unistd.h>

namespace mproc::detail {

void ForkSafeStderrSink::sink_it_(const spdlog::details::log_msg& msg) {
  spdlog::memory_buf_t line;
  formatter_->format(msg, line);
  const char* data = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, data, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // stderr is gone: a log line is not worth failing the caller for
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace mproc::detail
