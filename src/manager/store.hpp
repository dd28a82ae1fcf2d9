// One Manager container's shared memory as seen by one process: the segment (first page: header
// and Control), the separately mapped data area, the robust lock, and allocation with growth.
// The container algorithms (dict_ops, list_ops) run on a Store while holding its Guard.
//
// Thread-safety: every change to the data area happens under the Guard (the lock is process-
// shared, so threads of one process exclude each other too), and so does every change of this
// process's mapping, except that a reader without the lock may add a larger mapping (mappings are
// published with one compare-and-swap). Reads run without the lock (read_optimistically): a
// mapping, once made, stays mapped until close(), so any view a reader loaded stays valid.
#pragma once

#include <mproc/process.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "manager/layout.hpp"
#include "shm/segment.hpp"

namespace mproc::detail::manager {

// A record as read once from shared memory and checked to lie inside the data area. The views
// point into the mapping: valid until the next change or Guard release.
struct RecordView {
  std::string_view key;
  std::string_view value;
  std::uint64_t hash = 0;
  std::uint64_t bytes = 0;  // the record's size, padding included
};

// What a read without the lock found: the entry, no entry, or a read that overlapped a change (or
// reached past this process's mapping) and must be made again (Store::read_optimistically).
enum class Lookup : std::uint8_t { found, missing, torn };

// One mapping of the data area as a reader without the lock uses it: every offset is checked
// against this mapping's size and read through this mapping, never mixing in a larger one that
// another thread published meanwhile (this one stays mapped until the Store's close()). Nothing
// here throws: a check that fails is `false` / nullptr (a torn read, or a corrupt container:
// the locked path tells which).
struct DataView {
  char* data = nullptr;
  std::uint64_t size = 0;
  // `bytes` at `offset` inside the mapping (past the reserved prefix, aligned), or nullptr.
  template <class T>
  T* find(std::uint64_t offset, std::uint64_t bytes) const noexcept {
    if (offset < kDataReserved || offset % kAlign != 0 || offset > size || bytes > size - offset)
        [[unlikely]]
      return nullptr;
    return reinterpret_cast<T*>(data + offset);
  }
  // The record at `offset`, its sizes read once and checked; false (out untouched) if it does
  // not lie inside the mapping.
  bool record(std::uint64_t offset, RecordView& out) const noexcept;
};

class Store {
 public:
  // A new, empty container; this object holds the creator's reference (its release removes the
  // name). Errors: as Segment::create.
  static std::unique_ptr<Store> create(Kind kind);
  // Errors: as Segment::attach; errc::bad_handle when the segment holds another kind.
  static std::unique_ptr<Store> attach(std::string_view handle, Kind kind);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& name() const noexcept { return segment_.name(); }
  Kind kind() const noexcept { return kind_; }
  const char* type_name() const noexcept;
  Control& control() const noexcept { return *control_; }
  bool is_open() const noexcept { return control_ != nullptr; }
  // Drops this process's mapping and reference (the creator's close removes the name).
  void close() noexcept;
  // How long a Guard waits for the lock (nullopt: no limit, the default) before errc::timed_out:
  // the holder may be stopped (SIGSTOP, a debugger) and hold it for as long. Per handle.
  void set_timeout(std::optional<Seconds> timeout);
  std::optional<Seconds> timeout() const noexcept;

  // Holds the container's lock; recovers the container when its previous owner died, and maps
  // the data area as far as another process grew it. A `changing` Guard (the default) also keeps
  // Control::version odd while it is held, so that readers without the lock notice the change.
  enum class Access { changing, reading };
  class Guard {
   public:
    explicit Guard(Store& store, Access access = Access::changing);
    ~Guard();
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

   private:
    Store& store_;
    std::uint64_t version_ = 0;  // the even value to publish on release; 0: not changing
  };

  // Runs read() without the lock, as a sequence-lock reader: true if it returned true while no
  // change was made meanwhile (Control::version even and the same before and after). read() must
  // only read, copy out what it needs (what it saw is trusted only once this returns true), and
  // report an offset that failed its check by returning false (the find/try_* functions below
  // never throw): a torn read then costs a retry, never an exception or an access outside the
  // mapping. After a few torn tries, or when read() returns false with no change overlapping it
  // (the data lies past this process's mapping and cannot be mapped here, or the container is
  // corrupt), this returns false and the caller takes the lock, whose path maps, recovers and
  // reports corruption. A data area that another process grew is mapped here without the lock
  // (map_unlocked). read() may throw (bad_alloc while copying): that is a false too.
  template <class Read>
  bool read_optimistically(Read&& read) const {
    if (control_ == nullptr) return false;
    auto& version = control_->version;
    for (int attempt = 0; attempt < kOptimisticTries; ++attempt) {
      const std::uint64_t before = version.load(std::memory_order_acquire);
      if (before % 2 != 0) {  // a change is being made
        spin_pause();
        continue;
      }
      bool ok = false;
      try {
        ok = read();
      } catch (...) {
        ok = false;
      }
      std::atomic_thread_fence(std::memory_order_acquire);
      if (version.load(std::memory_order_relaxed) != before) continue;  // torn: again
      if (ok) return true;
      // Consistent but unreadable here: the area grew past this process's mapping (or, on a
      // handle's first read, nothing is mapped yet): map it and read again, else lock.
      if (!map_unlocked()) return false;
    }
    return false;
  }
  static constexpr int kOptimisticTries = 4;

  // --- under the Guard ---
  // Offsets this process allocated itself (alloc), or that checked() already accepted.
  template <class T>
  T* at(std::uint64_t offset) const noexcept {
    return reinterpret_cast<T*>(view()->data + offset);
  }
  // An offset loaded from shared memory: `bytes` at `offset` must lie inside the mapped data area
  // (past the reserved prefix, aligned). Throws errc::internal ("... is corrupt") otherwise.
  // Every other process that maps the container can write any value into it.
  template <class T>
  T* checked(std::uint64_t offset, std::uint64_t bytes) const {
    const Mapping* m = view();
    if (offset < kDataReserved || offset % kAlign != 0 || offset > m->size ||
        bytes > m->size - offset) [[unlikely]]
      corrupt_span(offset, bytes);
    return reinterpret_cast<T*>(m->data + offset);
  }
  // The record at `offset`, its sizes read once and checked against the mapping.
  RecordView record(std::uint64_t offset) const;
  // This process's current mapping of the data area, for a reader without the lock.
  DataView data_view() const noexcept { return {view()->data, view()->size}; }
  // Bytes of data area mapped in this process: every checked offset lies below it.
  std::uint64_t mapped() const noexcept { return view()->size; }
  // Throws errc::internal: "<type> <name> is corrupt: <what>".
  [[noreturn]] void corrupt(const std::string& what) const;
  // `bytes` (a multiple of kAlign) past tail, which is bumped first. May grow and remap the data
  // area: pointers into it are stale afterwards, offsets stay valid.
  std::uint64_t alloc(std::uint64_t bytes);
  // Makes the data area hold [0, end). May remap.
  void ensure(std::uint64_t end);
  // Writes a record at `offset` (allocated by the caller).
  void write_record(std::uint64_t offset, std::string_view key, std::string_view value,
                    std::uint64_t hash) noexcept;
  // Compacts when garbage outweighs live data (after a change).
  void maybe_compact();

 private:
  Store(shm::Segment segment, Kind kind, std::uint64_t data_offset);
  [[noreturn]] void corrupt_span(std::uint64_t offset, std::uint64_t bytes) const;
  void map_data();  // maps or remaps the data area to control().capacity
  // map_data() for readers without the lock: true if this process's view of the data area grew
  // (a new mapping of the whole capacity, read once and checked against the file's size as
  // map_data does); false if it did not need to, or could not (the locked path then reports why).
  bool map_unlocked() const noexcept;
  // Maps `capacity` bytes of the data area (checked by the caller) and publishes the mapping as
  // the view if it is larger than the current one. nullptr with errno set if mmap failed.
  const void* add_mapping(std::uint64_t capacity) const noexcept;
  static void spin_pause() noexcept;
  void recover();   // recomputes the derived fields from root after an owner died

  shm::Segment segment_;
  Kind kind_;
  Control* control_ = nullptr;
  // A mapping of the data area. Growth maps the whole area anew and keeps the older mappings
  // until close(): readers without the lock may still be using them. Made under the lock, or by
  // a reader without it (map_unlocked): so they are kept in a lock-free list, not a vector.
  struct Mapping {
    char* data = nullptr;
    std::uint64_t size = 0;
    Mapping* next = nullptr;  // the one made before
  };
  const Mapping* view() const noexcept { return view_.load(std::memory_order_acquire); }
  static const Mapping kUnmapped;

  std::uint64_t data_offset_ = 0;  // read once from Control and checked (attach)
  // The largest mapping (only ever replaced by a larger one), and every mapping made, newest
  // first; mutable: a const reader may map (map_unlocked).
  mutable std::atomic<const Mapping*> view_{&kUnmapped};
  mutable std::atomic<Mapping*> mappings_{nullptr};
  std::atomic<std::int64_t> timeout_ns_{-1};  // -1: no limit
};

// Hash of a key's bytes (the same in every process: no per-process seed).
std::uint64_t hash_bytes(std::string_view bytes) noexcept;

// Throws errc::too_big when a key or value is longer than a Record can say (4 GiB - 1).
void check_sizes(std::string_view key, std::string_view value, const char* type);

// The container algorithms' compaction and recovery entry points (dict_ops.cpp, list_ops.cpp).
void dict_compact(Store& store);
void dict_recover(Store& store);
void list_compact(Store& store);
void list_recover(Store& store);

// The reachable bytes a recovery walk found; set_derived() stores them as low / tail / live.
struct Reach {
  std::uint64_t low = ~std::uint64_t{0};
  std::uint64_t end = kDataReserved;
  std::uint64_t live = 0;
  void add(std::uint64_t offset, std::uint64_t bytes) noexcept {
    low = offset < low ? offset : low;
    end = offset + bytes > end ? offset + bytes : end;
    live += bytes;
  }
};
void set_derived(Store& store, const Reach& reach);

// Where a compacted image of `bytes` goes: below `low` if it fits there, else past tail (grown).
std::uint64_t compaction_target(Store& store, std::uint64_t bytes);
// After a rebuild's commit: the image [target, target + bytes) is all that is reachable.
void finish_compaction(Store& store, std::uint64_t target, std::uint64_t bytes);

}  // namespace mproc::detail::manager
