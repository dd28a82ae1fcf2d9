// libmproc_mpi's C entry points share capi_support (guard, require, deref, options) with the
// core's; their error message is the core's own thread-local one, reached through the core's
// exported C calls (libmproc keeps its copy hidden).
#include "capi_support.hpp"
#include "mproc.h"

namespace mproc::capi {

namespace {
// The C call takes a NUL-terminated string.
const char* terminated(std::string_view message, std::string& storage) noexcept {
  try {
    storage.assign(message);
    return storage.c_str();
  } catch (...) {
    return "out of memory for the error message";
  }
}
}  // namespace

int fail(int code, std::string_view message) noexcept {
  std::string storage;
  return mproc_set_last_error(code, terminated(message, storage));
}

void replace_last_error_message(std::string_view message) noexcept {
  std::string storage;
  mproc_set_last_error(0, terminated(message, storage));
}

const char* last_error_message() noexcept { return mproc_last_error_message(); }

}  // namespace mproc::capi
