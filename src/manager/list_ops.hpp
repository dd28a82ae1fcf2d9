// A list in a Store: a block of Record offsets whose `length` publishes appends; inserts and
// removals in the middle build a new block and publish it as root (see layout.hpp). All functions
// require the Store's Guard, except list_read. Indexes are checked by the caller (list_index,
// list_position).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "manager/store.hpp"

namespace mproc::detail::manager {

std::uint64_t list_size(Store& store);
// Python's index: a negative one counts from the end. Throws ERANGE ("index out of range",
// Python's IndexError) unless -size <= index < size.
std::uint64_t list_index(Store& store, std::int64_t index, const char* operation);
// The same without throwing: nullopt when out of range for a list of `size` elements.
std::optional<std::uint64_t> python_index(std::int64_t index, std::uint64_t size) noexcept;
// Throws list_index's ERANGE.
[[noreturn]] void out_of_range(const Store& store, const char* operation, std::int64_t index,
                               std::uint64_t size);
// Where insert(index) puts its value: as Python, a negative index counts from the end and any
// index is clamped to [0, size].
std::uint64_t list_position(Store& store, std::int64_t index);

// The elements a Python slice selects: start + i * step for i in [0, length). nullopt bounds are
// Python's omitted ones. Throws EINVAL for step 0.
struct SliceRange {
  std::int64_t start = 0;
  std::int64_t step = 1;
  std::uint64_t length = 0;
  std::uint64_t at(std::uint64_t i) const noexcept {
    return static_cast<std::uint64_t>(start + static_cast<std::int64_t>(i) * step);
  }
};
SliceRange slice_range(std::uint64_t size, std::optional<std::int64_t> start,
                       std::optional<std::int64_t> stop, std::int64_t step, const char* type);

// The records of every element, in order (offsets checked against the mapping).
std::vector<std::uint64_t> list_records(Store& store);
// Writes a value's record where nothing reachable lives, and returns its offset: it becomes an
// element only when list_publish names it.
std::uint64_t list_write(Store& store, std::string_view value);
// Makes `records` (existing elements' records and list_write's) the whole list, as one commit: a
// new block published as root. `dropped_bytes`: the bytes of the records it no longer holds.
void list_publish(Store& store, const std::vector<std::uint64_t>& records,
                  std::uint64_t dropped_bytes);
// Every offset, length and capacity read from the list is checked against the mapping: a list
// that another process overwrote makes these functions throw errc::internal ("corrupt").
RecordView list_get(Store& store, std::uint64_t index);
// Appends values[0, count) as one commit.
void list_append(Store& store, const std::string_view* values, std::uint64_t count);
void list_set(Store& store, std::uint64_t index, std::string_view value);
void list_insert(Store& store, std::uint64_t index, std::string_view value);
// Removes the element at index (its record stays readable until the next change).
void list_remove(Store& store, std::uint64_t index);
void list_clear(Store& store);

// The list as a reader without the lock sees it (inside Store::read_optimistically), through one
// mapping: nothing is thrown, every offset is checked against that mapping, and false means
// something did not lie inside it (a change overlapped, the area grew past this process's
// mapping, or the list is corrupt). Also usable under the Guard.
struct ListRead {
  DataView view;
  const std::atomic<std::uint64_t>* slot = nullptr;
  std::uint64_t length = 0;
  // Element i < length: false if its record does not lie inside the view.
  bool record(std::uint64_t i, RecordView& out) const noexcept {
    return view.record(slot[i].load(std::memory_order_relaxed), out);
  }
};
bool list_read(const Store& store, ListRead& out) noexcept;

}  // namespace mproc::detail::manager
