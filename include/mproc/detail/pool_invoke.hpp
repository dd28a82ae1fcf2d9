// The worker side of a typed task: the Invoker that decodes an item's arguments, calls the task
// and writes its result record (formats in <mproc/detail/pool_wire.hpp>), and the compile-time
// check that a task's callable can travel as bytes.
// Shipped with the headers because the templates of <mproc/pool.hpp> use it; not API.
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/async_result.hpp>  // item_t
#include <mproc/by_handle.hpp>  // stored_call_result_t, apply_stored
#include <mproc/codec.hpp>
#include <mproc/detail/pool_wire.hpp>
#include <mproc/export.h>
#include <mproc/process.hpp>  // SystemExit

#include <bit>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <variant>

namespace mproc::detail {

// "<demangled type>: <what>" of the exception being handled (or a fixed text for others).
MPROC_API std::string describe_current_exception();

template <class Fn>
Fn load_callable(const char* bytes) {
  struct Raw {
    alignas(Fn) unsigned char bytes[sizeof(Fn)];
  } raw;
  std::memcpy(raw.bytes, bytes, sizeof(Fn));
  return std::bit_cast<Fn>(raw);
}

// The worker side of one item of a task Fn called with arguments of types A...
template <class Fn, class... A>
void invoke_one(Fn fn, const char* data, size_t size, std::string& out) {
  using R = stored_call_result_t<Fn, A...>;
  using V = item_t<R>;
  const size_t at = start_record<V>(out);
  std::optional<std::tuple<A...>> args;
  try {
    args.emplace(decode_args<A...>(data, data + size));
  } catch (...) {
    append_failure(out, at, ItemStatus::codec, describe_current_exception());
    return;
  }
  try {
    if constexpr (std::is_same_v<V, std::monostate>) {
      apply_stored(fn, *args);  // nothing to send back, even for a task returning a monostate
    } else {
      const R result = apply_stored(fn, *args);
      try {
        Codec<R>::encode(result, out);
      } catch (...) {
        append_failure(out, at, ItemStatus::codec, describe_current_exception());
        return;
      }
    }
  } catch (const SystemExit&) {
    throw;  // ends the worker with that exit code, as in a Process
  } catch (...) {
    append_failure(out, at, ItemStatus::exception, describe_current_exception());
    return;
  }
  finish_ok_record<V>(out, at);
}

// The Invoker of a task Fn called with arguments of types A...: one call per chunk, so that the
// loop over its items can inline the task.
template <class Fn, class... A>
void invoke_items(const char* callable, const char* data, const char* end, uint32_t count,
                  std::string& out) {
  const Fn fn = load_callable<Fn>(callable);
  constexpr size_t fixed = fixed_args_size<A...>;
  for (uint32_t i = 0; i < count; ++i) {
    size_t size = fixed;
    if constexpr (fixed == kVariableSize) {
      if (static_cast<size_t>(end - data) < sizeof(uint32_t)) return append_truncated(out, count - i);
      size = get_pod<uint32_t>(data);
      data += sizeof(uint32_t);
    }
    if (static_cast<size_t>(end - data) < size) return append_truncated(out, count - i);
    invoke_one<Fn, A...>(fn, data, size, out);  // a fresh copy of the callable for each item
    data += size;
  }
}

template <class Tuple>
struct tuple_args_size;
template <class... A>
struct tuple_args_size<std::tuple<A...>> {
  static constexpr size_t value = fixed_args_size<A...>;
};

template <class Tuple>
struct tuple_invoker;
template <class... A>
struct tuple_invoker<std::tuple<A...>> {
  template <class Fn>
  static constexpr Invoker get() {
    return &invoke_items<Fn, wire_t<A>...>;
  }
};

template <class F>
concept task_callable = std::is_trivially_copyable_v<std::decay_t<F>>;

// True when a callable's bytes hold no pointer and no reference: a bit_cast to it is a constant
// expression exactly then (the language refuses pointers, references and unions there). A
// function pointer itself is code, the same in every worker.
template <class F>
struct ZeroBytes {
  alignas(F) unsigned char bytes[sizeof(F)]{};
};
template <class F>
concept holds_no_address =
    std::is_pointer_v<F> ||
    requires { typename std::integral_constant<bool, (std::bit_cast<F>(ZeroBytes<F>{}), true)>; };

// Callables allowed to hold addresses (the C ABI's task: a C function and its user_data, which the
// C caller vouches for).
template <class F>
inline constexpr bool task_may_hold_addresses = false;

template <class F>
void check_task_callable() {
  static_assert(task_callable<F>,
                "mproc::Pool: a task must be a function or a lambda whose captures are trivially "
                "copyable (ints, doubles, plain structs): its bytes travel to the worker. Pass "
                "strings and containers as arguments instead.");
  static_assert(!task_callable<F> || task_may_hold_addresses<std::decay_t<F>> ||
                    holds_no_address<std::decay_t<F>>,
                "mproc::Pool: a task may not capture pointers or references (nor unions, e.g. "
                "std::optional): a worker has its own copy of memory, made when it started, "
                "where an object created later (a Queue made after the Pool) does not exist. "
                "Pass shared objects (Queue, Lock, Value, Array, SharedMemory, Manager "
                "containers) as task arguments, where they travel by handle, and data by value.");
}

}  // namespace mproc::detail
