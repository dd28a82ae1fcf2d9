// A dict in a Store: an open-addressing table of Record offsets (linear probing), every change
// published with one store (see layout.hpp). All functions require the Store's Guard, except
// the readers at the end.
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

// --- without the lock (inside Store::read_optimistically): nothing is thrown; every offset is
// checked against one mapping; torn / false: something did not lie inside it (a change
// overlapped, the area grew past this process's mapping, or the dict is corrupt) ---
// The entry for `key` (hash: hash_bytes(key); key within check_sizes' limit): found (in `out`,
// valid until close()), missing, or torn.
Lookup dict_lookup(const Store& store, std::string_view key, std::uint64_t hash,
                   RecordView& out) noexcept;
// As dict_size.
bool dict_read_size(const Store& store, std::uint64_t& size) noexcept;
// As dict_for_each; visit must copy what it keeps (it may throw: bad_alloc). The visits before a
// torn record have been made: the caller starts again from nothing.
bool dict_read_each(const Store& store, void (*visit)(const RecordView& record, void* context),
                    void* context);

}  // namespace mproc::detail::manager
