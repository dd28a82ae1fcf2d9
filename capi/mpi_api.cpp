// The C ABI of libmproc_mpi (capi/mproc_mpi.h): translation to mproc::mpi only.
#include "mproc_mpi.h"

#include <mproc/mpi/pool.hpp>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mproc::mpi::capi {
namespace {

// ---- Errors: the core's thread-local message (mproc_set_last_error), the code returned.

int fail(int code, const std::string& message) noexcept {
  return mproc_set_last_error(code, message.c_str());
}

template <class Body>
int guard(const char* function, Body&& body) noexcept {
  try {
    return body();
  } catch (const Error& e) {
    std::string text = e.what();
    if (text.rfind(function, 0) != 0) text = std::string(function) + ": " + text;
    return fail(to_c_code(e.code()), text);
  } catch (const std::bad_alloc&) {
    return fail(-ENOMEM, std::string(function) + ": out of memory");
  } catch (const std::exception& e) {
    return fail(MPROC_EINTERNAL, std::string(function) + ": " + e.what());
  } catch (...) {
    return fail(MPROC_EINTERNAL, std::string(function) + ": unknown C++ exception");
  }
}

Error invalid(const char* function, const std::string& what) {
  return Error(std::make_error_code(std::errc::invalid_argument),
               std::string(function) + ": " + what);
}

void require(const void* p, const char* function, const char* name) {
  if (p == nullptr) throw invalid(function, std::string(name) + " is NULL");
}

// ---- Handles: the live objects of each kind, so that a stale, foreign or NULL pointer is
// MPROC_EBADHANDLE without being dereferenced.

struct CPool {
  mpi::Pool pool;
};
struct CFuture {
  AsyncResult<std::string> result;
};
struct CIterator {
  std::optional<ImapIterator<std::string>> it;
};

template <class T>
class Handles {
 public:
  static T* insert(std::unique_ptr<T> object) {
    std::lock_guard lock(mutex());
    T* raw = object.get();
    live().emplace(raw, std::move(object));
    return raw;
  }
  // The object, or EBADHANDLE.
  static T& find(const void* handle, const char* function, const char* type) {
    std::lock_guard lock(mutex());
    auto it = live().find(static_cast<const T*>(handle));
    if (it == live().end())
      throw Error(errc::bad_handle, std::string(function) + ": not a live " + type +
                                        (handle == nullptr ? " (NULL)" : ""));
    return *it->second;
  }
  // Takes the object out (destroyed by the caller, outside the lock), or EBADHANDLE.
  static std::unique_ptr<T> remove(const void* handle, const char* function, const char* type) {
    std::lock_guard lock(mutex());
    auto it = live().find(static_cast<const T*>(handle));
    if (it == live().end())
      throw Error(errc::bad_handle, std::string(function) + ": not a live " + type);
    std::unique_ptr<T> object = std::move(it->second);
    live().erase(it);
    return object;
  }

 private:
  static std::mutex& mutex() {
    static auto* m = new std::mutex;  // never destroyed: usable from late destructors
    return *m;
  }
  static std::unordered_map<const T*, std::unique_ptr<T>>& live() {
    static auto* map = new std::unordered_map<const T*, std::unique_ptr<T>>;
    return *map;
  }
};

mpi::Pool& pool_of(mproc_mpi_pool_t* handle, const char* function) {
  return Handles<CPool>::find(handle, function, "mproc_mpi_pool_t").pool;
}

// Reads a caller's size-prefixed options: the first struct_size bytes over the defaults; a larger
// struct only with a zero tail; a smaller one than the first version: EINVAL.
template <class T>
void read_options(const T* given, T& out, const char* function, const char* type) {
  if (given == nullptr) return;
  const size_t size = given->struct_size;
  if (size < sizeof(T) && size < sizeof(size_t) * 2)
    throw invalid(function, std::string(type) + ": struct_size " + std::to_string(size) +
                                " is too small");
  if (size > sizeof(T)) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(given);
    for (size_t i = sizeof(T); i < size; ++i)
      if (bytes[i] != 0)
        throw invalid(function, std::string(type) + ": unknown non-zero fields past byte " +
                                    std::to_string(sizeof(T)));
  }
  std::memcpy(&out, given, std::min(size, sizeof(T)));
  out.struct_size = sizeof(T);
}

struct CallOptions {
  TaskOptions task;
  size_t window = 0;
};

CallOptions call_options_of(const mproc_task_options_t* given, const char* function) {
  mproc_task_options_t c;
  mproc_task_options_init(&c);
  read_options(given, c, function, "mproc_task_options_t");
  CallOptions options;
  options.window = c.window;
  if (c.timeout_ms != MPROC_WAIT_FOREVER) {
    if (c.timeout_ms <= 0)
      throw invalid(function, "options->timeout_ms must be > 0 or MPROC_WAIT_FOREVER");
    options.task.timeout = std::chrono::milliseconds(c.timeout_ms);
  }
  return options;
}

std::optional<Seconds> wait_of(int64_t timeout_ms, const char* function) {
  if (timeout_ms == MPROC_WAIT_FOREVER) return std::nullopt;
  if (timeout_ms < 0) throw invalid(function, "timeout_ms must be >= 0 or MPROC_WAIT_FOREVER");
  return Seconds(static_cast<double>(timeout_ms) / 1000.0);
}

void* copy_to_buffer(const std::string& bytes) {
  void* buffer = std::malloc(bytes.empty() ? 1 : bytes.size());
  if (buffer == nullptr) throw std::bad_alloc();
  if (!bytes.empty()) std::memcpy(buffer, bytes.data(), bytes.size());
  return buffer;
}

// The inputs as views (not copied), checked.
std::vector<std::string_view> inputs_of(const mproc_bytes_t* inputs, size_t count,
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

// One malloc'd block: the array of count mproc_bytes_t, then the bytes they point to.
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

template <bool Ordered>
int imap(mproc_mpi_pool_t* pool, const char* task, const mproc_bytes_t* inputs, size_t count,
         size_t chunksize, const mproc_task_options_t* options, mproc_mpi_iterator_t** out,
         const char* function) {
  return guard(function, [&] {
    auto& p = pool_of(pool, function);
    require(task, function, "task");
    require(out, function, "out");
    auto views = inputs_of(inputs, count, function);
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
    *out = reinterpret_cast<mproc_mpi_iterator_t*>(Handles<CIterator>::insert(std::move(holder)));
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
    read_options(options, c, function, "mproc_mpi_run_options_t");
    if (c.processes < 0) throw invalid(function, "processes must be >= 0");
    mproc::mpi::RunOptions run_options;
    if (c.processes > 0) run_options.processes = [n = c.processes](int) { return n; };
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
    read_options(options, c, function, "mproc_mpi_pool_options_t");
    if (c.local_processes < -1) throw invalid(function, "local_processes must be >= -1");
    if (c.tasks_per_worker < 1) throw invalid(function, "tasks_per_worker must be >= 1");
    mproc::mpi::PoolOptions o;
    o.local_processes = c.local_processes;
    o.tasks_per_worker = c.tasks_per_worker;
    if (c.on_progress != nullptr)
      o.on_progress = [fn = c.on_progress, data = c.progress_data](size_t n) { fn(n, data); };
    auto pool = std::make_unique<CPool>(CPool{mproc::mpi::Pool(o)});
    *out = reinterpret_cast<mproc_mpi_pool_t*>(Handles<CPool>::insert(std::move(pool)));
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
    *out = reinterpret_cast<mproc_mpi_future_t*>(Handles<CFuture>::insert(std::move(holder)));
    return 0;
  });
}

int mproc_mpi_future_wait(mproc_mpi_future_t* future, int64_t timeout_ms) {
  return guard("mproc_mpi_future_wait", [&] {
    constexpr const char* function = "mproc_mpi_future_wait";
    auto& f = Handles<CFuture>::find(future, function, "mproc_mpi_future_t");
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
    auto& f = Handles<CFuture>::find(future, "mproc_mpi_future_ready", "mproc_mpi_future_t");
    return f.result.ready() ? 1 : 0;
  });
}

int mproc_mpi_future_get(mproc_mpi_future_t* future, int64_t timeout_ms, void** out,
                         size_t* len) {
  return guard("mproc_mpi_future_get", [&] {
    constexpr const char* function = "mproc_mpi_future_get";
    auto& f = Handles<CFuture>::find(future, function, "mproc_mpi_future_t");
    require(out, function, "out");
    require(len, function, "len");
    const auto wait = wait_of(timeout_ms, function);
    const std::string value = wait ? f.result.get(*wait) : f.result.get();
    *out = copy_to_buffer(value);
    *len = value.size();
    return 0;
  });
}

int mproc_mpi_future_destroy(mproc_mpi_future_t* future) {
  if (future == nullptr) return 0;
  return guard("mproc_mpi_future_destroy", [&] {
    Handles<CFuture>::remove(future, "mproc_mpi_future_destroy", "mproc_mpi_future_t");
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
    const auto views = inputs_of(inputs, count, function);
    const size_t chunk = chunksize_of(chunksize, function);
    const CallOptions call = call_options_of(options, function);
    const std::vector<std::string> outputs =
        p.map<std::string>(mproc::TaskName{task}, views, chunk, call.task);
    *results = pack(outputs);
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
    auto& i = Handles<CIterator>::find(it, function, "mproc_mpi_iterator_t");
    require(out, function, "out");
    require(len, function, "len");
    const auto wait = wait_of(timeout_ms, function);
    std::optional<std::string> value = wait ? i.it->next(*wait) : i.it->next();
    if (!value) throw mproc::Error(mproc::errc::end_of_file, "every output was taken");
    *out = copy_to_buffer(*value);
    *len = value->size();
    return 0;
  });
}

int mproc_mpi_iterator_destroy(mproc_mpi_iterator_t* it) {
  if (it == nullptr) return 0;
  return guard("mproc_mpi_iterator_destroy", [&] {
    Handles<CIterator>::remove(it, "mproc_mpi_iterator_destroy", "mproc_mpi_iterator_t");
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
    Handles<CPool>::remove(pool, "mproc_mpi_pool_destroy", "mproc_mpi_pool_t");
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
