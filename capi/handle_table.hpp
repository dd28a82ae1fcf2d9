// Handles for the C ABI: an opaque pointer given to C callers is not the address of an object but
// an index into this table plus a generation and a kind. A handle that was destroyed (its slot's
// generation moved on), one of another kind, or a random pointer is recognised and rejected without
// ever dereferencing it, so bad handles give MPROC_EBADHANDLE instead of a crash or a
// use-after-free.
//
// Thread-safety: insert/remove take a lock; lookup is lock-free. Using a handle in one thread while
// another thread destroys it is still a caller error (the object may go away mid-call).
// Fork safety: the lock is held across fork() by the library's fork handlers (ForkStage::handle_table); handles stay valid in the
// child, which has its own copy of the table.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace mproc::detail {

// One value per type of object handed out; never renumber.
enum class HandleKind : std::uint8_t {
  process = 1,
  connection = 2,
  queue = 3,
  shared_memory = 4,
  lock = 5,
  rlock = 6,
  semaphore = 7,
  event = 8,
  condition = 9,
  barrier = 10,
  pool = 11,
  future = 12,
  value = 13,
  array = 14,
  manager = 15,
  manager_dict = 16,
  manager_list = 17,
  manager_namespace = 18,
  pool_iterator = 19,
  listener = 20,
  mpi_pool = 21,  // libmproc_mpi (its own table: capi/mpi_api.cpp)
  mpi_future = 22,
  mpi_iterator = 23,
};

class HandleTable {
 public:
  static HandleTable& instance();

  // Stores `object` and returns its handle (never 0).
  std::uintptr_t insert(HandleKind kind, void* object);
  // The object, or nullptr if the handle is stale, foreign or of another kind.
  void* lookup(std::uintptr_t handle, HandleKind kind) const noexcept;
  // Invalidates the handle and returns its object, or nullptr if the handle was not valid.
  void* remove(std::uintptr_t handle, HandleKind kind);

  void lock_for_fork() { mutex_.lock(); }
  void unlock_after_fork() { mutex_.unlock(); }

 private:
  HandleTable();

  static constexpr std::size_t kChunkSize = 4096;
  static constexpr std::size_t kMaxChunks = 4096;  // 16 Mi live handles

  struct Slot {
    std::atomic<std::uint64_t> tag{0};  // generation << 8 | kind; 0 while free
    std::atomic<void*> object{nullptr};
    std::uint32_t generation = 1;  // guarded by mutex_
  };

  Slot* slot(std::size_t index) const noexcept;
  static std::uint64_t tag_of(std::uint32_t generation, HandleKind kind) noexcept {
    return (static_cast<std::uint64_t>(generation) << 8) | static_cast<std::uint8_t>(kind);
  }

  std::mutex mutex_;
  std::atomic<Slot*> chunks_[kMaxChunks] = {};
  std::size_t next_index_ = 0;         // guarded by mutex_
  std::vector<std::size_t> free_list_;  // guarded by mutex_
};

// Typed access: Handles<mproc::Process, HandleKind::process>.
template <class T, HandleKind Kind>
struct Handles {
  static std::uintptr_t insert(std::unique_ptr<T> object) {
    const auto handle = HandleTable::instance().insert(Kind, object.get());
    object.release();
    return handle;
  }
  static T* lookup(std::uintptr_t handle) noexcept {
    return static_cast<T*>(HandleTable::instance().lookup(handle, Kind));
  }
  static std::unique_ptr<T> remove(std::uintptr_t handle) {
    return std::unique_ptr<T>(static_cast<T*>(HandleTable::instance().remove(handle, Kind)));
  }
};

}  // namespace mproc::detail
