// mproc's C++ error model: every failure is thrown as mproc::Error, a std::system_error whose
// code() is either a system errno (std::generic_category) or one of mproc's own codes
// (mproc::errc, the same list as the C ABI's MPROC_E* codes). Timeouts that are normal control
// flow return a value instead (join(timeout) returns false), so they are not exceptions.
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/errors.h>
#include <mproc/export.h>

#include <stdexcept>
#include <string>
#include <system_error>

namespace mproc {

// mproc's own codes; the numeric value is the negated C code (errc::timed_out == 1003).
enum class errc : int {
#define MPROC_ERRC_ENUM_(c_name, cpp_name, value, message) cpp_name = -(value),
  MPROC_ERRNO_MAP(MPROC_ERRC_ENUM_)
#undef MPROC_ERRC_ENUM_
};

MPROC_API const std::error_category& error_category() noexcept;
MPROC_API std::error_code make_error_code(errc e) noexcept;

/// what() is "<what>: <the code's message>", as std::system_error's, except that the code's
/// message is not repeated when `what` already ends with it (no "task failed: task failed").
/// Thread-safety: an Error is an immutable value.
/// Errors: none: it is the error.
/// Fork-safety: a value.
class MPROC_API Error : public std::system_error {
 public:
  Error(std::error_code code, const std::string& what)
      : std::system_error(code, what), text_(compose(code, what)) {}
  Error(errc code, const std::string& what) : Error(make_error_code(code), what) {}
  const char* what() const noexcept override { return text_.what(); }

 private:
  static std::string compose(const std::error_code& code, const std::string& what) {
    const std::string message = code.message();
    if (what.empty()) return message;
    if (what.size() >= message.size() &&
        what.compare(what.size() - message.size(), message.size(), message) == 0)
      return what;
    return what + ": " + message;
  }
  std::runtime_error text_;  // copied without allocating, as exceptions should be
};

// Throws Error(std::generic_category() errno, "<what>: <strerror>").
[[noreturn]] MPROC_API void throw_errno(int err, const std::string& what);

// The C ABI's integer for an error code: -errno for system errors, the MPROC_E* value for
// mproc's own, MPROC_EINTERNAL for any other category.
MPROC_API int to_c_code(const std::error_code& code) noexcept;

}  // namespace mproc

template <>
struct std::is_error_code_enum<mproc::errc> : std::true_type {};
