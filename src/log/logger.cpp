#include "log/logger.hpp"

#include <mproc/error.hpp>
#include <mproc/log.hpp>

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
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

// In the order of LogCategory's values.
constexpr std::string_view kCategoryNames[] = {"process", "sync",    "shm", "transport",
                                               "pool",    "manager", "mpi"};
constexpr int kCategories = static_cast<int>(std::size(kCategoryNames));
constexpr int kFollowGlobal = -1;

std::optional<spdlog::level::level_enum> level_named(std::string_view name) {
  for (const auto& entry : kLevelNames)
    if (entry.name == name) return entry.level;
  return std::nullopt;
}

// The levels that filter the library's lines: the global one, and each category's own
// (kFollowGlobal: none). Atomics only, no lock: a setter interrupted by fork() leaves nothing held.
struct Levels {
  std::atomic<int> global{spdlog::level::warn};
  std::array<std::atomic<int>, kCategories> own{};

  Levels() {
    for (auto& level : own) level.store(kFollowGlobal);
  }
  int of(LogCategory category) const noexcept {
    const int own_level = own[static_cast<std::size_t>(category)].load(std::memory_order_relaxed);
    return own_level != kFollowGlobal ? own_level : global.load(std::memory_order_relaxed);
  }
};

// Applies MPROC_LOG_LEVEL: "LEVEL" or "LEVEL,CATEGORY=LEVEL,..." (either part may be left out);
// returns false if any part is not understood (the parts that are, apply).
bool apply_environment(Levels& levels) {
  const char* value = std::getenv("MPROC_LOG_LEVEL");
  if (value == nullptr || *value == '\0') return true;
  bool known = true;
  std::string_view rest(value);
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    const std::string_view part = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const std::size_t equals = part.find('=');
    const auto level =
        level_named(equals == std::string_view::npos ? part : part.substr(equals + 1));
    if (!level) {
      known = false;
      continue;
    }
    if (equals == std::string_view::npos) {
      levels.global.store(*level);
      continue;
    }
    const std::string_view category = part.substr(0, equals);
    bool found = false;
    for (int c = 0; c < kCategories; ++c)
      if (kCategoryNames[c] == category) {
        levels.own[static_cast<std::size_t>(c)].store(*level);
        found = true;
      }
    known = known && found;
  }
  return known;
}

struct LoggerState {
  std::shared_ptr<ForkSafeStderrSink> sink;
  std::shared_ptr<spdlog::logger> logger;
  Levels levels;
};

// Never destroyed: children and atexit handlers may log after static destructors have run.
LoggerState* create_state() {
  auto* state = new LoggerState;
  state->sink = std::make_shared<ForkSafeStderrSink>();
  state->logger = std::make_shared<spdlog::logger>("mproc", state->sink);
  state->logger->set_pattern(kPattern);
  // The levels filter every line before it reaches spdlog (logger(category)); spdlog's own level
  // stays at trace, where an application may still raise it through spdlog::get("mproc").
  state->logger->set_level(spdlog::level::trace);
  const bool known = apply_environment(state->levels);
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
    state->logger->warn(
        "MPROC_LOG_LEVEL='{}' is not one of off, error, warn, info, debug, trace "
        "(or CATEGORY=LEVEL parts, CATEGORY one of process, sync, shm, "
        "transport, pool, manager, mpi); what is not understood is ignored",
        std::getenv("MPROC_LOG_LEVEL"));
  return state;
}

LoggerState& state() {
  static LoggerState* created = create_state();
  return *created;
}

}  // namespace

spdlog::logger& logger() { return *state().logger; }

bool log_enabled(LogCategory category, spdlog::level::level_enum level) noexcept {
  return static_cast<int>(level) >= state().levels.of(category);
}

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

void set_log_level(LogLevel level) { detail::state().levels.global.store(static_cast<int>(level)); }

LogLevel log_level() { return static_cast<LogLevel>(detail::state().levels.global.load()); }

namespace {
std::size_t category_index(LogCategory category, const char* operation) {
  const int index = static_cast<int>(category);
  if (index < 0 || index >= detail::kCategories)
    throw Error(std::make_error_code(std::errc::invalid_argument),
                std::string(operation) + ": " + std::to_string(index) + " is not a log category");
  return static_cast<std::size_t>(index);
}
}  // namespace

void set_log_level_for(LogCategory category, std::optional<LogLevel> level) {
  const std::size_t index = category_index(category, "set_log_level_for");
  detail::state().levels.own[index].store(level ? static_cast<int>(*level) : detail::kFollowGlobal);
}

LogLevel log_level_for(LogCategory category) {
  category_index(category, "log_level_for");
  return static_cast<LogLevel>(detail::state().levels.of(category));
}

void set_log_handler(LogHandler handler) { detail::state().sink->set_handler(std::move(handler)); }

}  // namespace mproc
