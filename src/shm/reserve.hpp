// Giving a new /dev/shm file its size with its pages reserved. ftruncate alone makes a sparse
// file: tmpfs finds a page for it only when it is first touched, and when /dev/shm is full that
// first touch (any store into the mapping, perhaps much later, inside a Queue's put) is SIGBUS.
// posix_fallocate reserves every page now, so a full /dev/shm is ENOSPC at creation instead.
#pragma once

#include <cstddef>

namespace mproc::detail::shm {

// Makes the file `fd` (empty, just created) `size` bytes long with all its pages allocated.
// Returns 0 or an errno: ENOSPC when /dev/shm cannot hold it (the file is then left short: the
// caller unlinks it), EFBIG, ... (posix_fallocate(3)). Restarts after EINTR.
int reserve_pages(int fd, std::size_t size) noexcept;

}  // namespace mproc::detail::shm
