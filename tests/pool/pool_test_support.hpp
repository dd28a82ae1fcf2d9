// Helpers for the pool tests (tasks block on tests/support's Gate and report through its Signal,
// so that no test needs a sleep to order events).
#pragma once

#include <mproc/pool.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <fcntl.h>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

#include "support/expect_error.hpp"
#include "support/gate.hpp"
#include "support/leak_check.hpp"
#include "support/signal.hpp"

// clang before 15 cannot instantiate libstdc++ 12's range views (std::views::iota ...: its
// view_interface constraints), so the checks that pass such views are left out there.
#if defined(__clang__) && __clang_major__ < 15 && defined(__GLIBCXX__)
#define MPROC_TEST_STD_VIEWS 0
#else
#define MPROC_TEST_STD_VIEWS 1
#endif

namespace mproc::test {

using PoolTest = LeakCheckedTest;

// A pool test run once per start method (fork, forkserver): make_pool() starts the pool the
// test's parameter names.
class PoolPerStartMethodTest : public PoolTest,
                               public ::testing::WithParamInterface<StartMethod> {
 protected:
  Pool make_pool(int processes = 2) {
    PoolOptions options;
    options.processes = processes;
    options.start_method = GetParam();
    return Pool(options);
  }
};

}  // namespace mproc::test
