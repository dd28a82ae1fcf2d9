// The tracker process's side of the protocol (see tracker.hpp). Internal to src/shm.
#pragma once

#include <cstddef>
#include <cstdint>
#include <sys/types.h>

namespace mproc::detail::shm {

// One datagram per record: fixed size, so the tracker needs no allocation to read one.
struct TrackerRecord {
  char op;         // kOpRegister, kOpUnregister, kOpIdentify, or kOpHello (tracker -> owner,
                   // name = its pid)
  char name[255];  // NUL-terminated; fits every valid name (check_segment_name: at most 251)
  // kOpIdentify: the file the name stands for once created. In the tracker's own table, a name
  // with `identified` set is removed only while it still names this file.
  std::uint64_t device;
  std::uint64_t inode;
  std::uint64_t identified;
};
static_assert(sizeof(TrackerRecord) == 280);

inline constexpr char kOpRegister = 'R';
inline constexpr char kOpUnregister = 'U';
inline constexpr char kOpIdentify = 'I';
inline constexpr char kOpHello = 'P';

// Runs in the grandchild: detaches (session, descriptors, shared mappings), says hello over
// `socket_fd`, tracks names until end-of-file, unlinks what is left, and _exits. `owner_end` is
// the owner's end of the pair, inherited through fork, which must not stay open here. Uses only
// async-signal-safe calls.
[[noreturn]] void run_tracker(int socket_fd, int owner_end, pid_t owner) noexcept;

}  // namespace mproc::detail::shm
