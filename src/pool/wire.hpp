// Messages on a channel's rings. Every message is [u32 size][u8 kind][body], size counting kind
// and body. Integers are in native byte order: both ends are the same program on one machine.
//
// Dispatcher -> worker:
//   task:   [u32 slot][u64 id][u8 flags][payload built by TaskWriter (see pool.hpp)]
// Worker -> dispatcher:
//   ready:        the initializer succeeded
//   init_failed:  [text] the initializer failed (the worker then exits)
//   result:       [u32 slot][u64 id][u64 elapsed ns][u32 count][items]
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

namespace mproc::detail::pool {

enum class Kind : uint8_t { task = 1, ready = 2, init_failed = 3, result = 4 };

inline constexpr uint8_t kNotifyStart = 1;  // task flag: ring the doorbell when starting it

inline constexpr size_t kMessageHeader = sizeof(uint32_t) + 1;

// Starts a message in `out`; returns where it starts, for finish_message.
inline size_t start_message(std::string& out, Kind kind) {
  const size_t at = out.size();
  out.append(sizeof(uint32_t), '\0');
  out.push_back(static_cast<char>(kind));
  return at;
}

inline void finish_message(std::string& out, size_t at) {
  const auto size = static_cast<uint32_t>(out.size() - at - sizeof(uint32_t));
  std::memcpy(out.data() + at, &size, sizeof size);
}

template <class T>
void put(std::string& out, const T& value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

template <class T>
T take(const char*& p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  p += sizeof(T);
  return value;
}

// A complete message at the front of [p, end), or false if more bytes are needed.
struct MessageView {
  Kind kind;
  const char* body;
  size_t size;  // of body
};

inline bool peek_message(const char* p, const char* end, MessageView& message, size_t& consumed) {
  if (static_cast<size_t>(end - p) < kMessageHeader) return false;
  uint32_t size = 0;
  std::memcpy(&size, p, sizeof size);
  if (static_cast<size_t>(end - p) < sizeof(uint32_t) + size) return false;
  message.kind = static_cast<Kind>(p[sizeof(uint32_t)]);
  message.body = p + kMessageHeader;
  message.size = size - 1;
  consumed = sizeof(uint32_t) + size;
  return true;
}

}  // namespace mproc::detail::pool
