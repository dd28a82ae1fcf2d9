#include <mproc/pool.hpp>

#include <gtest/gtest.h>

#include "support/leak_check.hpp"

namespace {
using PoolBasicTest = mproc::test::LeakCheckedTest;
int square(int x) { return x * x; }

TEST_F(PoolBasicTest, Smoke) {
  mproc::Pool pool(2);
  EXPECT_EQ(pool.apply(square, 7), 49);
  pool.close();
  pool.join();
}
}  // namespace
