// The C ABI for the Manager and its containers: translation to mproc::Manager, BytesDict,
// BytesList and Namespace only.
#include "mproc.h"

#include <mproc/manager.hpp>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "capi_support.hpp"
#include "shm_support.hpp"

namespace {

using mproc::BytesDict;
using mproc::BytesList;
using mproc::Error;
using mproc::Manager;
using mproc::Namespace;
using mproc::capi::guard;
using mproc::capi::require;
using mproc::detail::HandleKind;
using mproc::detail::Handles;

using ManagerHandles = Handles<Manager, HandleKind::manager>;
using DictHandles = Handles<BytesDict, HandleKind::manager_dict>;
using ListHandles = Handles<BytesList, HandleKind::manager_list>;
using NamespaceHandles = Handles<Namespace, HandleKind::manager_namespace>;

Manager& manager_of(mproc_manager_t* h, const char* fn) {
  return mproc::capi::deref<Manager, HandleKind::manager>(h, fn, "mproc_manager_t");
}
BytesDict& dict_of(mproc_dict_t* h, const char* fn) {
  return mproc::capi::deref<BytesDict, HandleKind::manager_dict>(h, fn, "mproc_dict_t");
}
BytesList& list_of(mproc_list_t* h, const char* fn) {
  return mproc::capi::deref<BytesList, HandleKind::manager_list>(h, fn, "mproc_list_t");
}
Namespace& namespace_of(mproc_namespace_t* h, const char* fn) {
  return mproc::capi::deref<Namespace, HandleKind::manager_namespace>(h, fn, "mproc_namespace_t");
}

// How long each operation through a container handle waits for its lock.
template <class C>
int set_timeout(C& container, std::int64_t timeout_ms, const char* fn) {
  mproc::capi::check_timeout_ms(timeout_ms, fn);
  if (timeout_ms == mproc::capi::kWaitForever) container.set_timeout(std::nullopt);
  else container.set_timeout(std::chrono::milliseconds(timeout_ms));
  return 0;
}

template <class C, class Table, class T>
C* publish(T object) {
  return reinterpret_cast<C*>(Table::insert(std::make_unique<T>(std::move(object))));
}

template <class Table, class C>
int destroy(C* handle, const char* fn, const char* type) {
  if (handle == nullptr) return 0;
  return guard(fn, [&] {
    if (!Table::remove(reinterpret_cast<std::uintptr_t>(handle)))
      throw Error(mproc::errc::bad_handle, std::string(fn) + ": not a live " + type);
    return 0;
  });
}

// Bytes in: (NULL, 0) is the empty string; NULL with a length is EINVAL.
std::string_view bytes(const void* data, size_t len, const char* fn, const char* what) {
  if (data == nullptr && len > 0)
    throw Error(std::make_error_code(std::errc::invalid_argument),
                std::string(fn) + ": " + what + " is NULL with a length of " + std::to_string(len));
  return len == 0 ? std::string_view() : std::string_view(static_cast<const char*>(data), len);
}

std::string_view name_or_empty(const char* name) { return name == nullptr ? "" : name; }

// Bytes out in a malloc'ed buffer (mproc_buffer_free), never NULL.
void give(std::string_view value, void** out, size_t* len) {
  *out = mproc::capi::copy_to_buffer(value.data(), value.size());
  *len = value.size();
}

void give_packed(const std::vector<std::string>& strings, void** out, size_t* len, size_t* count,
                 size_t per_entry) {
  std::string packed;
  for (const auto& s : strings) {
    const std::uint64_t n = s.size();
    packed.append(reinterpret_cast<const char*>(&n), sizeof n);
    packed.append(s);
  }
  give(packed, out, len);
  *count = strings.size() / per_entry;
}

std::optional<std::ptrdiff_t> bound(std::int64_t value) {
  if (value == MPROC_SLICE_OMITTED) return std::nullopt;
  return static_cast<std::ptrdiff_t>(value);
}

// A missing key: -ENOENT and its message, without an exception (a miss is an ordinary answer on
// the hot path: Python's `key in d` fallbacks and `d.get(k)` pay for it). The message names the
// function, so guard() leaves it as it is.
int missing_key(const char* fn) {
  thread_local std::string message;
  message.assign(fn).append(": no such key");
  return mproc::capi::fail(-ENOENT, message);
}

void require_out(void** value, size_t* len, const char* fn) {
  require(value, fn, "value");
  require(len, fn, "len");
  *value = nullptr;
}

}  // namespace

extern "C" {

// ---- Manager ----

int mproc_manager_create(mproc_manager_t** out) {
  return guard("mproc_manager_create", [&] {
    require(out, "mproc_manager_create", "out");
    *out = publish<mproc_manager_t, ManagerHandles>(Manager());
    return 0;
  });
}

int mproc_manager_attach(const char* name, mproc_manager_t** out) {
  constexpr const char* fn = "mproc_manager_attach";
  return guard(fn, [&] {
    require(name, fn, "name");
    require(out, fn, "out");
    *out = publish<mproc_manager_t, ManagerHandles>(Manager::attach(name));
    return 0;
  });
}

int mproc_manager_name(mproc_manager_t* manager, char* buf, size_t len) {
  constexpr const char* fn = "mproc_manager_name";
  return guard(fn, [&] { return mproc::capi::copy_out(manager_of(manager, fn).name(), buf, len, fn); });
}

int mproc_manager_dict(mproc_manager_t* manager, const char* name, mproc_dict_t** out) {
  constexpr const char* fn = "mproc_manager_dict";
  return guard(fn, [&] {
    auto& m = manager_of(manager, fn);
    require(out, fn, "out");
    *out = publish<mproc_dict_t, DictHandles>(m.bytes_dict(name_or_empty(name)));
    return 0;
  });
}

int mproc_manager_list(mproc_manager_t* manager, const char* name, mproc_list_t** out) {
  constexpr const char* fn = "mproc_manager_list";
  return guard(fn, [&] {
    auto& m = manager_of(manager, fn);
    require(out, fn, "out");
    *out = publish<mproc_list_t, ListHandles>(m.bytes_list(name_or_empty(name)));
    return 0;
  });
}

int mproc_manager_namespace(mproc_manager_t* manager, const char* name, mproc_namespace_t** out) {
  constexpr const char* fn = "mproc_manager_namespace";
  return guard(fn, [&] {
    auto& m = manager_of(manager, fn);
    require(out, fn, "out");
    *out = publish<mproc_namespace_t, NamespaceHandles>(m.Namespace(name_or_empty(name)));
    return 0;
  });
}

int mproc_manager_queue(mproc_manager_t* manager, const char* name, int64_t maxsize,
                        mproc_queue_t** out) {
  constexpr const char* fn = "mproc_manager_queue";
  return guard(fn, [&] {
    auto& m = manager_of(manager, fn);
    require(out, fn, "out");
    if (maxsize < 0)
      throw Error(std::make_error_code(std::errc::invalid_argument),
                  std::string(fn) + ": maxsize " + std::to_string(maxsize) + " is negative");
    const std::string handle =
        m.Queue(static_cast<std::size_t>(maxsize), name_or_empty(name)).handle();
    // The queue's own C handle, made by the queue's C layer.
    return mproc_queue_attach(handle.c_str(), out);
  });
}

int mproc_manager_array(mproc_manager_t* manager, const char* name, size_t element_size,
                        size_t element_align, size_t count, int flags, mproc_array_t** out) {
  constexpr const char* fn = "mproc_manager_array";
  return guard(fn, [&] {
    auto& m = manager_of(manager, fn);
    require(out, fn, "out");
    const std::string handle = m.adopt<mproc::detail::SharedBlock>("array", name_or_empty(name), [&] {
      return mproc::capi::new_array_block(element_size, element_align, count, flags, fn);
    }).handle();
    return mproc_array_attach(handle.c_str(), out);
  });
}

int mproc_manager_lock(mproc_manager_t* manager, const char* name, mproc_lock_t** out) {
  constexpr const char* fn = "mproc_manager_lock";
  return guard(fn, [&] {
    auto& m = manager_of(manager, fn);
    require(out, fn, "out");
    const std::string handle = m.Lock(name_or_empty(name)).handle();
    return mproc_lock_attach(handle.c_str(), out);
  });
}

int mproc_manager_shutdown(mproc_manager_t* manager) {
  constexpr const char* fn = "mproc_manager_shutdown";
  return guard(fn, [&] {
    manager_of(manager, fn).shutdown();
    return 0;
  });
}

int mproc_manager_destroy(mproc_manager_t* manager) {
  return destroy<ManagerHandles>(manager, "mproc_manager_destroy", "mproc_manager_t");
}

// ---- Dict ----

int mproc_dict_create(mproc_dict_t** out) {
  return guard("mproc_dict_create", [&] {
    require(out, "mproc_dict_create", "out");
    *out = publish<mproc_dict_t, DictHandles>(BytesDict());
    return 0;
  });
}

int mproc_dict_attach(const char* handle, mproc_dict_t** out) {
  constexpr const char* fn = "mproc_dict_attach";
  return guard(fn, [&] {
    require(handle, fn, "handle");
    require(out, fn, "out");
    *out = publish<mproc_dict_t, DictHandles>(BytesDict::attach(handle));
    return 0;
  });
}

int mproc_dict_handle(mproc_dict_t* dict, char* buf, size_t len) {
  constexpr const char* fn = "mproc_dict_handle";
  return guard(fn, [&] { return mproc::capi::copy_out(dict_of(dict, fn).handle(), buf, len, fn); });
}

int mproc_dict_set(mproc_dict_t* dict, const void* key, size_t key_len, const void* value,
                   size_t value_len) {
  constexpr const char* fn = "mproc_dict_set";
  return guard(fn, [&] {
    dict_of(dict, fn).set(bytes(key, key_len, fn, "key"), bytes(value, value_len, fn, "value"));
    return 0;
  });
}

int mproc_dict_get(mproc_dict_t* dict, const void* key, size_t key_len, void** value,
                   size_t* len) {
  constexpr const char* fn = "mproc_dict_get";
  return guard(fn, [&] {
    auto& d = dict_of(dict, fn);
    require_out(value, len, fn);
    struct Out {
      void** value;
      size_t* len;
    } out{value, len};
    const auto sink = [](std::string_view found, void* context) {
      auto& to = *static_cast<Out*>(context);
      give(found, to.value, to.len);
    };
    if (!d.visit(bytes(key, key_len, fn, "key"), sink, &out)) return missing_key(fn);
    return 0;
  });
}

int mproc_dict_get_into(mproc_dict_t* dict, const void* key, size_t key_len, void* buf,
                        size_t capacity, size_t* len) {
  constexpr const char* fn = "mproc_dict_get_into";
  return guard(fn, [&] {
    auto& d = dict_of(dict, fn);
    require(len, fn, "len");
    if (buf == nullptr && capacity > 0) require(buf, fn, "buf");
    struct Into {
      void* buf;
      size_t capacity;
      size_t* len;
    } into{buf, capacity, len};
    const auto sink = [](std::string_view value, void* context) {
      auto& to = *static_cast<Into*>(context);
      *to.len = value.size();
      if (value.size() <= to.capacity && !value.empty())
        std::memcpy(to.buf, value.data(), value.size());
    };
    if (!d.visit(bytes(key, key_len, fn, "key"), sink, &into)) return missing_key(fn);
    return *len <= capacity ? 0 : -ERANGE;
  });
}

int mproc_dict_contains(mproc_dict_t* dict, const void* key, size_t key_len) {
  constexpr const char* fn = "mproc_dict_contains";
  return guard(fn, [&] { return dict_of(dict, fn).contains(bytes(key, key_len, fn, "key")) ? 1 : 0; });
}

int mproc_dict_pop(mproc_dict_t* dict, const void* key, size_t key_len, void** value,
                   size_t* len) {
  constexpr const char* fn = "mproc_dict_pop";
  return guard(fn, [&] {
    auto& d = dict_of(dict, fn);
    if (value != nullptr) require_out(value, len, fn);
    auto popped = d.pop(bytes(key, key_len, fn, "key"));
    if (!popped) return missing_key(fn);
    if (value != nullptr) give(*popped, value, len);
    return 0;
  });
}

int mproc_dict_setdefault(mproc_dict_t* dict, const void* key, size_t key_len,
                          const void* default_value, size_t default_len, void** value,
                          size_t* len) {
  constexpr const char* fn = "mproc_dict_setdefault";
  return guard(fn, [&] {
    auto& d = dict_of(dict, fn);
    require_out(value, len, fn);
    give(d.setdefault(bytes(key, key_len, fn, "key"),
                      bytes(default_value, default_len, fn, "default_value")),
         value, len);
    return 0;
  });
}

int mproc_dict_size(mproc_dict_t* dict, size_t* size) {
  constexpr const char* fn = "mproc_dict_size";
  return guard(fn, [&] {
    auto& d = dict_of(dict, fn);
    require(size, fn, "size");
    *size = d.size();
    return 0;
  });
}

int mproc_dict_clear(mproc_dict_t* dict) {
  constexpr const char* fn = "mproc_dict_clear";
  return guard(fn, [&] {
    dict_of(dict, fn).clear();
    return 0;
  });
}

int mproc_dict_keys(mproc_dict_t* dict, void** packed, size_t* len, size_t* count) {
  constexpr const char* fn = "mproc_dict_keys";
  return guard(fn, [&] {
    auto& d = dict_of(dict, fn);
    require_out(packed, len, fn);
    require(count, fn, "count");
    give_packed(d.keys(), packed, len, count, 1);
    return 0;
  });
}

int mproc_dict_items(mproc_dict_t* dict, void** packed, size_t* len, size_t* count) {
  constexpr const char* fn = "mproc_dict_items";
  return guard(fn, [&] {
    auto& d = dict_of(dict, fn);
    require_out(packed, len, fn);
    require(count, fn, "count");
    std::vector<std::string> flat;
    for (auto& [k, v] : d.items()) {
      flat.push_back(std::move(k));
      flat.push_back(std::move(v));
    }
    give_packed(flat, packed, len, count, 2);
    return 0;
  });
}

int mproc_dict_destroy(mproc_dict_t* dict) {
  return destroy<DictHandles>(dict, "mproc_dict_destroy", "mproc_dict_t");
}

int mproc_dict_set_timeout(mproc_dict_t* dict, int64_t timeout_ms) {
  constexpr const char* fn = "mproc_dict_set_timeout";
  return guard(fn, [&] { return set_timeout(dict_of(dict, fn), timeout_ms, fn); });
}

int mproc_manager_set_timeout(mproc_manager_t* manager, int64_t timeout_ms) {
  constexpr const char* fn = "mproc_manager_set_timeout";
  return guard(fn, [&] { return set_timeout(manager_of(manager, fn), timeout_ms, fn); });
}

int mproc_list_set_timeout(mproc_list_t* list, int64_t timeout_ms) {
  constexpr const char* fn = "mproc_list_set_timeout";
  return guard(fn, [&] { return set_timeout(list_of(list, fn), timeout_ms, fn); });
}

int mproc_namespace_set_timeout(mproc_namespace_t* ns, int64_t timeout_ms) {
  constexpr const char* fn = "mproc_namespace_set_timeout";
  return guard(fn, [&] { return set_timeout(namespace_of(ns, fn), timeout_ms, fn); });
}

// ---- List ----

int mproc_list_create(mproc_list_t** out) {
  return guard("mproc_list_create", [&] {
    require(out, "mproc_list_create", "out");
    *out = publish<mproc_list_t, ListHandles>(BytesList());
    return 0;
  });
}

int mproc_list_attach(const char* handle, mproc_list_t** out) {
  constexpr const char* fn = "mproc_list_attach";
  return guard(fn, [&] {
    require(handle, fn, "handle");
    require(out, fn, "out");
    *out = publish<mproc_list_t, ListHandles>(BytesList::attach(handle));
    return 0;
  });
}

int mproc_list_handle(mproc_list_t* list, char* buf, size_t len) {
  constexpr const char* fn = "mproc_list_handle";
  return guard(fn, [&] { return mproc::capi::copy_out(list_of(list, fn).handle(), buf, len, fn); });
}

int mproc_list_append(mproc_list_t* list, const void* value, size_t len) {
  constexpr const char* fn = "mproc_list_append";
  return guard(fn, [&] {
    list_of(list, fn).append(bytes(value, len, fn, "value"));
    return 0;
  });
}

int mproc_list_get(mproc_list_t* list, int64_t index, void** value, size_t* len) {
  constexpr const char* fn = "mproc_list_get";
  return guard(fn, [&] {
    auto& l = list_of(list, fn);
    require_out(value, len, fn);
    give(l.get(index), value, len);
    return 0;
  });
}

int mproc_list_set(mproc_list_t* list, int64_t index, const void* value, size_t len) {
  constexpr const char* fn = "mproc_list_set";
  return guard(fn, [&] {
    list_of(list, fn).set(index, bytes(value, len, fn, "value"));
    return 0;
  });
}

int mproc_list_insert(mproc_list_t* list, int64_t index, const void* value, size_t len) {
  constexpr const char* fn = "mproc_list_insert";
  return guard(fn, [&] {
    list_of(list, fn).insert(index, bytes(value, len, fn, "value"));
    return 0;
  });
}

int mproc_list_pop(mproc_list_t* list, int64_t index, void** value, size_t* len) {
  constexpr const char* fn = "mproc_list_pop";
  return guard(fn, [&] {
    auto& l = list_of(list, fn);
    if (value != nullptr) require_out(value, len, fn);
    const std::string popped = l.pop(index);
    if (value != nullptr) give(popped, value, len);
    return 0;
  });
}

int mproc_list_size(mproc_list_t* list, size_t* size) {
  constexpr const char* fn = "mproc_list_size";
  return guard(fn, [&] {
    auto& l = list_of(list, fn);
    require(size, fn, "size");
    *size = l.size();
    return 0;
  });
}

int mproc_list_clear(mproc_list_t* list) {
  constexpr const char* fn = "mproc_list_clear";
  return guard(fn, [&] {
    list_of(list, fn).clear();
    return 0;
  });
}

int mproc_list_snapshot(mproc_list_t* list, void** packed, size_t* len, size_t* count) {
  constexpr const char* fn = "mproc_list_snapshot";
  return guard(fn, [&] {
    auto& l = list_of(list, fn);
    require_out(packed, len, fn);
    require(count, fn, "count");
    give_packed(l.snapshot(), packed, len, count, 1);
    return 0;
  });
}

int mproc_list_slice(mproc_list_t* list, int64_t start, int64_t stop, int64_t step,
                     void** packed, size_t* len, size_t* count) {
  constexpr const char* fn = "mproc_list_slice";
  return guard(fn, [&] {
    auto& l = list_of(list, fn);
    require_out(packed, len, fn);
    require(count, fn, "count");
    give_packed(l.slice(bound(start), bound(stop), step), packed, len, count, 1);
    return 0;
  });
}

int mproc_list_set_slice(mproc_list_t* list, int64_t start, int64_t stop, int64_t step,
                         const void* const* values, const size_t* lens, size_t count) {
  constexpr const char* fn = "mproc_list_set_slice";
  return guard(fn, [&] {
    auto& l = list_of(list, fn);
    if (count > 0) {
      require(values, fn, "values");
      require(lens, fn, "lens");
    }
    std::vector<std::string_view> in;
    in.reserve(count);
    for (size_t i = 0; i < count; ++i) in.push_back(bytes(values[i], lens[i], fn, "a value"));
    l.set_slice(bound(start), bound(stop), in, step);
    return 0;
  });
}

int mproc_list_del_slice(mproc_list_t* list, int64_t start, int64_t stop, int64_t step) {
  constexpr const char* fn = "mproc_list_del_slice";
  return guard(fn, [&] {
    list_of(list, fn).erase_slice(bound(start), bound(stop), step);
    return 0;
  });
}

int mproc_list_remove(mproc_list_t* list, const void* value, size_t len) {
  constexpr const char* fn = "mproc_list_remove";
  return guard(fn, [&] {
    list_of(list, fn).remove(bytes(value, len, fn, "value"));
    return 0;
  });
}

int mproc_list_index(mproc_list_t* list, const void* value, size_t len, int64_t start,
                     int64_t stop, size_t* index) {
  constexpr const char* fn = "mproc_list_index";
  return guard(fn, [&] {
    auto& l = list_of(list, fn);
    require(index, fn, "index");
    *index = l.index(bytes(value, len, fn, "value"), start, bound(stop));
    return 0;
  });
}

int mproc_list_count(mproc_list_t* list, const void* value, size_t len, size_t* count) {
  constexpr const char* fn = "mproc_list_count";
  return guard(fn, [&] {
    auto& l = list_of(list, fn);
    require(count, fn, "count");
    *count = l.count(bytes(value, len, fn, "value"));
    return 0;
  });
}

int mproc_list_contains(mproc_list_t* list, const void* value, size_t len) {
  constexpr const char* fn = "mproc_list_contains";
  return guard(fn, [&] { return list_of(list, fn).contains(bytes(value, len, fn, "value")) ? 1 : 0; });
}

int mproc_list_sort(mproc_list_t* list, mproc_list_compare_fn compare, void* user_data,
                    int reverse) {
  constexpr const char* fn = "mproc_list_sort";
  struct C {
    mproc_list_compare_fn compare;
    void* user_data;
  } c{compare, user_data};
  return guard(fn, [&] {
    auto& l = list_of(list, fn);
    if (compare == nullptr) {
      l.sort(nullptr, nullptr, reverse != 0);
    } else {
      l.sort([](std::string_view a, std::string_view b, void* context) {
        const auto* h = static_cast<const C*>(context);
        return h->compare(a.data(), a.size(), b.data(), b.size(), h->user_data);
      }, &c, reverse != 0);
    }
    return 0;
  });
}

int mproc_list_reverse(mproc_list_t* list) {
  constexpr const char* fn = "mproc_list_reverse";
  return guard(fn, [&] {
    list_of(list, fn).reverse();
    return 0;
  });
}

int mproc_list_destroy(mproc_list_t* list) {
  return destroy<ListHandles>(list, "mproc_list_destroy", "mproc_list_t");
}

// ---- Namespace ----

int mproc_namespace_create(mproc_namespace_t** out) {
  return guard("mproc_namespace_create", [&] {
    require(out, "mproc_namespace_create", "out");
    *out = publish<mproc_namespace_t, NamespaceHandles>(Namespace());
    return 0;
  });
}

int mproc_namespace_attach(const char* handle, mproc_namespace_t** out) {
  constexpr const char* fn = "mproc_namespace_attach";
  return guard(fn, [&] {
    require(handle, fn, "handle");
    require(out, fn, "out");
    *out = publish<mproc_namespace_t, NamespaceHandles>(Namespace::attach(handle));
    return 0;
  });
}

int mproc_namespace_handle(mproc_namespace_t* ns, char* buf, size_t len) {
  constexpr const char* fn = "mproc_namespace_handle";
  return guard(fn, [&] { return mproc::capi::copy_out(namespace_of(ns, fn).handle(), buf, len, fn); });
}

int mproc_namespace_set(mproc_namespace_t* ns, const char* attribute, const void* value,
                        size_t len) {
  constexpr const char* fn = "mproc_namespace_set";
  return guard(fn, [&] {
    auto& n = namespace_of(ns, fn);
    require(attribute, fn, "attribute");
    n.set_bytes(attribute, bytes(value, len, fn, "value"));
    return 0;
  });
}

int mproc_namespace_get(mproc_namespace_t* ns, const char* attribute, void** value, size_t* len) {
  constexpr const char* fn = "mproc_namespace_get";
  return guard(fn, [&] {
    auto& n = namespace_of(ns, fn);
    require(attribute, fn, "attribute");
    require_out(value, len, fn);
    give(n.get_bytes(attribute), value, len);
    return 0;
  });
}

int mproc_namespace_has(mproc_namespace_t* ns, const char* attribute) {
  constexpr const char* fn = "mproc_namespace_has";
  return guard(fn, [&] {
    auto& n = namespace_of(ns, fn);
    require(attribute, fn, "attribute");
    return n.has(attribute) ? 1 : 0;
  });
}

int mproc_namespace_del(mproc_namespace_t* ns, const char* attribute) {
  constexpr const char* fn = "mproc_namespace_del";
  return guard(fn, [&] {
    auto& n = namespace_of(ns, fn);
    require(attribute, fn, "attribute");
    if (!n.del(attribute))
      throw Error(std::make_error_code(std::errc::no_such_file_or_directory),
                  std::string(fn) + ": no attribute \"" + attribute + "\"");
    return 0;
  });
}

int mproc_namespace_destroy(mproc_namespace_t* ns) {
  return destroy<NamespaceHandles>(ns, "mproc_namespace_destroy", "mproc_namespace_t");
}

}  // extern "C"
