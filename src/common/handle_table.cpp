#include "common/handle_table.hpp"

#include <mproc/error.hpp>

#include <pthread.h>

namespace mproc::detail {
namespace {

void lock_table_for_fork() { HandleTable::instance().lock_for_fork(); }
void unlock_table_after_fork() { HandleTable::instance().unlock_after_fork(); }

}  // namespace

HandleTable& HandleTable::instance() {
  // Never destroyed: C callers may destroy handles from atexit handlers.
  static HandleTable* table = new HandleTable;
  return *table;
}

HandleTable::HandleTable() {
  ::pthread_atfork(lock_table_for_fork, unlock_table_after_fork, unlock_table_after_fork);
}

HandleTable::Slot* HandleTable::slot(std::size_t index) const noexcept {
  if (index >= kChunkSize * kMaxChunks) return nullptr;
  Slot* chunk = chunks_[index / kChunkSize].load(std::memory_order_acquire);
  return chunk == nullptr ? nullptr : &chunk[index % kChunkSize];
}

std::uintptr_t HandleTable::insert(HandleKind kind, void* object) {
  std::lock_guard lock(mutex_);
  std::size_t index;
  if (!free_list_.empty()) {
    index = free_list_.back();
    free_list_.pop_back();
  } else {
    if (next_index_ >= kChunkSize * kMaxChunks)
      throw Error(std::make_error_code(std::errc::too_many_files_open),
                  "too many live mproc handles");
    auto& chunk = chunks_[next_index_ / kChunkSize];
    if (chunk.load(std::memory_order_relaxed) == nullptr)
      chunk.store(new Slot[kChunkSize], std::memory_order_release);  // chunks live forever
    index = next_index_++;
  }
  // slot() cannot fail for an index below next_index_; the check tells the optimiser so (GCC 12
  // at -O2 otherwise warns that the null path writes out of bounds: -Wstringop-overflow).
  Slot* s = slot(index);
  if (s == nullptr) throw Error(errc::internal, "handle table slot missing");
  s->object.store(object, std::memory_order_relaxed);
  s->tag.store(tag_of(s->generation, kind), std::memory_order_release);
  return (static_cast<std::uintptr_t>(s->generation) << 32) | (index + 1);
}

void* HandleTable::lookup(std::uintptr_t handle, HandleKind kind) const noexcept {
  const std::size_t low = handle & 0xffffffffu;
  if (low == 0) return nullptr;
  const Slot* s = slot(low - 1);
  if (s == nullptr) return nullptr;
  const auto generation = static_cast<std::uint32_t>(handle >> 32);
  if (s->tag.load(std::memory_order_acquire) != tag_of(generation, kind)) return nullptr;
  return s->object.load(std::memory_order_relaxed);
}

void* HandleTable::remove(std::uintptr_t handle, HandleKind kind) {
  std::lock_guard lock(mutex_);
  void* object = lookup(handle, kind);
  if (object == nullptr) return nullptr;
  Slot* s = slot((handle & 0xffffffffu) - 1);
  if (s == nullptr) return nullptr;  // cannot happen after lookup(); see insert()
  s->tag.store(0, std::memory_order_release);
  s->object.store(nullptr, std::memory_order_relaxed);
  if (++s->generation == 0) s->generation = 1;
  free_list_.push_back((handle & 0xffffffffu) - 1);
  return object;
}

}  // namespace mproc::detail
