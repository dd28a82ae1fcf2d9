// The library's internal access to the "mproc" logger. Not installed: spdlog stays private.
#pragma once

#include <mproc/log.hpp>

#include <spdlog/logger.h>

#include <utility>

namespace mproc::detail {

// The logger, created on first use with the level from MPROC_LOG_LEVEL. For lines of no
// category (the logger's own, the fork hooks); a subsystem logs through logger(category).
spdlog::logger& logger();

// True if a line of `level` from `category` is to be written: at or above the category's level
// (set_log_level_for), else the global one.
bool log_enabled(LogCategory category, spdlog::level::level_enum level) noexcept;

// A category's view of the logger: the same calls as spdlog's, filtered by the category's level
// first (the arguments are not even formatted for a line that is not written).
class CategoryLogger {
 public:
  explicit constexpr CategoryLogger(LogCategory category) noexcept : category_(category) {}

  template <class... Args>
  void log(spdlog::level::level_enum level, spdlog::format_string_t<Args...> format,
           Args&&... args) const {
    if (log_enabled(category_, level)) logger().log(level, format, std::forward<Args>(args)...);
  }
  template <class... Args>
  void trace(spdlog::format_string_t<Args...> format, Args&&... args) const {
    log(spdlog::level::trace, format, std::forward<Args>(args)...);
  }
  template <class... Args>
  void debug(spdlog::format_string_t<Args...> format, Args&&... args) const {
    log(spdlog::level::debug, format, std::forward<Args>(args)...);
  }
  template <class... Args>
  void info(spdlog::format_string_t<Args...> format, Args&&... args) const {
    log(spdlog::level::info, format, std::forward<Args>(args)...);
  }
  template <class... Args>
  void warn(spdlog::format_string_t<Args...> format, Args&&... args) const {
    log(spdlog::level::warn, format, std::forward<Args>(args)...);
  }
  template <class... Args>
  void error(spdlog::format_string_t<Args...> format, Args&&... args) const {
    log(spdlog::level::err, format, std::forward<Args>(args)...);
  }

 private:
  LogCategory category_;
};

inline CategoryLogger logger(LogCategory category) noexcept { return CategoryLogger(category); }

}  // namespace mproc::detail
