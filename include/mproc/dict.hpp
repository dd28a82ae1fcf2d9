// A dict in shared memory: Python's Manager().dict(), without the server. BytesDict holds bytes
// keys and values; Dict<K, V> encodes them with mproc's codec (<mproc/codec.hpp>: trivially
// copyable types, std::string, vectors of trivially copyable types; any other type with
// <mproc/cereal_codec.hpp> or a Codec specialisation). Keys compare by their encoded bytes.
//
// Sharing: inherited through fork(), or attached anywhere by handle:
// `BytesDict::attach(d.handle())` (a short string, fit for a pool task's arguments). A Manager
// (<mproc/manager.hpp>) gives dicts a name that processes not forked from its creator can find.
//
// Order: keys(), values(), items() and for_each() follow insertion order, as Python's dict (and
// its Manager proxy): setting an existing key keeps its place; a key erased and set again comes
// last. The order is the same in every process.
//
// Every change takes the dict's process-shared robust lock (no server, no system call when
// uncontended), so updates from many processes are never lost. Reads (get, contains, size, keys,
// values, items) take no lock: they copy what they read and keep it only if no change overlapped
// the copy (a version counter, a sequence lock), else read again, and after a few tries read
// under the lock. Every offset they follow is checked first, so a torn read is retried, never
// trusted; a missing key is an answer, not an exception inside the library. A process killed at
// any moment, even inside an update, leaves the dict consistent: each change is published by one
// store, so it is either there or not; the next user recovers the lock (never a hang). update()
// applies its items one by one: a crash in the middle leaves a prefix applied. The dict grows as
// needed.
//
// Lifetime: a dict made by its constructor belongs to that object: its name goes when that object
// is closed or destroyed, or when its process dies (a tracker removes it). One made by a Manager
// lives while any process holds it (see <mproc/manager.hpp>). Objects that already attached keep
// working; only later attach() calls fail (ENOENT).
//
// Errors: mproc::Error. ENOENT (get/at/pop of a missing key: Python's KeyError; attach of a
// missing name), errc::bad_handle (the handle is not a dict's), errc::codec (bytes that do not
// decode as the type asked for), errc::too_big (a key or value of 4 GiB or more),
// errc::closed (use after close()).
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/by_handle.hpp>
#include <mproc/codec.hpp>
#include <mproc/error.hpp>
#include <mproc/export.h>
#include <mproc/process.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mproc {

namespace detail::manager {
class Store;
}
class Namespace;
class Manager;

/// Thread-safety: every method may be called concurrently from any thread, except close(),
/// move and destruction.
/// Errors: throws mproc::Error (errno or mproc::errc code): ENOENT (a missing key, Python's
/// KeyError; attach of a missing name), errc::bad_handle, errc::codec, errc::too_big, errc::closed
/// (see the file comment).
/// Fork-safety: a child forked after it was made uses the same object in shared memory; any other
/// process attaches by handle() or by name through its Manager.
class MPROC_API BytesDict {
 public:
  // A new, empty dict owned by this object. Errors: the errno of shm_open / mmap (ENOSPC, ...).
  BytesDict();
  // Errors: ENOENT, EINVAL (malformed handle), errc::bad_handle (not a dict).
  static BytesDict attach(std::string_view handle);
  BytesDict(BytesDict&&) noexcept;
  BytesDict& operator=(BytesDict&&) noexcept;
  ~BytesDict();

  std::string handle() const;

  void set(std::string_view key, std::string_view value);
  // The value, or nullopt if the key is missing.
  std::optional<std::string> get(std::string_view key) const;
  std::string get(std::string_view key, std::string_view default_value) const;
  // The value; ENOENT if missing (Python's d[key]).
  std::string at(std::string_view key) const;
  bool contains(std::string_view key) const;
  // Removes the key; false if it was missing.
  bool erase(std::string_view key);
  // Removes the key and returns its value; nullopt if it was missing.
  std::optional<std::string> pop(std::string_view key);
  // The value for key, inserting default_value first if missing (one atomic step).
  std::string setdefault(std::string_view key, std::string_view default_value);
  std::size_t size() const;
  bool empty() const { return size() == 0; }
  std::vector<std::string> keys() const;
  std::vector<std::string> values() const;
  std::vector<std::pair<std::string, std::string>> items() const;
  void clear();
  void update(const std::vector<std::pair<std::string, std::string>>& items);

  // Calls sink(bytes, context) with a copy of the value of key, read without the lock and
  // trusted only if no change overlapped it (a version counter), else read again under the lock;
  // returns false (sink not called) if the key is missing. sink may use this dict.
  bool visit(std::string_view key, void (*sink)(std::string_view value, void* context),
             void* context) const;
  // Calls sink(key, value, context) for each entry in insertion order, under the lock (keys(),
  // values() and items() copy without it). sink must
  // not use this dict.
  void for_each(void (*sink)(std::string_view key, std::string_view value, void* context),
                void* context) const;

  // Times the dict's lock was recovered from a process that died holding it.
  std::uint64_t recoveries() const;
  // How long each operation through this object waits for the dict's lock (nullopt, the default:
  // no limit) before errc::timed_out. A live holder keeps it for microseconds; a stopped one
  // (SIGSTOP, a debugger) for as long as it is stopped. Errors: EINVAL (negative), closed.
  void set_timeout(std::optional<Seconds> timeout);
  // Drops this object's mapping (on the owning object: removes the name). Idempotent.
  void close() noexcept;
  bool closed() const noexcept { return store_ == nullptr; }

 private:
  friend class Namespace;
  friend class Manager;
  explicit BytesDict(std::unique_ptr<detail::manager::Store> store) noexcept;
  detail::manager::Store& store() const;
  std::unique_ptr<detail::manager::Store> store_;
};

namespace detail {

// Calls f(std::string_view bytes) with value's encoding, without a copy when the codec can view.
template <class T, class F>
decltype(auto) with_encoded(const T& value, F&& f) {
  if constexpr (codec_has_view<T>) {
    return f(std::string_view(Codec<T>::view(value)));
  } else {
    const std::string bytes = encode(value);
    return f(std::string_view(bytes));
  }
}

// Decodes the value seen by BytesDict::visit into an optional<T>.
template <class T>
void decode_into(std::string_view bytes, void* out) {
  static_cast<std::optional<T>*>(out)->emplace(decode<T>(bytes));
}

[[noreturn]] MPROC_API void throw_missing_key(const char* type, const char* operation);

}  // namespace detail

/// A dict of K -> V over a BytesDict. Thread-safety: as BytesDict.
/// Errors: as BytesDict, plus errc::codec for bytes that do not decode as K or V.
/// Fork-safety: as BytesDict.
template <class K, class V>
class Dict {
 public:
  Dict() = default;
  explicit Dict(BytesDict bytes) noexcept : bytes_(std::move(bytes)) {}
  static Dict attach(std::string_view handle) { return Dict(BytesDict::attach(handle)); }
  std::string handle() const { return bytes_.handle(); }

  void set(const K& key, const V& value) {
    detail::with_encoded(key, [&](std::string_view k) {
      detail::with_encoded(value, [&](std::string_view v) { bytes_.set(k, v); });
    });
  }
  std::optional<V> find(const K& key) const {
    std::optional<V> out;
    detail::with_encoded(
        key, [&](std::string_view k) { bytes_.visit(k, &detail::decode_into<V>, &out); });
    return out;
  }
  // Python's d[key]: ENOENT if missing.
  V get(const K& key) const {
    auto found = find(key);
    if (!found) detail::throw_missing_key("Dict", "get");
    return std::move(*found);
  }
  V get(const K& key, const V& default_value) const {
    auto found = find(key);
    return found ? std::move(*found) : default_value;
  }
  bool contains(const K& key) const {
    return detail::with_encoded(key, [&](std::string_view k) { return bytes_.contains(k); });
  }
  bool erase(const K& key) {
    return detail::with_encoded(key, [&](std::string_view k) { return bytes_.erase(k); });
  }
  std::optional<V> pop(const K& key) {
    auto bytes = detail::with_encoded(key, [&](std::string_view k) { return bytes_.pop(k); });
    if (!bytes) return std::nullopt;
    return decode<V>(*bytes);
  }
  V setdefault(const K& key, const V& default_value) {
    return detail::with_encoded(key, [&](std::string_view k) {
      return detail::with_encoded(default_value, [&](std::string_view v) {
        return decode<V>(bytes_.setdefault(k, v));
      });
    });
  }
  std::size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  std::vector<K> keys() const {
    std::vector<K> out;
    for (const auto& k : bytes_.keys()) out.push_back(decode<K>(k));
    return out;
  }
  std::vector<V> values() const {
    std::vector<V> out;
    for (const auto& v : bytes_.values()) out.push_back(decode<V>(v));
    return out;
  }
  std::vector<std::pair<K, V>> items() const {
    std::vector<std::pair<K, V>> out;
    for (const auto& [k, v] : bytes_.items()) out.emplace_back(decode<K>(k), decode<V>(v));
    return out;
  }
  void clear() { bytes_.clear(); }
  template <class Range>
  void update(const Range& items) {
    for (const auto& [k, v] : items) set(k, v);
  }
  void set_timeout(std::optional<Seconds> timeout) { bytes_.set_timeout(timeout); }
  void close() noexcept { bytes_.close(); }
  BytesDict& bytes() noexcept { return bytes_; }

 private:
  BytesDict bytes_;
};

// Passed to a Pool task or a Process, a dict travels by handle (see <mproc/by_handle.hpp>).
template <>
struct ByHandle<BytesDict> : ByHandleMembers<BytesDict> {};
template <class K, class V>
struct ByHandle<Dict<K, V>> : ByHandleMembers<Dict<K, V>> {};

}  // namespace mproc
