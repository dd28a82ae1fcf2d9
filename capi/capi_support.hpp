// The machinery every C entry point uses to translate: catch every exception at the boundary and
// turn it into a code plus a thread-local message, and turn handles back into core objects.
#pragma once

#include <mproc/error.hpp>

#include <cstddef>
#include <cstdint>
#include <new>
#include <string>
#include <string_view>
#include <utility>

#include "handle_table.hpp"

namespace mproc::capi {

// Records `message` as this thread's last error and returns `code`. Defined in last_error.cpp
// (libmproc) and mpi_last_error.cpp (libmproc_mpi, which forwards to libmproc's).
// (A view, and assigned into the thread's message: a non-blocking call that finds a queue empty
// fails on every poll, and must not allocate each time.)
int fail(int code, std::string_view message) noexcept;
void replace_last_error_message(std::string_view message) noexcept;
const char* last_error_message() noexcept;

// Runs `body` (which returns the C result, >= 0) and translates any exception into a code. Entry
// points use guard(function, body) below, the one guard of the C ABI.
template <class Body>
int translate_exceptions(Body&& body) noexcept {
  try {
    return body();
  } catch (const Error& e) {
    return fail(to_c_code(e.code()), e.what());
  } catch (const std::bad_alloc&) {
    return fail(-ENOMEM, "out of memory");
  } catch (const std::exception& e) {
    return fail(to_c_code(make_error_code(errc::internal)), e.what());
  } catch (...) {
    return fail(to_c_code(make_error_code(errc::internal)), "unknown C++ exception");
  }
}

// Prefixes this thread's last error message with "function: " unless it already starts with it.
void name_function_in_last_error(const char* function) noexcept;

// guard(body) for the entry point `function`: errors thrown by the core name only their operation
// ("join: Process-1 is closed"), and a C caller's message must name the call that failed.
template <class Body>
int guard(const char* function, Body&& body) noexcept {
  const int code = translate_exceptions(std::forward<Body>(body));
  if (code < 0) name_function_in_last_error(function);
  return code;
}

// Throws EINVAL naming the function and the argument when `pointer` is NULL.
inline void require(const void* pointer, const char* function, const char* argument) {
  if (pointer == nullptr)
    throw Error(std::make_error_code(std::errc::invalid_argument),
                std::string(function) + ": " + argument + " is NULL");
}

// The object behind a C handle, or errc::bad_handle naming the function and the handle type.
template <class T, detail::HandleKind Kind, class CHandle>
T& deref(CHandle* handle, const char* function, const char* type_name) {
  T* object = detail::Handles<T, Kind>::lookup(reinterpret_cast<std::uintptr_t>(handle));
  if (object == nullptr)
    throw Error(errc::bad_handle, std::string(function) + ": not a live " + type_name +
                                      (handle == nullptr ? " (NULL)" : ""));
  return *object;
}

// Reads a caller's size-prefixed options struct (its first field is `size_t struct_size`) into
// `out`, which holds the defaults: the first struct_size bytes are taken, so an older caller's
// smaller struct leaves the newer fields at their defaults; a newer caller's larger struct is
// accepted only if the bytes past what this library knows are all zero. EINVAL naming `function`
// and `type_name` for a struct_size below `min_size` (the first version's) or unknown non-zero
// fields. NULL `given` keeps the defaults.
void read_sized_options(const void* given, std::size_t given_size, void* out, std::size_t size,
                        std::size_t min_size, const char* function, const char* type_name);
template <class T>
void read_sized_options(const T* given, T& out, std::size_t min_size, const char* function,
                        const char* type_name) {
  read_sized_options(given, given == nullptr ? 0 : given->struct_size, &out, sizeof(T), min_size,
                     function, type_name);
  out.struct_size = sizeof(T);
}

// A copy of data[0, size) in a malloc'd buffer, as mproc_buffer_free releases: at least one byte,
// so that an empty result is still a non-NULL buffer. Throws std::bad_alloc.
void* copy_to_buffer(const void* data, std::size_t size);

// The C view of a timeout: MPROC_WAIT_FOREVER (-1) means no limit; other negatives are EINVAL.
constexpr std::int64_t kWaitForever = -1;
void check_timeout_ms(std::int64_t timeout_ms, const char* function);

// Copies `text` NUL-terminated into buf (truncated to len - 1 bytes) and returns its full length,
// as snprintf does; buf may be NULL when len is 0 (EINVAL otherwise).
int copy_out(const std::string& text, char* buf, std::size_t len, const char* function);

}  // namespace mproc::capi
