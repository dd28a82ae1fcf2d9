#include "pool/channel.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <new>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

#include <mproc/error.hpp>

#include "base/futex.hpp"
#include "base/shared_mapping.hpp"

namespace mproc::detail::pool {
namespace {

constexpr size_t kMask = kRingBytes - 1;
static_assert((kRingBytes & kMask) == 0, "the ring size must be a power of two");

// Computed once: tasks() and results() run on every turn of the dispatcher's loop.
size_t header_bytes() {
  static const size_t bytes = [] {
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    return (sizeof(ChannelHeader) + page - 1) / page * page;
  }();
  return bytes;
}

}  // namespace

size_t Ring::write_some(const char* data, size_t size) noexcept {
  const uint64_t w = *mine_;
  // My own index, rewritten by the peer, is corruption too: caught here, before my next store
  // would hide it.
  if (write_->value.load(std::memory_order_relaxed) != w) return kCorrupt;
  const uint64_t r = read_->value.load(std::memory_order_acquire);
  const uint64_t used = w - r;  // unsigned: a read index ahead of w wraps to a huge value
  if (used > kRingBytes) return kCorrupt;
  const size_t space = kRingBytes - static_cast<size_t>(used);
  const size_t n = size < space ? size : space;
  if (n == 0) return 0;
  const size_t at = static_cast<size_t>(w) & kMask;
  const size_t first = n < kRingBytes - at ? n : kRingBytes - at;
  std::memcpy(data_ + at, data, first);
  std::memcpy(data_, data + first, n - first);
  *mine_ = w + n;
  write_->value.store(w + n, std::memory_order_seq_cst);
  return n;
}

size_t Ring::free_space() const noexcept {
  const uint64_t used = *mine_ - read_->value.load(std::memory_order_acquire);
  return used > kRingBytes ? kCorrupt : kRingBytes - static_cast<size_t>(used);
}

size_t Ring::read_all(std::string& out, bool* filled) {
  const uint64_t r = *mine_;
  if (read_->value.load(std::memory_order_relaxed) != r) return kCorrupt;  // as in write_some
  const uint64_t w = write_->value.load(std::memory_order_acquire);
  const uint64_t published = w - r;  // unsigned: a write index behind r wraps to a huge value
  if (published > kRingBytes) return kCorrupt;
  const auto n = static_cast<size_t>(published);
  if (n == 0) return 0;
  const size_t at = static_cast<size_t>(r) & kMask;
  const size_t first = n < kRingBytes - at ? n : kRingBytes - at;
  out.reserve(out.size() + n);  // the only allocation: nothing is appended if it fails
  out.append(data_ + at, first);
  out.append(data_, n - first);
  *mine_ = r + n;
  read_->value.store(r + n, std::memory_order_seq_cst);
  // Loaded after the release (both seq_cst): a producer that filled the ring meanwhile and then
  // checked for room before sleeping either saw this release or is seen here. An untrusted index
  // can only cost a needless doorbell.
  if (filled != nullptr)
    *filled = write_->value.load(std::memory_order_seq_cst) - r >= uint64_t{kRingBytes};
  return n;
}

bool Ring::empty() const noexcept {
  return write_->value.load(std::memory_order_acquire) == *mine_;
}

bool Ring::mine_intact(bool producer) const noexcept {
  return (producer ? write_ : read_)->value.load(std::memory_order_relaxed) == *mine_;
}

Channel::Channel(bool shareable) {
  size_ = header_bytes() + 2 * kRingBytes;
  base_ = shareable ? map_shared_memfd(size_, &fd_, "pool channel")
                    : map_shared_anonymous(size_, "pool channel");
  header_ = new (base_) ChannelHeader();
}

Channel::Channel(int fd, AttachTag) {
  size_ = header_bytes() + 2 * kRingBytes;
  base_ = map_shared_fd(fd, size_);
  if (base_ == nullptr) throw_errno(errno, "mmap of a pool channel");
  header_ = static_cast<ChannelHeader*>(base_);  // constructed by the creator
}

std::unique_ptr<Channel> Channel::attach(int fd) {
  return std::unique_ptr<Channel>(new Channel(fd, AttachTag{}));
}

Channel::~Channel() {
  close_fd();
  if (base_ != nullptr) ::munmap(base_, size_);
}

void Channel::close_fd() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Ring Channel::tasks() noexcept {
  return Ring(&header_->task_write, &header_->task_read, &task_index_,
              static_cast<char*>(base_) + header_bytes());
}

Ring Channel::results() noexcept {
  return Ring(&header_->result_write, &header_->result_read, &result_index_,
              static_cast<char*>(base_) + header_bytes() + kRingBytes);
}

void Channel::wake_worker() noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  // Lowering the flag here makes it one system call per sleep of the worker, not one per task
  // sent until the woken worker runs (many, when tasks are sent one by one, as apply_async does).
  if (header_->worker_sleeping.load(std::memory_order_seq_cst) != 0 &&
      header_->worker_sleeping.exchange(0, std::memory_order_seq_cst) != 0) {
    header_->worker_wake.fetch_add(1, std::memory_order_seq_cst);
    futex_wake_all(header_->worker_wake);
  }
}

void Channel::worker_sleep(uint32_t seen_wake, int timeout_ms) noexcept {
  const timespec timeout{timeout_ms / 1000, static_cast<long>(timeout_ms % 1000) * 1'000'000L};
  futex_wait_once(header_->worker_wake, seen_wake, timeout_ms < 0 ? nullptr : &timeout);
}

}  // namespace mproc::detail::pool
