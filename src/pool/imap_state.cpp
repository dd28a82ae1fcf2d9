// The chunks of an imap / imap_unordered between the dispatcher thread (which delivers them) and
// the iterator's thread (which takes them in order, or as they come).
#include <mproc/pool.hpp>

namespace mproc::detail {

void ImapState::chunk_done(uint64_t index, const char* data, size_t size,
                           uint32_t count) noexcept {
  ImapChunk chunk;
  chunk.count = count;
  try {
    chunk.bytes.assign(data, size);
  } catch (...) {
    chunk.bytes.clear();
    chunk.code = make_error_code(errc::internal);
    chunk.message = "imap: out of memory while storing a result";
  }
  deliver(index, std::move(chunk));
}

void ImapState::chunk_failed(uint64_t index, uint32_t count, std::error_code code,
                             const std::string& message) noexcept {
  ImapChunk chunk;
  chunk.count = count;
  chunk.code = code;
  try {
    chunk.message = message;
  } catch (...) {
  }
  deliver(index, std::move(chunk));
}

bool ImapState::take(uint64_t next_index, ImapChunk& out, const std::optional<Seconds>& timeout) {
  std::unique_lock lock(mutex_);
  auto ready = [&] { return lost_ || (ordered_ ? done_.count(next_index) != 0 : !done_.empty()); };
  if (timeout) {
    if (!cv_.wait_for(lock, *timeout, ready)) return false;
  } else {
    cv_.wait(lock, ready);
  }
  auto it = ordered_ ? done_.find(next_index) : done_.begin();
  if (it == done_.end())  // lost_, and not this one
    throw Error(errc::internal, "imap: a result was lost: out of memory while storing it");
  out = std::move(it->second);
  done_.erase(it);
  return true;
}

void ImapState::deliver(uint64_t index, ImapChunk&& chunk) noexcept {
  {
    std::lock_guard lock(mutex_);
    try {
      done_.emplace(ordered_ ? index : next_arrival_++, std::move(chunk));
    } catch (...) {
      lost_ = true;
    }
  }
  cv_.notify_all();
}

ImapChunkSink::~ImapChunkSink() = default;

void ImapChunkSink::on_items(const char* data, size_t size, uint32_t count) noexcept {
  // The records come from another process: a chunk never yields more (or fewer) values than it
  // had inputs.
  if (count != count_)
    return state_->chunk_failed(index_, count_, make_error_code(errc::internal),
                                "imap: malformed result: not the chunk's item count");
  state_->chunk_done(index_, data, size, count);
}

void ImapChunkSink::on_failure(std::error_code code, const std::string& message) noexcept {
  state_->chunk_failed(index_, count_, code, message);
}

}  // namespace mproc::detail
