// BytesList: the public list, over a Store and list_ops.
#include <mproc/list.hpp>

#include <string>

#include "manager/list_ops.hpp"
#include "manager/store.hpp"

namespace mproc {

using detail::manager::Kind;
using detail::manager::Store;
using Guard = Store::Guard;

namespace {

std::string_view value_of(const detail::manager::RecordView& r) { return r.value; }

}  // namespace

BytesList::BytesList() : store_(Store::create(Kind::list)) {}
BytesList::BytesList(std::unique_ptr<Store> store) noexcept : store_(std::move(store)) {}
BytesList BytesList::attach(std::string_view handle) {
  return BytesList(Store::attach(handle, Kind::list));
}
BytesList::BytesList(BytesList&&) noexcept = default;
BytesList& BytesList::operator=(BytesList&&) noexcept = default;
BytesList::~BytesList() = default;

Store& BytesList::store() const {
  if (store_ == nullptr) throw Error(errc::closed, "list: it was closed");
  return *store_;
}

std::string BytesList::handle() const { return store().name(); }

void BytesList::append(std::string_view value) {
  Store& s = store();
  Guard guard(s);
  detail::manager::list_append(s, &value, 1);
}

void BytesList::extend(const std::vector<std::string_view>& values) {
  Store& s = store();
  Guard guard(s);
  detail::manager::list_append(s, values.data(), values.size());
}

void BytesList::extend(const std::vector<std::string>& values) {
  extend(std::vector<std::string_view>(values.begin(), values.end()));
}

void BytesList::visit(std::ptrdiff_t index, void (*sink)(std::string_view, void*),
                      void* context) const {
  Store& s = store();
  Guard guard(s);
  detail::manager::list_check_index(s, index, false, "get");
  sink(value_of(detail::manager::list_get(s, static_cast<std::uint64_t>(index))), context);
}

std::string BytesList::get(std::ptrdiff_t index) const {
  std::string out;
  visit(index, [](std::string_view v, void* c) { static_cast<std::string*>(c)->assign(v); }, &out);
  return out;
}

void BytesList::set(std::ptrdiff_t index, std::string_view value) {
  Store& s = store();
  Guard guard(s);
  detail::manager::list_check_index(s, index, false, "set");
  detail::manager::list_set(s, static_cast<std::uint64_t>(index), value);
}

void BytesList::insert(std::ptrdiff_t index, std::string_view value) {
  Store& s = store();
  Guard guard(s);
  detail::manager::list_check_index(s, index, true, "insert");
  detail::manager::list_insert(s, static_cast<std::uint64_t>(index), value);
}

std::string BytesList::pop(std::ptrdiff_t index) {
  Store& s = store();
  Guard guard(s);
  detail::manager::list_check_index(s, index, false, "pop");
  const auto i = static_cast<std::uint64_t>(index);
  std::string value(value_of(detail::manager::list_get(s, i)));
  detail::manager::list_remove(s, i);
  return value;
}

std::string BytesList::pop() {
  Store& s = store();
  Guard guard(s);
  const std::uint64_t size = detail::manager::list_size(s);
  if (size == 0)
    throw Error(std::make_error_code(std::errc::result_out_of_range),
                std::string(s.type_name()) + ".pop: the list is empty");
  std::string value(value_of(detail::manager::list_get(s, size - 1)));
  detail::manager::list_remove(s, size - 1);
  return value;
}

std::size_t BytesList::size() const {
  Store& s = store();
  Guard guard(s);
  return detail::manager::list_size(s);
}

void BytesList::clear() {
  Store& s = store();
  Guard guard(s);
  detail::manager::list_clear(s);
}

std::vector<std::string> BytesList::snapshot() const {
  Store& s = store();
  Guard guard(s);
  const std::uint64_t size = detail::manager::list_size(s);
  std::vector<std::string> out;
  out.reserve(size);
  for (std::uint64_t i = 0; i < size; ++i)
    out.emplace_back(value_of(detail::manager::list_get(s, i)));
  return out;
}

void BytesList::set_timeout(std::optional<Seconds> timeout) { store().set_timeout(timeout); }

std::uint64_t BytesList::recoveries() const {
  return store().control().recoveries.load(std::memory_order_relaxed);
}

void BytesList::close() noexcept { store_.reset(); }

}  // namespace mproc
