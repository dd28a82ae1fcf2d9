#include "manager/store.hpp"

#include <mproc/error.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <new>
#include <utility>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cpu_relax.hpp"
#include "base/deadline.hpp"
#include "base/shared_mapping.hpp"
#include "log/logger.hpp"

namespace mproc::detail::manager {

std::atomic<int> g_crash_at{0};
void crash_here() { ::raise(SIGKILL); }

namespace {

constexpr std::uint64_t kMinCapacity = 64 * 1024;
constexpr std::uint64_t kMaxCapacity = std::uint64_t{1} << 40;  // Segment's limit too
// Compaction runs when garbage exceeds both the live bytes and this much.
constexpr std::uint64_t kCompactSlack = 256 * 1024;

shm::SegmentKind segment_kind(Kind kind) {
  switch (kind) {
    case Kind::dict: return {0x4d444943, 2, "manager dict"};           // "MDIC"
    case Kind::list: return {0x4d4c5354, 2, "manager list"};           // "MLST"
    case Kind::names: return {0x4d4e5350, 2, "manager Namespace"};     // "MNSP"
    case Kind::registry: return {0x4d4d4752, 2, "Manager"};            // "MMGR"
  }
  return {0, 0, "?"};
}

std::uint64_t page_size() { return static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)); }

void construct_control(void* payload, std::size_t /*size*/, void* context) {
  const auto kind = *static_cast<const Kind*>(context);
  auto* c = new (payload) Control{};
  c->lock.init(false);
  // The data area starts at the first page after the segment's own mapping (header + payload).
  c->data_offset = page_size();
  c->kind = static_cast<std::uint32_t>(kind);
  c->capacity.store(0, std::memory_order_relaxed);
  c->root.store(0, std::memory_order_relaxed);
  c->tail.store(kDataReserved, std::memory_order_relaxed);
  c->low.store(kDataReserved, std::memory_order_relaxed);
  c->live.store(0, std::memory_order_relaxed);
}

}  // namespace

std::uint64_t hash_bytes(std::string_view bytes) noexcept {
  // FNV-1a, then a final mix so that the low bits (the table index) depend on every byte.
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) h = (h ^ c) * 0x100000001b3ULL;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

void check_sizes(std::string_view key, std::string_view value, const char* type) {
  constexpr std::size_t kMax = 0xffffffffU;
  if (key.size() > kMax || value.size() > kMax)
    throw Error(errc::too_big, std::string(type) + ": a key or value of " +
                                   std::to_string(std::max(key.size(), value.size())) +
                                   " bytes is longer than the 4 GiB - 1 limit");
}

const Store::Mapping Store::kUnmapped{};

Store::Store(shm::Segment segment, Kind kind, std::uint64_t data_offset)
    : segment_(std::move(segment)),
      kind_(kind),
      control_(static_cast<Control*>(segment_.payload())),
      data_offset_(data_offset) {}

void Store::corrupt(const std::string& what) const {
  throw Error(errc::internal,
              std::string(type_name()) + " " + segment_.name() + " is corrupt: " + what);
}

void Store::corrupt_span(std::uint64_t offset, std::uint64_t bytes) const {
  corrupt(std::to_string(bytes) + " bytes at offset " + std::to_string(offset) +
          " lie outside its " + std::to_string(mapped()) + " bytes of data");
}

bool DataView::record(std::uint64_t offset, RecordView& out) const noexcept {
  const auto* r = find<const Record>(offset, sizeof(Record));
  if (r == nullptr) [[unlikely]]
    return false;
  const std::uint32_t key = load_once(r->key_size);
  const std::uint32_t value = load_once(r->value_size);
  const std::uint64_t bytes = Record::record_bytes(key, value);
  if (bytes > size - offset) [[unlikely]]
    return false;
  const char* start = reinterpret_cast<const char*>(r + 1);
  out = {{start, key}, {start + key, value}, load_once(r->hash), bytes};
  return true;
}

RecordView Store::record(std::uint64_t offset) const {
  RecordView r;
  if (!data_view().record(offset, r)) [[unlikely]] {
    // Which check failed, for the message: the header, or the sizes it claims.
    const auto* header = checked<const Record>(offset, sizeof(Record));
    corrupt_span(offset, Record::record_bytes(load_once(header->key_size),
                                              load_once(header->value_size)));
  }
  return r;
}

std::unique_ptr<Store> Store::create(Kind kind) {
  static_assert(sizeof(shm::SegmentHeader) <= shm::kPayloadAlignment);
  // The Segment's mapping is exactly the first page: header, then Control.
  const std::size_t payload = page_size() - shm::kPayloadAlignment;
  if (sizeof(Control) > payload) throw Error(errc::internal, "manager: Control exceeds a page");
  shm::SegmentOptions options;
  options.growable = true;
  Kind context = kind;
  auto segment = shm::Segment::create(payload, segment_kind(kind), construct_control, &context,
                                      options);
  return std::unique_ptr<Store>(new Store(std::move(segment), kind, page_size()));
}

std::unique_ptr<Store> Store::attach(std::string_view handle, Kind kind) {
  auto segment = shm::Segment::attach(handle, segment_kind(kind));
  if (segment.fd() < 0 || segment.payload_size() < sizeof(Control))
    throw Error(errc::bad_handle, std::string(handle) + " is not a manager container");
  // Read once and kept: the data area's place in the file never changes.
  const std::uint64_t data_offset =
      load_once(static_cast<const Control*>(segment.payload())->data_offset);
  if (data_offset % page_size() != 0 || data_offset < page_size() ||
      data_offset > kMaxCapacity)
    throw Error(errc::bad_handle, std::string(handle) + ": its data offset " +
                                      std::to_string(data_offset) + " is invalid");
  return std::unique_ptr<Store>(new Store(std::move(segment), kind, data_offset));
}

Store::~Store() { close(); }

const char* Store::type_name() const noexcept { return segment_kind(kind_).name; }

void Store::close() noexcept {
  if (control_ == nullptr) return;
  // A held robust mutex must not be unmapped (it is on this thread's robust list).
  mutex_release_if_held(control_->lock);
  view_.store(&kUnmapped, std::memory_order_release);
  for (Mapping* m = mappings_.exchange(nullptr, std::memory_order_acquire); m != nullptr;) {
    if (::munmap(m->data, m->size) != 0)
      logger(LogCategory::manager)
          .warn("munmap({} data) failed: {}", segment_.name(), std::strerror(errno));
    delete std::exchange(m, m->next);
  }
  control_ = nullptr;
  segment_.close();
}

void Store::set_timeout(std::optional<Seconds> timeout) {
  if (timeout) check_timeout(*timeout, type_name());
  const double ns = timeout ? timeout->count() * 1e9 : -1.0;
  timeout_ns_.store(ns >= 9e18 ? -1 : static_cast<std::int64_t>(ns), std::memory_order_relaxed);
}

std::optional<Seconds> Store::timeout() const noexcept {
  const std::int64_t ns = timeout_ns_.load(std::memory_order_relaxed);
  if (ns < 0) return std::nullopt;
  return Seconds(static_cast<double>(ns) * 1e-9);
}

namespace {

// The data area's capacity as another process claims it, accepted only if the file holds it:
// mapping past the file's end would turn the first access into SIGBUS. The file only grows
// before capacity is raised (ensure), so a larger value is corrupt. Returns 0 if it fits, -1 if
// not (`file_size` is what fstat said), or fstat's errno.
int check_capacity(int fd, std::uint64_t capacity, std::uint64_t data_offset,
                   std::uint64_t max_capacity, std::uint64_t& file_size) noexcept {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errno;
  file_size = static_cast<std::uint64_t>(st.st_size);
  const bool fits = capacity <= max_capacity && file_size >= data_offset &&
                    capacity <= file_size - data_offset;
  return fits ? 0 : -1;
}

}  // namespace

void Store::spin_pause() noexcept { cpu_relax(); }

const void* Store::add_mapping(std::uint64_t capacity) const noexcept {
  // A new mapping of the whole area, not mremap: a reader without the lock (another thread) may be
  // reading through the older one, which stays mapped until close(). The lock is in the first
  // page, which never moves.
  auto* mapping = new (std::nothrow) Mapping;
  if (mapping == nullptr) {
    errno = ENOMEM;
    return nullptr;
  }
  void* base = map_shared_fd(segment_.fd(), capacity, static_cast<off_t>(data_offset_));
  if (base == nullptr) {
    const int error = errno;
    delete mapping;
    errno = error;
    return nullptr;
  }
  mapping->data = static_cast<char*>(base);
  mapping->size = capacity;
  // Kept until close() (someone may read through it from now on), then published as the view
  // unless another thread published a mapping at least as large meanwhile.
  mapping->next = mappings_.load(std::memory_order_relaxed);
  while (!mappings_.compare_exchange_weak(mapping->next, mapping, std::memory_order_release,
                                          std::memory_order_relaxed)) {
  }
  const Mapping* current = view();
  while (current->size < capacity &&
         !view_.compare_exchange_weak(current, mapping, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
  }
  return base;
}

void Store::map_data() {
  // Read once: the value checked is the value mapped.
  const std::uint64_t capacity = control_->capacity.load(std::memory_order_acquire);
  if (capacity <= mapped()) return;
  std::uint64_t file_size = 0;
  if (const int rc = check_capacity(segment_.fd(), capacity, data_offset_, kMaxCapacity, file_size);
      rc != 0) {
    if (rc > 0) throw_errno(rc, std::string(type_name()) + ": fstat");
    corrupt("its capacity of " + std::to_string(capacity) + " bytes exceeds its file (" +
            std::to_string(file_size) + " bytes)");
  }
  if (add_mapping(capacity) == nullptr)
    throw_errno(errno, std::string(type_name()) + ": mapping its data");
}

bool Store::map_unlocked() const noexcept {
  if (control_ == nullptr) return false;
  // Read once, checked, then mapped: as map_data, without the lock (issue 11: a capacity written
  // by another process never makes this one map past the file).
  const std::uint64_t capacity = control_->capacity.load(std::memory_order_acquire);
  if (capacity <= mapped()) return false;
  std::uint64_t file_size = 0;
  if (check_capacity(segment_.fd(), capacity, data_offset_, kMaxCapacity, file_size) != 0)
    return false;
  return add_mapping(capacity) != nullptr;
}

Store::Guard::Guard(Store& store, Access access) : store_(store) {
  if (store.control_ == nullptr)
    throw Error(errc::closed, std::string(store.type_name()) + ": it was closed");
  Control& c = *store.control_;
  const Acquired how = mutex_acquire(c.lock, true, store.timeout(), store.type_name());
  if (how == Acquired::no)
    throw Error(errc::timed_out, std::string(store.type_name()) +
                                     ": another process held its lock until the timeout (a "
                                     "stopped or starved process?)");
  if (access == Access::changing || how == Acquired::recovered) {
    // Odd while held (a dead owner may have left it odd already): lock-free readers retry.
    const std::uint64_t odd = c.version.load(std::memory_order_relaxed) | 1;
    c.version.store(odd, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    version_ = odd + 1;
  }
  try {
    store.map_data();
    if (how == Acquired::recovered) {
      c.recoveries.fetch_add(1, std::memory_order_relaxed);
      store.recover();
    }
  } catch (...) {
    if (version_ != 0) c.version.store(version_, std::memory_order_release);
    mutex_release_if_held(c.lock);
    throw;
  }
}

Store::Guard::~Guard() {
  Control& c = *store_.control_;
  if (version_ != 0) c.version.store(version_, std::memory_order_release);
  // This thread took it through this mapping (the first page, which never moves) in the
  // constructor: released without mutex_release_if_held's check of the robust list, which costs a
  // system call (get_robust_list) on every operation. It cannot fail: we hold it.
  (void)mutex_release_all(c.lock);
}

void Store::ensure(std::uint64_t end) {
  Control& c = *control_;
  if (end <= mapped()) return;
  map_data();  // another process may have grown it
  if (end <= mapped()) return;
  // Grown from what this process mapped (and so checked against the file), never from the shared
  // `capacity`: a value written there by another process must not make this one allocate.
  const std::uint64_t capacity = mapped();
  if (end > kMaxCapacity)
    throw Error(errc::too_big, std::string(type_name()) + ": would grow past 1 TiB");
  const std::uint64_t page = page_size();
  std::uint64_t grown = std::max({capacity * 2, kMinCapacity, (end + page - 1) / page * page});
  grown = std::min(grown, kMaxCapacity);
  // posix_fallocate rather than ftruncate: tmpfs reserves the pages now, so a full /dev/shm is
  // ENOSPC here instead of SIGBUS on a later store (posix_fallocate(3)).
  const off_t from = static_cast<off_t>(data_offset_ + capacity);
  int rc = ::posix_fallocate(segment_.fd(), from, static_cast<off_t>(grown - capacity));
  if (rc == EOPNOTSUPP || rc == EINVAL)
    rc = ::ftruncate(segment_.fd(), static_cast<off_t>(data_offset_ + grown)) == 0 ? 0 : errno;
  if (rc != 0) throw_errno(rc, std::string(type_name()) + ": growing to " +
                                   std::to_string(grown) + " bytes");
  crash_point(CrashPoint::after_grow_truncate);
  c.capacity.store(grown, std::memory_order_release);
  map_data();
  if (end > mapped()) corrupt("its capacity shrank while it was growing");
}

std::uint64_t Store::alloc(std::uint64_t bytes) {
  Control& c = *control_;
  const std::uint64_t offset = std::max(c.tail.load(std::memory_order_relaxed), kDataReserved);
  // tail never passes the capacity and is always aligned; another value was written by someone
  // else, and using it would misalign every record (or wrap offset + bytes).
  // (the Guard mapped the whole capacity, and tail never passes it; an empty container's tail is
  // kDataReserved before anything is mapped).
  if (offset % kAlign != 0 || offset > std::max<std::uint64_t>(mapped(), kDataReserved))
    corrupt("its allocation tail " + std::to_string(offset) + " is invalid");
  ensure(offset + bytes);
  // Bumped before anything is published in the space: a crash leaves garbage, never a reachable
  // byte past tail.
  c.tail.store(offset + bytes, std::memory_order_relaxed);
  crash_point(CrashPoint::after_tail_bump);
  return offset;
}

void Store::write_record(std::uint64_t offset, std::string_view key, std::string_view value,
                         std::uint64_t hash) noexcept {
  auto* r = at<Record>(offset);
  r->key_size = static_cast<std::uint32_t>(key.size());
  r->value_size = static_cast<std::uint32_t>(value.size());
  r->hash = hash;
  char* bytes = reinterpret_cast<char*>(r + 1);
  if (!key.empty()) std::memcpy(bytes, key.data(), key.size());
  if (!value.empty()) std::memcpy(bytes + key.size(), value.data(), value.size());
}

void Store::maybe_compact() {
  const Control& c = *control_;
  const std::uint64_t live = c.live.load(std::memory_order_relaxed);
  const std::uint64_t span =
      c.tail.load(std::memory_order_relaxed) - c.low.load(std::memory_order_relaxed);
  const std::uint64_t garbage = span > live ? span - live : 0;
  if (garbage <= live || garbage <= kCompactSlack) return;
  if (kind_ == Kind::list) list_compact(*this);
  else dict_compact(*this);
}

void Store::recover() {
  logger(LogCategory::manager)
      .warn("{} {}: recovering after a process died holding its lock", type_name(),
            segment_.name());
  if (kind_ == Kind::list) list_recover(*this);
  else dict_recover(*this);
}

void set_derived(Store& store, const Reach& reach) {
  Control& c = store.control();
  c.low.store(reach.live == 0 ? kDataReserved : reach.low, std::memory_order_relaxed);
  c.tail.store(reach.end, std::memory_order_relaxed);
  c.live.store(reach.live, std::memory_order_relaxed);
}

std::uint64_t compaction_target(Store& store, std::uint64_t bytes) {
  Control& c = store.control();
  // Below `low` only when that space is mapped: `low` is shared memory, and may be anything.
  const std::uint64_t low = c.low.load(std::memory_order_relaxed);
  if (kDataReserved + bytes <= low && low <= store.mapped()) return kDataReserved;
  const std::uint64_t target = std::max(c.tail.load(std::memory_order_relaxed), kDataReserved);
  if (target % kAlign != 0 || target > std::max<std::uint64_t>(store.mapped(), kDataReserved))
    store.corrupt("its allocation tail " + std::to_string(target) + " is invalid");
  store.ensure(target + bytes);
  return target;
}

void finish_compaction(Store& store, std::uint64_t target, std::uint64_t bytes) {
  crash_point(CrashPoint::after_rebuild_commit);
  Control& c = store.control();
  c.low.store(target, std::memory_order_relaxed);
  c.tail.store(target + bytes, std::memory_order_relaxed);
  c.live.store(bytes, std::memory_order_relaxed);
}

}  // namespace mproc::detail::manager
