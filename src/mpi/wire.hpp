// The messages between rank 0 and the serving ranks: one MPI message per tag, its body a packed
// byte string read with bounds checks (a malformed message is an Error, never a read past its end).
//
//   OPEN        0 -> k   [u64 pool][i32 processes (0: the rank's default)][u64 tasks_per_worker]
//   READY       k -> 0   [u64 pool][i32 code][i32 processes][u64 capacity][i32 pid][str host]
//                        [str message]
//   TASKS       0 -> k   [u64 pool] then per task: [u64 id][f64 timeout s, <= 0: none][str name]
//                        [str payload]   (payload: [u32 count][items]: detail/pool_wire.hpp)
//   RESULTS     k -> 0   [u64 pool] then per task: [u64 id][u32 count][i32 code]
//                        [str items (code 0) or message]
//   CLOSE, TERMINATE 0 -> k, and CLOSED, TERMINATED k -> 0:  [u64 pool]
//   SHUTDOWN    0 -> k   (empty): leave the serving loop; BYE k -> 0 (empty): the rank's last.
//   PING        0 -> k   [u64 pool]: are you there? (a rank with tasks that has been silent);
//   PONG        k -> 0   [u64 pool]: at once, from the serving loop (not from a worker).
//   CANCEL      0 -> k   [u64 pool] then [u64 id] per task: cancel them (not started: removed;
//                        running: the worker is killed and replaced), as the local Pool does.
// Messages from a serving rank about a pool (READY, RESULTS, CLOSED, TERMINATED, PONG) travel
// under that pool's own tag, pool_tag(pool), their kind the body's second field: [u64 pool]
// [i32 kind] then the fields above. So each pool's thread on rank 0 receives only its own
// messages, and several pools can be alive at once. Rank 0's messages and BYE use the kinds as
// tags (a serving rank has one thread, which takes everything from rank 0).
// str: [u32 size][bytes]. Integers in the host's byte order (every rank runs the same binary on
// the same kind of machine, as the codec assumes).
#pragma once

#include <mproc/error.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

namespace mproc::mpi::wire {

enum Tag : int {
  kOpen = 101,
  kReady,
  kTasks,
  kResults,
  kClose,
  kClosed,
  kTerminate,
  kTerminated,
  kShutdown,
  kBye,
  kPing,
  kPong,
  kCancel,
};

class Writer {
 public:
  template <class T>
    requires std::is_arithmetic_v<T>
  Writer& put(T value) {
    out_.append(reinterpret_cast<const char*>(&value), sizeof value);
    return *this;
  }
  Writer& put_str(std::string_view s) {
    put(static_cast<uint32_t>(s.size()));
    out_.append(s);
    return *this;
  }
  // One RESULTS record: [u64 id][u32 count][i32 code][str items or message].
  Writer& put_result(uint64_t id, uint32_t count, int32_t code, std::string_view bytes) {
    return put(id).put(count).put(code).put_str(bytes);
  }
  size_t size() const noexcept { return out_.size(); }
  bool empty() const noexcept { return out_.empty(); }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// Tags from kPoolTagBase up are pools' (MPI guarantees tags up to 32767); a pool shares its tag
// with the pool kPoolTags numbers before it, long ended, whose late messages its number tells
// apart.
inline constexpr int kPoolTagBase = 1000;
inline constexpr uint64_t kPoolTags = 16384;
inline int pool_tag(uint64_t pool) noexcept {
  return kPoolTagBase + static_cast<int>(pool % kPoolTags);
}

// The start of a message a serving rank sends about `pool`.
inline Writer about_pool(uint64_t pool, Tag kind) {
  Writer out;
  out.put(pool).put(static_cast<int32_t>(kind));
  return out;
}
inline constexpr size_t kAboutPoolSize = sizeof(uint64_t) + sizeof(int32_t);

class Reader {
 public:
  Reader(const char* data, size_t size) : p_(data), end_(data + size) {}
  template <class T>
    requires std::is_arithmetic_v<T>
  T get() {
    need(sizeof(T));
    T value;
    std::memcpy(&value, p_, sizeof value);
    p_ += sizeof value;
    return value;
  }
  std::string_view get_str() {
    const auto size = get<uint32_t>();
    need(size);
    std::string_view s(p_, size);
    p_ += size;
    return s;
  }
  bool done() const noexcept { return p_ == end_; }

 private:
  void need(size_t n) const {
    if (static_cast<size_t>(end_ - p_) < n)
      throw Error(errc::internal, "mpi: malformed message from another rank");
  }
  const char* p_;
  const char* end_;
};

// An error code as it travels (the C ABI's integer) and back.
std::error_code code_from_wire(int32_t code) noexcept;

}  // namespace mproc::mpi::wire
