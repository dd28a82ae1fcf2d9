// Helpers for the public-API shared-memory tests: unique names, and the fixture (tests/support's
// /dev/shm check). Handles travel to children over a Signal's lines.
#pragma once

#include <mproc/error.hpp>
#include <mproc/shared_memory.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <fcntl.h>
#include <poll.h>
#include <string>
#include <unistd.h>

#include "support/expect_error.hpp"
#include "support/shm_leak_check.hpp"
#include "support/signal.hpp"

namespace mproc::test {

// A name no other process uses: contains this process's pid.
inline std::string test_shm_name(const char* what) {
  return "/mproc-" + std::to_string(::getpid()) + "-test-" + what;
}

using ShmApiTest = ShmLeakCheckedTest;

}  // namespace mproc::test
