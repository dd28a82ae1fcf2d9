#include "capi_support.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>

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

void name_function_in_last_error(const char* function) noexcept {
  const std::string_view name(function);
  if (std::string_view(t_last_error).substr(0, name.size()) == name) return;
  try {
    t_last_error.insert(0, std::string(name) + ": ");
  } catch (...) {
    // no memory for the longer message: keep the one we have
  }
}

const char* last_error_message() noexcept { return t_last_error.c_str(); }

void check_timeout_ms(std::int64_t timeout_ms, const char* function) {
  if (timeout_ms < kWaitForever)
    throw Error(std::make_error_code(std::errc::invalid_argument),
                std::string(function) + ": timeout_ms must be >= 0 or MPROC_WAIT_FOREVER");
}

int copy_out(const std::string& text, char* buf, std::size_t len, const char* function) {
  if (len > 0) {
    require(buf, function, "buf");
    const std::size_t n = std::min(len - 1, text.size());
    std::memcpy(buf, text.data(), n);
    buf[n] = '\0';
  }
  return static_cast<int>(text.size());
}

}  // namespace mproc::capi
