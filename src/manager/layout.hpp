// The shared-memory layout of a Manager container (dict, list, Namespace, and the Manager's own
// registry of names). One growable segment per container:
//
//   [ SegmentHeader | Control (the robust lock, capacity, root, ...) ]  first page, mapped once
//   [ data area: records, the dict table or list block, free space ]     file offset data_offset
//
// The first page never moves in a process (the lock lives there, and a held robust mutex must
// never change address: it is linked into its holder's robust list). The data area is mapped
// separately and remapped larger when another process grew the file.
//
// Commit protocol (a SIGKILL at any point leaves the container consistent). Every change writes
// its new bytes where nothing reachable lives (past `tail`, after bumping `tail`; or below `low`
// during a compaction) and then publishes them with ONE aligned 8-byte store: a dict slot, a list
// slot, a list length, or `root`. Everything else (`tail`, `low`, `live`, a table's counts) is
// derived: stored so that a stale value is harmless (`tail` is bumped before the data it covers is
// published), and recomputed from `root` when the lock is recovered from a dead owner.
// Offsets, never pointers: every offset is from the start of the data area; 0 means "none", and
// the first kDataReserved bytes are never allocated so that 0 and kTombstone are never records.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "sync/mutex_state.hpp"

namespace mproc::detail::manager {

inline constexpr std::uint64_t kDataReserved = 64;
inline constexpr std::uint64_t kEmpty = 0;      // dict slot never used
inline constexpr std::uint64_t kTombstone = 1;  // dict slot whose entry was erased
inline constexpr std::size_t kAlign = 8;

// One read of a field that another process may be rewriting: the value checked is the value used
// (the compiler may not reload it from shared memory later).
template <class T>
inline T load_once(const T& field) noexcept {
  return __atomic_load_n(&field, __ATOMIC_RELAXED);
}

enum class Kind : std::uint32_t { dict = 1, list = 2, names = 3, registry = 4 };

struct Control {
  MutexState lock;
  std::uint64_t data_offset;  // file offset of the data area (a multiple of the page size)
  std::uint32_t kind;         // Kind
  std::uint32_t reserved;
  std::atomic<std::uint64_t> capacity;  // bytes of data area the file holds (grows only)
  std::atomic<std::uint64_t> root;      // the dict table / list block: THE commit point; 0 = empty
  std::atomic<std::uint64_t> tail;      // no reachable byte at or past it (bumped before use)
  std::atomic<std::uint64_t> low;       // no reachable byte below it (compaction target check)
  std::atomic<std::uint64_t> live;      // bytes reachable from root (for the compaction policy)
  std::atomic<std::uint64_t> recoveries;  // times the lock was recovered from a dead owner
  // Odd while a change is being made (a sequence lock): a reader that does not take the lock
  // trusts what it read only if `version` was even and unchanged around its reads.
  std::atomic<std::uint64_t> version;
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

// An entry: a dict's key and value, or a list's value (key_size 0). Padded to kAlign.
struct Record {
  std::uint32_t key_size;
  std::uint32_t value_size;
  std::uint64_t hash;
  const char* key() const noexcept { return reinterpret_cast<const char*>(this + 1); }
  const char* value() const noexcept { return key() + key_size; }
  std::uint64_t bytes() const noexcept { return record_bytes(key_size, value_size); }
  static std::uint64_t record_bytes(std::uint64_t key, std::uint64_t value) noexcept {
    return (sizeof(Record) + key + value + kAlign - 1) / kAlign * kAlign;
  }
};

// A dict: an open-addressing index (linear probing) over an array of entries kept in insertion
// order, as CPython's compact dict. entry[i] is the offset of the i-th inserted Record, or 0 once
// that key was erased (a replaced value keeps its place); entry[0, length) are published, and
// storing `length` + 1 is the commit of an insertion. slot[i] is kEmpty, kTombstone or an entry:
// the entry's index + 2 in the low 48 bits and the top 16 bits of its key's hash above, so that
// a probe compares tags without touching the records of other keys. A slot naming an entry at
// or past `length`, or an erased one, is a change that did not finish: it finds nothing.
inline constexpr std::uint64_t kOffsetMask = (std::uint64_t{1} << 48) - 1;
inline constexpr std::uint64_t slot_entry(std::uint64_t index, std::uint64_t hash) noexcept {
  return (index + 2) | (hash & ~kOffsetMask);
}
inline constexpr std::uint64_t slot_index(std::uint64_t slot) noexcept {
  return (slot & kOffsetMask) - 2;
}
inline constexpr bool slot_used(std::uint64_t slot) noexcept { return slot > kTombstone; }
struct DictTable {
  std::uint64_t slots;  // a power of two; the entry array holds slots / 2 entries
  std::uint64_t count;  // live entries (derived)
  std::uint64_t used;   // non-empty slots, tombstones included (derived)
  std::atomic<std::uint64_t> length;  // entries published (the commit of an insertion)
  // `slots` slots follow the header, then `slots / 2` entries.
  std::atomic<std::uint64_t>* slot() noexcept {
    return reinterpret_cast<std::atomic<std::uint64_t>*>(this + 1);
  }
  static std::uint64_t capacity_for(std::uint64_t slots) noexcept { return slots / 2; }
  static std::uint64_t bytes_for(std::uint64_t slots) noexcept {
    return sizeof(DictTable) + (slots + capacity_for(slots)) * sizeof(std::atomic<std::uint64_t>);
  }
};

// A list's block: slot[0, length) are its Records in order. Appending writes slot[length] and
// then stores length + 1 (the commit).
struct ListBlock {
  std::uint64_t capacity;
  std::atomic<std::uint64_t> length;
  std::uint64_t reserved[2];
  // `capacity` slots follow the header.
  std::atomic<std::uint64_t>* slot() noexcept {
    return reinterpret_cast<std::atomic<std::uint64_t>*>(this + 1);
  }
  static std::uint64_t bytes_for(std::uint64_t n) noexcept {
    return sizeof(ListBlock) + n * sizeof(std::atomic<std::uint64_t>);
  }
};

// White-box crash points: when g_crash_at equals a point's number, the process SIGKILLs itself
// there (tests set it in a child). One relaxed load per point; 0 (never) in normal use.
enum class CrashPoint : int {
  none = 0,
  after_tail_bump,       // allocated space past tail, record not yet written/published
  after_record_write,    // record written, not published
  after_index_write,     // a dict's new entry and slot written, its length not yet published
  after_commit,          // published, derived fields (count, live) not yet updated
  after_grow_truncate,   // file extended, capacity not yet recorded
  mid_rebuild,           // half of a new table / block / compacted image written, not published
  after_rebuild_commit,  // new root published, tail/low/live not yet updated
  count_
};
extern std::atomic<int> g_crash_at;
void crash_here();  // raise(SIGKILL)
inline void crash_point(CrashPoint point) noexcept {
  if (g_crash_at.load(std::memory_order_relaxed) == static_cast<int>(point)) crash_here();
}

}  // namespace mproc::detail::manager
