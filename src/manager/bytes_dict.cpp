// BytesDict: the public dict, over a Store and dict_ops.
#include <mproc/dict.hpp>

#include <string>

#include "manager/dict_ops.hpp"
#include "manager/store.hpp"

namespace mproc {

using detail::manager::Kind;
using detail::manager::Lookup;
using detail::manager::RecordView;
using detail::manager::Store;
using Guard = Store::Guard;

void detail::throw_missing_key(const char* type, const char* operation) {
  throw Error(std::make_error_code(std::errc::no_such_file_or_directory),
              std::string(type) + "." + operation + ": no such key");
}

BytesDict::BytesDict() : store_(Store::create(Kind::dict)) {}
BytesDict::BytesDict(std::unique_ptr<Store> store) noexcept : store_(std::move(store)) {}
BytesDict BytesDict::attach(std::string_view handle) {
  return BytesDict(Store::attach(handle, Kind::dict));
}
BytesDict::BytesDict(BytesDict&&) noexcept = default;
BytesDict& BytesDict::operator=(BytesDict&&) noexcept = default;
BytesDict::~BytesDict() = default;

Store& BytesDict::store() const {
  if (store_ == nullptr) throw Error(errc::closed, "dict: it was closed");
  return *store_;
}

std::string BytesDict::handle() const { return store().name(); }

void BytesDict::set(std::string_view key, std::string_view value) {
  Store& s = store();
  Guard guard(s);
  detail::manager::dict_set(s, key, value);
}

bool BytesDict::visit(std::string_view key, void (*sink)(std::string_view, void*),
                      void* context) const {
  Store& s = store();
  detail::manager::check_sizes(key, {}, s.type_name());  // before hashing a key no record holds
  const std::uint64_t hash = detail::manager::hash_bytes(key);
  // First without the lock: the value is copied out, and trusted only if no change overlapped.
  std::string copy;
  Lookup status = Lookup::torn;
  if (s.read_optimistically([&] {
        RecordView r;
        status = detail::manager::dict_lookup(s, key, hash, r);
        if (status == Lookup::found) copy.assign(r.value);
        return status != Lookup::torn;
      })) {
    if (status == Lookup::found) sink(copy, context);
    return status == Lookup::found;
  }
  Guard guard(s, Store::Access::reading);
  const auto r = detail::manager::dict_find(s, key);
  if (!r) return false;
  sink(r->value, context);
  return true;
}

std::optional<std::string> BytesDict::get(std::string_view key) const {
  std::optional<std::string> out;
  visit(key, [](std::string_view v, void* c) { static_cast<std::optional<std::string>*>(c)->emplace(v); },
        &out);
  return out;
}

std::string BytesDict::get(std::string_view key, std::string_view default_value) const {
  auto found = get(key);
  return found ? std::move(*found) : std::string(default_value);
}

std::string BytesDict::at(std::string_view key) const {
  auto found = get(key);
  if (!found) detail::throw_missing_key(store().type_name(), "at");
  return std::move(*found);
}

bool BytesDict::contains(std::string_view key) const {
  Store& s = store();
  detail::manager::check_sizes(key, {}, s.type_name());
  const std::uint64_t hash = detail::manager::hash_bytes(key);
  Lookup status = Lookup::torn;
  if (s.read_optimistically([&] {
        RecordView r;
        status = detail::manager::dict_lookup(s, key, hash, r);
        return status != Lookup::torn;
      }))
    return status == Lookup::found;
  Guard guard(s, Store::Access::reading);
  return detail::manager::dict_find(s, key).has_value();
}

bool BytesDict::erase(std::string_view key) {
  Store& s = store();
  Guard guard(s);
  return detail::manager::dict_erase(s, key);
}

std::optional<std::string> BytesDict::pop(std::string_view key) {
  Store& s = store();
  Guard guard(s);
  const auto r = detail::manager::dict_find(s, key);
  if (!r) return std::nullopt;
  std::string value(r->value);
  detail::manager::dict_erase(s, key);
  return value;
}

std::string BytesDict::setdefault(std::string_view key, std::string_view default_value) {
  Store& s = store();
  Guard guard(s);
  if (const auto r = detail::manager::dict_find(s, key)) return std::string(r->value);
  detail::manager::dict_set(s, key, default_value);
  return std::string(default_value);
}

std::size_t BytesDict::size() const {
  Store& s = store();
  std::uint64_t size = 0;
  if (s.read_optimistically([&] { return detail::manager::dict_read_size(s, size); })) return size;
  Guard guard(s, Store::Access::reading);
  return detail::manager::dict_size(s);
}

void BytesDict::for_each(void (*sink)(std::string_view, std::string_view, void*),
                         void* context) const {
  struct Visit {
    void (*sink)(std::string_view, std::string_view, void*);
    void* context;
  } visit{sink, context};
  Store& s = store();
  Guard guard(s, Store::Access::reading);
  detail::manager::dict_for_each(
      s,
      [](const RecordView& r, void* c) {
        auto* v = static_cast<Visit*>(c);
        v->sink(r.key, r.value, v->context);
      },
      &visit);
}

namespace {

// Every entry copied into `out` by add(out, key, value): without the lock when no change
// overlaps the copy (a torn copy is dropped and made again), else under it.
template <class Out>
Out copy_entries(Store& s, void (*add)(Out& out, std::string_view key, std::string_view value)) {
  struct Copy {
    Out out;
    void (*add)(Out&, std::string_view, std::string_view);
  } copy{Out{}, add};
  const auto visit = [](const RecordView& r, void* c) {
    auto* to = static_cast<Copy*>(c);
    to->add(to->out, r.key, r.value);
  };
  if (s.read_optimistically([&] {
        copy.out.clear();
        return detail::manager::dict_read_each(s, visit, &copy);
      }))
    return std::move(copy.out);
  copy.out.clear();
  Guard guard(s, Store::Access::reading);
  detail::manager::dict_for_each(s, visit, &copy);
  return std::move(copy.out);
}

}  // namespace

std::vector<std::string> BytesDict::keys() const {
  return copy_entries<std::vector<std::string>>(
      store(), [](std::vector<std::string>& out, std::string_view k, std::string_view) {
        out.emplace_back(k);
      });
}

std::vector<std::string> BytesDict::values() const {
  return copy_entries<std::vector<std::string>>(
      store(), [](std::vector<std::string>& out, std::string_view, std::string_view v) {
        out.emplace_back(v);
      });
}

std::vector<std::pair<std::string, std::string>> BytesDict::items() const {
  using Items = std::vector<std::pair<std::string, std::string>>;
  return copy_entries<Items>(store(), [](Items& out, std::string_view k, std::string_view v) {
    out.emplace_back(k, v);
  });
}

void BytesDict::clear() {
  Store& s = store();
  Guard guard(s);
  detail::manager::dict_clear(s);
}

void BytesDict::update(const std::vector<std::pair<std::string, std::string>>& items) {
  Store& s = store();
  Guard guard(s);
  for (const auto& [k, v] : items) detail::manager::dict_set(s, k, v);
}

void BytesDict::set_timeout(std::optional<Seconds> timeout) { store().set_timeout(timeout); }

std::uint64_t BytesDict::recoveries() const {
  return store().control().recoveries.load(std::memory_order_relaxed);
}

void BytesDict::close() noexcept { store_.reset(); }

}  // namespace mproc
