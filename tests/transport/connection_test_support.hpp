// Helpers shared by the pipe/connection tests.
#pragma once

#include <mproc/connection.hpp>
#include <mproc/process.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <fcntl.h>
#include <string>
#include <unistd.h>

#include "support/expect_error.hpp"
#include "support/gate.hpp"

namespace mproc::test {

using namespace std::chrono_literals;

// Every wait in these tests is bounded by this; a correct run never comes close.
inline constexpr Seconds kBound{60};

// Joins `child` (bounded) and expects it to have exited with code 0.
inline void expect_clean_exit(Process& child) {
  ASSERT_TRUE(child.join(kBound)) << child.name() << " did not finish";
  EXPECT_EQ(child.exitcode(), 0) << child.name() << " failed";
}

// A pattern that depends on the position and a seed, so that a lost, repeated or shifted byte
// is detected.
inline char pattern_byte(std::size_t index, unsigned seed) {
  return static_cast<char>((index * 131 + seed * 7 + (index >> 12)) & 0xff);
}
inline std::string pattern(std::size_t size, unsigned seed) {
  std::string bytes(size, '\0');
  for (std::size_t i = 0; i < size; ++i) bytes[i] = pattern_byte(i, seed);
  return bytes;
}
inline bool matches_pattern(const char* data, std::size_t size, unsigned seed) {
  for (std::size_t i = 0; i < size; ++i)
    if (data[i] != pattern_byte(i, seed)) return false;
  return true;
}

}  // namespace mproc::test
