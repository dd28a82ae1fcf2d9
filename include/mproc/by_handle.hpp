// Objects that live in shared memory travel by handle: a Queue, a lock, a Value, a SharedMemory or a
// Manager container passed as a Pool task's argument (or put in a Queue, sent over a Connection)
// is encoded as its handle() and attached again where it arrives, so
//
//   mproc::Queue q;
//   pool.apply([](mproc::Queue& q, int i) { q.put(i); }, q, 7);   // the worker attaches q
//   mproc::Process p(worker, q);                                   // the child gets q
//
// just work, as in Python with fork. A type opts in by specialising ByHandle<T> next to its class
// (ByHandleMembers<T> does it for a type with handle() and a static attach(handle)). What cannot
// travel says so: encoding a closed object throws the object's own error (errc::closed) in the
// sending process (a sync object made without mproc::attachable travels by its arena handle,
// see sync.hpp); a handle whose object is gone fails the attach where it arrives (ENOENT). A Pool
// task keeps its copyable and temporary by-handle arguments alive until it ends (see pool.hpp).
// A Connection (a descriptor) is not a handle: a Process child gets a duplicate (ShareInFork), a
// Pool worker receives it by SCM_RIGHTS from the sending process's resource sharer for as long as
// the task runs (see Codec<Connection>).
//
// Thread-safety: pure functions of their arguments (attach makes a new object).
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/codec.hpp>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace mproc {

// How T travels by handle: specialise with
//   static std::string handle(const T& object);  // throws when this object cannot travel
//   static T attach(std::string_view handle);    // the object again, in the receiving process
template <class T>
struct ByHandle;

/// ByHandle for a type with a handle() member and a static attach(handle).
/// Errors: those of T::handle() and T::attach().
/// Thread-safety: as T's handle() and attach().
/// Fork-safety: stateless.
template <class T>
struct ByHandleMembers {
  static std::string handle(const T& object) { return object.handle(); }
  static T attach(std::string_view handle) { return T::attach(handle); }
};

template <class T>
concept travels_by_handle = requires(const T& object, std::string_view handle) {
  { ByHandle<T>::handle(object) } -> std::convertible_to<std::string>;
  { ByHandle<T>::attach(handle) } -> std::same_as<T>;
};

// The codec of such a type: its handle's characters.
template <class T>
  requires travels_by_handle<T>
struct Codec<T> {
  static void encode(const T& object, std::string& out) { out.append(ByHandle<T>::handle(object)); }
  static T decode(const void* data, std::size_t size) {
    return ByHandle<T>::attach(std::string_view(static_cast<const char*>(data), size));
  }
};

// How a move-only object that is not shared by handle (a Connection: a descriptor) gives a child
// forked by Process its own object: specialise with `static T share(const T& object);`.
template <class T>
struct ShareInFork;

namespace detail {

template <class>
inline constexpr bool dependent_false = false;

template <class T>
concept shares_in_fork = requires(const T& object) {
  { ShareInFork<T>::share(object) } -> std::same_as<T>;
};

// A second object for the same shared thing, in this process (a copy for copyable handles such as
// Lock; an attach by handle, or ShareInFork, for move-only ones). Errors: those of handle/attach.
template <class T>
T share(const T& object) {
  if constexpr (std::is_copy_constructible_v<T>) {
    return object;
  } else if constexpr (shares_in_fork<T>) {
    return ShareInFork<T>::share(object);
  } else {
    static_assert(travels_by_handle<T>, "mproc: this move-only object cannot be shared");
    return ByHandle<T>::attach(ByHandle<T>::handle(object));
  }
}

// What Process(fn, args...) stores for an argument: the argument itself (decay-copied or moved, as
// std::thread does), or, for a move-only shared object passed as an lvalue, share(object).
template <class A>
std::decay_t<A> stored_argument(A&& arg) {
  using T = std::decay_t<A>;
  if constexpr (std::is_lvalue_reference_v<A> && !std::is_copy_constructible_v<T>) {
    static_assert(travels_by_handle<T> || shares_in_fork<T>,
                  "mproc::Process: this argument cannot be copied and is not shared by handle: "
                  "pass it with std::move, or std::ref to it");
    return share(arg);
  } else {
    return std::forward<A>(arg);
  }
}

// Calls fn with arguments stored in a tuple, once: as lvalues when fn accepts them (a `Queue&`
// parameter gets the stored object), else with the move-only ones as rvalues (a `Queue` parameter
// by value takes the stored object over; copyable ones stay lvalues, so `int&` still binds).
template <class T>
using moved_if_move_only_t = std::conditional_t<std::is_copy_constructible_v<T>, T&, T&&>;

template <class Fn, class... A>
inline constexpr bool invocable_as_lvalues = std::is_invocable_v<Fn&, A&...>;
template <class Fn, class... A>
concept invocable_with_stored =
    std::is_invocable_v<Fn&, A&...> || std::is_invocable_v<Fn&, moved_if_move_only_t<A>...>;

template <class Fn, class... A>
using stored_call_result_t = std::decay_t<typename std::conditional_t<
    invocable_as_lvalues<Fn, A...>, std::invoke_result<Fn&, A&...>,
    std::invoke_result<Fn&, moved_if_move_only_t<A>...>>::type>;

template <class Fn, class... A>
decltype(auto) apply_stored(Fn& fn, std::tuple<A...>& args) {
  if constexpr (invocable_as_lvalues<Fn, A...>) {
    return std::apply(fn, args);
  } else {
    return std::apply(
        [&fn](A&... stored) -> decltype(auto) {
          return std::invoke(fn, static_cast<moved_if_move_only_t<A>>(stored)...);
        },
        args);
  }
}

}  // namespace detail
}  // namespace mproc
