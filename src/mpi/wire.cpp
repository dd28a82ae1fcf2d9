#include "mpi/wire.hpp"

#include <mproc/errors.h>

namespace mproc::mpi::wire {

std::error_code code_from_wire(int32_t code) noexcept {
  if (code == 0) return {};
  // mproc's own codes sit in a reserved range below -1000; the rest are -errno.
  if (code <= -1001 && code >= -1999) return make_error_code(static_cast<errc>(-code));
  if (code < 0) return {-code, std::generic_category()};
  return make_error_code(errc::internal);
}

}  // namespace mproc::mpi::wire
