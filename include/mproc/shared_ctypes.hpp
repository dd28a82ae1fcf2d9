// Value and Array: Python's multiprocessing.Value / Array (and RawValue / RawArray), for any
// trivially copyable T, in shared memory.
//
// Each object lives in its own named segment, so it is shared two ways: copies and children forked
// later use the same memory, and a process that already runs attaches it by handle —
// `Value<long>::attach(v.handle())` — so pool workers need no Manager. The handle's lifetime is
// Queue's: the name exists while the creating process holds a copy (the shm tracker removes it if
// that process is killed); objects that attached keep working after that, new attach() calls fail
// with ENOENT.
//
// Locking, as in Python: by default a Value / Array carries a recursive lock (get_lock(), an RLock
// in the same segment, recovered if its holder dies: see lock.hpp); get() and set() take it for
// the one access, and `std::lock_guard g(v);` (or get_lock()) holds it across several, e.g. for
// `++*v.get_obj()`. Created with lock = false (or as RawValue / RawArray) there is no lock:
// get_lock() and acquire() throw errc::bad_state, get() and set() are plain copies.
// get_obj() gives direct access to the shared memory, never locked.
//
// Departure from Python: `lock` may not be an existing Lock (Python accepts one); the lock is
// always the one in the segment, which is what lets an attaching process find it.
//
// Errors are thrown as mproc::Error: EINVAL (sizes that overflow), ERANGE (index out of range),
// and from attach ENOENT (no such object, or its creator dropped it), EINVAL (malformed handle) or
// errc::bad_handle (a handle of something else: another element size or alignment, an Array for a
// Value or the reverse, a lock, a queue); attaching a raw object as Value<T> / Array<T> is allowed
// (has_lock() is then false). Creation: the errno of shm_open / ftruncate / mmap.
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/by_handle.hpp>
#include <mproc/error.hpp>
#include <mproc/export.h>
#include <mproc/lock.hpp>
#include <mproc/lockable.hpp>
#include <mproc/process.hpp>

#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <span>
#include <string>
#include <vector>
#include <string_view>
#include <type_traits>

namespace mproc {

// What Value and Array hold: plain bytes that mean the same in every process.
template <class T>
concept SharedCType = std::is_trivially_copyable_v<T> && !std::is_pointer_v<T> &&
                      !std::is_array_v<T> && alignof(T) <= 64;

namespace detail {

// The untyped core of Value and Array (and of the C ABI's mproc_array_t): `count` elements of
// `element_size` bytes, 64-byte aligned, zero-filled, in a named segment, with an optional RLock.
// Thread-safety: as Value.
class MPROC_API SharedBlock {
 public:
  // Errors: EINVAL (element_size 0, alignment not a power of two up to 64, a size that overflows).
  SharedBlock(std::size_t element_size, std::size_t element_align, std::size_t count, bool lock,
              bool is_array);
  // Errors: see the file comment.
  static SharedBlock attach(std::string_view handle);

  void* data() const noexcept { return data_; }
  std::size_t element_size() const noexcept { return element_size_; }
  std::size_t count() const noexcept { return count_; }
  bool is_array() const noexcept { return is_array_; }
  bool has_lock() const noexcept { return lock_.has_value(); }
  // The lock, or nullptr without one.
  RLock* lock() noexcept { return lock_ ? &*lock_ : nullptr; }
  // Errors: errc::bad_state without a lock.
  RLock& get_lock(const char* type);
  std::string handle() const { return handle_; }
  // Element `index` copied out / in under the lock (if any). Errors: ERANGE.
  void read(std::size_t index, void* out);
  void write(std::size_t index, const void* in);
  // Throws errc::bad_handle unless this block holds elements of this size and alignment, and is
  // an array (or a single value) as `is_array` says; `type` names the caller ("Value<T>").
  void expect(std::size_t element_size, std::size_t element_align, bool is_array,
              const char* type) const;

 private:
  SharedBlock() = default;
  void check_index(std::size_t index) const;

  std::shared_ptr<void> keepalive_;
  void* data_ = nullptr;
  std::size_t element_size_ = 0;
  std::size_t element_align_ = 0;
  std::size_t count_ = 0;
  bool is_array_ = false;
  std::optional<RLock> lock_;
  std::string handle_;
};

}  // namespace detail

/// A T in shared memory (Python's Value). Also Lockable (lock / unlock ...) over its lock.
/// Thread-safety: all methods may be called from any thread or process; get_obj() is as safe as
/// the caller's own locking.
/// Errors: throws mproc::Error (errno or mproc::errc code): EINVAL, ERANGE (an index out of
/// range), errc::bad_state (get_lock() without a lock), the errno of shm_open / mmap,
/// errc::bad_handle (attach of something else).
/// Fork-safety: a child forked after it was made uses the same object in shared memory; any other
/// process attaches by handle().
template <SharedCType T>
class Value : public detail::Lockable<Value<T>> {
 public:
  // A new value, with a lock unless `lock` is false. Errors: the errno of shm_open / mmap.
  explicit Value(const T& initial = T{}, bool lock = true)
      : block_(sizeof(T), alignof(T), 1, lock, false) {
    std::memcpy(block_.data(), &initial, sizeof(T));
  }
  // The value with this handle. Errors: see the file comment (another element size or an Array
  // is errc::bad_handle).
  static Value attach(std::string_view handle) {
    auto block = detail::SharedBlock::attach(handle);
    block.expect(sizeof(T), alignof(T), false, "Value");
    return Value(std::move(block));
  }

  // A copy of the value, read under the lock if there is one.
  T get() const {
    T out;
    block_.read(0, &out);
    return out;
  }
  // Writes the value under the lock if there is one.
  void set(const T& value) { block_.write(0, &value); }
  // The shared object itself (never locked).
  T* get_obj() const noexcept { return static_cast<T*>(block_.data()); }
  // Errors: errc::bad_state without a lock.
  RLock& get_lock() { return block_.get_lock("Value"); }
  bool has_lock() const noexcept { return block_.has_lock(); }
  // The lock's acquire / release (see lock.hpp); with them, Lockable. Errors: errc::bad_state
  // without a lock.
  bool acquire(bool block = true, std::optional<Seconds> timeout = std::nullopt) {
    return get_lock().acquire(block, timeout);
  }
  void release() { get_lock().release(); }
  // The handle another process passes to attach().
  std::string handle() const { return block_.handle(); }

 protected:
  explicit Value(detail::SharedBlock block) : block_(std::move(block)) {}

 private:
  mutable detail::SharedBlock block_;
};

/// A Value without a lock (Python's RawValue).
/// Thread-safety: as Value.
/// Errors: as Value.
/// Fork-safety: as Value.
template <SharedCType T>
class RawValue : public Value<T> {
 public:
  explicit RawValue(const T& initial = T{}) : Value<T>(initial, false) {}
  // Errors: as Value::attach.
  static RawValue attach(std::string_view handle) { return RawValue(Value<T>::attach(handle)); }

 private:
  explicit RawValue(Value<T>&& value) : Value<T>(std::move(value)) {}
};

/// `size` Ts in shared memory (Python's Array). Also Lockable over its lock.
/// Thread-safety: as Value.
/// Errors: throws mproc::Error (errno or mproc::errc code): EINVAL, ERANGE (an index out of
/// range), errc::bad_state (get_lock() without a lock), the errno of shm_open / mmap,
/// errc::bad_handle (attach of something else).
/// Fork-safety: a child forked after it was made uses the same object in shared memory; any other
/// process attaches by handle().
template <SharedCType T>
class Array : public detail::Lockable<Array<T>> {
 public:
  // `size` zero-filled elements, with a lock unless `lock` is false. Errors: EINVAL if the size
  // overflows; the errno of shm_open / mmap.
  explicit Array(std::size_t size, bool lock = true)
      : block_(sizeof(T), alignof(T), size, lock, true) {}
  // A copy of `initial`.
  explicit Array(std::span<const T> initial, bool lock = true)
      : block_(sizeof(T), alignof(T), initial.size(), lock, true) {
    if (!initial.empty()) std::memcpy(block_.data(), initial.data(), initial.size_bytes());
  }
  // A copy of the listed elements: Array<int> a{1, 2, 3} (Python's Array('i', [1, 2, 3])). As with
  // std::vector, braces list elements: Array<int> a{5} is one element, Array<int> a(5) five zeros.
  Array(std::initializer_list<T> initial, bool lock = true)
      : Array(std::span<const T>(initial.begin(), initial.size()), lock) {}
  // A copy of any range of elements convertible to T: Array<int> a(vector), Array<int>
  // a(std::views::iota(0, 10)). (No cast to a span needed, so no most-vexing parse.)
  template <std::ranges::input_range R>
    requires std::convertible_to<std::ranges::range_reference_t<R>, T> &&
             (!std::convertible_to<R, std::span<const T>>) &&
             (!std::convertible_to<R, std::size_t>)
  explicit Array(R&& range, bool lock = true)
      : Array(Collected{}, collect(std::forward<R>(range)), lock) {}
  // Errors: see the file comment (another element size or a Value is errc::bad_handle).
  static Array attach(std::string_view handle) {
    auto block = detail::SharedBlock::attach(handle);
    block.expect(sizeof(T), alignof(T), true, "Array");
    return Array(std::move(block));
  }

  std::size_t size() const noexcept { return block_.count(); }
  // Element i, read / written under the lock if there is one. Errors: ERANGE.
  T get(std::size_t i) const {
    T out;
    block_.read(i, &out);
    return out;
  }
  void set(std::size_t i, const T& value) { block_.write(i, &value); }
  // The shared elements themselves (never locked).
  T* get_obj() const noexcept { return static_cast<T*>(block_.data()); }
  std::span<T> span() const noexcept { return {get_obj(), size()}; }
  T& operator[](std::size_t i) const noexcept { return get_obj()[i]; }

  RLock& get_lock() { return block_.get_lock("Array"); }
  bool has_lock() const noexcept { return block_.has_lock(); }
  bool acquire(bool block = true, std::optional<Seconds> timeout = std::nullopt) {
    return get_lock().acquire(block, timeout);
  }
  void release() { get_lock().release(); }
  std::string handle() const { return block_.handle(); }

 protected:
  explicit Array(detail::SharedBlock block) : block_(std::move(block)) {}

 private:
  // The range's elements, contiguous, for the span constructor.
  template <class R>
  static std::vector<T> collect(R&& range) {
    std::vector<T> elements;
    if constexpr (std::ranges::sized_range<R>) elements.reserve(std::ranges::size(range));
    for (auto&& element : range) elements.push_back(static_cast<T>(element));
    return elements;
  }
  struct Collected {};
  Array(Collected, const std::vector<T>& elements, bool lock)
      : Array(std::span<const T>(elements.data(), elements.size()), lock) {}

  mutable detail::SharedBlock block_;
};

/// An Array without a lock (Python's RawArray).
/// Thread-safety: as Array.
/// Errors: as Array.
/// Fork-safety: as Array.
template <SharedCType T>
class RawArray : public Array<T> {
 public:
  explicit RawArray(std::size_t size) : Array<T>(size, false) {}
  explicit RawArray(std::span<const T> initial) : Array<T>(initial, false) {}
  RawArray(std::initializer_list<T> initial) : Array<T>(initial, false) {}
  template <std::ranges::input_range R>
    requires std::convertible_to<std::ranges::range_reference_t<R>, T> &&
             (!std::convertible_to<R, std::span<const T>>) &&
             (!std::convertible_to<R, std::size_t>)
  explicit RawArray(R&& range) : Array<T>(std::forward<R>(range), false) {}
  // Errors: as Array::attach.
  static RawArray attach(std::string_view handle) { return RawArray(Array<T>::attach(handle)); }

 private:
  explicit RawArray(Array<T>&& array) : Array<T>(std::move(array)) {}
};

// Passed to a Pool task or a Process, a Value or an Array travels by handle (see
// <mproc/by_handle.hpp>).
template <SharedCType T>
struct ByHandle<Value<T>> : ByHandleMembers<Value<T>> {};
template <SharedCType T>
struct ByHandle<RawValue<T>> : ByHandleMembers<RawValue<T>> {};
template <SharedCType T>
struct ByHandle<Array<T>> : ByHandleMembers<Array<T>> {};
template <SharedCType T>
struct ByHandle<RawArray<T>> : ByHandleMembers<RawArray<T>> {};

}  // namespace mproc
