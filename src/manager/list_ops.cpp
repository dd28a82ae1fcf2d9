#include "manager/list_ops.hpp"

#include <mproc/error.hpp>

#include <algorithm>
#include <cstring>
#include <string>

namespace mproc::detail::manager {
namespace {

constexpr std::uint64_t kMinCapacity = 8;

std::uint64_t root_of(Store& s) { return s.control().root.load(std::memory_order_acquire); }

// A block whose capacity and length were read once and checked: its slots lie inside the
// mapping and length <= capacity. The pointers are stale after anything that may remap (alloc).
struct Block {
  ListBlock* header = nullptr;
  std::uint64_t capacity = 0;
  std::uint64_t length = 0;
  std::atomic<std::uint64_t>* slot = nullptr;
};

// The block at `offset` as seen through `view`; false if it does not lie inside it.
bool read_block(const DataView& view, std::uint64_t offset, Block& out) noexcept {
  auto* b = view.find<ListBlock>(offset, sizeof(ListBlock));
  if (b == nullptr) return false;
  const std::uint64_t capacity = load_once(b->capacity);
  const std::uint64_t length = b->length.load(std::memory_order_acquire);
  const std::uint64_t room = (view.size - offset - sizeof(ListBlock)) / sizeof(std::uint64_t);
  if (capacity > room || length > capacity) return false;
  out = {b, capacity, length, b->slot()};
  return true;
}

Block block_at(Store& s, std::uint64_t offset) {
  Block b;
  if (!read_block(s.data_view(), offset, b))
    s.corrupt("its block at offset " + std::to_string(offset) +
              " does not fit its data (its slots lie past the " + std::to_string(s.mapped()) +
              " bytes mapped, or its length exceeds its capacity)");
  return b;
}

Block root_block(Store& s) { return block_at(s, root_of(s)); }

void add_live(Store& s, std::uint64_t plus, std::uint64_t minus) {
  auto& live = s.control().live;
  live.store(live.load(std::memory_order_relaxed) + plus - minus, std::memory_order_relaxed);
}

// A new block of `capacity` slots past tail, holding the current elements with `skip` (if below
// the length) left out and a gap of `gap_count` slots opened at `gap`. Returns its offset
// (unpublished).
std::uint64_t rebuilt_block(Store& s, std::uint64_t capacity, std::uint64_t gap,
                            std::uint64_t gap_count, std::uint64_t skip) {
  const std::uint64_t bytes = ListBlock::bytes_for(capacity);
  const std::uint64_t offset = s.alloc(bytes);
  auto* b = s.at<ListBlock>(offset);
  std::memset(static_cast<void*>(b), 0, sizeof(ListBlock));
  b->capacity = capacity;
  std::uint64_t length = 0;
  if (const std::uint64_t old = root_of(s); old != 0) {
    const Block o = block_at(s, old);
    const std::uint64_t n = o.length;
    for (std::uint64_t i = 0; i < n; ++i) {
      if (i == gap) length += gap_count;
      if (i == skip) continue;
      // Only when another process changed the old block since the caller sized this one.
      if (length >= capacity) s.corrupt("its list changed during a rebuild");
      b->slot()[length++].store(o.slot[i].load(std::memory_order_relaxed),
                                std::memory_order_relaxed);
      if (i == n / 2) crash_point(CrashPoint::mid_rebuild);
    }
    if (gap >= n) length += gap_count;
  } else {
    length = gap_count;
  }
  if (length > capacity) s.corrupt("its list changed during a rebuild");
  b->length.store(length, std::memory_order_relaxed);
  return offset;
}

void publish(Store& s, std::uint64_t new_block) {
  const std::uint64_t old = root_of(s);
  const std::uint64_t old_bytes = old == 0 ? 0 : ListBlock::bytes_for(block_at(s, old).capacity);
  s.control().root.store(new_block, std::memory_order_release);  // the commit
  crash_point(CrashPoint::after_rebuild_commit);
  add_live(s, ListBlock::bytes_for(s.at<ListBlock>(new_block)->capacity), old_bytes);
}

std::uint64_t write_value(Store& s, std::string_view value) {
  check_sizes({}, value, s.type_name());
  const std::uint64_t bytes = Record::record_bytes(0, value.size());
  const std::uint64_t record = s.alloc(bytes);
  s.write_record(record, {}, value, 0);
  add_live(s, bytes, 0);  // counted now; a crash before the commit is corrected by recovery
  return record;
}

}  // namespace

bool list_read(const Store& s, ListRead& out) noexcept {
  out = ListRead{};
  out.view = s.data_view();  // one mapping for the whole read
  const std::uint64_t root = s.control().root.load(std::memory_order_acquire);
  if (root == 0) return true;
  Block b;
  if (!read_block(out.view, root, b)) return false;
  out.slot = b.slot;
  out.length = b.length;
  return true;
}

std::uint64_t list_size(Store& s) {
  return root_of(s) == 0 ? 0 : root_block(s).length;
}

void out_of_range(const Store& s, const char* operation, std::int64_t index, std::uint64_t size) {
  throw Error(std::make_error_code(std::errc::result_out_of_range),
              std::string(s.type_name()) + "." + operation + ": index " +
                  std::to_string(index) + " is out of range (size " + std::to_string(size) + ")");
}

std::optional<std::uint64_t> python_index(std::int64_t index, std::uint64_t size) noexcept {
  // size < 2^60 (every element is 8 bytes of a mapping under 1 TiB): no overflow below.
  const auto n = static_cast<std::int64_t>(size);
  const std::int64_t i = index < 0 ? index + n : index;
  if (i < 0 || i >= n) return std::nullopt;
  return static_cast<std::uint64_t>(i);
}

std::uint64_t list_index(Store& s, std::int64_t index, const char* operation) {
  const std::uint64_t size = list_size(s);
  const auto i = python_index(index, size);
  if (!i) out_of_range(s, operation, index, size);
  return *i;
}

std::uint64_t list_position(Store& s, std::int64_t index) {
  const auto n = static_cast<std::int64_t>(list_size(s));
  const std::int64_t i = index < 0 ? std::max<std::int64_t>(index + n, 0) : std::min(index, n);
  return static_cast<std::uint64_t>(i);
}

SliceRange slice_range(std::uint64_t size, std::optional<std::int64_t> start,
                       std::optional<std::int64_t> stop, std::int64_t step, const char* type) {
  if (step == 0)
    throw Error(std::make_error_code(std::errc::invalid_argument),
                std::string(type) + ": slice step cannot be zero");
  // CPython's PySlice_AdjustIndices.
  const auto n = static_cast<std::int64_t>(size);
  auto adjust = [&](std::optional<std::int64_t> bound, bool is_start) {
    if (!bound) return step < 0 ? (is_start ? n - 1 : -1) : (is_start ? 0 : n);
    std::int64_t v = *bound;
    if (v < 0) {
      v = v < -n ? -1 : v + n;  // written so that INT64_MIN does not overflow
      if (v < 0) v = step < 0 ? -1 : 0;
    } else if (v >= n) {
      v = step < 0 ? n - 1 : n;
    }
    return v;
  };
  SliceRange r;
  r.start = adjust(start, true);
  const std::int64_t end = adjust(stop, false);
  r.step = step;
  if (step < 0) {
    r.length = end < r.start ? static_cast<std::uint64_t>((r.start - end - 1) / -step + 1) : 0;
  } else {
    r.length = r.start < end ? static_cast<std::uint64_t>((end - r.start - 1) / step + 1) : 0;
  }
  return r;
}

std::vector<std::uint64_t> list_records(Store& s) {
  std::vector<std::uint64_t> out;
  if (root_of(s) == 0) return out;
  const Block b = root_block(s);
  out.reserve(b.length);
  for (std::uint64_t i = 0; i < b.length; ++i) {
    const std::uint64_t record = b.slot[i].load(std::memory_order_relaxed);
    (void)s.record(record);  // checked now: the caller may copy it into a new block
    out.push_back(record);
  }
  return out;
}

std::uint64_t list_write(Store& s, std::string_view value) { return write_value(s, value); }

void list_publish(Store& s, const std::vector<std::uint64_t>& records,
                  std::uint64_t dropped_bytes) {
  const std::uint64_t n = records.size();
  const std::uint64_t capacity = std::max(kMinCapacity, n * 2);
  const std::uint64_t offset = s.alloc(ListBlock::bytes_for(capacity));
  auto* b = s.at<ListBlock>(offset);
  std::memset(static_cast<void*>(b), 0, sizeof(ListBlock));
  b->capacity = capacity;
  for (std::uint64_t i = 0; i < n; ++i) {
    b->slot()[i].store(records[i], std::memory_order_relaxed);
    if (i == n / 2) crash_point(CrashPoint::mid_rebuild);
  }
  b->length.store(n, std::memory_order_relaxed);
  publish(s, offset);
  add_live(s, 0, dropped_bytes);
  s.maybe_compact();
}

RecordView list_get(Store& s, std::uint64_t index) {
  const Block b = root_block(s);
  if (index >= b.length) s.corrupt("its length changed under its lock");
  return s.record(b.slot[index].load(std::memory_order_relaxed));
}

void list_append(Store& s, const std::string_view* values, std::uint64_t count) {
  if (count == 0) return;
  std::uint64_t target = root_of(s);
  std::uint64_t length = 0;
  std::uint64_t capacity = 0;
  if (target != 0) {
    const Block b = block_at(s, target);
    length = b.length;
    capacity = b.capacity;
  }
  if (target == 0 || length + count > capacity) {
    target = rebuilt_block(s, std::max({kMinCapacity, (length + count) * 2}), length, 0, length);
    publish(s, target);
  }
  // Records and slots past the length are invisible until the length store. The block's extent
  // was checked (or is ours): slots below length + count lie inside it.
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint64_t record = write_value(s, values[i]);
    s.at<ListBlock>(target)->slot()[length + i].store(record, std::memory_order_relaxed);
  }
  crash_point(CrashPoint::after_record_write);
  s.at<ListBlock>(target)->length.store(length + count, std::memory_order_release);  // commit
  crash_point(CrashPoint::after_commit);
  s.maybe_compact();
}

void list_set(Store& s, std::uint64_t index, std::string_view value) {
  const std::uint64_t record = write_value(s, value);
  crash_point(CrashPoint::after_record_write);
  const Block b = root_block(s);
  if (index >= b.length) s.corrupt("its length changed under its lock");
  auto& slot = b.slot[index];
  const std::uint64_t replaced = s.record(slot.load(std::memory_order_relaxed)).bytes;
  slot.store(record, std::memory_order_release);  // the commit
  crash_point(CrashPoint::after_commit);
  add_live(s, 0, replaced);
  s.maybe_compact();
}

void list_insert(Store& s, std::uint64_t index, std::string_view value) {
  const std::uint64_t length = list_size(s);
  if (index == length) return list_append(s, &value, 1);
  const std::uint64_t record = write_value(s, value);
  crash_point(CrashPoint::after_record_write);
  const std::uint64_t capacity = root_block(s).capacity;
  const std::uint64_t fresh_capacity =
      std::max(kMinCapacity, length + 1 > capacity ? capacity * 2 : capacity);
  const std::uint64_t fresh = rebuilt_block(s, fresh_capacity, index, 1, length);
  if (index >= s.at<ListBlock>(fresh)->length.load(std::memory_order_relaxed))
    s.corrupt("its list changed during an insert");
  s.at<ListBlock>(fresh)->slot()[index].store(record, std::memory_order_relaxed);
  publish(s, fresh);
  s.maybe_compact();
}

void list_remove(Store& s, std::uint64_t index) {
  const Block b = root_block(s);
  const std::uint64_t length = b.length;
  const std::uint64_t removed = list_get(s, index).bytes;
  if (index + 1 == length) {
    b.header->length.store(length - 1, std::memory_order_release);  // the commit
    crash_point(CrashPoint::after_commit);
  } else {
    publish(s, rebuilt_block(s, std::max(kMinCapacity, b.capacity), length, 0, index));
  }
  add_live(s, 0, removed);
}

void list_clear(Store& s) {
  if (root_of(s) == 0) return;
  const Block b = root_block(s);
  b.header->length.store(0, std::memory_order_release);  // the commit
  crash_point(CrashPoint::after_commit);
  s.control().live.store(ListBlock::bytes_for(b.capacity), std::memory_order_relaxed);
  s.maybe_compact();
}

void list_compact(Store& s) {
  const std::uint64_t old = root_of(s);
  if (old == 0) return;
  const std::uint64_t length = block_at(s, old).length;
  std::uint64_t record_bytes = 0;
  for (std::uint64_t i = 0; i < length; ++i) record_bytes += list_get(s, i).bytes;
  const std::uint64_t capacity = std::max(kMinCapacity, length * 2);
  const std::uint64_t block_bytes = ListBlock::bytes_for(capacity);
  const std::uint64_t image = block_bytes + record_bytes;
  const std::uint64_t target = compaction_target(s, image);  // may remap
  auto* b = s.at<ListBlock>(target);
  std::memset(static_cast<void*>(b), 0, sizeof(ListBlock));
  b->capacity = capacity;
  const Block o = block_at(s, old);
  if (o.length < length) s.corrupt("its list changed during a compaction");
  const std::uint64_t end = target + image;
  std::uint64_t cursor = target + block_bytes;
  for (std::uint64_t i = 0; i < length; ++i) {
    const std::uint64_t from = o.slot[i].load(std::memory_order_relaxed);
    const RecordView r = s.record(from);
    if (r.bytes > end - cursor) s.corrupt("its list changed during a compaction");
    std::memcpy(s.at<char>(cursor), s.at<char>(from), r.bytes);
    b->slot()[i].store(cursor, std::memory_order_relaxed);
    cursor += r.bytes;
    if (i == length / 2) crash_point(CrashPoint::mid_rebuild);
  }
  b->length.store(length, std::memory_order_relaxed);
  s.control().root.store(target, std::memory_order_release);  // the commit
  finish_compaction(s, target, image);
}

void list_recover(Store& s) {
  Reach reach;
  if (const std::uint64_t root = root_of(s); root != 0) {
    const Block b = block_at(s, root);
    reach.add(root, ListBlock::bytes_for(b.capacity));
    for (std::uint64_t i = 0; i < b.length; ++i) {
      const std::uint64_t v = b.slot[i].load(std::memory_order_relaxed);
      reach.add(v, s.record(v).bytes);
    }
  }
  set_derived(s, reach);
}

}  // namespace mproc::detail::manager
