// A list in shared memory: Python's Manager().list(), without the server. BytesList holds bytes;
// List<T> encodes its elements with mproc's codec (see <mproc/dict.hpp> for the codec, sharing,
// crash-safety and lifetime rules, which are the same). extend() is one atomic step: a crash
// leaves all of its elements or none.
//
// Indexes run from 0 to size() - 1 (insert also accepts size()). Python's negative indexes are
// not supported: a negative or out-of-range index throws ERANGE (Python's IndexError) and changes
// nothing. insert and pop in the middle copy the list's index (O(n)), as in Python.
//
// Errors: mproc::Error: ERANGE (bad index, pop of an empty list), ENOENT / EINVAL /
// errc::bad_handle (attach), errc::codec, errc::too_big, errc::closed.
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/by_handle.hpp>
#include <mproc/codec.hpp>
#include <mproc/dict.hpp>
#include <mproc/error.hpp>
#include <mproc/export.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mproc {

/// Thread-safety: every method may be called concurrently from any thread, except close(),
/// move and destruction.
/// Errors: throws mproc::Error (errno or mproc::errc code): ERANGE (a bad index, pop of an empty
/// list: Python's IndexError), ENOENT / EINVAL / errc::bad_handle (attach), errc::codec,
/// errc::too_big, errc::closed.
/// Fork-safety: a child forked after it was made uses the same object in shared memory; any other
/// process attaches by handle() or by name through its Manager.
class MPROC_API BytesList {
 public:
  // A new, empty list owned by this object.
  BytesList();
  // Errors: ENOENT, EINVAL (malformed handle), errc::bad_handle (not a list).
  static BytesList attach(std::string_view handle);
  BytesList(BytesList&&) noexcept;
  BytesList& operator=(BytesList&&) noexcept;
  ~BytesList();

  std::string handle() const;

  void append(std::string_view value);
  void extend(const std::vector<std::string_view>& values);
  void extend(const std::vector<std::string>& values);
  std::string get(std::ptrdiff_t index) const;
  void set(std::ptrdiff_t index, std::string_view value);
  void insert(std::ptrdiff_t index, std::string_view value);
  // Removes and returns the last element (ERANGE if empty), or the one at index.
  std::string pop();
  std::string pop(std::ptrdiff_t index);
  std::size_t size() const;
  bool empty() const { return size() == 0; }
  void clear();
  // A copy of every element, taken at one instant.
  std::vector<std::string> snapshot() const;

  // Calls sink(bytes, context) with element `index`, read in place under the lock.
  void visit(std::ptrdiff_t index, void (*sink)(std::string_view value, void* context),
             void* context) const;

  std::uint64_t recoveries() const;
  // As BytesDict::set_timeout.
  void set_timeout(std::optional<Seconds> timeout);
  void close() noexcept;
  bool closed() const noexcept { return store_ == nullptr; }

 private:
  friend class Manager;
  explicit BytesList(std::unique_ptr<detail::manager::Store> store) noexcept;
  detail::manager::Store& store() const;
  std::unique_ptr<detail::manager::Store> store_;
};

/// A list of T over a BytesList. Thread-safety: as BytesList.
/// Errors: as BytesList, plus errc::codec for bytes that do not decode as T.
/// Fork-safety: as BytesList.
template <class T>
class List {
 public:
  List() = default;
  explicit List(BytesList bytes) noexcept : bytes_(std::move(bytes)) {}
  static List attach(std::string_view handle) { return List(BytesList::attach(handle)); }
  std::string handle() const { return bytes_.handle(); }

  void append(const T& value) {
    detail::with_encoded(value, [&](std::string_view v) { bytes_.append(v); });
  }
  template <class Range>
  void extend(const Range& values) {
    std::vector<std::string> encoded;
    for (const auto& v : values) encoded.push_back(encode(v));
    bytes_.extend(encoded);
  }
  T get(std::ptrdiff_t index) const {
    std::optional<T> out;
    bytes_.visit(index, &detail::decode_into<T>, &out);
    return std::move(*out);
  }
  void set(std::ptrdiff_t index, const T& value) {
    detail::with_encoded(value, [&](std::string_view v) { bytes_.set(index, v); });
  }
  void insert(std::ptrdiff_t index, const T& value) {
    detail::with_encoded(value, [&](std::string_view v) { bytes_.insert(index, v); });
  }
  T pop() { return decode<T>(bytes_.pop()); }
  T pop(std::ptrdiff_t index) { return decode<T>(bytes_.pop(index)); }
  std::size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  void clear() { bytes_.clear(); }
  std::vector<T> snapshot() const {
    std::vector<T> out;
    for (const auto& v : bytes_.snapshot()) out.push_back(decode<T>(v));
    return out;
  }
  void set_timeout(std::optional<Seconds> timeout) { bytes_.set_timeout(timeout); }
  void close() noexcept { bytes_.close(); }
  BytesList& bytes() noexcept { return bytes_; }

 private:
  BytesList bytes_;
};

// Passed to a Pool task or a Process, a list travels by handle (see <mproc/by_handle.hpp>).
template <>
struct ByHandle<BytesList> : ByHandleMembers<BytesList> {};
template <class T>
struct ByHandle<List<T>> : ByHandleMembers<List<T>> {};

}  // namespace mproc
