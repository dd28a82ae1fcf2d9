// Helpers for the pool tests (tasks block on tests/support's Gate and report through its Signal,
// so that no test needs a sleep to order events).
#pragma once

#include <mproc/pool.hpp>
#include <mproc/sync.hpp>

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

// The start methods a PoolPerStartMethodTest runs under, and their names in the tests' names:
// INSTANTIATE_TEST_SUITE_P(StartMethods, X, start_methods(), start_method_name).
inline auto start_methods() {
  return ::testing::Values(StartMethod::fork, StartMethod::forkserver);
}
inline std::string start_method_name(const ::testing::TestParamInfo<StartMethod>& method) {
  return method.param == StartMethod::fork ? "fork" : "forkserver";
}

// Tasks on synchronisation objects passed as arguments (plain functions: their bytes are valid in
// a forkserver worker too).
template <class L>
bool free_now(L& lock) {  // true if the lock could be taken (and gives it back)
  if (!lock.acquire(false)) return false;
  lock.release();
  return true;
}
inline void release_one(Semaphore& s) { s.release(); }
inline void release_bounded(BoundedSemaphore& s) { s.release(); }
inline void set_event(Event& e) { e.set(); }
inline bool wait_for(Event& go) { return go.wait(Seconds{30}); }  // a worker kept busy until go
inline int meet(Barrier& b) { return b.wait(Seconds{30}); }

}  // namespace mproc::test
