// The library's internal access to the "mproc" logger. Not installed: spdlog stays private.
#pragma once

#include <spdlog/logger.h>

namespace mproc::detail {

// The logger, created on first use with the level from MPROC_LOG_LEVEL.
spdlog::logger& logger();

}  // namespace mproc::detail
