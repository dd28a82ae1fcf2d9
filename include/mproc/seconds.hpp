// mproc::Seconds: the one type every timeout of the C++ API takes. Its own header so that a header
// that only needs a timeout (a lock's, a queue's) does not pull in Process.
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <chrono>

namespace mproc {

// Timeouts are given in seconds (any std::chrono duration converts: 250ms, 1.5s).
using Seconds = std::chrono::duration<double>;

}  // namespace mproc
