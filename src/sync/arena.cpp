#include "sync/arena.hpp"

#include <mproc/error.hpp>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/fork_handlers.hpp"
#include "base/shared_mapping.hpp"

namespace mproc::detail::arena {
namespace {

constexpr std::uint64_t kChunkMagic = 0x6d70726f6361726eULL;  // "mprocarn"
constexpr std::uint32_t kLayoutVersion = 1;
constexpr std::size_t kWords = kCells / 64;

struct CellMeta {
  std::atomic<std::uint32_t> refs{0};
  std::atomic<std::uint32_t> generation{0};
};

struct ChunkHeader {
  std::uint64_t magic;
  std::uint64_t id;
  std::uint32_t layout_version;
  std::uint32_t cells;
  std::uint32_t cell_size;
  std::uint32_t reserved;
  std::atomic<std::uint64_t> bitmap[kWords];
};

constexpr std::size_t kMetaOffset = 4096;
constexpr std::size_t kCellsOffset = kMetaOffset + kCells * sizeof(CellMeta);
constexpr std::size_t kChunkBytes = kCellsOffset + kCells * kCellSize;
static_assert(sizeof(ChunkHeader) <= kMetaOffset);
static_assert(kCellsOffset % 4096 == 0);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

// A chunk as this process maps it.
struct Chunk {
  char* base = nullptr;
  int fd = -1;            // kept, so that this process can share the chunk on
  std::uint64_t id = 0;
  std::string where;      // where this process shares it (empty: not yet)
  pid_t where_pid = 0;    // the process that made `where` (a forked child shares anew)
  // Given back at this process's end (or at the start of a server process that closed the
  // descriptors it inherited: the forkserver, the shm tracker): no longer allocated from,
  // shared or attached through; a later attach maps the chunk anew.
  bool retired = false;

  ChunkHeader& header() const noexcept { return *reinterpret_cast<ChunkHeader*>(base); }
  CellMeta& meta(std::size_t i) const noexcept {
    return reinterpret_cast<CellMeta*>(base + kMetaOffset)[i];
  }
  char* cell(std::size_t i) const noexcept { return base + kCellsOffset + i * kCellSize; }
  bool holds(const void* p) const noexcept {
    const auto* c = static_cast<const char*>(p);
    return c >= base + kCellsOffset && c < base + kChunkBytes;
  }
};

// The ledger's entry of cell i of chunk `id`, or null.
const LedgerEntry* find_entry(const Ledger& ledger, std::uint64_t id, std::size_t i) noexcept {
  for (const LedgerEntry& e : ledger.entries)
    if (e.chunk.load(std::memory_order_relaxed) == id &&
        e.cell.load(std::memory_order_relaxed) == i)
      return &e;
  return nullptr;
}
LedgerEntry* find_entry(Ledger& ledger, std::uint64_t id, std::size_t i) noexcept {
  return const_cast<LedgerEntry*>(find_entry(std::as_const(ledger), id, i));
}

// How many references of cell i of chunk `id` the ledger records.
std::uint32_t recorded(const Ledger& ledger, std::uint64_t id, std::size_t i) noexcept {
  const LedgerEntry* e = find_entry(ledger, id, i);
  return e != nullptr ? e->count.load(std::memory_order_relaxed) : 0;
}

// A cell of a chunk mapped in this process (chunks are never unmapped, so the pointer stays good).
struct CellRef {
  Chunk* chunk = nullptr;
  std::size_t index = 0;
};

// This process's keepalive groups of one cell. Each of its own groups holds a reference. The
// groups a Process child inherited hold none: the reference its parent took for it at fork keeps
// the cell until the parent has reaped it.
struct Holding {
  CellRef cell;
  std::uint32_t own = 0;
  std::uint32_t inherited = 0;
};

// Drops one reference of cell i; the last one frees the cell (in whatever process). A count
// already at 0 stays there (only a ledger written by another process could ask that).
void drop_reference(Chunk& c, std::size_t i) noexcept {
  CellMeta& m = c.meta(i);
  std::uint32_t r = m.refs.load(std::memory_order_relaxed);
  do {
    if (r == 0) return;
  } while (!m.refs.compare_exchange_weak(r, r - 1, std::memory_order_acq_rel,
                                         std::memory_order_relaxed));
  if (r != 1) return;
  std::memset(c.cell(i), 0, kCellSize);
  c.header().bitmap[i / 64].fetch_and(~(std::uint64_t{1} << (i % 64)), std::memory_order_release);
}

// The references the forking thread's last fork took for a Process child, until adopt files them
// (thread-local: another thread may fork between this thread's fork and its adopt).
thread_local std::vector<CellRef> t_taken_for_child;

// This process's view of the arena. Never destroyed (objects may be dropped by static
// destructors in any order). Chunks are never unmapped: a process keeps its peak.
struct Arena {
  std::mutex mutex;                    // chunks (the list), held and children; held across fork
  std::vector<std::unique_ptr<Chunk>> chunks;
  std::atomic<std::size_t> chunk_count{0};
  // The cells this process holds, by their reference count's address.
  std::unordered_map<std::atomic<std::uint32_t>*, Holding> held;
  // The references taken for each Process child of this process not yet reaped, by pid.
  std::unordered_map<pid_t, std::vector<CellRef>> children;
  bool took_for_child = false;  // the last prepare took references for the child
  // Where this process records its own references (keep_ledger), or null. Each record (the
  // entry marked, the count changed, the entry settled) is made whole under ledger_mutex.
  std::atomic<Ledger*> ledger{nullptr};
  std::mutex ledger_mutex;  // held across fork, after mutex
  Sharer sharer;
  std::mutex sharer_mutex;

  static Arena& instance() {
    static Arena* const arena = [] {
      auto* a = new Arena;
      ForkHandlers handlers;
      handlers.prepare = [] { instance().before_fork(); };
      handlers.parent = [] {
        instance().ledger_mutex.unlock();
        instance().mutex.unlock();
      };
      handlers.child = [] { instance().after_fork_in_child(); };
      register_fork_handlers(ForkStage::sync_arena, handlers);
      ChildReferenceHandlers references;
      references.before_exit = [] { instance().give_back_before_exit(); };
      references.adopt = [](pid_t child) { instance().adopt(child); };
      references.release = [](pid_t child) { instance().release(child); };
      register_child_reference_handlers(ForkStage::sync_arena, references);
      return a;
    }();
    return *arena;
  }

  // A Process child uses copies of every object this process holds: one reference per cell is
  // taken for it before fork, while this process's still count (after fork the parent may drop
  // its objects before the child runs). The parent files them under the child's pid (adopt) and
  // gives them back once it has reaped the child (release), however the child ended.
  // Other children (pool workers, raw fork() children, the forkserver, the shm tracker) take none:
  // their parent does not reap them through a Process, and they would pin every cell alive at
  // their fork (a pool terminated per batch would leak cells without bound). They use inherited
  // objects while the parent keeps them, as with a Manager's objects; an object passed to a task
  // by handle takes a reference of its own in the worker.
  void before_fork() noexcept {
    mutex.lock();
    ledger_mutex.lock();
    t_taken_for_child.clear();
    took_for_child = false;
    if (!fork_child_releases_at_exit()) return;
    try {
      t_taken_for_child.reserve(held.size());
    } catch (...) {
      return;  // out of memory: the child takes none, as a pool worker
    }
    for (auto& [refs, holding] : held) {
      refs->fetch_add(1, std::memory_order_acq_rel);
      t_taken_for_child.push_back(holding.cell);
    }
    took_for_child = true;
  }
  void after_fork_in_child() noexcept {
    if (took_for_child) {
      for (auto& [refs, holding] : held) {
        holding.inherited += holding.own;
        holding.own = 0;
      }
    } else {
      held.clear();  // none were taken for this child
    }
    children.clear();  // the parent's children
    t_taken_for_child.clear();
    ledger.store(nullptr, std::memory_order_relaxed);  // the parent's record, not this child's
    ledger_mutex.unlock();
    mutex.unlock();
  }

  void adopt(pid_t child) noexcept {
    std::vector<CellRef> taken = std::move(t_taken_for_child);
    t_taken_for_child = {};
    if (taken.empty()) return;
    if (child > 0) {
      std::lock_guard lock(mutex);
      try {
        // Appended: a pid reused before an earlier child's release files under the same pid.
        auto& filed = children[child];
        filed.insert(filed.end(), taken.begin(), taken.end());
        return;
      } catch (...) {
        return;  // out of memory: the child's cells stay allocated until this process ends
      }
    }
    for (const CellRef& c : taken) drop_reference(*c.chunk, c.index);  // the fork failed
  }

  void release(pid_t child) noexcept {
    std::vector<CellRef> filed;
    {
      std::lock_guard lock(mutex);
      auto it = children.find(child);
      if (it == children.end()) return;
      filed = std::move(it->second);
      children.erase(it);
    }
    for (const CellRef& c : filed) drop_reference(*c.chunk, c.index);
  }

  // This process's own references, never the last one of a cell: its robust lock list may still
  // link into the cell until the kernel walks it at exit. (The references its parent took for it
  // go when the parent reaps it: see release. With a ledger, its own go the same way: the
  // reader of the ledger gives them back once this process has ended.)
  void give_back_before_exit() noexcept {
    std::lock_guard lock(mutex);
    const Ledger* record = ledger.load(std::memory_order_relaxed);
    for (auto& [refs, holding] : held) {
      std::uint32_t mine = holding.own;
      if (record != nullptr)  // not those the ledger records (taken while it was full: given here)
        mine -= std::min(mine, recorded(*record, holding.cell.chunk->id, holding.cell.index));
      for (std::uint32_t i = 0; i < mine; ++i) {
        std::uint32_t r = refs->load(std::memory_order_relaxed);
        while (r > 1 && !refs->compare_exchange_weak(r, r - 1, std::memory_order_acq_rel)) {
        }
      }
    }
    held.clear();
    for (auto& c : chunks) c->retired = true;
  }

  Chunk* find_locked(const void* p) const noexcept {
    for (const auto& c : chunks)
      if (!c->retired && c->holds(p)) return c.get();
    return nullptr;
  }
  Chunk* find_id_locked(std::uint64_t id) const noexcept {
    for (const auto& c : chunks)
      if (!c->retired && c->id == id) return c.get();
    return nullptr;
  }
};

// --- the ledger (arena.hpp), in the process that keeps it, under Arena::ledger_mutex

// Marks the entry of cell i of chunk `id` (claiming a free one) as taking a reference; null if
// the ledger is full.
LedgerEntry* begin_take(Ledger& ledger, std::uint64_t id, std::size_t i,
                        std::uint32_t generation) noexcept {
  if (LedgerEntry* e = find_entry(ledger, id, i); e != nullptr) {
    e->pending.store(1, std::memory_order_seq_cst);
    return e;
  }
  LedgerEntry* free = nullptr;
  for (LedgerEntry& e : ledger.entries) {
    if (e.chunk.load(std::memory_order_relaxed) == 0) {
      free = &e;
      break;
    }
  }
  if (free == nullptr) return nullptr;
  free->cell.store(static_cast<std::uint32_t>(i), std::memory_order_relaxed);
  free->generation.store(generation, std::memory_order_relaxed);
  free->count.store(0, std::memory_order_relaxed);
  free->pending.store(1, std::memory_order_relaxed);
  free->chunk.store(id, std::memory_order_seq_cst);  // last: the entry counts once it names a chunk
  return free;
}

// Marks the entry of cell i of chunk `id` as giving a reference back; null if not recorded.
LedgerEntry* begin_drop(Ledger& ledger, std::uint64_t id, std::size_t i) noexcept {
  LedgerEntry* e = find_entry(ledger, id, i);
  if (e == nullptr || e->count.load(std::memory_order_relaxed) == 0) return nullptr;
  e->pending.store(-1, std::memory_order_seq_cst);
  return e;
}

// Settles the entry: its count changed by `delta` (0: the operation did not happen).
void settle(LedgerEntry* e, int delta) noexcept {
  if (e == nullptr) return;
  const std::uint32_t count =
      e->count.load(std::memory_order_relaxed) + static_cast<std::uint32_t>(delta);
  e->count.store(count, std::memory_order_seq_cst);
  e->pending.store(0, std::memory_order_seq_cst);
  if (count == 0) e->chunk.store(0, std::memory_order_seq_cst);  // free again
}

// Takes a reference of cell i of c for this process by `take` (which returns whether it took
// one, or throws), recorded in the ledger if this process keeps one.
template <class Take>
bool take_recorded(Chunk& c, std::size_t i, std::uint32_t generation, Take take) {
  Arena& a = Arena::instance();
  Ledger* ledger = a.ledger.load(std::memory_order_acquire);
  if (ledger == nullptr) return take();
  std::lock_guard lock(a.ledger_mutex);
  LedgerEntry* entry = begin_take(*ledger, c.id, i, generation);
  bool taken = false;
  try {
    taken = take();
  } catch (...) {
    settle(entry, 0);
    throw;
  }
  settle(entry, taken ? 1 : 0);
  return taken;
}

// Drops a reference this process took of its own, recorded in the ledger if it keeps one.
void drop_recorded(Chunk& c, std::size_t i) noexcept {
  Arena& a = Arena::instance();
  Ledger* ledger = a.ledger.load(std::memory_order_acquire);
  if (ledger == nullptr) {
    drop_reference(c, i);
    return;
  }
  std::lock_guard lock(a.ledger_mutex);
  LedgerEntry* entry = begin_drop(*ledger, c.id, i);
  drop_reference(c, i);
  settle(entry, entry != nullptr ? -1 : 0);
}

std::uint64_t random_id() {
  std::uint64_t value = 0;
  while (value == 0) {
    if (::getrandom(&value, sizeof value, 0) != static_cast<ssize_t>(sizeof value))
      throw_errno(errno, "sync arena: getrandom");
  }
  return value;
}

std::unique_ptr<Chunk> new_chunk() {
  auto chunk = std::make_unique<Chunk>();
  int fd = -1;
  chunk->base = static_cast<char*>(map_shared_memfd(kChunkBytes, &fd, "synchronisation arena"));
  chunk->fd = fd;
  chunk->id = random_id();
  ChunkHeader& h = chunk->header();
  h.id = chunk->id;
  h.layout_version = kLayoutVersion;
  h.cells = kCells;
  h.cell_size = kCellSize;
  __atomic_store_n(&h.magic, kChunkMagic, __ATOMIC_RELEASE);
  return chunk;
}

// Claims a free cell of `c`, or returns kCells.
std::size_t claim(Chunk& c) noexcept {
  ChunkHeader& h = c.header();
  for (std::size_t w = 0; w < kWords; ++w) {
    std::uint64_t bits = h.bitmap[w].load(std::memory_order_relaxed);
    while (bits != ~std::uint64_t{0}) {
      const int bit = std::countr_one(bits);
      const std::uint64_t mask = std::uint64_t{1} << bit;
      bits = h.bitmap[w].fetch_or(mask, std::memory_order_acq_rel);
      if ((bits & mask) == 0) return w * 64 + static_cast<std::size_t>(bit);
    }
  }
  return kCells;
}

// The placement of cell i of c, whose reference the caller took for this process.
SharedPlacement placement(Chunk& c, std::size_t i, bool construct,
                          std::function<void(void*)> before_unmap) {
  Arena& a = Arena::instance();
  std::atomic<std::uint32_t>* refs = &c.meta(i).refs;
  {
    std::lock_guard lock(a.mutex);
    try {
      Holding& holding = a.held[refs];
      holding.cell = CellRef{&c, i};
      ++holding.own;
    } catch (...) {
      drop_recorded(c, i);
      throw;
    }
  }
  Chunk* chunk = &c;
  // No try here: if the control block cannot be allocated, shared_ptr's constructor calls the
  // deleter itself, which gives the reference back (undoing it here too would drop it twice).
  std::shared_ptr<void> keepalive(
      c.cell(i), [chunk, i, refs, before_unmap = std::move(before_unmap)](void* p) {
        if (before_unmap) before_unmap(p);
        Arena& arena = Arena::instance();
        {
          std::lock_guard lock(arena.mutex);
          auto it = arena.held.find(refs);
          // Not held: given back at exit already (a static destructor after it), or inherited
          // by a child that took no reference of its own — keep it.
          if (it == arena.held.end()) return;
          Holding& holding = it->second;
          // Which group goes does not matter: the child's own references go first, and an
          // inherited group drops nothing (the parent's reference for the child keeps the cell).
          const bool own = holding.own > 0;
          if (own)
            --holding.own;
          else
            --holding.inherited;
          if (holding.own == 0 && holding.inherited == 0) arena.held.erase(it);
          if (!own) return;
        }
        drop_recorded(*chunk, i);
      });
  return SharedPlacement{c.cell(i), std::move(keepalive), construct};
}

template <class T>
bool parse_number(std::string_view& s, T& out, int base, char end) {
  const auto stop = s.find(end);
  if (stop == std::string_view::npos || stop == 0) return false;
  const auto r = std::from_chars(s.data(), s.data() + stop, out, base);
  if (r.ec != std::errc() || r.ptr != s.data() + stop) return false;
  s.remove_prefix(stop + 1);
  return true;
}

}  // namespace

SharedPlacement allocate(std::function<void(void*)> before_unmap) {
  Arena& a = Arena::instance();
  std::unique_lock lock(a.mutex);
  Chunk* chunk = nullptr;
  std::size_t index = kCells;
  for (auto& c : a.chunks) {
    if (c->retired) continue;
    index = claim(*c);
    if (index != kCells) {
      chunk = c.get();
      break;
    }
  }
  if (chunk == nullptr) {
    a.chunks.reserve(a.chunks.size() + 1);
    auto fresh = new_chunk();
    index = claim(*fresh);
    chunk = fresh.get();
    a.chunks.push_back(std::move(fresh));
    a.chunk_count.store(a.chunks.size(), std::memory_order_relaxed);
  }
  lock.unlock();
  CellMeta& m = chunk->meta(index);
  // The generation first: an attacher that counts itself in checks it after (see attach).
  const std::uint32_t generation = m.generation.fetch_add(1, std::memory_order_acq_rel) + 1;
  take_recorded(*chunk, index, generation, [&m] {
    m.refs.store(1, std::memory_order_release);
    return true;
  });
  return placement(*chunk, index, true, std::move(before_unmap));
}

bool contains(const void* address) noexcept {
  Arena& a = Arena::instance();
  std::lock_guard lock(a.mutex);
  return a.find_locked(address) != nullptr;
}

std::string handle_of(const void* address) {
  Arena& a = Arena::instance();
  Chunk* chunk = nullptr;
  int fd = -1;
  std::string where;
  {
    std::lock_guard lock(a.mutex);
    chunk = a.find_locked(address);
    if (chunk == nullptr)
      throw Error(errc::bad_state, "sync arena: the object is not in this process's arena");
    fd = chunk->fd;
    if (chunk->where_pid == ::getpid()) where = chunk->where;
  }
  if (where.empty()) {
    Sharer sharer;
    {
      std::lock_guard lock(a.sharer_mutex);
      sharer = a.sharer;
    }
    if (sharer.share == nullptr)
      throw Error(errc::bad_state, "sync arena: no descriptor sharer in this program");
    where = sharer.share(fd);  // a second thread racing here shares it twice: harmless
    std::lock_guard lock(a.mutex);
    chunk->where = where;
    chunk->where_pid = ::getpid();
  }
  const auto offset = static_cast<std::size_t>(static_cast<const char*>(address) - chunk->base);
  const std::size_t index = (offset - kCellsOffset) / kCellSize;
  char id[17];
  auto r = std::to_chars(id, id + 16, chunk->id, 16);
  std::string handle = "@";
  handle.append(id, r.ptr);
  handle += '.' + std::to_string(index) + '.' +
            std::to_string(chunk->meta(index).generation.load(std::memory_order_acquire)) + '.' +
            where;
  return handle;
}

bool is_arena_handle(std::string_view handle) noexcept {
  return !handle.empty() && handle.front() == '@';
}

SharedPlacement attach(std::string_view handle, const char* type,
                       std::function<void(void*)> before_unmap) {
  std::string_view rest = handle;
  std::uint64_t id = 0;
  std::size_t index = 0;
  std::uint32_t generation = 0;
  if (!is_arena_handle(rest) || (rest.remove_prefix(1), false) ||
      !parse_number(rest, id, 16, '.') || !parse_number(rest, index, 10, '.') ||
      !parse_number(rest, generation, 10, '.') || rest.empty() || index >= kCells)
    throw Error(std::make_error_code(std::errc::invalid_argument),
                std::string(type) + ".attach: malformed handle");
  Arena& a = Arena::instance();
  Chunk* chunk = nullptr;
  {
    std::lock_guard lock(a.mutex);
    chunk = a.find_id_locked(id);
  }
  if (chunk == nullptr) {
    Sharer sharer;
    {
      std::lock_guard lock(a.sharer_mutex);
      sharer = a.sharer;
    }
    if (sharer.collect == nullptr)
      throw Error(errc::bad_state, std::string(type) + ".attach: no descriptor sharer");
    const int fd = sharer.collect(rest, type);
    struct stat st {};
    void* base = nullptr;
    // Sealed against shrinking, or its sender could truncate it under this process (SIGBUS).
    if (!sealed_against_shrinking(fd) || ::fstat(fd, &st) != 0 ||
        static_cast<std::size_t>(st.st_size) < kChunkBytes ||
        (base = map_shared_fd(fd, kChunkBytes)) == nullptr) {
      ::close(fd);
      throw Error(errc::bad_handle, std::string(type) + ".attach: not a synchronisation arena");
    }
    auto fresh = std::make_unique<Chunk>();
    fresh->base = static_cast<char*>(base);
    fresh->fd = fd;
    fresh->id = id;
    const ChunkHeader& h = fresh->header();
    if (__atomic_load_n(&h.magic, __ATOMIC_ACQUIRE) != kChunkMagic || h.id != id ||
        h.layout_version != kLayoutVersion || h.cells != kCells || h.cell_size != kCellSize) {
      ::munmap(base, kChunkBytes);
      ::close(fd);
      throw Error(errc::bad_handle, std::string(type) + ".attach: not a synchronisation arena");
    }
    std::lock_guard lock(a.mutex);
    chunk = a.find_id_locked(id);
    if (chunk == nullptr) {
      a.chunks.reserve(a.chunks.size() + 1);
      chunk = fresh.get();
      a.chunks.push_back(std::move(fresh));
      a.chunk_count.store(a.chunks.size(), std::memory_order_relaxed);
    } else {
      ::munmap(fresh->base, kChunkBytes);  // another thread mapped it meanwhile
      ::close(fresh->fd);
    }
  }
  CellMeta& m = chunk->meta(index);
  const bool counted = take_recorded(*chunk, index, generation, [&m] {
    std::uint32_t r = m.refs.load(std::memory_order_acquire);
    do {
      if (r == 0) return false;
    } while (!m.refs.compare_exchange_weak(r, r + 1, std::memory_order_acq_rel,
                                           std::memory_order_acquire));
    return true;
  });
  if (!counted)
    throw Error(std::make_error_code(std::errc::no_such_file_or_directory),
                std::string(type) + ".attach: the object is gone (its last handle was dropped)");
  if (m.generation.load(std::memory_order_acquire) != generation) {
    drop_recorded(*chunk, index);
    throw Error(std::make_error_code(std::errc::no_such_file_or_directory),
                std::string(type) + ".attach: the object is gone (its last handle was dropped)");
  }
  return placement(*chunk, index, false, std::move(before_unmap));
}

void keep_ledger(Ledger* ledger) noexcept {
  Arena::instance().ledger.store(ledger, std::memory_order_release);
}

void release_ledger(const Ledger& ledger) noexcept {
  Arena& a = Arena::instance();
  for (const LedgerEntry& e : ledger.entries) {
    const std::uint64_t id = e.chunk.load(std::memory_order_acquire);
    if (id == 0) continue;
    const std::uint32_t cell = e.cell.load(std::memory_order_relaxed);
    const std::uint32_t generation = e.generation.load(std::memory_order_relaxed);
    std::uint32_t count = e.count.load(std::memory_order_relaxed);
    // Killed while giving one back: maybe given, so not given here (at worst one stays).
    if (e.pending.load(std::memory_order_relaxed) < 0 && count > 0) --count;
    if (cell >= kCells) continue;
    Chunk* chunk = nullptr;
    {
      std::lock_guard lock(a.mutex);
      chunk = a.find_id_locked(id);
    }
    if (chunk == nullptr) continue;
    CellMeta& m = chunk->meta(cell);
    // The holder's references keep the cell, so its generation cannot have moved on: if it did,
    // the entry is not to be believed.
    for (std::uint32_t k = 0; k < count; ++k) {
      if (m.generation.load(std::memory_order_acquire) != generation) break;
      drop_reference(*chunk, cell);
    }
  }
}

void set_sharer(const Sharer& sharer) noexcept {
  Arena& a = Arena::instance();
  std::lock_guard lock(a.sharer_mutex);
  a.sharer = sharer;
}

std::size_t cells_in_use() noexcept {
  Arena& a = Arena::instance();
  std::lock_guard lock(a.mutex);
  std::size_t n = 0;
  for (const auto& c : a.chunks)
    if (!c->retired)
    for (std::size_t w = 0; w < kWords; ++w)
      n += static_cast<std::size_t>(
          std::popcount(c->header().bitmap[w].load(std::memory_order_acquire)));
  return n;
}

std::size_t chunks_mapped() noexcept {
  return Arena::instance().chunk_count.load(std::memory_order_relaxed);
}

}  // namespace mproc::detail::arena
