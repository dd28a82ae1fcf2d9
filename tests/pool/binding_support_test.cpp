// What the C ABI (and other bindings) need from the C++ Pool: TaskFailure's plain message, start
// methods by name, and new iterators refused once the pool is closed.
#include <mproc/pool.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "pool/pool_test_support.hpp"

namespace {

using mproc::errc;
using mproc::test::expect_error;
using mproc::test::PoolTest;

int fail_plainly(int) { throw mproc::TaskFailure("input rejected: 7"); }
int fail_typed(int) { throw std::invalid_argument("input rejected: 7"); }
int twice(int x) { return 2 * x; }

TEST_F(PoolTest, TaskFailureGivesItsMessageWithoutTypeName) {
  mproc::Pool pool(1);
  try {
    pool.apply(fail_plainly, 7);
    ADD_FAILURE() << "expected task_failed";
  } catch (const mproc::Error& e) {
    EXPECT_EQ(e.code(), errc::task_failed);
    EXPECT_EQ(std::string(e.what()).rfind("input rejected: 7", 0), 0u) << e.what();
  }
  // Other exceptions keep their type name in front.
  try {
    pool.apply(fail_typed, 7);
    ADD_FAILURE() << "expected task_failed";
  } catch (const mproc::Error& e) {
    EXPECT_EQ(e.code(), errc::task_failed);
    EXPECT_NE(std::string(e.what()).find("std::invalid_argument: input rejected: 7"),
              std::string::npos)
        << e.what();
  }
  pool.close();
  pool.join();
}

TEST_F(PoolTest, StartMethodsByName) {
  EXPECT_EQ(mproc::start_method_from_name("fork"), mproc::StartMethod::fork);
  EXPECT_EQ(mproc::start_method_from_name("forkserver"), mproc::StartMethod::forkserver);
  try {
    (void)mproc::start_method_from_name("spawn");
    ADD_FAILURE() << "expected ENOTSUP";
  } catch (const mproc::Error& e) {
    EXPECT_EQ(e.code(), std::errc::not_supported);
    EXPECT_NE(std::string(e.what()).find("not supported"), std::string::npos) << e.what();
  }
  try {
    (void)mproc::start_method_from_name("bogus");
    ADD_FAILURE() << "expected EINVAL";
  } catch (const mproc::Error& e) {
    EXPECT_EQ(e.code(), std::errc::invalid_argument);
  }
}

TEST_F(PoolTest, NewIteratorsAndMapsAreRefusedAfterCloseOrTerminate) {
  const std::vector<int> inputs{1, 2, 3};
  {
    mproc::Pool pool(1);
    pool.close();
    expect_error([&] { (void)pool.imap(twice, inputs); }, errc::closed);
    expect_error([&] { (void)pool.imap_unordered(twice, inputs); }, errc::closed);
    expect_error([&] { (void)pool.map(twice, inputs); }, errc::closed);
    pool.join();
  }
  {
    mproc::Pool pool(1);
    pool.terminate();
    expect_error([&] { (void)pool.imap(twice, inputs); }, errc::terminated);
    expect_error([&] { (void)pool.map(twice, inputs); }, errc::terminated);
  }
}

}  // namespace
