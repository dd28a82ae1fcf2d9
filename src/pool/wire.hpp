// Messages on a channel's rings. Every message is [u32 size][u8 kind][body], size counting kind
// and body. Integers are in native byte order: both ends are the same program on one machine.
//
// Dispatcher -> worker:
//   task:   [u32 slot][u64 id][u8 flags][payload (<mproc/detail/pool_wire.hpp>)]
// Worker -> dispatcher:
//   ready:        the initializer succeeded
//   init_failed:  [text] the initializer failed (the worker then exits)
//   result:       [u32 slot][u64 id][u64 elapsed ns][u32 count][items]; elapsed is
//                 kElapsedUnknown for a task the worker did not time (worker.cpp, kClockEvery)
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

namespace mproc::detail::pool {

enum class Kind : uint8_t { task = 1, ready = 2, init_failed = 3, result = 4 };

inline constexpr uint8_t kNotifyStart = 1;  // task flag: ring the doorbell when starting it
inline constexpr uint64_t kElapsedUnknown = UINT64_MAX;  // a result's elapsed: not measured

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

// A complete message at the front of a buffer.
struct MessageView {
  Kind kind;
  const char* body;
  size_t size;  // of body
};

enum class Peek { incomplete, message, malformed };

// The message at the front of [p, end): `incomplete` if more bytes are needed. The bytes come
// from another process: a size that cannot hold the kind byte is `malformed` (the reader then
// trusts nothing more from that peer). On `message`, fills `message` and `consumed`; the body
// lies inside [p, end).
inline Peek peek_message(const char* p, const char* end, MessageView& message, size_t& consumed) {
  if (static_cast<size_t>(end - p) < kMessageHeader) return Peek::incomplete;
  uint32_t size = 0;
  std::memcpy(&size, p, sizeof size);
  if (size == 0) return Peek::malformed;
  if (static_cast<size_t>(end - p) - sizeof(uint32_t) < size) return Peek::incomplete;
  message.kind = static_cast<Kind>(p[sizeof(uint32_t)]);
  message.body = p + kMessageHeader;
  message.size = size_t{size} - 1;
  consumed = sizeof(uint32_t) + size_t{size};
  return Peek::message;
}

// The fixed part of a result message's body: [u32 slot][u64 id][u64 elapsed ns][u32 count].
inline constexpr size_t kResultHeader = 2 * sizeof(uint32_t) + 2 * sizeof(uint64_t);
// The fixed part of a task message's body: [u32 slot][u64 id][u8 flags], then the payload.
inline constexpr size_t kTaskHeader = sizeof(uint32_t) + sizeof(uint64_t) + 1;

}  // namespace mproc::detail::pool
