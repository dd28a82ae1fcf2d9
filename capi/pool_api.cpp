// The C ABI of the Pool: creation, submissions (submit, map, imap), close / join / terminate.
// Translation to mproc::Pool only.
#include "pool_support.hpp"
#include "pool_call.hpp"

#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace mproc::capi {

Error invalid_argument(const char* function, const std::string& what) {
  return Error(std::make_error_code(std::errc::invalid_argument),
               std::string(function) + ": " + what);
}

namespace {

// The sizes of the options structs in their first version (0.1): smaller ones are not ours.
constexpr size_t kPoolOptionsV1 = offsetof(mproc_pool_options_t, plain_initializer);

Pool& pool_of(mproc_pool_t* handle, const char* function) {
  return deref<Pool, detail::HandleKind::pool>(handle, function, "mproc_pool_t");
}

StartMethod start_method_of(int method, const char* function) {
  switch (method) {
    case MPROC_START_FORK:
      return start_method_from_name("fork");
    case MPROC_START_FORKSERVER:
      return start_method_from_name("forkserver");
    default:
      throw invalid_argument(function, "unknown start method " + std::to_string(method));
  }
}

PoolOptions pool_options_of(const mproc_pool_options_t* given, const char* function) {
  mproc_pool_options_t c;
  mproc_pool_options_init(&c);
  read_sized_options(given, c, kPoolOptionsV1, function, "mproc_pool_options_t");
  if (c.processes < 1)
    throw invalid_argument(function, "processes must be at least 1 (got " +
                                         std::to_string(c.processes) + ")");
  PoolOptions options;
  options.processes = c.processes;
  options.maxtasksperchild = c.maxtasksperchild;
  options.start_method = start_method_of(c.start_method, function);
  if (c.initializer != nullptr) {
    options.initializer = [init = c.initializer, data = c.initializer_data] {
      if (const int status = init(data); status != 0)
        throw TaskFailure("the initializer returned " + std::to_string(status));
    };
  }
  if (c.plain_initializer != nullptr) {
    if (c.initializer != nullptr)
      throw invalid_argument(function, "set initializer or plain_initializer, not both");
    options.initializer = c.plain_initializer;  // a plain function: a forkserver pool takes it
  }
  if (c.on_progress != nullptr) {
    options.on_progress = [progress = c.on_progress, data = c.progress_data](size_t completed) {
      progress(completed, data);
    };
  }
  return options;
}

// The arguments every map shares, checked; the inputs as views (the bytes are not copied).
struct MapCall {
  Pool* pool;
  CTask task;
  std::vector<std::string_view> inputs;
  size_t chunksize;  // the C++ convention: 0 = the default
  CallOptions options;
};

MapCall map_call_of(mproc_pool_t* handle, mproc_task_fn fn, void* user_data,
                    const mproc_bytes_t* inputs, size_t count, size_t chunksize,
                    const mproc_task_options_t* options, const void* out, const char* function) {
  MapCall call{&pool_of(handle, function), CTask{fn, user_data}, {}, 0, {}};
  if (fn == nullptr) throw invalid_argument(function, "fn is NULL");
  require(out, function, "the output pointer");
  call.inputs = input_views(inputs, count, function);
  call.chunksize = chunksize_of(chunksize, function);
  call.options = call_options_of(options, function);
  return call;
}

template <bool Ordered>
int imap(mproc_pool_t* pool, mproc_task_fn fn, void* user_data, const mproc_bytes_t* inputs,
         size_t count, size_t chunksize, const mproc_task_options_t* options,
         mproc_pool_iterator_t** out, const char* function) {
  return guard(function, [&] {
    MapCall call = map_call_of(pool, fn, user_data, inputs, count, chunksize, options, out,
                               function);
    auto holder = std::make_unique<CIterator>();
    CIterator& it = *holder;
    const auto handle = IteratorHandles::insert(std::move(holder));
    try {
      if constexpr (Ordered)
        it.it.emplace(call.pool->imap(call.task, std::move(call.inputs), call.chunksize,
                                      call.options.window, call.options.task));
      else
        it.it.emplace(call.pool->imap_unordered(call.task, std::move(call.inputs),
                                                call.chunksize, call.options.window,
                                                call.options.task));
    } catch (...) {
      IteratorHandles::remove(handle);
      throw;
    }
    *out = reinterpret_cast<mproc_pool_iterator_t*>(handle);
    return 0;
  });
}

}  // namespace
}  // namespace mproc::capi

using mproc::capi::guard;
using mproc::capi::pool_of;

extern "C" {

void mproc_pool_options_init(mproc_pool_options_t* options) {
  if (options == nullptr) return;
  *options = mproc_pool_options_t{};
  options->struct_size = sizeof(mproc_pool_options_t);
  options->processes = mproc::cpu_count();
  options->start_method = MPROC_START_FORK;
}

void mproc_task_options_init(mproc_task_options_t* options) {
  if (options == nullptr) return;
  *options = mproc_task_options_t{};
  options->struct_size = sizeof(mproc_task_options_t);
  options->timeout_ms = MPROC_WAIT_FOREVER;
}

int mproc_forkserver_start(void) {
  return guard("mproc_forkserver_start", [] {
    mproc::start_forkserver();
    return 0;
  });
}

int mproc_forkserver_stop(void) {
  return guard("mproc_forkserver_stop", [] {
    mproc::stop_forkserver();
    return 0;
  });
}

int mproc_forkserver_pid(void) { return static_cast<int>(mproc::forkserver_pid()); }

int mproc_pool_create(const mproc_pool_options_t* options, mproc_pool_t** out) {
  return guard("mproc_pool_create", [&] {
    mproc::capi::require(out, "mproc_pool_create", "out");
    auto pool = std::make_unique<mproc::Pool>(
        mproc::capi::pool_options_of(options, "mproc_pool_create"));
    // If the handle cannot be made, `pool` is destroyed here: its workers are stopped.
    *out = reinterpret_cast<mproc_pool_t*>(mproc::capi::PoolHandles::insert(std::move(pool)));
    return 0;
  });
}

int mproc_pool_submit(mproc_pool_t* pool, mproc_task_fn fn, const void* input, size_t len,
                      void* user_data, const mproc_task_options_t* options,
                      mproc_future_t** out) {
  return guard("mproc_pool_submit", [&] {
    constexpr const char* function = "mproc_pool_submit";
    auto& p = pool_of(pool, function);
    if (fn == nullptr) throw mproc::capi::invalid_argument(function, "fn is NULL");
    mproc::capi::require(out, function, "out");
    if (input == nullptr && len > 0)
      throw mproc::capi::invalid_argument(function, "input is NULL");
    const auto call = mproc::capi::call_options_of(options, function);
    auto holder = std::make_unique<mproc::capi::CFuture>();
    mproc::capi::CFuture& future = *holder;
    const auto handle = mproc::capi::FutureHandles::insert(std::move(holder));
    try {
      future.result = p.apply_async(call.task, mproc::capi::CTask{fn, user_data},
                                    std::string_view(static_cast<const char*>(input), len));
    } catch (...) {
      mproc::capi::FutureHandles::remove(handle);
      throw;
    }
    *out = reinterpret_cast<mproc_future_t*>(handle);
    return 0;
  });
}

int mproc_pool_map(mproc_pool_t* pool, mproc_task_fn fn, void* user_data,
                   const mproc_bytes_t* inputs, size_t count, size_t chunksize,
                   const mproc_task_options_t* options, mproc_bytes_t** results) {
  return guard("mproc_pool_map", [&] {
    auto call = mproc::capi::map_call_of(pool, fn, user_data, inputs, count, chunksize, options,
                                         results, "mproc_pool_map");
    const std::vector<std::string> outputs =
        call.pool->map(call.task, call.inputs, call.chunksize, call.options.task);
    // The caller reads `count` results: never report success with another number.
    if (outputs.size() != count)
      throw mproc::Error(mproc::errc::internal, "mproc_pool_map: " + std::to_string(outputs.size()) +
                                                    " results for " + std::to_string(count) +
                                                    " inputs");
    *results = mproc::capi::pack(outputs);
    return 0;
  });
}

int mproc_pool_imap(mproc_pool_t* pool, mproc_task_fn fn, void* user_data,
                    const mproc_bytes_t* inputs, size_t count, size_t chunksize,
                    const mproc_task_options_t* options, mproc_pool_iterator_t** out) {
  return mproc::capi::imap<true>(pool, fn, user_data, inputs, count, chunksize, options, out,
                                 "mproc_pool_imap");
}

int mproc_pool_imap_unordered(mproc_pool_t* pool, mproc_task_fn fn, void* user_data,
                              const mproc_bytes_t* inputs, size_t count, size_t chunksize,
                              const mproc_task_options_t* options, mproc_pool_iterator_t** out) {
  return mproc::capi::imap<false>(pool, fn, user_data, inputs, count, chunksize, options, out,
                                  "mproc_pool_imap_unordered");
}

int mproc_pool_close(mproc_pool_t* pool) {
  return guard("mproc_pool_close", [&] {
    pool_of(pool, "mproc_pool_close").close();
    return 0;
  });
}

int mproc_pool_join(mproc_pool_t* pool) {
  return guard("mproc_pool_join", [&] {
    pool_of(pool, "mproc_pool_join").join();
    return 0;
  });
}

int mproc_pool_terminate(mproc_pool_t* pool) {
  return guard("mproc_pool_terminate", [&] {
    pool_of(pool, "mproc_pool_terminate").terminate();
    return 0;
  });
}

int mproc_pool_destroy(mproc_pool_t* pool) {
  if (pool == nullptr) return 0;
  return guard("mproc_pool_destroy", [&] {
    if (!mproc::capi::PoolHandles::remove(reinterpret_cast<std::uintptr_t>(pool)))
      throw mproc::Error(mproc::errc::bad_handle, "mproc_pool_destroy: not a live mproc_pool_t");
    return 0;
  });
}

int mproc_pool_processes(mproc_pool_t* pool) {
  return guard("mproc_pool_processes",
               [&] { return pool_of(pool, "mproc_pool_processes").processes(); });
}

int mproc_pool_completed_tasks(mproc_pool_t* pool, size_t* out) {
  return guard("mproc_pool_completed_tasks", [&] {
    auto& p = pool_of(pool, "mproc_pool_completed_tasks");
    mproc::capi::require(out, "mproc_pool_completed_tasks", "out");
    *out = p.completed_tasks();
    return 0;
  });
}

int mproc_pool_worker_pids(mproc_pool_t* pool, int* pids, size_t cap) {
  return guard("mproc_pool_worker_pids", [&] {
    auto& p = pool_of(pool, "mproc_pool_worker_pids");
    if (pids == nullptr && cap > 0)
      throw mproc::capi::invalid_argument("mproc_pool_worker_pids", "pids is NULL");
    const std::vector<pid_t> live = p.worker_pids();
    for (size_t i = 0; i < live.size() && i < cap; ++i) pids[i] = live[i];
    return static_cast<int>(live.size());
  });
}

}  // extern "C"
