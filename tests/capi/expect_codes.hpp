// A table of (C call, expected code) for the C ABI gtests: one row a call, checked in order, a
// failure naming the call as written and the library's message.
//   expect_codes({
//       {MPROC_CALL(mproc_lock_acquire(nullptr, 0)), MPROC_EBADHANDLE},
//       {MPROC_CALL(mproc_lock_destroy(nullptr)), 0},
//   });
// or, when every call expects the same code:
//   expect_codes(MPROC_EBADHANDLE, {MPROC_CALL(...), ...});
#pragma once

#include "mproc.h"

#include <gtest/gtest.h>

#include <functional>
#include <initializer_list>
#include <utility>

namespace mproc::test {

// A call as written (for the failure message) and the call itself.
struct CCall {
  const char* text;
  std::function<int()> run;
};
#define MPROC_CALL(call) ::mproc::test::CCall{#call, [&] { return (call); }}

inline void expect_codes(std::initializer_list<std::pair<CCall, int>> rows) {
  for (const auto& [call, code] : rows)
    EXPECT_EQ(call.run(), code) << call.text << ": " << mproc_last_error_message();
}

inline void expect_codes(int code, std::initializer_list<CCall> calls) {
  for (const auto& call : calls)
    EXPECT_EQ(call.run(), code) << call.text << ": " << mproc_last_error_message();
}

}  // namespace mproc::test
