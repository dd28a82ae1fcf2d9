// The library's internal access to the "mproc" logger. Not installed: spdlog stays private.
#pragma once

#include <spdlog/logger.h>

namespace mproc::detail {

// The logger, created on first use with the level from MPROC_LOG_LEVEL.
spdlog::logger& logger();

// For the fork hooks (common/fork_hooks.hpp): hold the sink's lock across fork().
void lock_logger_for_fork();
void unlock_logger_after_fork();

}  // namespace mproc::detail
