// Helpers for the segment and tracker tests.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "shm/segment.hpp"
#include "shm/shm_names.hpp"
#include "support/leak_check.hpp"

namespace mproc::test {

inline constexpr detail::shm::SegmentKind kTestKind{0x54455354u /* "TEST" */, 3, "test segment"};

inline detail::shm::Segment make_segment(std::size_t size = 4096,
                                         detail::shm::SegmentOptions options = {}) {
  return detail::shm::Segment::create(size, kTestKind, nullptr, nullptr, options);
}

// Starts this process's tracker before the fd snapshot (its socket lives as long as the process)
// and fails a test that leaves a segment of this process behind.
class ShmTest : public LeakCheckedTest {
 protected:
  void SetUp() override {
    make_segment().destroy();
    LeakCheckedTest::SetUp();
  }
  void TearDown() override {
    LeakCheckedTest::TearDown();
    for (const auto& name : shm_entries_of(::getpid()))
      ADD_FAILURE() << "the test left /dev/shm/" << name;
  }
};

}  // namespace mproc::test
