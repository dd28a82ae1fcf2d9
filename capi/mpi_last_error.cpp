// libmproc_mpi's C entry points share capi_support (guard, require, deref, options) with the
// core's; their error message is the core's own thread-local one, reached through the core's
// exported C calls (libmproc keeps its copy hidden).
#include "capi_support.hpp"
#include "mproc.h"

namespace mproc::capi {

int fail(int code, const std::string& message) noexcept {
  return mproc_set_last_error(code, message.c_str());
}

void replace_last_error_message(const std::string& message) noexcept {
  mproc_set_last_error(0, message.c_str());
}

const char* last_error_message() noexcept { return mproc_last_error_message(); }

}  // namespace mproc::capi
