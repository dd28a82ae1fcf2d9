// The worker side of the pool's C ABI: a C task's call, and its result setters.
#include "pool_support.hpp"

#include <optional>
#include <string>

// The output slot of one running C task. Lives on the worker's stack during the call.
struct mproc_task_result_s {
  std::string output;
  std::optional<std::string> failure;
};

namespace mproc::capi {
namespace {

// The result of the task running on this thread: the setters accept only it, so a stale or foreign
// pointer is rejected without being dereferenced.
thread_local mproc_task_result_t* t_running = nullptr;

class Running {
 public:
  explicit Running(mproc_task_result_t* result) { t_running = result; }
  ~Running() { t_running = nullptr; }
  Running(const Running&) = delete;
  Running& operator=(const Running&) = delete;
};

mproc_task_result_t& running(mproc_task_result_t* result, const char* function) {
  require(result, function, "result");
  if (result != t_running)
    throw Error(errc::bad_state, std::string(function) +
                                     ": not the result of a task running on this thread");
  return *result;
}

}  // namespace

std::string CTask::operator()(const std::string& input) const {
  mproc_task_result_t result;
  int status = 0;
  {
    const Running scope(&result);
    status = fn(input.data(), input.size(), user_data, &result);
  }
  if (result.failure) throw TaskFailure(*result.failure);
  if (status != 0) throw TaskFailure("the task returned " + std::to_string(status));
  return std::move(result.output);
}

}  // namespace mproc::capi

extern "C" {

int mproc_task_result_set(mproc_task_result_t* result, const void* data, size_t len) {
  return mproc::capi::guard("mproc_task_result_set", [&] {
    constexpr const char* fn = "mproc_task_result_set";
    auto& r = mproc::capi::running(result, fn);
    if (data == nullptr && len > 0) throw mproc::capi::invalid_argument(fn, "data is NULL");
    if (len == 0)
      r.output.clear();
    else
      r.output.assign(static_cast<const char*>(data), len);
    return 0;
  });
}

int mproc_register_task(const char* name, mproc_task_fn fn, void* user_data) {
  return mproc::capi::guard("mproc_register_task", [&] {
    constexpr const char* function = "mproc_register_task";
    mproc::capi::require(name, function, "name");
    if (fn == nullptr) throw mproc::capi::invalid_argument(function, "fn is NULL");
    mproc::register_task(name, mproc::capi::CTask{fn, user_data});
    return 0;
  });
}

int mproc_task_result_fail(mproc_task_result_t* result, const char* message) {
  return mproc::capi::guard("mproc_task_result_fail", [&] {
    auto& r = mproc::capi::running(result, "mproc_task_result_fail");
    r.failure.emplace(message != nullptr ? message : "the task failed");
    return 0;
  });
}

}  // extern "C"
