#include "pool_call.hpp"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <new>

#include "capi_support.hpp"

namespace mproc::capi {
namespace {

// mproc_task_options_t's size in its first version (0.1): smaller ones are not ours.
constexpr size_t kTaskOptionsV1 = sizeof(mproc_task_options_t);

Error invalid(const char* function, const std::string& what) {
  return Error(std::make_error_code(std::errc::invalid_argument),
               std::string(function) + ": " + what);
}

}  // namespace

CallOptions call_options_of(const mproc_task_options_t* given, const char* function) {
  mproc_task_options_t c;
  mproc_task_options_init(&c);
  read_sized_options(given, c, kTaskOptionsV1, function, "mproc_task_options_t");
  CallOptions options;
  options.window = c.window;
  if (c.timeout_ms != MPROC_WAIT_FOREVER) {
    if (c.timeout_ms <= 0)
      throw invalid(function, "options->timeout_ms must be > 0 or MPROC_WAIT_FOREVER");
    options.task.timeout = std::chrono::milliseconds(c.timeout_ms);
  }
  return options;
}

std::vector<std::string_view> input_views(const mproc_bytes_t* inputs, size_t count,
                                          const char* function) {
  if (inputs == nullptr && count > 0) throw invalid(function, "inputs is NULL");
  std::vector<std::string_view> views;
  views.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    if (inputs[i].data == nullptr && inputs[i].len > 0)
      throw invalid(function, "inputs[" + std::to_string(i) + "].data is NULL");
    views.emplace_back(static_cast<const char*>(inputs[i].data), inputs[i].len);
  }
  return views;
}

size_t chunksize_of(size_t chunksize, const char* function) {
  if (chunksize == 0)
    throw invalid(function, "chunksize is 0 (MPROC_CHUNKSIZE_AUTO for the default)");
  return chunksize == MPROC_CHUNKSIZE_AUTO ? 0 : chunksize;
}

mproc_bytes_t* pack(const std::vector<std::string>& outputs) {
  const size_t header = outputs.size() * sizeof(mproc_bytes_t);
  size_t total = header;
  for (const auto& o : outputs) total += o.size();
  auto* block = static_cast<char*>(std::malloc(total == 0 ? 1 : total));
  if (block == nullptr) throw std::bad_alloc();
  auto* array = reinterpret_cast<mproc_bytes_t*>(block);
  char* at = block + header;
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (!outputs[i].empty()) std::memcpy(at, outputs[i].data(), outputs[i].size());
    array[i] = mproc_bytes_t{at, outputs[i].size()};
    at += outputs[i].size();
  }
  return array;
}

}  // namespace mproc::capi
