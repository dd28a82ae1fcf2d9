#include "manager/dict_ops.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

namespace mproc::detail::manager {
namespace {

constexpr std::uint64_t kMinSlots = 16;
constexpr std::uint64_t kNone = std::numeric_limits<std::uint64_t>::max();

std::uint64_t root_of(Store& s) { return s.control().root.load(std::memory_order_acquire); }

bool matches(const Record& r, std::uint64_t hash, std::string_view key) {
  return r.hash == hash && r.key_size == key.size() &&
         (key.empty() || std::memcmp(r.key(), key.data(), key.size()) == 0);
}

// Where `key` is (record != 0), or where it would go (insert: the first tombstone on its probe
// path, else the empty slot that ends the path).
struct Probe {
  std::uint64_t index = 0;
  std::uint64_t record = 0;
  std::uint64_t insert = kNone;
  bool insert_is_empty = false;
};

Probe probe(Store& s, std::uint64_t table, std::string_view key, std::uint64_t hash) {
  DictTable* t = s.at<DictTable>(table);
  const std::uint64_t mask = t->slots - 1;
  const std::uint64_t tag = slot_entry(0, hash);
  std::uint64_t tombstone = kNone;
  std::uint64_t i = hash & mask;
  for (std::uint64_t n = 0; n < t->slots; ++n, i = (i + 1) & mask) {
    const std::uint64_t v = t->slot()[i].load(std::memory_order_relaxed);
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
    if ((v & ~kOffsetMask) == tag && matches(*s.at<Record>(slot_record(v)), hash, key)) {
      Probe p;
      p.index = i;
      p.record = slot_record(v);
      return p;
    }
  }
  Probe p;  // every slot visited (cannot happen below the load limit): insert on a tombstone
  p.insert = tombstone;
  return p;
}

// An empty table of `slots` slots written at `offset`.
DictTable* init_table(Store& s, std::uint64_t offset, std::uint64_t slots) {
  auto* t = s.at<DictTable>(offset);
  std::memset(static_cast<void*>(t), 0, DictTable::bytes_for(slots));
  t->slots = slots;
  return t;
}

// Puts `record` in a table being built (no duplicates there, so no key comparison).
void place(DictTable* t, std::uint64_t record, std::uint64_t hash) {
  const std::uint64_t mask = t->slots - 1;
  std::uint64_t i = hash & mask;
  while (t->slot()[i].load(std::memory_order_relaxed) != kEmpty) i = (i + 1) & mask;
  t->slot()[i].store(slot_entry(record, hash), std::memory_order_relaxed);
}

std::uint64_t slots_for(std::uint64_t count) {
  return std::max(kMinSlots, std::bit_ceil(count * 2 + 2));
}

// A new table sized for the live entries, built past tail and published with one store.
void rehash(Store& s) {
  const std::uint64_t old = root_of(s);
  const std::uint64_t slots = slots_for(s.at<DictTable>(old)->count);
  const std::uint64_t bytes = DictTable::bytes_for(slots);
  const std::uint64_t offset = s.alloc(bytes);
  DictTable* t = init_table(s, offset, slots);
  DictTable* o = s.at<DictTable>(old);
  std::uint64_t count = 0;
  for (std::uint64_t i = 0; i < o->slots; ++i) {
    const std::uint64_t v = o->slot()[i].load(std::memory_order_relaxed);
    if (!slot_used(v)) continue;
    place(t, slot_record(v), s.at<Record>(slot_record(v))->hash);
    if (++count == o->count / 2) crash_point(CrashPoint::mid_rebuild);
  }
  t->count = t->used = count;
  const std::uint64_t old_bytes = DictTable::bytes_for(o->slots);
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

const Record* dict_find(Store& s, std::string_view key) {
  const std::uint64_t table = root_of(s);
  if (table == 0) return nullptr;
  const Probe p = probe(s, table, key, hash_bytes(key));
  return p.record != 0 ? s.at<Record>(p.record) : nullptr;
}

void dict_set(Store& s, std::string_view key, std::string_view value) {
  check_sizes(key, value, s.type_name());
  const std::uint64_t hash = hash_bytes(key);
  if (root_of(s) == 0) new_empty_table(s);
  {
    const DictTable* t = s.at<DictTable>(root_of(s));
    if ((t->used + 1) * 2 > t->slots) rehash(s);  // load <= 1/2: short probe runs
  }
  const std::uint64_t table = root_of(s);
  const Probe p = probe(s, table, key, hash);
  const std::uint64_t bytes = Record::record_bytes(key.size(), value.size());
  const std::uint64_t record = s.alloc(bytes);
  s.write_record(record, key, value, hash);
  crash_point(CrashPoint::after_record_write);
  DictTable* t = s.at<DictTable>(table);  // alloc may have remapped
  const std::uint64_t index = p.record != 0 ? p.index : p.insert;
  t->slot()[index].store(slot_entry(record, hash), std::memory_order_release);  // the commit
  crash_point(CrashPoint::after_commit);
  auto& live = s.control().live;
  std::uint64_t now = live.load(std::memory_order_relaxed) + bytes;
  if (p.record != 0) {
    now -= s.at<Record>(p.record)->bytes();
  } else {
    ++t->count;
    if (p.insert_is_empty) ++t->used;
  }
  live.store(now, std::memory_order_relaxed);
  s.maybe_compact();
}

bool dict_erase(Store& s, std::string_view key) {
  const std::uint64_t table = root_of(s);
  if (table == 0) return false;
  const Probe p = probe(s, table, key, hash_bytes(key));
  if (p.record == 0) return false;
  DictTable* t = s.at<DictTable>(table);
  t->slot()[p.index].store(kTombstone, std::memory_order_release);  // the commit
  crash_point(CrashPoint::after_commit);
  --t->count;
  auto& live = s.control().live;
  live.store(live.load(std::memory_order_relaxed) - s.at<Record>(p.record)->bytes(),
             std::memory_order_relaxed);
  return true;
}

void dict_clear(Store& s) {
  if (root_of(s) == 0) return;
  new_empty_table(s);
  s.maybe_compact();
}

std::uint64_t dict_size(Store& s) {
  const std::uint64_t table = root_of(s);
  return table == 0 ? 0 : s.at<DictTable>(table)->count;
}

void dict_for_each(Store& s, void (*visit)(const Record&, void*), void* context) {
  const std::uint64_t table = root_of(s);
  if (table == 0) return;
  DictTable* t = s.at<DictTable>(table);
  for (std::uint64_t i = 0; i < t->slots; ++i) {
    const std::uint64_t v = t->slot()[i].load(std::memory_order_relaxed);
    if (slot_used(v)) visit(*s.at<Record>(slot_record(v)), context);
  }
}

void dict_compact(Store& s) {
  const std::uint64_t old = root_of(s);
  if (old == 0) return;
  std::uint64_t sums[2] = {0, 0};  // entries, their bytes
  dict_for_each(
      s,
      [](const Record& r, void* context) {
        auto* totals = static_cast<std::uint64_t*>(context);
        ++totals[0];
        totals[1] += r.bytes();
      },
      sums);
  const std::uint64_t slots = slots_for(sums[0]);
  const std::uint64_t table_bytes = DictTable::bytes_for(slots);
  const std::uint64_t image = table_bytes + sums[1];
  // Where nothing reachable lives: below `low`, or past tail. May remap.
  const std::uint64_t target = compaction_target(s, image);
  DictTable* t = init_table(s, target, slots);
  DictTable* o = s.at<DictTable>(old);
  std::uint64_t cursor = target + table_bytes;
  std::uint64_t count = 0;
  for (std::uint64_t i = 0; i < o->slots; ++i) {
    const std::uint64_t v = o->slot()[i].load(std::memory_order_relaxed);
    if (!slot_used(v)) continue;
    const Record* r = s.at<Record>(slot_record(v));
    const std::uint64_t bytes = r->bytes();
    std::memcpy(s.at<char>(cursor), r, bytes);
    place(t, cursor, r->hash);
    cursor += bytes;
    if (++count == sums[0] / 2) crash_point(CrashPoint::mid_rebuild);
  }
  t->count = t->used = count;
  s.control().root.store(target, std::memory_order_release);  // the commit
  finish_compaction(s, target, image);
}

void dict_recover(Store& s) {
  Reach reach;
  if (const std::uint64_t table = root_of(s); table != 0) {
    DictTable* t = s.at<DictTable>(table);
    reach.add(table, DictTable::bytes_for(t->slots));
    std::uint64_t count = 0;
    std::uint64_t used = 0;
    for (std::uint64_t i = 0; i < t->slots; ++i) {
      const std::uint64_t v = t->slot()[i].load(std::memory_order_relaxed);
      if (v == kEmpty) continue;
      ++used;
      if (v == kTombstone) continue;
      ++count;
      reach.add(slot_record(v), s.at<Record>(slot_record(v))->bytes());
    }
    t->count = count;
    t->used = used;
  }
  set_derived(s, reach);
}

}  // namespace mproc::detail::manager
