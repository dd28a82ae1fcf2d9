// Tasks registered by name (mproc::register_task): what the registry keeps of each, and the
// signature of a function pointer or a non-generic lambda. A name is how code is found in a
// process that is not a fork of the caller (the forkserver's workers, MPI ranks).
// Shipped with the headers because the templates of <mproc/pool.hpp> use it; not API.
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/detail/pool_wire.hpp>  // Invoker
#include <mproc/export.h>

#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>

namespace mproc::detail {

template <class F>
struct signature : signature<decltype(&F::operator())> {};
template <class R, class... A>
struct signature<R (*)(A...)> {
  using result = std::decay_t<R>;
  using args = std::tuple<std::decay_t<A>...>;
};
template <class R, class C, class... A>
struct signature<R (C::*)(A...) const> : signature<R (*)(A...)> {};
template <class R, class C, class... A>
struct signature<R (C::*)(A...)> : signature<R (*)(A...)> {};

struct RegisteredTask {
  Invoker invoker = nullptr;
  std::string callable;  // the callable's bytes
  const std::type_info* args = nullptr;
  const std::type_info* result = nullptr;
};
MPROC_API void add_registered_task(const std::string& name, RegisteredTask task);
// Errors: EINVAL if no task has that name.
MPROC_API RegisteredTask find_registered_task(const std::string& name);
[[noreturn]] MPROC_API void throw_task_signature_mismatch(const std::string& name);

}  // namespace mproc::detail
