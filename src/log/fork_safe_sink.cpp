#include "log/fork_safe_sink.hpp"

#include <cerrno>
#include <string_view>
#include <unistd.h>
#include <utility>

namespace mproc::detail {

void ForkSafeStderrSink::set_handler(LogHandler handler) {
  std::lock_guard lock(mutex_);
  // The old handler leaves in `handler`, destroyed once the caller's argument is: after this lock
  // is released, so whatever it captured is never destroyed while a line is being logged.
  std::swap(handler_, handler);
}

void ForkSafeStderrSink::sink_it_(const spdlog::details::log_msg& msg) {
  if (!handler_) {
    write_to_stderr(msg);
    return;
  }
  // The C ABI promises a NUL-terminated message; the payload is a view into spdlog's buffer.
  spdlog::memory_buf_t text;
  text.append(msg.payload.data(), msg.payload.data() + msg.payload.size());
  text.push_back('\0');
  // spdlog's "critical" is not one of mproc's levels; the library never logs at it.
  const auto level = msg.level >= spdlog::level::err ? LogLevel::error
                                                     : static_cast<LogLevel>(msg.level);
  try {
    handler_(level, std::string_view(text.data(), text.size() - 1));
  } catch (...) {
    // A handler that throws loses its line, nothing more: logging never fails the library's call.
  }
}

void ForkSafeStderrSink::write_to_stderr(const spdlog::details::log_msg& msg) {
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
