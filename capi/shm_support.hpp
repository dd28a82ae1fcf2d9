// What the shared-memory and Manager parts of the C ABI share: making an array's block from the C
// arguments, so both entry points check them the same way.
#pragma once

#include <mproc/shared_ctypes.hpp>

#include <cstddef>

namespace mproc::capi {

// A new block for mproc_array_create's arguments (flags: MPROC_ARRAY_LOCK or 0; element_align 0:
// the natural alignment). Errors: EINVAL naming `fn` (unknown flags, element_size 0), and
// SharedBlock's own.
detail::SharedBlock new_array_block(std::size_t element_size, std::size_t element_align,
                                    std::size_t count, int flags, const char* fn);

}  // namespace mproc::capi
