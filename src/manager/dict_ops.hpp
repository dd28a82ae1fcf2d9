// A dict in a Store: an open-addressing table of Record offsets (linear probing), every change
// published with one store (see layout.hpp). All functions require the Store's Guard.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "manager/store.hpp"

namespace mproc::detail::manager {

// The entry for `key`, or nullopt. Valid until the next change or Guard release.
// Every offset and size read from the table is checked against the mapping: a table that another
// process overwrote makes these functions throw errc::internal ("corrupt"), never read outside it.
std::optional<RecordView> dict_find(Store& store, std::string_view key);
// Inserts or replaces.
void dict_set(Store& store, std::string_view key, std::string_view value);
// Removes the entry; false if there was none.
bool dict_erase(Store& store, std::string_view key);
void dict_clear(Store& store);
std::uint64_t dict_size(Store& store);
// Calls visit(record, context) for every entry, in insertion order.
void dict_for_each(Store& store, void (*visit)(const RecordView& record, void* context),
                   void* context);

}  // namespace mproc::detail::manager
