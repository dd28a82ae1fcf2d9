// The error model: mproc's category, the mapping to C codes.
#include <mproc/error.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <future>
#include <set>
#include <string>

namespace {

TEST(Error, MprocCodesCarryTheirMessageAndMapToTheCRange) {
  const mproc::Error e(mproc::errc::timed_out, "join");
  EXPECT_EQ(e.code(), mproc::errc::timed_out);
  EXPECT_STREQ(e.code().category().name(), "mproc");
  EXPECT_NE(std::string(e.what()).find("timed out"), std::string::npos) << e.what();
  EXPECT_EQ(mproc::to_c_code(e.code()), -1003);
}

TEST(Error, SystemErrorsMapToMinusErrno) {
  try {
    mproc::throw_errno(EAGAIN, "fork");
    FAIL() << "throw_errno returned";
  } catch (const mproc::Error& e) {
    EXPECT_EQ(mproc::to_c_code(e.code()), -EAGAIN);
    EXPECT_EQ(e.code(), std::errc::resource_unavailable_try_again);
  }
  EXPECT_EQ(mproc::to_c_code(std::error_code()), 0);
}

TEST(Error, OtherCategoriesBecomeInternal) {
  EXPECT_EQ(mproc::to_c_code(std::make_error_code(std::future_errc::broken_promise)),
            mproc::to_c_code(mproc::errc::internal));
}

TEST(Error, EveryCodeHasADistinctMessage) {
  std::set<std::string> messages;
#define MPROC_TEST_MESSAGE_(c_name, cpp_name, value, text)                            \
  EXPECT_EQ(mproc::make_error_code(mproc::errc::cpp_name).message(), text);          \
  EXPECT_EQ(mproc::to_c_code(mproc::errc::cpp_name), value);                         \
  messages.insert(text);
  MPROC_ERRNO_MAP(MPROC_TEST_MESSAGE_)
#undef MPROC_TEST_MESSAGE_
  EXPECT_GE(messages.size(), 16u);
}

}  // namespace
