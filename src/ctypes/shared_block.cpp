// The segment behind Value and Array: a BlockHeader, the lock's state (if any), then the data,
// each 64-byte aligned so that the data never shares a cache line with the lock.
#include <mproc/shared_ctypes.hpp>

#include <cstdint>
#include <mutex>
#include <string>

#include "shm/named_placement.hpp"
#include "sync/mutex_state.hpp"

namespace mproc::detail {
namespace {

constexpr shm::SegmentKind kBlockSegment{0x53435459u /* "SCTY" */, 1, "shared Value or Array"};
constexpr std::uint32_t kHasLock = 1;
constexpr std::uint32_t kIsArray = 2;

struct BlockHeader {
  std::uint64_t element_size;
  std::uint64_t count;
  std::uint64_t lock_offset;  // from the payload; 0 without a lock
  std::uint64_t data_offset;
  std::uint32_t element_align;
  std::uint32_t flags;
};
constexpr std::size_t kAlign = 64;
static_assert(sizeof(BlockHeader) <= kAlign);

std::size_t round_up(std::size_t value) { return (value + kAlign - 1) / kAlign * kAlign; }

[[noreturn]] void invalid(const std::string& message) {
  throw Error(std::make_error_code(std::errc::invalid_argument), message);
}

// A thread that drops the last handle while holding the lock releases it first (a held robust
// mutex must not stay linked into the thread's robust list once unmapped).
void release_lock_before_unmap(void* payload) {
  const auto& header = *static_cast<const BlockHeader*>(payload);
  if ((header.flags & kHasLock) != 0)
    mutex_release_if_held(
        *reinterpret_cast<MutexState*>(static_cast<char*>(payload) + header.lock_offset));
}

}  // namespace

SharedBlock::SharedBlock(std::size_t element_size, std::size_t element_align, std::size_t count,
                         bool lock, bool is_array) {
  if (element_size == 0) invalid("Array: the element size must be positive");
  if (element_align == 0 || element_align > kAlign || (element_align & (element_align - 1)) != 0)
    invalid("Array: the element alignment must be a power of two up to 64");
  if (!is_array && count != 1) invalid("Value: holds exactly one element");
  constexpr std::size_t kMaxBytes = std::size_t{1} << 40;
  if (count > kMaxBytes / element_size)
    invalid("Array: " + std::to_string(count) + " elements of " + std::to_string(element_size) +
            " bytes are more than the 1 TiB limit");
  const std::size_t lock_offset = lock ? round_up(sizeof(BlockHeader)) : 0;
  const std::size_t data_offset =
      lock ? lock_offset + round_up(sizeof(MutexState)) : round_up(sizeof(BlockHeader));
  SharedPlacement where = shm::create_named_placement(data_offset + count * element_size,
                                                      kBlockSegment, release_lock_before_unmap);
  auto* header = static_cast<BlockHeader*>(where.address);
  *header = BlockHeader{element_size, count, lock_offset, data_offset,
                        static_cast<std::uint32_t>(element_align),
                        (lock ? kHasLock : 0u) | (is_array ? kIsArray : 0u)};
  char* base = static_cast<char*>(where.address);
  if (lock) lock_.emplace(SharedPlacement{base + lock_offset, where.keepalive, true, {}});
  keepalive_ = std::move(where.keepalive);
  data_ = base + data_offset;
  element_size_ = element_size;
  element_align_ = element_align;
  count_ = count;
  is_array_ = is_array;
  handle_ = std::move(where.name);
}

SharedBlock SharedBlock::attach(std::string_view handle) {
  SharedPlacement where = shm::attach_named_placement(handle, sizeof(BlockHeader), kBlockSegment,
                                                      "Array", release_lock_before_unmap);
  const std::size_t payload = shm::placement_size(where);
  const auto& header = *static_cast<const BlockHeader*>(where.address);
  const bool lock = (header.flags & kHasLock) != 0;
  const bool layout_ok =
      header.element_size > 0 && header.data_offset % kAlign == 0 &&
      header.data_offset <= payload &&
      header.count <= (payload - header.data_offset) / header.element_size &&
      (!lock || (header.lock_offset % kAlign == 0 &&
                 header.lock_offset + sizeof(MutexState) <= header.data_offset));
  if (!layout_ok)
    throw Error(errc::bad_handle,
                "Array::attach: " + std::string(handle) + " has an inconsistent layout");
  SharedBlock block;
  char* base = static_cast<char*>(where.address);
  // The RLock's own header check rejects a lock that was never initialised.
  if (lock) block.lock_.emplace(SharedPlacement{base + header.lock_offset, where.keepalive, false, {}});
  block.data_ = base + header.data_offset;
  block.element_size_ = header.element_size;
  block.element_align_ = header.element_align;
  block.count_ = header.count;
  block.is_array_ = (header.flags & kIsArray) != 0;
  block.keepalive_ = std::move(where.keepalive);
  block.handle_ = std::move(where.name);
  return block;
}

RLock& SharedBlock::get_lock(const char* type) {
  if (!lock_)
    throw Error(errc::bad_state, std::string(type) + ".get_lock: created without a lock (raw)");
  return *lock_;
}

void SharedBlock::check_index(std::size_t index) const {
  if (index >= count_)
    throw Error(std::make_error_code(std::errc::result_out_of_range),
                "Array: index " + std::to_string(index) + " out of range (size " +
                    std::to_string(count_) + ")");
}

void SharedBlock::read(std::size_t index, void* out) {
  check_index(index);
  const char* from = static_cast<const char*>(data_) + index * element_size_;
  if (lock_) {
    std::lock_guard guard(*lock_);
    std::memcpy(out, from, element_size_);
  } else {
    std::memcpy(out, from, element_size_);
  }
}

void SharedBlock::write(std::size_t index, const void* in) {
  check_index(index);
  char* to = static_cast<char*>(data_) + index * element_size_;
  if (lock_) {
    std::lock_guard guard(*lock_);
    std::memcpy(to, in, element_size_);
  } else {
    std::memcpy(to, in, element_size_);
  }
}

void SharedBlock::expect(std::size_t element_size, std::size_t element_align, bool is_array,
                         const char* type) const {
  // A Value attaches a one-element array too (the C ABI makes values that way).
  const bool shape_ok = is_array ? is_array_ : count_ == 1;
  if (element_size != element_size_ || element_align != element_align_ || !shape_ok)
    throw Error(errc::bad_handle,
                std::string(type) + "::attach: " + handle_ + " holds " +
                    (is_array_ ? "an Array of " + std::to_string(count_) : std::string("a Value")) +
                    " of " + std::to_string(element_size_) + "-byte elements (alignment " +
                    std::to_string(element_align_) + "), not " + (is_array ? "an Array" : "a Value") +
                    " of " + std::to_string(element_size) + "-byte elements (alignment " +
                    std::to_string(element_align) + ")");
}

}  // namespace mproc::detail
