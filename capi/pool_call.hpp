// What the C calls of a pool share, the local pool's (pool_api.cpp) and libmproc_mpi's
// (mpi_api.cpp, which compiles pool_call.cpp in too): a task's options, a map's inputs as views,
// the chunksize, and the packing of a map's outputs.
#pragma once

#include "mproc.h"

#include <mproc/pool.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mproc::capi {

struct CallOptions {
  TaskOptions task;
  size_t window = 0;
};

// Errors: EINVAL naming `function` for a bad struct or timeout.
CallOptions call_options_of(const mproc_task_options_t* given, const char* function);
// The inputs as views (the bytes are not copied). Errors: EINVAL for NULL data with a length.
std::vector<std::string_view> input_views(const mproc_bytes_t* inputs, size_t count,
                                          const char* function);
// The C++ convention (0 = the default) for a C chunksize. Errors: EINVAL for 0.
size_t chunksize_of(size_t chunksize, const char* function);
// One malloc'd block: the array of outputs.size() mproc_bytes_t, then the bytes they point to
// (freed with mproc_buffer_free). Throws std::bad_alloc.
mproc_bytes_t* pack(const std::vector<std::string>& outputs);

}  // namespace mproc::capi
