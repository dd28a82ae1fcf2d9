// The C ABI of libmproc_mpi (capi/mproc_mpi.h): translation to mproc::mpi only.
#include "mproc_mpi.h"

#include <mproc/mpi/pool.hpp>

#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "capi_support.hpp"
#include "pool_call.hpp"

namespace mproc::mpi::capi {
namespace {

using mproc::capi::call_options_of;
using mproc::capi::CallOptions;
using mproc::capi::chunksize_of;
using mproc::capi::copy_to_buffer;
using mproc::capi::guard;
using mproc::capi::require;
using mproc::detail::HandleKind;

Error invalid(const char* function, const std::string& what) {
  return Error(std::make_error_code(std::errc::invalid_argument),
               std::string(function) + ": " + what);
}

// ---- Handles: generation-checked, as the core's (a stale, foreign or NULL handle is
// MPROC_EBADHANDLE without being dereferenced). libmproc_mpi has its own table.

struct CPool {
  mpi::Pool pool;
};
struct CFuture {
  AsyncResult<std::string> result;
};
struct CIterator {
  std::optional<ImapIterator<std::string>> it;
};

using PoolHandles = mproc::detail::Handles<CPool, HandleKind::mpi_pool>;
using FutureHandles = mproc::detail::Handles<CFuture, HandleKind::mpi_future>;
using IteratorHandles = mproc::detail::Handles<CIterator, HandleKind::mpi_iterator>;

mpi::Pool& pool_of(mproc_mpi_pool_t* handle, const char* function) {
  return mproc::capi::deref<CPool, HandleKind::mpi_pool>(handle, function, "mproc_mpi_pool_t")
      .pool;
}
CFuture& future_of(mproc_mpi_future_t* handle, const char* function) {
  return mproc::capi::deref<CFuture, HandleKind::mpi_future>(handle, function,
                                                             "mproc_mpi_future_t");
}
CIterator& iterator_of(mproc_mpi_iterator_t* handle, const char* function) {
  return mproc::capi::deref<CIterator, HandleKind::mpi_iterator>(handle, function,
                                                                 "mproc_mpi_iterator_t");
}
// Takes the object out of the table (destroyed by the caller), or EBADHANDLE.
template <class Table, class CHandle>
auto take_out(CHandle* handle, const char* function, const char* type) {
  auto object = Table::remove(reinterpret_cast<std::uintptr_t>(handle));
  if (!object) throw Error(errc::bad_handle, std::string(function) + ": not a live " + type);
  return object;
}

// The first version's size of each options struct (0.2), below which struct_size is EINVAL.
constexpr size_t kRunOptionsV1 = offsetof(mproc_mpi_run_options_t, shutdown_timeout_ms);
constexpr size_t kPoolOptionsV1 = offsetof(mproc_mpi_pool_options_t, rank_timeout_ms);

std::optional<Seconds> wait_of(int64_t timeout_ms, const char* function) {
  mproc::capi::check_timeout_ms(timeout_ms, function);
  if (timeout_ms == MPROC_WAIT_FOREVER) return std::nullopt;
  return Seconds(static_cast<double>(timeout_ms) / 1000.0);
}

template <bool Ordered>
int imap(mproc_mpi_pool_t* pool, const char* task, const mproc_bytes_t* inputs, size_t count,
         size_t chunksize, const mproc_task_options_t* options, mproc_mpi_iterator_t** out,
         const char* function) {
  return guard(function, [&] {
    auto& p = pool_of(pool, function);
    require(task, function, "task");
    require(out, function, "out");
    auto views = mproc::capi::input_views(inputs, count, function);
    size_t chunk = chunksize_of(chunksize, function);
    if (chunk == 0) chunk = 1;
    const CallOptions call = call_options_of(options, function);
    auto holder = std::make_unique<CIterator>();
    if constexpr (Ordered)
      holder->it.emplace(p.imap<std::string>(TaskName{task}, std::move(views), chunk,
                                             call.window, call.task));
    else
      holder->it.emplace(p.imap_unordered<std::string>(TaskName{task}, std::move(views), chunk,
                                                       call.window, call.task));
    *out = reinterpret_cast<mproc_mpi_iterator_t*>(IteratorHandles::insert(std::move(holder)));
    return 0;
  });
}

}  // namespace
}  // namespace mproc::mpi::capi

using namespace mproc::mpi::capi;

extern "C" {

void mproc_mpi_run_options_init(mproc_mpi_run_options_t* options) {
  if (options == nullptr) return;
  *options = mproc_mpi_run_options_t{};
  options->struct_size = sizeof(mproc_mpi_run_options_t);
}

int mproc_mpi_run(int argc, char** argv, mproc_mpi_program_fn program, void* user_data,
                  const mproc_mpi_run_options_t* options, int* exit_code) {
  return guard("mproc_mpi_run", [&] {
    constexpr const char* function = "mproc_mpi_run";
    if (program == nullptr) throw invalid(function, "program is NULL");
    require(exit_code, function, "exit_code");
    mproc_mpi_run_options_t c;
    mproc_mpi_run_options_init(&c);
    mproc::capi::read_sized_options(options, c, kRunOptionsV1, function,
                                    "mproc_mpi_run_options_t");
    if (c.processes < 0) throw invalid(function, "processes must be >= 0");
    if (c.shutdown_timeout_ms < 0) throw invalid(function, "shutdown_timeout_ms must be >= 0");
    mproc::mpi::RunOptions run_options;
    if (c.processes > 0) run_options.processes = [n = c.processes](int) { return n; };
    if (c.shutdown_timeout_ms > 0)
      run_options.shutdown_timeout = mproc::Seconds(static_cast<double>(c.shutdown_timeout_ms) / 1000.0);
    *exit_code = mproc::mpi::run(
        argc, argv, [&](int ac, char** av) { return program(ac, av, user_data); }, run_options);
    return 0;
  });
}

int mproc_mpi_rank(void) { return mproc::mpi::rank(); }
int mproc_mpi_size(void) { return mproc::mpi::size(); }

void mproc_mpi_pool_options_init(mproc_mpi_pool_options_t* options) {
  if (options == nullptr) return;
  *options = mproc_mpi_pool_options_t{};
  options->struct_size = sizeof(mproc_mpi_pool_options_t);
  options->local_processes = -1;
  options->tasks_per_worker = 32;
}

int mproc_mpi_pool_create(const mproc_mpi_pool_options_t* options, mproc_mpi_pool_t** out) {
  return guard("mproc_mpi_pool_create", [&] {
    constexpr const char* function = "mproc_mpi_pool_create";
    require(out, function, "out");
    mproc_mpi_pool_options_t c;
    mproc_mpi_pool_options_init(&c);
    mproc::capi::read_sized_options(options, c, kPoolOptionsV1, function,
                                    "mproc_mpi_pool_options_t");
    if (c.local_processes < -1) throw invalid(function, "local_processes must be >= -1");
    if (c.tasks_per_worker < 1) throw invalid(function, "tasks_per_worker must be >= 1");
    if (c.rank_timeout_ms < 0) throw invalid(function, "rank_timeout_ms must be >= 0");
    mproc::mpi::PoolOptions o;
    if (c.rank_timeout_ms > 0)
      o.rank_timeout = mproc::Seconds(static_cast<double>(c.rank_timeout_ms) / 1000.0);
    o.local_processes = c.local_processes;
    o.tasks_per_worker = c.tasks_per_worker;
    if (c.on_progress != nullptr)
      o.on_progress = [fn = c.on_progress, data = c.progress_data](size_t n) { fn(n, data); };
    auto pool = std::make_unique<CPool>(CPool{mproc::mpi::Pool(o)});
    *out = reinterpret_cast<mproc_mpi_pool_t*>(PoolHandles::insert(std::move(pool)));
    return 0;
  });
}

int mproc_mpi_pool_submit(mproc_mpi_pool_t* pool, const char* task, const void* input,
                          size_t len, const mproc_task_options_t* options,
                          mproc_mpi_future_t** out) {
  return guard("mproc_mpi_pool_submit", [&] {
    constexpr const char* function = "mproc_mpi_pool_submit";
    auto& p = pool_of(pool, function);
    require(task, function, "task");
    require(out, function, "out");
    if (input == nullptr && len > 0) throw invalid(function, "input is NULL");
    const CallOptions call = call_options_of(options, function);
    auto holder = std::make_unique<CFuture>();
    holder->result = p.apply_async<std::string>(
        call.task, mproc::TaskName{task},
        std::string(static_cast<const char*>(input), input == nullptr ? 0 : len));
    *out = reinterpret_cast<mproc_mpi_future_t*>(FutureHandles::insert(std::move(holder)));
    return 0;
  });
}

int mproc_mpi_future_wait(mproc_mpi_future_t* future, int64_t timeout_ms) {
  return guard("mproc_mpi_future_wait", [&] {
    constexpr const char* function = "mproc_mpi_future_wait";
    auto& f = future_of(future, function);
    const auto wait = wait_of(timeout_ms, function);
    if (!wait) {
      f.result.wait();
      return 0;
    }
    if (!f.result.wait(*wait))
      throw mproc::Error(mproc::errc::timed_out, std::string(function) + ": not ready in time");
    return 0;
  });
}

int mproc_mpi_future_ready(mproc_mpi_future_t* future) {
  return guard("mproc_mpi_future_ready", [&] {
    auto& f = future_of(future, "mproc_mpi_future_ready");
    return f.result.ready() ? 1 : 0;
  });
}

int mproc_mpi_future_get(mproc_mpi_future_t* future, int64_t timeout_ms, void** out,
                         size_t* len) {
  return guard("mproc_mpi_future_get", [&] {
    constexpr const char* function = "mproc_mpi_future_get";
    auto& f = future_of(future, function);
    require(out, function, "out");
    require(len, function, "len");
    const auto wait = wait_of(timeout_ms, function);
    const std::string value = wait ? f.result.get(*wait) : f.result.get();
    *out = copy_to_buffer(value.data(), value.size());
    *len = value.size();
    return 0;
  });
}

int mproc_mpi_future_destroy(mproc_mpi_future_t* future) {
  if (future == nullptr) return 0;
  return guard("mproc_mpi_future_destroy", [&] {
    take_out<FutureHandles>(future, "mproc_mpi_future_destroy", "mproc_mpi_future_t");
    return 0;
  });
}

int mproc_mpi_pool_map(mproc_mpi_pool_t* pool, const char* task, const mproc_bytes_t* inputs,
                       size_t count, size_t chunksize, const mproc_task_options_t* options,
                       mproc_bytes_t** results) {
  return guard("mproc_mpi_pool_map", [&] {
    constexpr const char* function = "mproc_mpi_pool_map";
    auto& p = pool_of(pool, function);
    require(task, function, "task");
    require(results, function, "results");
    const auto views = mproc::capi::input_views(inputs, count, function);
    const size_t chunk = chunksize_of(chunksize, function);
    const CallOptions call = call_options_of(options, function);
    const std::vector<std::string> outputs =
        p.map<std::string>(mproc::TaskName{task}, views, chunk, call.task);
    *results = mproc::capi::pack(outputs);
    return 0;
  });
}

int mproc_mpi_pool_imap(mproc_mpi_pool_t* pool, const char* task, const mproc_bytes_t* inputs,
                        size_t count, size_t chunksize, const mproc_task_options_t* options,
                        mproc_mpi_iterator_t** out) {
  return imap<true>(pool, task, inputs, count, chunksize, options, out, "mproc_mpi_pool_imap");
}

int mproc_mpi_pool_imap_unordered(mproc_mpi_pool_t* pool, const char* task,
                                  const mproc_bytes_t* inputs, size_t count, size_t chunksize,
                                  const mproc_task_options_t* options,
                                  mproc_mpi_iterator_t** out) {
  return imap<false>(pool, task, inputs, count, chunksize, options, out,
                     "mproc_mpi_pool_imap_unordered");
}

int mproc_mpi_iterator_next(mproc_mpi_iterator_t* it, int64_t timeout_ms, void** out,
                            size_t* len) {
  return guard("mproc_mpi_iterator_next", [&] {
    constexpr const char* function = "mproc_mpi_iterator_next";
    auto& i = iterator_of(it, function);
    require(out, function, "out");
    require(len, function, "len");
    const auto wait = wait_of(timeout_ms, function);
    std::optional<std::string> value = wait ? i.it->next(*wait) : i.it->next();
    if (!value) throw mproc::Error(mproc::errc::end_of_file, "every output was taken");
    *out = copy_to_buffer(value->data(), value->size());
    *len = value->size();
    return 0;
  });
}

int mproc_mpi_iterator_destroy(mproc_mpi_iterator_t* it) {
  if (it == nullptr) return 0;
  return guard("mproc_mpi_iterator_destroy", [&] {
    take_out<IteratorHandles>(it, "mproc_mpi_iterator_destroy", "mproc_mpi_iterator_t");
    return 0;
  });
}

int mproc_mpi_pool_close(mproc_mpi_pool_t* pool) {
  return guard("mproc_mpi_pool_close", [&] {
    pool_of(pool, "mproc_mpi_pool_close").close();
    return 0;
  });
}

int mproc_mpi_pool_join(mproc_mpi_pool_t* pool) {
  return guard("mproc_mpi_pool_join", [&] {
    pool_of(pool, "mproc_mpi_pool_join").join();
    return 0;
  });
}

int mproc_mpi_pool_terminate(mproc_mpi_pool_t* pool) {
  return guard("mproc_mpi_pool_terminate", [&] {
    pool_of(pool, "mproc_mpi_pool_terminate").terminate();
    return 0;
  });
}

int mproc_mpi_pool_destroy(mproc_mpi_pool_t* pool) {
  if (pool == nullptr) return 0;
  return guard("mproc_mpi_pool_destroy", [&] {
    // Destroyed here, outside the handle table's lock: terminates the pool unless joined.
    take_out<PoolHandles>(pool, "mproc_mpi_pool_destroy", "mproc_mpi_pool_t");
    return 0;
  });
}

int mproc_mpi_pool_processes(mproc_mpi_pool_t* pool) {
  return guard("mproc_mpi_pool_processes",
               [&] { return pool_of(pool, "mproc_mpi_pool_processes").processes(); });
}

int mproc_mpi_pool_completed_tasks(mproc_mpi_pool_t* pool, size_t* out) {
  return guard("mproc_mpi_pool_completed_tasks", [&] {
    constexpr const char* function = "mproc_mpi_pool_completed_tasks";
    auto& p = pool_of(pool, function);
    require(out, function, "out");
    *out = p.completed_tasks();
    return 0;
  });
}

}  // extern "C"
