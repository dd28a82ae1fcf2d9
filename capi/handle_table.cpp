#include "handle_table.hpp"

#include <mproc/error.hpp>

#include "base/fork_handlers.hpp"

namespace mproc::detail {
namespace {

// The table's lock is held across fork (ForkStage::handle_table), so that handles stay valid in
// the child: created, and its handlers registered, when the library is loaded.
const bool g_fork_handlers_registered = [] {
  HandleTable::instance();
  register_fork_handlers(ForkStage::handle_table,
                         {+[] { HandleTable::instance().lock_for_fork(); },
                          +[] { HandleTable::instance().unlock_after_fork(); },
                          +[] { HandleTable::instance().unlock_after_fork(); }});
  return true;
}();

}  // namespace

HandleTable& HandleTable::instance() {
  // Never destroyed: C callers may destroy handles from atexit handlers.
  static HandleTable* table = new HandleTable;
  return *table;
}

HandleTable::HandleTable() = default;

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
  Slot* s = slot(index);
  // Never null for an index below next_index_; the check keeps GCC 12 (-Wstringop-overflow) from
  // warning on the null path.
  if (s == nullptr) throw Error(errc::internal, "handle table: no slot for a new handle");
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
  if (s == nullptr) return nullptr;  // unreachable after lookup(); keeps GCC 12 from warning
  s->tag.store(0, std::memory_order_release);
  s->object.store(nullptr, std::memory_order_relaxed);
  if (++s->generation == 0) s->generation = 1;
  free_list_.push_back((handle & 0xffffffffu) - 1);
  return object;
}

}  // namespace mproc::detail
