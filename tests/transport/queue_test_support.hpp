// Helpers for the queue tests: the fixture, and tests/support's signals, shared blocks and
// expect_error.
#pragma once

#include <mproc/queue.hpp>

#include <gtest/gtest.h>
#include <unistd.h>

#include "support/expect_error.hpp"
#include "support/shared_block.hpp"
#include "support/shm_leak_check.hpp"
#include "support/signal.hpp"

namespace mproc::test {

// The fixture of every queue test (starts the tracker; fails a test that leaves a segment).
using QueueTest = ShmLeakCheckedTest;

}  // namespace mproc::test
