// mproc_strerror, mproc_err_name, mproc_last_error_message, version and logging.
#include "mproc.h"

#include <mproc/log.hpp>

#include <climits>
#include <string_view>
#include <utility>
#include <cstring>

#include "capi_support.hpp"

namespace {

// A code that may be -errno: negative, and negatable (-INT_MIN would overflow).
bool is_negative_errno(int code) { return code < 0 && code != INT_MIN; }

}  // namespace

extern "C" {

const char* mproc_strerror(int code) {
  switch (code) {
    case 0:
      return "success";
#define MPROC_STRERROR_CASE_(c_name, cpp_name, value, message) \
  case value:                                                  \
    return message;
      MPROC_ERRNO_MAP(MPROC_STRERROR_CASE_)
#undef MPROC_STRERROR_CASE_
  }
  const char* text = is_negative_errno(code) ? ::strerrordesc_np(-code) : nullptr;
  return text != nullptr ? text : "unknown error";
}

const char* mproc_err_name(int code) {
  switch (code) {
    case 0:
      return "OK";
#define MPROC_ERR_NAME_CASE_(c_name, cpp_name, value, message) \
  case value:                                                  \
    return "MPROC_" #c_name;
      MPROC_ERRNO_MAP(MPROC_ERR_NAME_CASE_)
#undef MPROC_ERR_NAME_CASE_
  }
  const char* name = is_negative_errno(code) ? ::strerrorname_np(-code) : nullptr;
  return name != nullptr ? name : "UNKNOWN";
}

const char* mproc_last_error_message(void) { return mproc::capi::last_error_message(); }

int mproc_set_last_error(int code, const char* message) {
  return mproc::capi::fail(code, message != nullptr ? message : "");
}

unsigned mproc_version(void) { return MPROC_VERSION_HEX; }

const char* mproc_version_string(void) { return MPROC_VERSION_STRING; }

namespace {

// The LogLevel for an mproc_log_level value; EINVAL naming `function` for any other.
mproc::LogLevel log_level_of(int level, const char* function) {
  switch (level) {
    case MPROC_LOG_TRACE:
    case MPROC_LOG_DEBUG:
    case MPROC_LOG_INFO:
    case MPROC_LOG_WARN:
    case MPROC_LOG_ERROR:
    case MPROC_LOG_OFF:
      return static_cast<mproc::LogLevel>(level);
  }
  throw mproc::Error(std::make_error_code(std::errc::invalid_argument),
                     std::string(function) + ": " + std::to_string(level) + " is not a log level");
}

}  // namespace

int mproc_log_set_level(int level) {
  return mproc::capi::guard("mproc_log_set_level", [&] {
    mproc::set_log_level(log_level_of(level, "mproc_log_set_level"));
    return 0;
  });
}

int mproc_log_level(void) {
  return mproc::capi::guard("mproc_log_level", [] { return static_cast<int>(mproc::log_level()); });
}

int mproc_log_set_level_for(int category, int level) {
  return mproc::capi::guard("mproc_log_set_level_for", [&] {
    std::optional<mproc::LogLevel> own;
    if (level != MPROC_LOG_FOLLOW_GLOBAL) own = log_level_of(level, "mproc_log_set_level_for");
    mproc::set_log_level_for(static_cast<mproc::LogCategory>(category), own);
    return 0;
  });
}

int mproc_log_level_for(int category) {
  return mproc::capi::guard("mproc_log_level_for", [&] {
    return static_cast<int>(mproc::log_level_for(static_cast<mproc::LogCategory>(category)));
  });
}

int mproc_log_set_handler(mproc_log_handler_t handler, void* user_data) {
  return mproc::capi::guard("mproc_log_set_handler", [&] {
    mproc::LogHandler wrapped;
    if (handler != nullptr)
      wrapped = [handler, user_data](mproc::LogLevel level, std::string_view message) {
        // The sink hands over a view of a NUL-terminated buffer (log/fork_safe_sink.cpp).
        handler(static_cast<int>(level), message.data(), user_data);
      };
    mproc::set_log_handler(std::move(wrapped));
    return 0;
  });
}

}  // extern "C"
