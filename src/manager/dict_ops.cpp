#include "manager/dict_ops.hpp"

#include <mproc/error.hpp>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <string>

namespace mproc::detail::manager {
namespace {

constexpr std::uint64_t kMinSlots = 16;
constexpr std::uint64_t kNone = std::numeric_limits<std::uint64_t>::max();

std::uint64_t root_of(Store& s) { return s.control().root.load(std::memory_order_acquire); }

// A table whose slot count and length were read once and checked: a power of two whose slots
// and entries lie inside the mapping `view`, and a length within its entries. The pointers (and
// the view) are stale after anything that may remap (alloc); rebase() renews them.
struct Table {
  std::uint64_t offset = 0;
  std::uint64_t slots = 0;
  std::uint64_t length = 0;  // as read by read_table
  DictTable* header = nullptr;
  std::atomic<std::uint64_t>* slot = nullptr;
  std::atomic<std::uint64_t>* entry = nullptr;
  DataView view;  // the mapping every pointer above, and every record read, goes through
  std::uint64_t capacity() const noexcept { return DictTable::capacity_for(slots); }
};

Table rebase(Store& s, std::uint64_t offset, std::uint64_t slots, std::uint64_t length) {
  DictTable* t = s.at<DictTable>(offset);
  return {offset, slots, length, t, t->slot(), t->slot() + slots, s.data_view()};
}

// The table at `offset` as seen through `view`; false if it does not lie inside it (a torn read
// without the lock, or a corrupt table).
bool read_table(const DataView& view, std::uint64_t offset, Table& out) noexcept {
  auto* t = view.find<DictTable>(offset, sizeof(DictTable));
  if (t == nullptr) return false;
  const std::uint64_t slots = load_once(t->slots);
  const std::uint64_t room = (view.size - offset - sizeof(DictTable)) / sizeof(std::uint64_t);
  // A power of two (a bit test: std::has_single_bit is a libgcc call without -mpopcnt).
  const bool power_of_two = slots != 0 && (slots & (slots - 1)) == 0;
  if (!power_of_two || slots > room || slots + slots / 2 > room) return false;
  const std::uint64_t length = t->length.load(std::memory_order_acquire);
  if (length > DictTable::capacity_for(slots)) return false;
  out = {offset, slots, length, t, t->slot(), t->slot() + slots, view};
  return true;
}

Table table_at(Store& s, std::uint64_t offset) {
  Table t;
  if (!read_table(s.data_view(), offset, t))
    s.corrupt("its table at offset " + std::to_string(offset) +
              " does not fit its data (its slot count is not a power of two, its slots or "
              "entries lie past the " + std::to_string(s.mapped()) +
              " bytes mapped, or its length exceeds its entries)");
  return t;
}

bool matches(const RecordView& r, std::uint64_t hash, std::string_view key) {
  return r.hash == hash && r.key.size() == key.size() &&
         (key.empty() || std::memcmp(r.key.data(), key.data(), key.size()) == 0);
}

// Where `key` is (record != 0: its slot, entry and record), or where it would go (insert: the
// first tombstone on its probe path, else the empty slot that ends the path). unreadable != 0:
// the probe stopped at that record, which does not lie inside the table's view.
struct Probe {
  std::uint64_t index = 0;
  std::uint64_t entry = 0;
  std::uint64_t record = 0;
  RecordView found;
  std::uint64_t insert = kNone;
  bool insert_is_empty = false;
  std::uint64_t unreadable = 0;
};

// Never throws: readers without the lock use it as it is; locked callers use checked_probe.
Probe probe(const Table& t, std::string_view key, std::uint64_t hash) noexcept {
  const std::uint64_t mask = t.slots - 1;
  const std::uint64_t tag = hash & ~kOffsetMask;
  std::uint64_t tombstone = kNone;
  std::uint64_t i = hash & mask;
  for (std::uint64_t n = 0; n < t.slots; ++n, i = (i + 1) & mask) {
    const std::uint64_t v = t.slot[i].load(std::memory_order_relaxed);
    if (v == kEmpty) {
      Probe p;
      p.index = i;
      p.insert = tombstone != kNone ? tombstone : i;
      p.insert_is_empty = tombstone == kNone;
      return p;
    }
    if (v == kTombstone) {
      if (tombstone == kNone) tombstone = i;
      continue;
    }
    if ((v & ~kOffsetMask) != tag) continue;
    // An entry not (or no longer) published: a change that has not finished, or a peer's bytes.
    const std::uint64_t e = slot_index(v);
    if (e >= t.length) continue;
    const std::uint64_t record = t.entry[e].load(std::memory_order_acquire);
    if (record == 0) continue;
    RecordView r;
    if (!t.view.record(record, r)) {
      Probe p;
      p.unreadable = record;
      return p;
    }
    if (matches(r, hash, key)) {
      Probe p;
      p.index = i;
      p.entry = e;
      p.record = record;
      p.found = r;
      return p;
    }
  }
  Probe p;  // every slot visited (cannot happen below the load limit): insert on a tombstone
  p.insert = tombstone;
  return p;
}

// probe() under the lock: an unreadable record is corruption (record() throws naming it).
Probe checked_probe(Store& s, const Table& t, std::string_view key, std::uint64_t hash) {
  Probe p = probe(t, key, hash);
  if (p.unreadable != 0) (void)s.record(p.unreadable);
  if (p.unreadable != 0) s.corrupt("a record changed under its lock");
  return p;
}

// An empty table of `slots` slots written at `offset` (allocated by the caller).
Table init_table(Store& s, std::uint64_t offset, std::uint64_t slots) {
  auto* t = s.at<DictTable>(offset);
  std::memset(static_cast<void*>(t), 0, DictTable::bytes_for(slots));
  t->slots = slots;
  return rebase(s, offset, slots, 0);
}

// Appends `record` to a table being built (no duplicates there, so no key comparison). The table
// can only be full when another process wrote into it meanwhile.
void place(Store& s, Table& t, std::uint64_t record, std::uint64_t hash) {
  if (t.length >= t.capacity()) s.corrupt("a table being rebuilt filled up");
  const std::uint64_t mask = t.slots - 1;
  std::uint64_t i = hash & mask;
  for (std::uint64_t n = 0; t.slot[i].load(std::memory_order_relaxed) != kEmpty;
       ++n, i = (i + 1) & mask)
    if (n == t.slots) s.corrupt("a table being rebuilt filled up");
  t.entry[t.length].store(record, std::memory_order_relaxed);
  t.slot[i].store(slot_entry(t.length, hash), std::memory_order_relaxed);
  ++t.length;
}

// Publishes the entries a rebuilt table holds (before its root is published).
void seal(Table& t) {
  t.header->count = t.header->used = t.length;
  t.header->length.store(t.length, std::memory_order_relaxed);
}

std::uint64_t slots_for(std::uint64_t count) {
  return std::max(kMinSlots, std::bit_ceil(count * 2 + 2));
}

// The live entries of a table, in order: visit(record offset, its view). Returns the offset of
// the first record that does not lie inside the table's view (the walk stops there), else 0.
template <class Visit>
std::uint64_t walk_live(const Table& t, Visit&& visit) {
  for (std::uint64_t e = 0; e < t.length; ++e) {
    const std::uint64_t record = t.entry[e].load(std::memory_order_acquire);
    if (record == 0) continue;
    RecordView r;
    if (!t.view.record(record, r)) return record;
    visit(record, r);
  }
  return 0;
}

// walk_live() under the lock: an unreadable record is corruption.
template <class Visit>
void for_each_live(Store& s, const Table& t, Visit&& visit) {
  if (const std::uint64_t bad = walk_live(t, visit); bad != 0) {
    (void)s.record(bad);  // throws, naming it
    s.corrupt("a record changed under its lock");
  }
}

// A new table sized for the live entries (kept in order, erased ones dropped), built past tail
// and published with one store.
void rehash(Store& s) {
  const std::uint64_t old = root_of(s);
  Table o = table_at(s, old);
  // Counted, not read from the table's `count`: that word is shared memory, and a table sized
  // from a wrong count would overflow.
  std::uint64_t entries = 0;
  for (std::uint64_t e = 0; e < o.length; ++e)
    entries += o.entry[e].load(std::memory_order_relaxed) != 0 ? 1 : 0;
  const std::uint64_t slots = slots_for(entries);
  const std::uint64_t bytes = DictTable::bytes_for(slots);
  const std::uint64_t offset = s.alloc(bytes);
  Table t = init_table(s, offset, slots);
  o = rebase(s, old, o.slots, o.length);
  for_each_live(s, o, [&](std::uint64_t record, const RecordView& r) {
    place(s, t, record, r.hash);
    if (t.length == entries / 2) crash_point(CrashPoint::mid_rebuild);
  });
  seal(t);
  const std::uint64_t old_bytes = DictTable::bytes_for(o.slots);
  s.control().root.store(offset, std::memory_order_release);  // the commit
  crash_point(CrashPoint::after_rebuild_commit);
  auto& live = s.control().live;
  live.store(live.load(std::memory_order_relaxed) + bytes - old_bytes, std::memory_order_relaxed);
}

// A fresh empty table published as root.
void new_empty_table(Store& s) {
  const std::uint64_t bytes = DictTable::bytes_for(kMinSlots);
  const std::uint64_t offset = s.alloc(bytes);
  init_table(s, offset, kMinSlots);
  s.control().root.store(offset, std::memory_order_release);  // the commit
  crash_point(CrashPoint::after_rebuild_commit);
  s.control().live.store(bytes, std::memory_order_relaxed);
}

}  // namespace

std::optional<RecordView> dict_find(Store& s, std::string_view key) {
  check_sizes(key, {}, s.type_name());  // before hashing: a key no record can hold is refused
  const std::uint64_t table = root_of(s);
  if (table == 0) return std::nullopt;
  const Probe p = checked_probe(s, table_at(s, table), key, hash_bytes(key));
  if (p.record == 0) return std::nullopt;
  return p.found;
}

Lookup dict_lookup(const Store& s, std::string_view key, std::uint64_t hash,
                   RecordView& out) noexcept {
  const DataView view = s.data_view();  // one mapping for the whole read
  const std::uint64_t table = s.control().root.load(std::memory_order_acquire);
  if (table == 0) return Lookup::missing;
  Table t;
  if (!read_table(view, table, t)) return Lookup::torn;
  const Probe p = probe(t, key, hash);
  if (p.unreadable != 0) return Lookup::torn;
  if (p.record == 0) return Lookup::missing;
  out = p.found;
  return Lookup::found;
}

bool dict_read_size(const Store& s, std::uint64_t& size) noexcept {
  const std::uint64_t table = s.control().root.load(std::memory_order_acquire);
  size = 0;
  if (table == 0) return true;
  Table t;
  if (!read_table(s.data_view(), table, t)) return false;
  size = std::min(load_once(t.header->count), t.length);
  return true;
}

bool dict_read_each(const Store& s, void (*visit)(const RecordView& record, void* context),
                    void* context) {
  const std::uint64_t table = s.control().root.load(std::memory_order_acquire);
  if (table == 0) return true;
  Table t;
  if (!read_table(s.data_view(), table, t)) return false;
  return walk_live(t, [&](std::uint64_t, const RecordView& r) { visit(r, context); }) == 0;
}

void dict_set(Store& s, std::string_view key, std::string_view value) {
  check_sizes(key, value, s.type_name());
  const std::uint64_t hash = hash_bytes(key);
  if (root_of(s) == 0) new_empty_table(s);
  {
    // Load <= 1/2 (short probe runs), and room for one more entry.
    const Table t = table_at(s, root_of(s));
    if ((load_once(t.header->used) + 1) * 2 > t.slots || t.length >= t.capacity()) rehash(s);
  }
  const std::uint64_t table = root_of(s);
  Table t = table_at(s, table);
  const Probe p = checked_probe(s, t, key, hash);
  if (p.record == 0 && (p.insert == kNone || t.length >= t.capacity()))
    s.corrupt("its table has no free slot");
  const std::uint64_t bytes = Record::record_bytes(key.size(), value.size());
  const std::uint64_t record = s.alloc(bytes);
  s.write_record(record, key, value, hash);
  crash_point(CrashPoint::after_record_write);
  t = rebase(s, table, t.slots, t.length);  // alloc may have remapped
  auto& live = s.control().live;
  std::uint64_t now = live.load(std::memory_order_relaxed) + bytes;
  if (p.record != 0) {
    // A replaced value keeps its place in the order, as in Python.
    t.entry[p.entry].store(record, std::memory_order_release);  // the commit
    crash_point(CrashPoint::after_commit);
    now -= p.found.bytes;
  } else {
    t.entry[t.length].store(record, std::memory_order_relaxed);
    t.slot[p.insert].store(slot_entry(t.length, hash), std::memory_order_release);
    crash_point(CrashPoint::after_index_write);
    t.header->length.store(t.length + 1, std::memory_order_release);  // the commit
    crash_point(CrashPoint::after_commit);
    ++t.header->count;
    if (p.insert_is_empty) ++t.header->used;
  }
  live.store(now, std::memory_order_relaxed);
  s.maybe_compact();
}

bool dict_erase(Store& s, std::string_view key) {
  check_sizes(key, {}, s.type_name());
  const std::uint64_t table = root_of(s);
  if (table == 0) return false;
  const Table t = table_at(s, table);
  const Probe p = checked_probe(s, t, key, hash_bytes(key));
  if (p.record == 0) return false;
  t.entry[p.entry].store(0, std::memory_order_release);  // the commit
  crash_point(CrashPoint::after_commit);
  t.slot[p.index].store(kTombstone, std::memory_order_relaxed);
  --t.header->count;
  auto& live = s.control().live;
  live.store(live.load(std::memory_order_relaxed) - p.found.bytes, std::memory_order_relaxed);
  return true;
}

void dict_clear(Store& s) {
  if (root_of(s) == 0) return;
  new_empty_table(s);
  s.maybe_compact();
}

std::uint64_t dict_size(Store& s) {
  const std::uint64_t table = root_of(s);
  if (table == 0) return 0;
  const Table t = table_at(s, table);
  return std::min(load_once(t.header->count), t.length);
}

void dict_for_each(Store& s, void (*visit)(const RecordView&, void*), void* context) {
  const std::uint64_t table = root_of(s);
  if (table == 0) return;
  for_each_live(s, table_at(s, table),
                [&](std::uint64_t, const RecordView& r) { visit(r, context); });
}

void dict_compact(Store& s) {
  const std::uint64_t old = root_of(s);
  if (old == 0) return;
  std::uint64_t entries = 0;
  std::uint64_t record_bytes = 0;
  for_each_live(s, table_at(s, old), [&](std::uint64_t, const RecordView& r) {
    ++entries;
    record_bytes += r.bytes;
  });
  const std::uint64_t slots = slots_for(entries);
  const std::uint64_t table_bytes = DictTable::bytes_for(slots);
  const std::uint64_t image = table_bytes + record_bytes;
  // Where nothing reachable lives: below `low`, or past tail. May remap.
  const std::uint64_t target = compaction_target(s, image);
  Table t = init_table(s, target, slots);
  const Table o = table_at(s, old);
  const std::uint64_t end = target + image;
  std::uint64_t cursor = target + table_bytes;
  for_each_live(s, o, [&](std::uint64_t record, const RecordView& r) {
    if (r.bytes > end - cursor) s.corrupt("its entries changed during a compaction");
    std::memcpy(s.at<char>(cursor), s.at<char>(record), r.bytes);
    place(s, t, cursor, r.hash);
    cursor += r.bytes;
    if (t.length == entries / 2) crash_point(CrashPoint::mid_rebuild);
  });
  seal(t);
  s.control().root.store(target, std::memory_order_release);  // the commit
  finish_compaction(s, target, image);
}

void dict_recover(Store& s) {
  Reach reach;
  if (const std::uint64_t table = root_of(s); table != 0) {
    const Table t = table_at(s, table);
    reach.add(table, DictTable::bytes_for(t.slots));
    std::uint64_t count = 0;
    for_each_live(s, t, [&](std::uint64_t record, const RecordView& r) {
      ++count;
      reach.add(record, r.bytes);
    });
    // A slot whose insertion was not committed, or whose erasure was committed but not finished,
    // becomes the tombstone it stands for (a tombstone keeps every probe path intact).
    std::uint64_t used = 0;
    for (std::uint64_t i = 0; i < t.slots; ++i) {
      const std::uint64_t v = t.slot[i].load(std::memory_order_relaxed);
      if (v == kEmpty) continue;
      ++used;
      if (v == kTombstone) continue;
      const std::uint64_t e = slot_index(v);
      if (e >= t.length || t.entry[e].load(std::memory_order_relaxed) == 0)
        t.slot[i].store(kTombstone, std::memory_order_relaxed);
    }
    t.header->count = count;
    t.header->used = used;
  }
  set_derived(s, reach);
}

}  // namespace mproc::detail::manager
