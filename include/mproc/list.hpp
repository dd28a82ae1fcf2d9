// A list in shared memory: Python's Manager().list(), without the server. BytesList holds bytes;
// List<T> encodes its elements with mproc's codec (see <mproc/dict.hpp> for the codec, sharing,
// crash-safety and lifetime rules, which are the same). extend() is one atomic step: a crash
// leaves all of its elements or none.
//
// Indexes are Python's: 0 to size() - 1, or negative counting from the end (-1 is the last); any
// other index throws ERANGE (Python's IndexError) and changes nothing. insert() clamps its index
// to [0, size()] as Python does. Slices are Python's l[start:stop:step] (std::nullopt for an
// omitted bound); slice assignment and deletion are one atomic step each. Elements compare by
// their bytes (List<T>: by their encodings) in remove, index, count and contains. insert, pop in
// the middle and the slice operations copy the list's index (O(n)), as in Python. Reads (get,
// size, slice, snapshot, index, count, contains) take no lock, as the dict's do (a version
// counter validates what they copied; see <mproc/dict.hpp>).
//
// Errors: mproc::Error: ERANGE (bad index, pop of an empty list), ENOENT (remove / index of a
// value not in the list: Python's ValueError; attach), EINVAL (slice step 0, an extended slice
// assigned a sequence of another size), errc::bad_handle (attach), errc::codec, errc::too_big,
// errc::closed.
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/by_handle.hpp>
#include <mproc/codec.hpp>
#include <mproc/dict.hpp>
#include <mproc/error.hpp>
#include <mproc/export.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mproc {

/// Thread-safety: every method may be called concurrently from any thread, except close(),
/// move and destruction.
/// Errors: throws mproc::Error (errno or mproc::errc code): ERANGE (a bad index, pop of an empty
/// list: Python's IndexError), ENOENT (a value not in the list: Python's ValueError; attach),
/// EINVAL (a bad slice), errc::bad_handle (attach), errc::codec, errc::too_big, errc::closed.
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

  // Python's l[start:stop:step]. EINVAL for step 0.
  std::vector<std::string> slice(std::optional<std::ptrdiff_t> start,
                                 std::optional<std::ptrdiff_t> stop, std::ptrdiff_t step = 1) const;
  // l[start:stop:step] = values, one atomic step. Step 1 replaces the slice by any number of
  // values (inserts when it is empty); another step needs exactly as many values as it selects
  // (EINVAL otherwise).
  void set_slice(std::optional<std::ptrdiff_t> start, std::optional<std::ptrdiff_t> stop,
                 const std::vector<std::string_view>& values, std::ptrdiff_t step = 1);
  void set_slice(std::optional<std::ptrdiff_t> start, std::optional<std::ptrdiff_t> stop,
                 const std::vector<std::string>& values, std::ptrdiff_t step = 1);
  // del l[start:stop:step], one atomic step.
  void erase_slice(std::optional<std::ptrdiff_t> start, std::optional<std::ptrdiff_t> stop,
                   std::ptrdiff_t step = 1);
  // Removes the first element equal to value; ENOENT if there is none (Python's ValueError).
  void remove(std::string_view value);
  // The position of the first element equal to value within l[start:stop]; ENOENT if none.
  std::size_t index(std::string_view value, std::ptrdiff_t start = 0,
                    std::optional<std::ptrdiff_t> stop = std::nullopt) const;
  std::size_t count(std::string_view value) const;
  // Python's `value in l`.
  bool contains(std::string_view value) const;
  // Sorts in place, stable, one atomic step: by compare(a, b, context) < 0 (a before b), or by
  // bytes (memcmp order, a prefix first) when compare is null. reverse: as Python's
  // sort(reverse=True) (equal elements keep their order). compare runs under the list's lock, in
  // this thread: it must not use this list.
  using Compare = int (*)(std::string_view a, std::string_view b, void* context);
  void sort(Compare compare = nullptr, void* context = nullptr, bool reverse = false);
  void reverse();
  // The general reordering sort() is built on: permute(values, order, context) is called under
  // the lock with every element and order = 0, 1, ..., size - 1, and leaves in `order` the
  // positions of the elements in their new order (EINVAL if it is not a permutation). One atomic
  // step; permute must not use this list.
  using Permute = void (*)(const std::vector<std::string_view>& values,
                           std::vector<std::size_t>& order, void* context);
  void reorder(Permute permute, void* context);

  // Calls sink(bytes, context) with a copy of element `index`, read without the lock and trusted
  // only if no change overlapped it (else read again; under the lock after a few tries).
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
  std::vector<T> slice(std::optional<std::ptrdiff_t> start, std::optional<std::ptrdiff_t> stop,
                       std::ptrdiff_t step = 1) const {
    std::vector<T> out;
    for (const auto& v : bytes_.slice(start, stop, step)) out.push_back(decode<T>(v));
    return out;
  }
  template <class Range>
  void set_slice(std::optional<std::ptrdiff_t> start, std::optional<std::ptrdiff_t> stop,
                 const Range& values, std::ptrdiff_t step = 1) {
    std::vector<std::string> encoded;
    for (const auto& v : values) encoded.push_back(encode(v));
    bytes_.set_slice(start, stop, encoded, step);
  }
  void set_slice(std::optional<std::ptrdiff_t> start, std::optional<std::ptrdiff_t> stop,
                 std::initializer_list<T> values, std::ptrdiff_t step = 1) {
    set_slice<std::initializer_list<T>>(start, stop, values, step);
  }
  void erase_slice(std::optional<std::ptrdiff_t> start, std::optional<std::ptrdiff_t> stop,
                   std::ptrdiff_t step = 1) {
    bytes_.erase_slice(start, stop, step);
  }
  // Equality is of the encodings (for floats: -0.0 differs from 0.0, and NaN equals itself).
  void remove(const T& value) {
    detail::with_encoded(value, [&](std::string_view v) { bytes_.remove(v); });
  }
  std::size_t index(const T& value, std::ptrdiff_t start = 0,
                    std::optional<std::ptrdiff_t> stop = std::nullopt) const {
    return detail::with_encoded(
        value, [&](std::string_view v) { return bytes_.index(v, start, stop); });
  }
  std::size_t count(const T& value) const {
    return detail::with_encoded(value, [&](std::string_view v) { return bytes_.count(v); });
  }
  bool contains(const T& value) const {
    return detail::with_encoded(value, [&](std::string_view v) { return bytes_.contains(v); });
  }
  // Sorts by comp on the decoded values (std::less<> by default: T's operator<), stable, as one
  // atomic step; every element is decoded once. reverse: as Python's sort(reverse=True). comp
  // runs under the list's lock: it must not use this list.
  template <class Compare = std::less<>>
  void sort(Compare comp = {}, bool reverse = false) {
    struct Sort {
      Compare* comp;
      bool reverse;
    } how{&comp, reverse};
    bytes_.reorder(
        [](const std::vector<std::string_view>& values, std::vector<std::size_t>& order,
           void* context) {
          const auto* h = static_cast<const Sort*>(context);
          std::vector<T> decoded;
          decoded.reserve(values.size());
          for (std::string_view v : values) decoded.push_back(decode<T>(v));
          std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
            return h->reverse ? (*h->comp)(decoded[b], decoded[a])
                              : (*h->comp)(decoded[a], decoded[b]);
          });
        },
        &how);
  }
  void reverse() { bytes_.reverse(); }
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
