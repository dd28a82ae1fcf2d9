#include "capi_support.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>

namespace mproc::capi {

// True for a C++ operation name as the core puts it in front of its messages: "start",
// "Lock.handle", "Pool::join" (letters, digits, '_', '.', ':'; no spaces).
bool is_operation_name(std::string_view text) noexcept {
  if (text.empty()) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == ':';
  });
}

void name_function_in_last_error(const char* function) noexcept {
  const std::string_view name(function);
  const std::string_view text(last_error_message());
  if (text.substr(0, name.size()) == name) return;
  // A C caller reads the C function's name once: the C++ operation's name in front of the core's
  // message ("Lock.handle: ...", "start: ...") is replaced, not kept behind it.
  const std::size_t colon = text.find(": ");
  const std::size_t replaced =
      colon != std::string_view::npos && is_operation_name(text.substr(0, colon)) ? colon + 2 : 0;
  try {
    // Built in a buffer the thread keeps (the view `text` is read before the message changes).
    thread_local std::string named;
    named.assign(name);
    named.append(": ");
    named.append(text.substr(replaced));
    replace_last_error_message(named);
  } catch (...) {
    // no memory for the longer message: keep the one we have
  }
}

void check_timeout_ms(std::int64_t timeout_ms, const char* function) {
  if (timeout_ms < kWaitForever)
    throw Error(std::make_error_code(std::errc::invalid_argument),
                std::string(function) + ": timeout_ms must be >= 0 or MPROC_WAIT_FOREVER");
}

int copy_out(const std::string& text, char* buf, std::size_t len, const char* function) {
  if (len > 0) {
    require(buf, function, "buf");
    const std::size_t n = std::min(len - 1, text.size());
    std::memcpy(buf, text.data(), n);
    buf[n] = '\0';
  }
  return static_cast<int>(text.size());
}

void read_sized_options(const void* given, std::size_t given_size, void* out, std::size_t size,
                        std::size_t min_size, const char* function, const char* type_name) {
  if (given == nullptr) return;
  auto invalid = [&](const std::string& what) {
    return Error(std::make_error_code(std::errc::invalid_argument),
                 std::string(function) + ": " + type_name + " " + what);
  };
  if (given_size < min_size)
    throw invalid("struct_size " + std::to_string(given_size) +
                  " is smaller than any version of the struct (" + std::to_string(min_size) +
                  "; use the init function)");
  const auto* bytes = static_cast<const unsigned char*>(given);
  for (std::size_t i = size; i < given_size; ++i)
    if (bytes[i] != 0)
      throw invalid("sets fields (struct_size " + std::to_string(given_size) +
                    ") that this library version does not know (it knows " +
                    std::to_string(size) + " bytes)");
  std::memcpy(out, given, std::min(given_size, size));
}

void* copy_to_buffer(const void* data, std::size_t size) {
  void* buffer = std::malloc(size == 0 ? 1 : size);
  if (buffer == nullptr) throw std::bad_alloc();
  if (size > 0) std::memcpy(buffer, data, size);
  return buffer;
}

}  // namespace mproc::capi
