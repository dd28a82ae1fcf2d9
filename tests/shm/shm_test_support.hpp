// Helpers for the segment and tracker tests.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "shm/segment.hpp"
#include "support/expect_error.hpp"
#include "support/shm_leak_check.hpp"

namespace mproc::test {

inline constexpr detail::shm::SegmentKind kTestKind{0x54455354u /* "TEST" */, 3, "test segment"};

inline detail::shm::Segment make_segment(std::size_t size = 4096,
                                         detail::shm::SegmentOptions options = {}) {
  return detail::shm::Segment::create(size, kTestKind, nullptr, nullptr, options);
}

// The fixture of the segment and tracker tests.
using ShmTest = ShmLeakCheckedTest;

}  // namespace mproc::test
