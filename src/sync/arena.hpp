// The sync arena: where a synchronisation object made without mproc::attachable keeps its state,
// so that it can still travel by handle to a process that was not forked after it (a pool worker
// forked earlier, a forkserver worker): issue 13 item 8.
//
// The arena is a list of chunks, each a memfd (no /dev/shm name, so nothing to leak or to unlink)
// mapped MAP_SHARED, holding kCells cells of kCellSize bytes. A chunk's header holds the
// allocation bitmap and, per cell, a reference count and a generation, all atomics: every process
// that maps the chunk (the creator, its forked children, a process that attached a cell)
// allocates and frees cells in it without a lock. A cell is free again when its last reference
// goes, in whatever process that is.
//
// References: one per keepalive group of a SharedPlacement (all copies of one Lock in one process
// share one). For a Process child, the parent takes one reference per cell it holds before fork(2)
// (ForkStage::sync_arena: while the parent's own still count, so the parent may drop its objects
// at once after it), files them under the child's pid, and gives them back once it has reaped
// the child (base's adopt_fork_references / release_child_references). So a child that was
// killed, or that held the last references and ended with them (Python's
// `Process(target=f, args=(Lock(),))`: start() drops the parent's copies), leaks no cell. The
// groups the child inherited hold no reference of their own; what it attaches or allocates
// itself does, and it gives those back just before its _exit (run_exit_handlers), never the last
// one of a cell (its robust lock list may still link into it until the kernel walks it at exit).
// Other children (pool workers, raw fork() children, the forkserver, the shm tracker) take none:
// they are not reaped through a Process, and would pin every cell alive at their fork (a pool
// terminated per batch would leak cells without bound). They use the objects they inherited
// while the parent keeps them, as with a Manager's objects; an object passed to a task takes a
// reference of its own in the worker (attach), which a killed worker keeps: that cell stays
// allocated (640 bytes) until every process that maps the chunk has ended, when the kernel frees
// the memfd — unless the worker kept a ledger (below): a pool worker records its own references
// in its channel, and the pool gives back what a dead worker's ledger records. A cell that a
// Process child attached itself and held when it was killed stays allocated, as do those taken
// for a grandchild that its parent (the child) did not reap before it ended.
//
// Handles: "@<chunk id>.<cell>.<generation>.<where to collect the chunk>". Making one shares the
// chunk's descriptor through the resource sharer (src/transport registers it: set_sharer), once
// per chunk and process, for as long as the process lives; attaching one collects the descriptor
// once per chunk and process and keeps the mapping (and the descriptor, to share it on), so later
// attaches cost only the reference. A handle whose object is gone (its cell freed, or reused: the
// generation differs) fails with ENOENT.
//
// Thread-safety: every function may be called from any thread.
#pragma once

#include <mproc/sync_placement.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace mproc::detail::arena {

inline constexpr std::size_t kCellSize = 640;  // the largest state (Barrier: 544 bytes), 64-aligned
inline constexpr std::size_t kCells = 4096;

// A zero-filled cell of this process's arena (construct = true, no name); the keepalive drops the
// cell's reference after running `before_unmap` (may be empty) on it.
// Errors: the errno of memfd_create / ftruncate / mmap when a new chunk is needed.
SharedPlacement allocate(std::function<void(void*)> before_unmap = {});

// True if `address` lies in a chunk mapped in this process.
bool contains(const void* address) noexcept;

// The handle of the cell at `address` (contains(address) must be true).
// Errors: errc::bad_state without a sharer; the sharer's errors (EMFILE, socket, thread).
std::string handle_of(const void* address);

// True for a string of the form handle_of() makes (checked fully by attach).
bool is_arena_handle(std::string_view handle) noexcept;

// The cell that `handle` names, with a reference for this process (construct = false).
// `type` names the object in messages. Errors: EINVAL (malformed), ENOENT (the object is gone),
// errc::bad_handle (the descriptor is not an arena chunk), the sharer's collect errors.
SharedPlacement attach(std::string_view handle, const char* type,
                       std::function<void(void*)> before_unmap = {});

// How a chunk's descriptor travels: registered by src/transport (the resource sharer).
struct Sharer {
  // Shares a duplicate of `fd` for the life of the process; returns where to collect it.
  std::string (*share)(int fd) = nullptr;
  // Collects the descriptor shared at `where`. `what` names it in messages.
  int (*collect)(std::string_view where, const char* what) = nullptr;
};
void set_sharer(const Sharer& sharer) noexcept;

// A record of the references a process holds of its own, kept in memory that another process
// reads once the holder has ended (a pool worker's, in its channel). An entry counts the
// references of one cell; `pending` marks an operation in progress (+1 taking, -1 giving back),
// so that a holder killed in the middle of one is never counted as holding more than it did.
struct LedgerEntry {
  std::atomic<std::uint64_t> chunk{0};  // the chunk's id; 0: a free entry
  std::atomic<std::uint32_t> cell{0};
  std::atomic<std::uint32_t> generation{0};
  std::atomic<std::uint32_t> count{0};
  std::atomic<std::int32_t> pending{0};
};
inline constexpr std::size_t kLedgerEntries = 64;  // references beyond it are not recorded
struct Ledger {
  LedgerEntry entries[kLedgerEntries];
};

// From now on this process records in `ledger` (zero-filled) every reference it takes of its own,
// and at its exit leaves them for the process that reads the ledger. Call in a fresh child of
// fork (one that took no reference for itself: a pool worker) before it takes any.
void keep_ledger(Ledger* ledger) noexcept;

// Gives back the references recorded in `ledger`, of a process that has ended (reaped). An
// operation it was killed in the middle of counts as not done: at worst one cell stays allocated,
// never is one freed early. Entries of chunks this process does not map, of a cell whose
// generation changed, or out of range are skipped: the ledger was written by another process.
void release_ledger(const Ledger& ledger) noexcept;

// Cells allocated in the chunks mapped in this process, and those chunks (tests).
std::size_t cells_in_use() noexcept;
std::size_t chunks_mapped() noexcept;

}  // namespace mproc::detail::arena
