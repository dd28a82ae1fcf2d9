// Copies into and out of a circular byte buffer, splitting at the end when needed.
#pragma once

#include <cstddef>
#include <cstring>

namespace mproc::detail::queue {

// Copies `size` bytes from `from` to ring[offset, offset + size), wrapping at `ring_size`.
inline void ring_write(std::byte* ring, std::size_t ring_size, std::size_t offset,
                       const void* from, std::size_t size) noexcept {
  const std::size_t first = size < ring_size - offset ? size : ring_size - offset;
  if (first != 0) std::memcpy(ring + offset, from, first);
  if (size > first) std::memcpy(ring, static_cast<const std::byte*>(from) + first, size - first);
}

// Copies `size` bytes from ring[offset, ...) (wrapping) to `to`.
inline void ring_read(const std::byte* ring, std::size_t ring_size, std::size_t offset, void* to,
                      std::size_t size) noexcept {
  const std::size_t first = size < ring_size - offset ? size : ring_size - offset;
  if (first != 0) std::memcpy(to, ring + offset, first);
  if (size > first) std::memcpy(static_cast<std::byte*>(to) + first, ring, size - first);
}

// The offset `bytes` after `offset` in a ring of `ring_size` (bytes < ring_size... or equal).
inline std::size_t ring_advance(std::size_t offset, std::size_t bytes,
                                std::size_t ring_size) noexcept {
  offset += bytes;
  return offset >= ring_size ? offset - ring_size : offset;
}

}  // namespace mproc::detail::queue
