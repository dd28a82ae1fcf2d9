// The one way a test expects an mproc::Error: expect_error(body, code[, text]), or error_of(body).
#pragma once

#include <mproc/error.hpp>

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <system_error>

namespace mproc::test {

inline std::error_code as_error_code(std::error_code code) { return code; }
inline std::error_code as_error_code(errc code) { return make_error_code(code); }
inline std::error_code as_error_code(std::errc code) { return std::make_error_code(code); }

// Expects `body` to throw mproc::Error with `code` (an mproc::errc, a std::errc or an
// std::error_code) and a message that contains `text`. Returns the message ("" if nothing was
// thrown), for further checks.
template <class Body, class Code>
std::string expect_error(Body&& body, Code code, std::string_view text = {}) {
  const std::error_code expected = as_error_code(code);
  try {
    body();
    ADD_FAILURE() << "no exception; expected mproc::Error " << expected.message();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), expected) << e.what();
    EXPECT_NE(std::string_view(e.what()).find(text), std::string_view::npos)
        << "message '" << e.what() << "' lacks '" << text << "'";
    return e.what();
  }
  return {};
}

// The code `body` throws as mproc::Error, or no code if it does not throw: for checks of a code
// alone, and for children, which report through their exit code.
template <class Body>
std::error_code error_of(Body&& body) {
  try {
    body();
  } catch (const Error& e) {
    return e.code();
  }
  return {};
}

}  // namespace mproc::test
