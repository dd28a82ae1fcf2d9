// A list in a Store: a block of Record offsets whose `length` publishes appends; inserts and
// removals in the middle build a new block and publish it as root (see layout.hpp). All functions
// require the Store's Guard. Indexes are checked by the caller (list_check_index).
#pragma once

#include <cstdint>
#include <string_view>

#include "manager/store.hpp"

namespace mproc::detail::manager {

std::uint64_t list_size(Store& store);
// Throws ERANGE ("index out of range", Python's IndexError) unless 0 <= index < size (or
// <= size when `end_ok`, for insert).
void list_check_index(Store& store, std::int64_t index, bool end_ok, const char* operation);
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

}  // namespace mproc::detail::manager
