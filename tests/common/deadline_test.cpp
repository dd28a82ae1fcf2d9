// Deadlines on the monotonic clock and waits that survive signals.
#include "base/deadline.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fcntl.h>
#include <unistd.h>

namespace {

using mproc::detail::Deadline;

TEST(Deadline, InfiniteNeverExpires) {
  Deadline d;
  EXPECT_TRUE(d.infinite());
  EXPECT_FALSE(d.expired());
}

TEST(Deadline, ZeroExpiresAtOnce) {
  Deadline d(mproc::Seconds(0));
  EXPECT_FALSE(d.infinite());
  EXPECT_TRUE(d.expired());
  const timespec left = d.remaining();
  EXPECT_EQ(left.tv_sec, 0);
  EXPECT_EQ(left.tv_nsec, 0);
}

TEST(Deadline, HugeTimeoutsDoNotOverflow) {
  Deadline d(mproc::Seconds(1e300));
  EXPECT_FALSE(d.expired());
  EXPECT_GT(d.remaining().tv_sec, 1'000'000);
}

TEST(Deadline, CheckTimeoutRejectsNegativeAndNaN) {
  EXPECT_THROW(mproc::detail::check_timeout(mproc::Seconds(-0.5), "t"), mproc::Error);
  EXPECT_THROW(mproc::detail::check_timeout(mproc::Seconds(std::nan("")), "t"), mproc::Error);
  EXPECT_NO_THROW(mproc::detail::check_timeout(mproc::Seconds(0), "t"));
}

TEST(WaitReadable, TimesOutOnAnEmptyPipeAndSeesData) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  EXPECT_FALSE(mproc::detail::wait_readable(fds[0], Deadline(mproc::Seconds(0.001))));
  ASSERT_EQ(::write(fds[1], "x", 1), 1);
  EXPECT_TRUE(mproc::detail::wait_readable(fds[0], Deadline()));
  ::close(fds[0]);
  ::close(fds[1]);
}

}  // namespace
