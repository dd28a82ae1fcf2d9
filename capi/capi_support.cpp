#include "capi_support.hpp"

namespace mproc::capi {
namespace {

thread_local std::string t_last_error;

}  // namespace

int fail(int code, const std::string& message) noexcept {
  try {
    t_last_error = message;
  } catch (...) {
    t_last_error.clear();  // no memory for the message: the code still says what happened
  }
  return code;
}

const char* last_error_message() noexcept { return t_last_error.c_str(); }

void check_timeout_ms(std::int64_t timeout_ms, const char* function) {
  if (timeout_ms < kWaitForever)
    throw Error(std::make_error_code(std::errc::invalid_argument),
                std::string(function) + ": timeout_ms must be >= 0 or MPROC_WAIT_FOREVER");
}

}  // namespace mproc::capi
