// What the pool's C entry points share: the C task seen as a C++ task, the objects behind the
// handles, and the translation of the C options.
#pragma once

#include "mproc.h"

#include <mproc/pool.hpp>

#include <optional>
#include <string>

#include "capi_support.hpp"

namespace mproc::capi {

// A C task as a Pool task: a function pointer and a pointer, trivially copyable, so its bytes
// travel to the worker (a fork: both stay valid there). Runs the C function in the worker and
// turns its output or failure into the task's return value or a TaskFailure.
struct CTask {
  mproc_task_fn fn;
  void* user_data;
  std::string operator()(const std::string& input) const;
};

}  // namespace mproc::capi

// Its pointers are the C caller's to keep valid in the workers (as the C header says).
template <>
inline constexpr bool mproc::detail::task_may_hold_addresses<mproc::capi::CTask> = true;

namespace mproc::capi {

// The objects behind mproc_future_t and mproc_pool_iterator_t. Made empty, so that the handle
// exists before the task is submitted: a failure to make the handle never leaves a task running
// that nobody can reach.
struct CFuture {
  AsyncResult<std::string> result;
};
struct CIterator {
  std::optional<ImapIterator<std::string>> it;
};

using PoolHandles = detail::Handles<Pool, detail::HandleKind::pool>;
using FutureHandles = detail::Handles<CFuture, detail::HandleKind::future>;
using IteratorHandles = detail::Handles<CIterator, detail::HandleKind::pool_iterator>;

Error invalid_argument(const char* function, const std::string& what);

}  // namespace mproc::capi
