// BytesList: the public list, over a Store and list_ops.
#include <mproc/list.hpp>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <string>

#include "manager/list_ops.hpp"
#include "manager/store.hpp"

namespace mproc {

using detail::manager::Kind;
using detail::manager::Store;
using Guard = Store::Guard;

namespace {

namespace ops = detail::manager;

std::string_view value_of(const detail::manager::RecordView& r) { return r.value; }

std::int64_t as_index(std::ptrdiff_t index) { return static_cast<std::int64_t>(index); }

std::optional<std::int64_t> as_bound(std::optional<std::ptrdiff_t> bound) {
  if (!bound) return std::nullopt;
  return static_cast<std::int64_t>(*bound);
}

[[noreturn]] void not_in_list(Store& s, const char* operation) {
  throw Error(std::make_error_code(std::errc::no_such_file_or_directory),
              std::string(s.type_name()) + "." + operation + ": the value is not in the list");
}

// Bytes order: as memcmp, a prefix first (std::string_view's operator<).
int compare_bytes(std::string_view a, std::string_view b, void*) { return a.compare(b); }

// Runs read(list) on the list as read without the lock, again while a change overlaps it, else
// (after a few tries) under the lock, as dict gets do. read() returns false when an element's
// record did not lie inside the view (then its results are dropped and it runs again): it must
// start from nothing each time, copy what it keeps, and record errors (an index out of range)
// for its caller to throw once the read is known to be whole.
template <class Read>
void read_list(Store& s, Read&& read) {
  if (s.read_optimistically([&] {
        ops::ListRead list;
        return ops::list_read(s, list) && read(list);
      }))
    return;
  Guard guard(s, Store::Access::reading);
  ops::ListRead list;
  if (ops::list_read(s, list) && read(list)) return;
  (void)ops::list_records(s);  // throws, naming what is corrupt
  s.corrupt("a record lies outside its data");
}

// The position of the first element equal to value in [from, to) of `list`, or `to`; nullopt if
// a record did not lie inside the view.
std::optional<std::uint64_t> find_in(const ops::ListRead& list, std::string_view value,
                                     std::uint64_t from, std::uint64_t to) {
  for (std::uint64_t i = from; i < to; ++i) {
    detail::manager::RecordView r;
    if (!list.record(i, r)) return std::nullopt;
    if (r.value == value) return i;
  }
  return to;
}

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
  std::string copy;
  std::uint64_t size = 0;
  bool in_range = false;
  read_list(s, [&](const ops::ListRead& list) {
    size = list.length;
    const auto i = ops::python_index(as_index(index), size);
    in_range = i.has_value();
    if (!in_range) return true;
    detail::manager::RecordView r;
    if (!list.record(*i, r)) return false;
    copy.assign(r.value);
    return true;
  });
  if (!in_range) ops::out_of_range(s, "get", as_index(index), size);
  sink(copy, context);
}

std::string BytesList::get(std::ptrdiff_t index) const {
  std::string out;
  visit(index, [](std::string_view v, void* c) { static_cast<std::string*>(c)->assign(v); }, &out);
  return out;
}

void BytesList::set(std::ptrdiff_t index, std::string_view value) {
  Store& s = store();
  Guard guard(s);
  detail::manager::list_set(s, ops::list_index(s, as_index(index), "set"), value);
}

void BytesList::insert(std::ptrdiff_t index, std::string_view value) {
  Store& s = store();
  Guard guard(s);
  detail::manager::list_insert(s, ops::list_position(s, as_index(index)), value);
}

std::string BytesList::pop(std::ptrdiff_t index) {
  Store& s = store();
  Guard guard(s);
  const std::uint64_t i = ops::list_index(s, as_index(index), "pop");
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
  std::uint64_t size = 0;
  read_list(store(), [&](const ops::ListRead& list) {
    size = list.length;
    return true;
  });
  return size;
}

void BytesList::clear() {
  Store& s = store();
  Guard guard(s);
  detail::manager::list_clear(s);
}

std::vector<std::string> BytesList::snapshot() const {
  return slice(std::nullopt, std::nullopt, 1);
}

std::vector<std::string> BytesList::slice(std::optional<std::ptrdiff_t> start,
                                          std::optional<std::ptrdiff_t> stop,
                                          std::ptrdiff_t step) const {
  Store& s = store();
  if (step == 0) (void)ops::slice_range(0, std::nullopt, std::nullopt, 0, s.type_name());  // EINVAL
  std::vector<std::string> out;
  read_list(s, [&](const ops::ListRead& list) {
    out.clear();
    const auto r = ops::slice_range(list.length, as_bound(start), as_bound(stop), step,
                                    s.type_name());
    out.reserve(r.length);
    for (std::uint64_t i = 0; i < r.length; ++i) {
      detail::manager::RecordView record;
      if (!list.record(r.at(i), record)) return false;
      out.emplace_back(record.value);
    }
    return true;
  });
  return out;
}

void BytesList::set_slice(std::optional<std::ptrdiff_t> start, std::optional<std::ptrdiff_t> stop,
                          const std::vector<std::string_view>& values, std::ptrdiff_t step) {
  Store& s = store();
  Guard guard(s);
  const auto records = ops::list_records(s);
  const auto r = ops::slice_range(records.size(), as_bound(start), as_bound(stop), step,
                                  s.type_name());
  if (step != 1 && values.size() != r.length)
    throw Error(std::make_error_code(std::errc::invalid_argument),
                std::string(s.type_name()) + ".set_slice: attempt to assign a sequence of size " +
                    std::to_string(values.size()) + " to an extended slice of size " +
                    std::to_string(r.length));
  std::vector<std::uint64_t> written;
  written.reserve(values.size());
  for (std::string_view v : values) written.push_back(ops::list_write(s, v));
  std::uint64_t dropped = 0;
  std::vector<std::uint64_t> result;
  if (step == 1) {
    // Python: l[a:b] = values replaces [a, max(a, b)) by any number of values.
    const auto from = static_cast<std::uint64_t>(r.start);
    const std::uint64_t to = from + r.length;
    result.reserve(records.size() - r.length + written.size());
    result.insert(result.end(), records.begin(), records.begin() + static_cast<std::ptrdiff_t>(from));
    result.insert(result.end(), written.begin(), written.end());
    result.insert(result.end(), records.begin() + static_cast<std::ptrdiff_t>(to), records.end());
    for (std::uint64_t i = from; i < to; ++i) dropped += s.record(records[i]).bytes;
  } else {
    result = records;
    for (std::uint64_t i = 0; i < r.length; ++i) {
      dropped += s.record(records[r.at(i)]).bytes;
      result[r.at(i)] = written[i];
    }
  }
  ops::list_publish(s, result, dropped);
}

void BytesList::set_slice(std::optional<std::ptrdiff_t> start, std::optional<std::ptrdiff_t> stop,
                          const std::vector<std::string>& values, std::ptrdiff_t step) {
  set_slice(start, stop, std::vector<std::string_view>(values.begin(), values.end()), step);
}

void BytesList::erase_slice(std::optional<std::ptrdiff_t> start,
                            std::optional<std::ptrdiff_t> stop, std::ptrdiff_t step) {
  Store& s = store();
  Guard guard(s);
  const auto records = ops::list_records(s);
  const auto r = ops::slice_range(records.size(), as_bound(start), as_bound(stop), step,
                                  s.type_name());
  if (r.length == 0) return;
  std::vector<bool> erased(records.size(), false);
  std::uint64_t dropped = 0;
  for (std::uint64_t i = 0; i < r.length; ++i) {
    erased[r.at(i)] = true;
    dropped += s.record(records[r.at(i)]).bytes;
  }
  std::vector<std::uint64_t> kept;
  kept.reserve(records.size() - r.length);
  for (std::uint64_t i = 0; i < records.size(); ++i)
    if (!erased[i]) kept.push_back(records[i]);
  ops::list_publish(s, kept, dropped);
}

void BytesList::remove(std::string_view value) {
  Store& s = store();
  Guard guard(s);
  ops::ListRead list;
  std::optional<std::uint64_t> i;
  if (ops::list_read(s, list)) i = find_in(list, value, 0, list.length);
  if (!i) {
    (void)ops::list_records(s);  // throws, naming what is corrupt
    s.corrupt("a record lies outside its data");
  }
  if (*i == list.length) not_in_list(s, "remove");
  ops::list_remove(s, *i);
}

std::size_t BytesList::index(std::string_view value, std::ptrdiff_t start,
                             std::optional<std::ptrdiff_t> stop) const {
  Store& s = store();
  std::uint64_t found = 0;
  bool there = false;
  read_list(s, [&](const ops::ListRead& list) {
    // list.index's bounds are a step-1 slice's.
    const auto r = ops::slice_range(list.length, as_index(start), as_bound(stop), 1,
                                    s.type_name());
    const auto from = static_cast<std::uint64_t>(r.start);
    const auto i = find_in(list, value, from, from + r.length);
    if (!i) return false;
    found = *i;
    there = *i != from + r.length;
    return true;
  });
  if (!there) not_in_list(s, "index");
  return found;
}

std::size_t BytesList::count(std::string_view value) const {
  std::size_t n = 0;
  read_list(store(), [&](const ops::ListRead& list) {
    n = 0;
    for (std::uint64_t i = 0; i < list.length; ++i) {
      detail::manager::RecordView r;
      if (!list.record(i, r)) return false;
      n += r.value == value;
    }
    return true;
  });
  return n;
}

bool BytesList::contains(std::string_view value) const {
  bool there = false;
  read_list(store(), [&](const ops::ListRead& list) {
    const auto i = find_in(list, value, 0, list.length);
    if (!i) return false;
    there = *i != list.length;
    return true;
  });
  return there;
}

void BytesList::reorder(Permute permute, void* context) {
  Store& s = store();
  Guard guard(s);
  const auto records = ops::list_records(s);
  std::vector<std::string_view> values;
  values.reserve(records.size());
  for (const std::uint64_t record : records) values.push_back(s.record(record).value);
  std::vector<std::size_t> order(records.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  permute(values, order, context);
  // Trusted only once checked: a permutation of [0, size).
  std::vector<bool> seen(records.size(), false);
  bool ok = order.size() == records.size();
  for (std::size_t i = 0; ok && i < order.size(); ++i) {
    ok = order[i] < seen.size() && !seen[order[i]];
    if (ok) seen[order[i]] = true;
  }
  if (!ok)
    throw Error(std::make_error_code(std::errc::invalid_argument),
                std::string(s.type_name()) + ".reorder: the order given is not a permutation");
  std::vector<std::uint64_t> result(records.size());
  for (std::size_t i = 0; i < order.size(); ++i) result[i] = records[order[i]];
  ops::list_publish(s, result, 0);
}

void BytesList::sort(Compare compare, void* context, bool reverse) {
  struct Sort {
    Compare compare;
    void* context;
    bool reverse;
  } how{compare != nullptr ? compare : &compare_bytes, context, reverse};
  reorder(
      [](const std::vector<std::string_view>& values, std::vector<std::size_t>& order, void* c) {
        const auto* h = static_cast<const Sort*>(c);
        // Stable, and reverse keeps equal elements in their order, as Python's sort.
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
          return h->reverse ? h->compare(values[b], values[a], h->context) < 0
                            : h->compare(values[a], values[b], h->context) < 0;
        });
      },
      &how);
}

void BytesList::reverse() {
  reorder([](const std::vector<std::string_view>&, std::vector<std::size_t>& order,
             void*) { std::reverse(order.begin(), order.end()); },
          nullptr);
}

void BytesList::set_timeout(std::optional<Seconds> timeout) { store().set_timeout(timeout); }

std::uint64_t BytesList::recoveries() const {
  return store().control().recoveries.load(std::memory_order_relaxed);
}

void BytesList::close() noexcept { store_.reset(); }

}  // namespace mproc
