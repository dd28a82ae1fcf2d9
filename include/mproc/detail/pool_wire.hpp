// The pool's task and result byte format: the one place that writes and reads it. Used by the
// typed layer of <mproc/pool.hpp> (TaskWriter, SmallTask, the result states), the worker
// (src/pool/worker.cpp), the result records' failure text (src/pool/results.cpp) and
// libmproc_mpi (src/mpi), which ships a payload without its first, process-local part.
//
//   task payload:  [uintptr invoker][u32 callable size][callable][u32 count][items...]
//                  an item: its arguments packed back to back when all have a fixed size,
//                  else [u32 size][arguments]; an argument: fixed-size bitwise bytes, else
//                  [u32 size][codec bytes]
//   result items:  one record per item (see ItemView)
//
// Integers are in native byte order: both ends are the same program on one machine.
// Shipped with the headers because the templates of <mproc/pool.hpp> use it; not API.
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/by_handle.hpp>
#include <mproc/codec.hpp>
#include <mproc/detail/descriptor_shares.hpp>
#include <mproc/error.hpp>
#include <mproc/export.h>

#include <cstdint>
#include <cstring>
#include <functional>  // std::reference_wrapper
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

namespace mproc::detail {

// One result item, as the worker wrote it.
enum class ItemStatus : uint8_t { ok = 0, exception = 1, codec = 2 };

// Result records, one per item: [u8 status][u32 size][bytes]; or, when the task succeeded and
// its values have a fixed size (the bitwise codec, or nothing for void), [u8 ok][value]. Small
// values so take about half the bytes, and every result crosses cores twice (worker ->
// dispatcher -> caller). Failures always carry their text in the first form.
struct ItemView {
  ItemStatus status;
  const char* data;
  size_t size;
};

inline constexpr size_t kVariableSize = SIZE_MAX;

// The size of a successful record's value for values of type V, or kVariableSize.
template <class V>
inline constexpr size_t fixed_result_size = std::is_same_v<V, std::monostate> ? 0
                                            : codec_is_bitwise<V>              ? sizeof(V)
                                                                               : kVariableSize;

// Reads the record at p, written for values of type V, and advances p; false if the bytes are
// malformed. (Inline: imap consumers call it once per item.)
template <class V>
bool next_item(const char*& p, const char* end, ItemView& item) noexcept {
  constexpr size_t fixed = fixed_result_size<V>;
  if (p == end) return false;
  item.status = static_cast<ItemStatus>(*p);
  if (fixed != kVariableSize && item.status == ItemStatus::ok) {
    if (static_cast<size_t>(end - p) < 1 + fixed) return false;
    item.data = p + 1;
    item.size = fixed;
    p = item.data + fixed;
    return true;
  }
  if (static_cast<size_t>(end - p) < 1 + sizeof(uint32_t)) return false;
  uint32_t size = 0;
  std::memcpy(&size, p + 1, sizeof size);
  if (static_cast<size_t>(end - p) < 1 + sizeof(uint32_t) + size) return false;
  item.data = p + 1 + sizeof(uint32_t);
  item.size = size;
  p = item.data + size;
  return true;
}

// Starts the record of one item in `out`; returns where it starts, for finish_ok_record or
// append_failure. The status byte is set by either.
template <class V>
size_t start_record(std::string& out) {
  const size_t at = out.size();
  out.append(fixed_result_size<V> != kVariableSize ? 1 : 1 + sizeof(uint32_t), '\0');
  return at;
}
// Marks the record started at `at` ok, its value being what follows it in `out`.
template <class V>
void finish_ok_record(std::string& out, size_t at) {
  out[at] = static_cast<char>(ItemStatus::ok);
  if constexpr (fixed_result_size<V> == kVariableSize) {
    const auto bytes = static_cast<uint32_t>(out.size() - at - 1 - sizeof(uint32_t));
    std::memcpy(out.data() + at + 1, &bytes, sizeof bytes);
  }
}
// Replaces what follows `at` in `out` with a failure record: failures always carry their text in
// the [u8 status][u32 size][bytes] form.
inline void append_failure(std::string& out, size_t at, ItemStatus status,
                           const std::string& text) {
  out.resize(at);
  out.push_back(static_cast<char>(status));
  const auto size = static_cast<uint32_t>(text.size());
  out.append(reinterpret_cast<const char*>(&size), sizeof size);
  out += text;
}
// Appends `count` codec failure records: the items' argument bytes are truncated or malformed.
inline void append_truncated(std::string& out, uint32_t count) {
  for (uint32_t i = 0; i < count; ++i)
    append_failure(out, out.size(), ItemStatus::codec,
                   "task arguments: truncated or malformed bytes");
}

// The Error an item that is not ok stands for.
MPROC_API Error item_error(const ItemView& item);

// Runs in the worker: decodes the arguments of `count` items from [data, end), calls the task on
// each, and appends one result record per item to `out` (see ItemView).
using Invoker = void (*)(const char* callable, const char* data, const char* end, uint32_t count,
                         std::string& out);

// Arguments travel as these types (a C string as std::string, a string_view as std::string; a
// std::ref(x) as x: a Queue or a lock given by reference travels by handle like the object).
template <class A>
struct wire_type {
  using type = std::conditional_t<std::is_same_v<A, const char*> || std::is_same_v<A, char*> ||
                                      std::is_same_v<A, std::string_view>,
                                  std::string, A>;
};
template <class T>
struct wire_type<std::reference_wrapper<T>> : wire_type<std::remove_cv_t<T>> {};
template <class A>
using wire_t = typename wire_type<std::decay_t<A>>::type;

template <class A>
struct is_reference_wrapper : std::false_type {};
template <class T>
struct is_reference_wrapper<std::reference_wrapper<T>> : std::true_type {};

// An argument as wire_t<A>: the object itself when it travels as it is (no copy: a move-only
// Queue is encoded in place), else converted.
template <class A>
decltype(auto) wire(const A& arg) {
  if constexpr (is_reference_wrapper<A>::value)
    return wire(arg.get());
  else if constexpr (std::is_same_v<wire_t<A>, A>)
    return (arg);
  else
    return wire_t<A>(arg);
}

template <class T>
void put_pod(std::string& out, const T& value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

template <class T>
T get_pod(const char* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  return value;
}

// The process-local head of a task payload: [uintptr invoker][u32 callable size]. libmproc_mpi
// sends a payload without it (and without the callable) and the serving rank writes its own.
inline constexpr size_t kPayloadHead = sizeof(uintptr_t) + sizeof(uint32_t);

// Appends a payload's head and callable to `out`; the caller then appends [u32 count][items].
inline void put_payload_head(std::string& out, Invoker invoker, std::string_view callable) {
  put_pod(out, reinterpret_cast<uintptr_t>(invoker));
  put_pod(out, static_cast<uint32_t>(callable.size()));
  out.append(callable);
}

// A task payload, read back (by the worker).
struct PayloadView {
  Invoker invoker = nullptr;
  const char* callable = nullptr;  // the callable's bytes
  uint32_t count = 0;              // items
  const char* items = nullptr;     // [items, end)
};

// Reads the payload in [p, end); false if it is too short for its own sizes.
inline bool read_payload(const char* p, const char* end, PayloadView& out) noexcept {
  if (static_cast<size_t>(end - p) < kPayloadHead) return false;
  out.invoker = reinterpret_cast<Invoker>(get_pod<uintptr_t>(p));
  const auto callable_size = get_pod<uint32_t>(p + sizeof(uintptr_t));
  p += kPayloadHead;
  if (static_cast<size_t>(end - p) < size_t{callable_size} + sizeof(uint32_t)) return false;
  out.callable = p;
  p += callable_size;
  out.count = get_pod<uint32_t>(p);
  out.items = p + sizeof(uint32_t);
  return true;
}

// The part of a finished payload after its head and `callable_size` bytes of callable:
// [u32 count][items], what libmproc_mpi ships to a serving rank.
inline std::string_view payload_items(std::string_view payload, size_t callable_size) {
  return payload.substr(kPayloadHead + callable_size);
}

// The item count at the front of such a [u32 count][items] part; false if it is too short.
inline bool read_item_count(std::string_view items_part, uint32_t& count) noexcept {
  if (items_part.size() < sizeof count) return false;
  count = get_pod<uint32_t>(items_part.data());
  return true;
}

// A value in an argument list: bitwise types at their fixed size, others length-prefixed.
template <class T>
void encode_arg(std::string& out, const T& value) {
  if constexpr (codec_is_bitwise<T>) {
    Codec<T>::encode(value, out);
  } else {
    const size_t at = out.size();
    out.append(sizeof(uint32_t), '\0');
    Codec<T>::encode(value, out);
    const auto size = static_cast<uint32_t>(out.size() - at - sizeof(uint32_t));
    std::memcpy(out.data() + at, &size, sizeof size);
  }
}

[[noreturn]] MPROC_API void throw_truncated_arguments();

template <class T>
T decode_arg(const char*& p, const char* end) {
  size_t size = sizeof(T);
  if constexpr (!codec_is_bitwise<T>) {
    if (static_cast<size_t>(end - p) < sizeof(uint32_t)) throw_truncated_arguments();
    size = get_pod<uint32_t>(p);
    p += sizeof(uint32_t);
  }
  if (static_cast<size_t>(end - p) < size) throw_truncated_arguments();
  const char* at = p;
  p += size;
  return Codec<T>::decode(at, size);
}

template <class... A>
std::tuple<A...> decode_args(const char* p, const char* end) {
  // Braced initialisation evaluates left to right.
  std::tuple<A...> args{decode_arg<A>(p, end)...};
  if (p != end) throw_truncated_arguments();
  return args;
}

// An item's arguments in a task payload: packed back to back when every argument has a fixed
// size (the bitwise codec), else [u32 size][arguments]. This is their fixed size, or
// kVariableSize.
template <class... A>
inline constexpr size_t fixed_args_size =
    (codec_is_bitwise<A> && ...) ? (size_t{0} + ... + sizeof(A)) : kVariableSize;

// What a job holds until it ends, so that a worker can still collect its arguments after the
// caller has let go of them: the descriptors it shares, and its by-handle arguments (a Lock, a
// Value, a temporary Queue), whose handles name nothing once their last object here is gone.
struct JobHolds {
  std::shared_ptr<DescriptorShares> shares;
  std::vector<std::shared_ptr<const void>> objects;
  bool empty() const noexcept { return !shares && objects.empty(); }
};

// Builds a job's payload: [u64 invoker][u32 callable size][callable][u32 count][items...], the
// items as invoke_items reads them.
class TaskWriter {
 public:
  // The callable is `fn`'s bytes, or the bytes `callable` names (a registered task's).
  template <class Fn>
    requires(!std::is_convertible_v<const Fn&, std::string_view>)
  TaskWriter(Invoker invoker, const Fn& fn)
      : TaskWriter(invoker, std::string_view(reinterpret_cast<const char*>(&fn), sizeof(Fn))) {}
  TaskWriter(Invoker invoker, std::string_view callable) {
    put_payload_head(payload_, invoker, callable);
    count_at_ = payload_.size();
    put_pod(payload_, uint32_t{0});
  }
  // Makes room for `items` more items whose arguments have the fixed size `item_size` (no-op
  // for kVariableSize).
  void reserve(size_t items, size_t item_size) {
    if (item_size != kVariableSize) payload_.reserve(payload_.size() + items * item_size);
  }
  // Appends one item: its arguments (A... as the invoker decodes them).
  template <class... A>
  void add(const A&... args) {
    if constexpr ((shares_descriptors<A> || ...)) {
      const ShareActivation sharing(holds_.shares);  // the shares live as long as this job
      add_item(args...);
    } else {
      add_item(args...);
    }
    (hold_copy(args), ...);
  }
  // Takes over a temporary that travels by handle and cannot be copied (`apply_async(f,
  // mproc::Queue())`): it would be gone, and its name with it, before the worker attaches. Call
  // after add(), with the argument as the caller passed it; anything else is left alone.
  template <class A>
  void hold_temporary(A&& arg) {
    using T = std::remove_cvref_t<A>;
    if constexpr (!std::is_lvalue_reference_v<A> && !std::is_copy_constructible_v<T> &&
                  travels_by_handle<T>)
      holds_.objects.push_back(std::make_shared<const T>(std::move(arg)));
  }
  uint32_t count() const noexcept { return count_; }
  std::string finish() {
    std::memcpy(payload_.data() + count_at_, &count_, sizeof count_);
    return std::move(payload_);
  }
  // What the job must hold (empty if nothing): its sink keeps it until the job ends (bind_holds in
  // <mproc/detail/job_shares.hpp>).
  JobHolds take_holds() noexcept { return std::move(holds_); }

 private:
  // A copyable object that travels by handle (a Lock, a Value, an Array): a copy keeps its shared
  // state, and so its handle, alive for the job.
  template <class A>
  void hold_copy(const A& arg) {
    if constexpr (std::is_copy_constructible_v<A> && travels_by_handle<A>)
      holds_.objects.push_back(std::make_shared<const A>(arg));
  }

  template <class... A>
  void add_item(const A&... args) {
    if constexpr (fixed_args_size<A...> != kVariableSize) {
      (encode_arg(payload_, args), ...);
    } else {
      const size_t at = payload_.size();
      payload_.append(sizeof(uint32_t), '\0');
      (encode_arg(payload_, args), ...);
      const auto size = static_cast<uint32_t>(payload_.size() - at - sizeof(uint32_t));
      std::memcpy(payload_.data() + at, &size, sizeof size);
    }
    ++count_;
  }

  std::string payload_;
  size_t count_at_ = 0;
  uint32_t count_ = 0;
  JobHolds holds_;
};

// The payload of a one-item task whose arguments all have fixed sizes, laid out as TaskWriter
// does, built on the stack: submitting a tiny task allocates nothing but its result.
template <class Fn, class... A>
class SmallTask {
 public:
  static constexpr size_t kSize =
      kPayloadHead + sizeof(Fn) + sizeof(uint32_t) + fixed_args_size<A...>;
  static constexpr bool fits = fixed_args_size<A...> != kVariableSize && kSize <= 512;

  SmallTask(Invoker invoker, const Fn& fn, const A&... args) noexcept {
    char* p = bytes_;
    p = put(p, reinterpret_cast<uintptr_t>(invoker));
    p = put(p, static_cast<uint32_t>(sizeof(Fn)));
    p = put(p, fn);
    p = put(p, uint32_t{1});
    ((p = put(p, args)), ...);
  }
  std::string_view view() const noexcept { return {bytes_, kSize}; }

 private:
  template <class T>
  static char* put(char* p, const T& value) noexcept {
    std::memcpy(p, &value, sizeof(T));  // the bitwise codec's bytes
    return p + sizeof(T);
  }
  char bytes_[kSize];
};

}  // namespace mproc::detail
