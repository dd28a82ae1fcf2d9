#include "log/logger.hpp"

#include <mproc/log.hpp>

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>

#include "base/fork_handlers.hpp"
#include "log/fork_safe_sink.hpp"

namespace mproc::detail {
namespace {

constexpr const char* kPattern = "[%Y-%m-%d %H:%M:%S.%e] [mproc] [%l] [pid %P] %v";

struct LevelName {
  std::string_view name;
  spdlog::level::level_enum level;
};

constexpr LevelName kLevelNames[] = {
    {"off", spdlog::level::off},     {"error", spdlog::level::err},
    {"warn", spdlog::level::warn},   {"warning", spdlog::level::warn},
    {"info", spdlog::level::info},   {"debug", spdlog::level::debug},
    {"trace", spdlog::level::trace},
};

// The level named by MPROC_LOG_LEVEL; `known` is false for an unrecognised value.
spdlog::level::level_enum level_from_environment(bool& known) {
  known = true;
  const char* value = std::getenv("MPROC_LOG_LEVEL");
  if (value == nullptr || *value == '\0') return spdlog::level::warn;
  for (const auto& entry : kLevelNames)
    if (entry.name == value) return entry.level;
  known = false;
  return spdlog::level::warn;
}

struct LoggerState {
  std::shared_ptr<ForkSafeStderrSink> sink;
  std::shared_ptr<spdlog::logger> logger;
};

// Never destroyed: children and atexit handlers may log after static destructors have run.
LoggerState* create_state() {
  auto* state = new LoggerState;
  state->sink = std::make_shared<ForkSafeStderrSink>();
  state->logger = std::make_shared<spdlog::logger>("mproc", state->sink);
  state->logger->set_pattern(kPattern);
  bool known = true;
  state->logger->set_level(level_from_environment(known));
  state->logger->flush_on(spdlog::level::trace);
  // Registering lets an application find the logger with spdlog::get("mproc") and add sinks; if
  // the application already owns that name, ours simply stays unregistered.
  if (spdlog::get("mproc") == nullptr) {
    try {
      spdlog::register_logger(state->logger);
    } catch (const spdlog::spdlog_ex&) {
    }
  }
  if (!known)
    state->logger->warn("MPROC_LOG_LEVEL='{}' is not one of off, error, warn, info, debug, trace; using warn",
                        std::getenv("MPROC_LOG_LEVEL"));
  return state;
}

LoggerState& state() {
  static LoggerState* created = create_state();
  return *created;
}

}  // namespace

spdlog::logger& logger() { return *state().logger; }

namespace {

// The sink's lock is held across fork() (ForkStage::log_sink, the innermost): created, and its
// handlers registered, when the library is loaded, before any thread of the program can log.
const bool g_fork_handlers_registered = [] {
  state();
  register_fork_handlers(ForkStage::log_sink,
                         {+[] { state().sink->lock_for_fork(); },
                          +[] { state().sink->unlock_after_fork(); },
                          +[] { state().sink->unlock_after_fork(); }});
  return true;
}();

}  // namespace

}  // namespace mproc::detail

namespace mproc {

void set_log_level(LogLevel level) {
  detail::logger().set_level(static_cast<spdlog::level::level_enum>(level));
}

LogLevel log_level() { return static_cast<LogLevel>(detail::logger().level()); }

void set_log_handler(LogHandler handler) { detail::state().sink->set_handler(std::move(handler)); }

}  // namespace mproc
