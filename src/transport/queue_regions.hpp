// Regions of a growing queue's segment file (queue_layout.hpp): chained rings and large
// messages live past the segment's first mapping (rings mapped on their own), reserved with
// posix_fallocate (so a full /dev/shm is ENOSPC, never SIGBUS on a later store) and given back
// with FALLOC_FL_PUNCH_HOLE once consumed (the file's length stays; its pages are freed).
#pragma once

#include <cstddef>
#include <cstdint>

namespace mproc::detail::queue {

std::uint64_t page_bytes() noexcept;
inline std::uint64_t round_to_pages(std::uint64_t bytes) noexcept {
  const std::uint64_t page = page_bytes();
  return (bytes + page - 1) / page * page;
}

// The file's length (fstat). Errors: the errno of fstat.
std::uint64_t file_bytes(int fd);
// Allocates the pages of [offset, offset + bytes), extending the file. Returns 0 or an errno
// (ENOSPC, EFBIG, ...).
int reserve_region(int fd, std::uint64_t offset, std::uint64_t bytes) noexcept;
// Frees the pages of [offset, offset + bytes); reading them later gives zeros. Never fails loudly:
// a region that cannot be freed stays allocated until the file goes.
void free_region(int fd, std::uint64_t offset, std::uint64_t bytes) noexcept;

// Copies into / out of the file at `offset` (pwrite / pread, restarted after short transfers and
// EINTR). Cheaper than mapping the region for one copy: no page faults on a fresh mapping, no
// unmap. Errors: the errno of pwrite / pread; EIO when the file ends before the region does.
void write_region(int fd, std::uint64_t offset, const void* data, std::size_t size);
void read_region(int fd, std::uint64_t offset, void* data, std::size_t size);

}  // namespace mproc::detail::queue
