// Python's multiprocessing.Manager, without the server: the containers live in shared memory
// (one growable segment each, see <mproc/dict.hpp>), so an operation costs a lock and a copy
// instead of a socket round trip.
//
//   mproc::Manager m;                                  // Python: m = Manager()
//   auto scores = m.dict<std::string, int>();          // m.dict()
//   auto log = m.list<std::string>();                  // m.list()
//   auto ns = m.Namespace();  ns.set("x", 1.5);        // m.Namespace(); ns.x = 1.5
//   auto q = m.Queue();                                // m.Queue(): a mproc::Queue
//   auto v = m.Value<int>(0);  auto a = m.Array<double>(10);  auto l = m.Lock();
//
// Sharing with other processes:
//  - children forked after a container was made use it as is;
//  - pool workers and any other process attach by handle: `Dict<K, V>::attach(d.handle())`;
//  - by name: `m.dict<K, V>("scores")` creates the dict the first time and returns the same one
//    after; another process (forked or not) finds it with
//    `Manager::attach(m.name()).dict<K, V>("scores")`. An attached Manager only finds names: a
//    missing one is ENOENT (create it through the owning Manager first); its unnamed containers
//    (`dict()` with no name) belong to the attached Manager object itself.
//
// Lifetime: everything a Manager makes lives while any process holds it, as a Python proxy keeps
// its object alive: `auto q = mproc::Manager().Queue(10);` on a temporary Manager stays usable,
// and pool workers attach it by q.handle() for as long as q (or any attached object) exists. The
// segment counts the objects that hold it; the last one to close removes its name. Destroying
// the Manager only drops its own references. shutdown() is Python's: it removes every name the
// Manager made at once (objects already open keep working; later attach() calls fail with
// ENOENT). If the creating process dies, its tracker removes the names even if others still
// hold them (their mappings stay valid); a process killed while holding one keeps its name until
// the creating process ends. A copy inherited through fork() holds and owns nothing.
//
// Errors: mproc::Error. ENOENT (attach of a gone Manager or container; an attached Manager's
// missing name), EINVAL (empty name), errc::bad_handle (the name holds another kind of container:
// "scores is a list"), errc::closed (after shutdown()), and the containers' own errors.
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/by_handle.hpp>
#include <mproc/codec.hpp>
#include <mproc/dict.hpp>
#include <mproc/error.hpp>
#include <mproc/export.h>
#include <mproc/list.hpp>
#include <mproc/lock.hpp>
#include <mproc/queue.hpp>
#include <mproc/shared_ctypes.hpp>

#include <concepts>
#include <initializer_list>
#include <memory>
#include <optional>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mproc {

/// Python's Namespace: attributes by name, each a typed value (any type the codec handles).
/// Thread-safety: as BytesDict.
/// Errors: as BytesDict, plus errc::codec.
/// Fork-safety: as BytesDict.
class MPROC_API Namespace {
 public:
  // A new, empty namespace owned by this object.
  Namespace();
  // Errors: ENOENT, EINVAL, errc::bad_handle (not a Namespace).
  static Namespace attach(std::string_view handle);
  std::string handle() const { return dict_.handle(); }

  template <class T>
  void set(std::string_view attribute, const T& value) {
    detail::with_encoded(value, [&](std::string_view v) { set_bytes(attribute, v); });
  }
  // ENOENT if the attribute was never set (Python's AttributeError); errc::codec if it holds
  // another type's bytes.
  template <class T>
  T get(std::string_view attribute) const {
    std::optional<T> out;
    if (!dict_.visit(attribute, &detail::decode_into<T>, &out)) missing(attribute);
    return std::move(*out);
  }
  template <class T>
  T get(std::string_view attribute, const T& default_value) const {
    std::optional<T> out;
    return dict_.visit(attribute, &detail::decode_into<T>, &out) ? std::move(*out) : default_value;
  }
  void set_bytes(std::string_view attribute, std::string_view value);
  std::string get_bytes(std::string_view attribute) const;
  bool has(std::string_view attribute) const { return dict_.contains(attribute); }
  // Python's `del ns.x`: false if it was not set.
  bool del(std::string_view attribute) { return dict_.erase(attribute); }
  std::vector<std::string> attributes() const { return dict_.keys(); }
  // As BytesDict::set_timeout.
  void set_timeout(std::optional<Seconds> timeout) { dict_.set_timeout(timeout); }
  void close() noexcept { dict_.close(); }

 private:
  friend class Manager;
  explicit Namespace(BytesDict dict) noexcept : dict_(std::move(dict)) {}
  [[noreturn]] static void missing(std::string_view attribute);
  BytesDict dict_;
};

/// Thread-safety: every method may be called concurrently from any thread, except shutdown(),
/// move and destruction.
/// Errors: throws mproc::Error (errno or mproc::errc code): ENOENT (attach of a gone Manager or
/// container), EINVAL, errc::bad_handle, the errno of shm_open / mmap (see the file comment).
/// Fork-safety: a copy inherited through fork() uses the same containers and owns nothing: only
/// the creating process's shutdown() removes names.
class MPROC_API Manager {
 public:
  // A new Manager (a small registry segment named name()) owned by this object.
  Manager();
  // The Manager named `name` (from name()), created by any process. Errors: ENOENT, EINVAL,
  // errc::bad_handle.
  static Manager attach(std::string_view name);
  Manager(Manager&&) noexcept;
  Manager& operator=(Manager&&) noexcept;
  ~Manager();

  const std::string& name() const;
  // True for the Manager that created the registry (not an attached one, not a fork's copy).
  bool owner() const noexcept;

  // Unnamed containers (name empty) are new each call; named ones are created once.
  template <class K, class V>
  Dict<K, V> dict(std::string_view name = {}) {
    return Dict<K, V>(bytes_dict(name));
  }
  template <class T>
  List<T> list(std::string_view name = {}) {
    return List<T>(bytes_list(name));
  }
  // Python's m.dict(init) / m.list(init): a new container holding `init` (any range of pairs /
  // of values, or a braced list) before anyone else can see it. A named one that already exists
  // is returned as it is (init is only used to create it).
  template <class K, class V, class Range>
    requires(std::ranges::input_range<Range> && !std::convertible_to<Range, std::string_view>)
  Dict<K, V> dict(const Range& init, std::string_view name = {}) {
    return Dict<K, V>(bytes_dict(name, &fill_dict<K, V, Range>, &init));
  }
  template <class K, class V>
  Dict<K, V> dict(std::initializer_list<std::pair<K, V>> init, std::string_view name = {}) {
    return dict<K, V, std::initializer_list<std::pair<K, V>>>(init, name);
  }
  template <class T, class Range>
    requires(std::ranges::input_range<Range> && !std::convertible_to<Range, std::string_view>)
  List<T> list(const Range& init, std::string_view name = {}) {
    return List<T>(bytes_list(name, &fill_list<T, Range>, &init));
  }
  template <class T>
  List<T> list(std::initializer_list<T> init, std::string_view name = {}) {
    return list<T, std::initializer_list<T>>(init, name);
  }
  BytesDict bytes_dict(std::string_view name = {});
  BytesList bytes_list(std::string_view name = {});
  mproc::Namespace Namespace(std::string_view name = {});
  // A mproc::Queue (maxsize 0: no limit; a named queue keeps the maxsize of its creation).
  mproc::Queue Queue(std::size_t maxsize = 0, std::string_view name = {});
  mproc::Queue Queue(std::string_view name) { return Queue(0, name); }
  // Python's m.Value(typecode, v) / m.Array(typecode, n or sequence) / m.Lock() / m.RLock(): the
  // shared-memory objects of <mproc/shared_ctypes.hpp> and <mproc/lock.hpp> (attachable ones),
  // owned and named like the containers. A named Value / Array keeps the size of its creation;
  // attaching it as another element type is errc::bad_handle.
  template <SharedCType T>
  mproc::Value<T> Value(const T& initial = T{}, std::string_view name = {}) {
    return adopt<mproc::Value<T>>("value", name, [&] { return mproc::Value<T>(initial); });
  }
  template <SharedCType T>
  mproc::Array<T> Array(std::size_t size, std::string_view name = {}) {
    return adopt<mproc::Array<T>>("array", name, [&] { return mproc::Array<T>(size); });
  }
  template <SharedCType T>
  mproc::Array<T> Array(std::span<const T> initial, std::string_view name = {}) {
    return adopt<mproc::Array<T>>("array", name, [&] { return mproc::Array<T>(initial); });
  }
  mproc::Lock Lock(std::string_view name = {}) {
    return adopt<mproc::Lock>("lock", name, [] { return mproc::Lock(mproc::attachable); });
  }
  mproc::RLock RLock(std::string_view name = {}) {
    return adopt<mproc::RLock>("rlock", name, [] { return mproc::RLock(mproc::attachable); });
  }

  // The names registered so far.
  std::vector<std::string> names() const;
  // How long this Manager's own operations (finding or registering a name, names()) and those of
  // the dicts, lists and Namespaces it returns from now on wait for a lock before errc::timed_out
  // (nullopt, the default: no limit). See BytesDict::set_timeout. Errors: EINVAL, closed.
  void set_timeout(std::optional<Seconds> timeout);
  // Removes the name of everything this Manager created, and its own, at once (Python's
  // shutdown; destruction only drops this object's references). Later calls on this object:
  // errc::closed. Idempotent.
  void shutdown();

  // --- how a factory is written (for objects attachable by a handle string) ---
  // An object of type T: when `name` is empty, make() it, keep it (this Manager owns it) and
  // return T::attach(its handle()); when named, the registered one (of tag `kind`) if any, else
  // make one and register it (owners only). New kinds of shared object need one line each.
  template <class T, class Make>
  T adopt(const char* kind, std::string_view name, Make&& make) {
    if (!name.empty())
      if (auto handle = lookup(kind, name)) return T::attach(*handle);
    T made = make();
    std::string handle = made.handle();
    auto kept = std::make_shared<T>(std::move(made));
    handle = keep(kind, name, handle, std::shared_ptr<void>(kept));
    return T::attach(handle);
  }

 private:
  struct Impl;
  explicit Manager(std::unique_ptr<Impl> impl) noexcept;
  Impl& impl() const;
  // Drops this object's references (destruction and move-assignment).
  void release() noexcept;
  // A container made with fill(container, init) before it is registered or returned.
  using FillDict = void (*)(BytesDict& dict, const void* init);
  using FillList = void (*)(BytesList& list, const void* init);
  BytesDict bytes_dict(std::string_view name, FillDict fill, const void* init);
  BytesList bytes_list(std::string_view name, FillList fill, const void* init);
  template <class K, class V, class Range>
  static void fill_dict(BytesDict& bytes, const void* init) {
    for (const auto& [key, value] : *static_cast<const Range*>(init)) {
      const K& k = key;
      const V& v = value;
      detail::with_encoded(k, [&](std::string_view kb) {
        detail::with_encoded(v, [&](std::string_view vb) { bytes.set(kb, vb); });
      });
    }
  }
  template <class T, class Range>
  static void fill_list(BytesList& bytes, const void* init) {
    std::vector<std::string> encoded;
    for (const auto& value : *static_cast<const Range*>(init)) {
      const T& v = value;
      encoded.push_back(encode(v));
    }
    bytes.extend(encoded);
  }
  // The handle registered under name (of kind `kind`), nullopt if none; ENOENT on an attached
  // Manager (it cannot create), bad_handle for another kind.
  std::optional<std::string> lookup(const char* kind, std::string_view name) const;
  // Keeps `object` alive until shutdown and registers handle under name (if any). Returns the
  // handle to use: the first registered, should another thread have registered name meanwhile.
  std::string keep(const char* kind, std::string_view name, const std::string& handle,
                   std::shared_ptr<void> object);
  std::unique_ptr<Impl> impl_;
};

// Passed to a Pool task or a Process, a Namespace travels by handle (see <mproc/by_handle.hpp>).
template <>
struct ByHandle<Namespace> : ByHandleMembers<Namespace> {};
/// A Manager passed to a Pool task or a Process travels by name and arrives as an attached Manager
/// (see attach(): it finds named containers) (see <mproc/by_handle.hpp>).
/// Errors: closed (after shutdown()); where it arrives, those of attach().
/// Thread-safety: as name() and attach(). Fork-safety: stateless.
template <>
struct ByHandle<Manager> {
  static std::string handle(const Manager& manager) { return manager.name(); }
  static Manager attach(std::string_view name) { return Manager::attach(name); }
};

}  // namespace mproc
