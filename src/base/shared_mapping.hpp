// Shared mappings: the library's only mmap(2) calls for memory shared between processes.
//   - anonymous: MAP_SHARED | MAP_ANONYMOUS, shared with the children forked after it (a lock's
//     state, a pool's control page);
//   - memfd: the same, backed by a memfd whose descriptor can be passed to a process that was not
//     forked from us (a forkserver's workers);
//   - named: a descriptor of shm_open(3) (src/shm opens, tracks and sizes the file; this maps it).
// Every mapping is read-write; unmapping is munmap(2).
#pragma once

#include <cstddef>
#include <sys/types.h>

namespace mproc::detail {

// Maps `size` bytes of `fd` from `offset`, MAP_SHARED. Returns nullptr with errno set on failure
// (callers clean up what they made before they report it).
void* map_shared_fd(int fd, std::size_t size, off_t offset = 0) noexcept;

// A new anonymous shared mapping of `size` bytes. Errors: the errno of mmap, naming `what`.
void* map_shared_anonymous(std::size_t size, const char* what);

// A new memfd of `size` bytes (close-on-exec, stored in *fd) mapped shared, sealed at that size
// (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL: no process it reaches can truncate it under the
// others' mappings). Errors: the errno of memfd_create / ftruncate / fcntl / mmap, naming `what`;
// nothing is left open or mapped.
void* map_shared_memfd(std::size_t size, int* fd, const char* what);

// True if `fd` is a memfd sealed against shrinking (a descriptor received from another process
// may be truncated under the mapping otherwise).
bool sealed_against_shrinking(int fd) noexcept;

// Rounds up to whole pages.
std::size_t page_round_up(std::size_t size) noexcept;

}  // namespace mproc::detail
