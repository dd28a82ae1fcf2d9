// The thread-local message behind mproc_last_error_message(), for libmproc's C entry points.
// (libmproc_mpi's entry points reach it through mproc_set_last_error: capi/mpi_last_error.cpp.)
#include "capi_support.hpp"

namespace mproc::capi {
namespace {

thread_local std::string t_last_error;

}  // namespace

int fail(int code, std::string_view message) noexcept {
  replace_last_error_message(message);
  return code;
}

void replace_last_error_message(std::string_view message) noexcept {
  try {
    t_last_error.assign(message);  // within its capacity once warm: no allocation
  } catch (...) {
    t_last_error.clear();  // no memory for the message: the code still says what happened
  }
}

const char* last_error_message() noexcept { return t_last_error.c_str(); }

}  // namespace mproc::capi
