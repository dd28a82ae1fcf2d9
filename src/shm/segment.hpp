// Named POSIX shared-memory segments: the layer under Queue and, later, SharedMemory, Value and
// Array. A segment is a file in /dev/shm (shm_open) mapped whole, starting with a SegmentHeader;
// the user's data (the payload) follows at a fixed offset. Only offsets, never pointers, are
// stored in shared memory, because every process maps the segment at its own address.
//
// Construction is guarded: the creator builds the payload and the header, then publishes
// `state = ready` with a release store; an attacher reads `state` with acquire and refuses (after
// a bounded wait) a segment that never became ready, so nobody ever sees a half-built header.
//
// Lifetime of the name (the /dev/shm entry) — the memory itself lives while any process maps it:
//  - `refs` in the header counts the Segment objects that hold a reference: the creator's and one
//    per attach(). A Segment copied into a forked child by fork() holds none: in the child close()
//    only unmaps. Except in a Process child (a fork under base's ReleasingChildFork): there each
//    inherited Segment of a segment shared with its users (share_name_with_users: a Manager's
//    objects) takes a reference of its own at fork (ForkStage::segment_references), given back
//    when the child's object is closed or, at the latest, just before the child's _exit
//    (run_exit_handlers), so a child that only inherited a Manager object keeps its name alive
//    after the parent dropped it (issue 13 item 2). A child killed before that keeps the name
//    until the creating process ends (its tracker), as a killed attacher does.
//  - With SegmentOptions::unlink_with_creator (the default), the name is removed when the creator's
//    Segment releases its reference (close/destroy), or when the count reaches 0, whichever comes
//    first. Processes that attached keep their mappings; only later attach() calls fail (ENOENT).
//    This way an attacher that is killed (and so never releases its reference) cannot pin the name.
//    Without it, the name stays until someone calls unlink() (Python's SharedMemory semantics).
//  - share_name_with_users(name) switches a segment to "the last reference removes the name": the
//    creator's release then no longer does (a Manager hands the objects it makes to their users
//    this way). An attacher killed without releasing keeps the name until the creating process
//    ends: its tracker still removes the name then, whoever holds it.
//  - The creating process registers the name with its tracker (tracker.hpp) before the file
//    exists, so a creator that dies (even by SIGKILL) never leaves the name behind: the tracker
//    unlinks what is still registered when the creating process has gone.
// The verbs are distinct: close() drops this mapping (and this object's reference), unlink()
// removes the name now (mappings stay valid), destroy() does both.
//
// Thread-safety: a Segment object is used by one thread at a time; the shared header's counters
// are atomics, safe from every process.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace mproc::detail::shm {

inline constexpr std::uint64_t kSegmentMagic = 0x6d70726f63736567ULL;  // "mprocseg"
inline constexpr std::uint32_t kSegmentLayoutVersion = 1;
inline constexpr std::size_t kPayloadAlignment = 64;

// What is stored in a segment, so that a handle to one kind is refused by another.
struct SegmentKind {
  std::uint32_t id;       // e.g. 0x51554555 ("QUEU") for queues
  std::uint32_t version;  // layout version of that payload
  const char* name;       // for messages: "queue"
};

struct SegmentOptions {
  // Remove the name when the creator releases it or the count reaches 0 (see the file comment).
  bool unlink_with_creator = true;
  // The file may grow past the header's `size` (its user extends it with ftruncate / fallocate on
  // fd() and maps the extra bytes itself; the Segment's own mapping keeps its size). Each Segment
  // object then keeps a descriptor of the file open (fd()), so that growth still works once the
  // name is unlinked.
  bool growable = false;
};

enum class SegmentState : std::uint32_t { constructing = 0, ready = 1 };

struct SegmentHeader {
  std::uint64_t magic;
  std::uint32_t layout_version;
  std::uint32_t flags;  // kFlagUnlinkWithCreator
  std::uint32_t kind_id;
  std::uint32_t kind_version;
  std::uint64_t size;            // bytes of the whole segment (header included)
  std::uint64_t payload_offset;  // from the start of the segment
  std::uint64_t payload_size;
  std::int32_t creator_pid;
  std::atomic<std::uint32_t> state;  // SegmentState; ready is the last store of construction
  std::atomic<std::uint32_t> refs;
};
inline constexpr std::uint32_t kFlagUnlinkWithCreator = 1;
inline constexpr std::uint32_t kFlagGrowable = 2;
inline constexpr std::uint32_t kFlagUnlinkWithLastUser = 4;  // set by share_name_with_users

static_assert(std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
static_assert(sizeof(SegmentHeader) <= kPayloadAlignment);

class Segment {
 public:
  // Builds the payload in place; called once, before the segment is published. May throw (the
  // segment is then removed).
  using Construct = void (*)(void* payload, std::size_t size, void* context);

  Segment() = default;
  ~Segment() { close(); }
  Segment(Segment&& other) noexcept;
  Segment& operator=(Segment&& other) noexcept;
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  // A new segment with a fresh unique name (/mproc-<pid>-<counter>-<random>) and a payload of
  // `payload_size` bytes (zero-filled, then `construct`ed). The caller holds the one reference.
  // Errors: the errno of shm_open / ftruncate / mmap (ENOSPC, EMFILE, ...), or the tracker's.
  static Segment create(std::size_t payload_size, SegmentKind kind, Construct construct,
                        void* context, SegmentOptions options = {});
  // Maps the existing segment `name` and takes a reference.
  // Errors: EINVAL (malformed name), ENOENT (no such segment, or it is being removed), EACCES,
  // errc::bad_handle (not an mproc segment of `kind`, or of another layout version),
  // errc::bad_state (never finished construction: its creator died while building it).
  static Segment attach(std::string_view name, SegmentKind kind);

  bool is_open() const noexcept { return base_ != nullptr; }
  const std::string& name() const noexcept { return name_; }
  // Read from the header once (create / attach) and checked against the mapping: another process
  // that rewrites the header later cannot move this process's view of the payload.
  void* payload() const noexcept { return static_cast<char*>(base_) + payload_offset_; }
  std::size_t payload_size() const noexcept { return payload_size_; }
  std::size_t mapped_size() const noexcept { return size_; }
  SegmentHeader& header() const noexcept { return *static_cast<SegmentHeader*>(base_); }
  // The open descriptor of a growable segment (O_CLOEXEC; closed by close()), -1 otherwise.
  int fd() const noexcept { return fd_; }
  // True if this object (in this process) holds one of the header's references.
  bool holds_reference() const noexcept;

  // Drops this object's reference but keeps the mapping; with unlink_with_creator, unlinks the name
  // when this is the creator's object or that was the last reference. Idempotent. For owners that
  // must stop counting as users while other threads may still touch the memory.
  void release() noexcept;
  // release(), then drops the mapping. Idempotent. Never throws: failures are logged.
  void close() noexcept;
  // Removes the name now; existing mappings stay valid, later attach() fails with ENOENT.
  // Returns false if the name was already gone. Errors: the errno of shm_unlink other than ENOENT.
  bool unlink();
  // unlink() then close().
  void destroy();

 private:
  Segment(std::string name, void* base, std::size_t size, std::size_t payload_offset,
          std::size_t payload_size, pid_t owner, bool created, int fd = -1)
      : name_(std::move(name)), base_(base), size_(size), payload_offset_(payload_offset),
        payload_size_(payload_size), owner_pid_(owner), created_(created), fd_(fd) {
    track_reference();
  }
  void unlink_name() noexcept;
  // This process's list of the Segment objects that hold a reference (segment.cpp).
  void track_reference() noexcept;
  void untrack_reference() noexcept;
  // Moves every field of `other` here, and its place in that list, under the list's lock.
  void take_over(Segment& other) noexcept;
  friend struct SegmentReferences;

  std::string name_;
  void* base_ = nullptr;
  std::size_t size_ = 0;
  std::size_t payload_offset_ = 0;
  std::size_t payload_size_ = 0;
  pid_t owner_pid_ = 0;   // the process whose reference this object holds (0: none)
  bool created_ = false;  // this object created the segment (its name is in owner's tracker)
  bool released_ = false;
  bool unlinked_ = false;
  bool inherited_ = false;  // the reference was taken for this Process child at fork
  bool fork_reference_ = false;  // taken for the child being forked (SegmentReferences)
  int fd_ = -1;  // growable segments only
};

// Checks a segment name as shm_open(3) wants it: "/" then 1..250 characters, none of them "/",
// none a control character (newline included), and not "/." or "/..".
// Errors: EINVAL naming the problem.
void check_segment_name(std::string_view name);

// A fresh segment name: /mproc-<pid>-<counter>-<16 random hex digits>.
std::string unique_segment_name();

// Makes the name of the mproc segment `name` (of any kind) live until its last reference is
// released, instead of until its creator's is (see the file comment). The caller holds a
// reference (or the segment may already be gone). Errors: as Segment::attach.
void share_name_with_users(std::string_view name);
// Removes the name now (ENOENT is not an error) and, in the process that created it, forgets it
// in the tracker. Mappings stay valid. Never throws: failures are logged.
void remove_segment_name(const std::string& name) noexcept;

}  // namespace mproc::detail::shm
