// The public queue classes: thin wrappers over QueueCore that check arguments and kinds.
#include <mproc/queue.hpp>

#include <cstring>

#include "base/deadline.hpp"
#include "transport/queue_core.hpp"

namespace mproc {
namespace {

using detail::Deadline;
using detail::queue::QueueConfig;
using detail::queue::QueueCore;
using detail::queue::QueueKind;

Deadline deadline_for(const Seconds* timeout, const char* operation) {
  if (timeout == nullptr) return Deadline();
  detail::check_timeout(*timeout, operation);
  return Deadline(*timeout);
}

// capacity_bytes 0 (the default): bounded only by memory, as Python's queues; a given capacity
// keeps one fixed ring of that size.
std::unique_ptr<QueueCore> create(QueueKind kind, const QueueOptions& options) {
  const bool grows = options.capacity_bytes == 0;
  return QueueCore::create(QueueConfig{
      kind, options.maxsize, grows ? detail::queue::kDefaultCapacity : options.capacity_bytes,
      grows});
}

const char* kind_name(QueueKind kind) {
  switch (kind) {
    case QueueKind::queue: return "Queue";
    case QueueKind::simple: return "SimpleQueue";
    case QueueKind::joinable: return "JoinableQueue";
  }
  return "queue";
}

std::unique_ptr<QueueCore> attach(std::string_view handle, QueueKind kind) {
  auto core = QueueCore::attach(handle);
  if (core->kind() != kind)
    throw Error(errc::bad_handle, std::string(kind_name(kind)) + "::attach: " +
                                      std::string(handle) + " is a " + kind_name(core->kind()));
  return core;
}

}  // namespace

namespace detail {

QueueBase::QueueBase(std::unique_ptr<queue::QueueCore> core) noexcept : core_(std::move(core)) {}
QueueBase::QueueBase(QueueBase&&) noexcept = default;
QueueBase& QueueBase::operator=(QueueBase&&) noexcept = default;
QueueBase::~QueueBase() = default;

queue::QueueCore& QueueBase::core() const {
  if (!core_) throw Error(errc::closed, "queue: this object was moved from");
  return *core_;
}

void QueueBase::put_raw(const void* data, std::size_t size, bool block, const Seconds* timeout) {
  if (!try_put_raw(data, size, block, timeout)) QueueCore::throw_full(block);
}

bool QueueBase::try_put_raw(const void* data, std::size_t size, bool block,
                            const Seconds* timeout) {
  if (data == nullptr && size != 0)
    throw Error(std::make_error_code(std::errc::invalid_argument), "queue put: data is NULL");
  return core().put_status(data, size, block, deadline_for(timeout, "queue put")) ==
         QueueCore::Status::done;
}

std::vector<std::byte> QueueBase::get_bytes_raw(bool block, const Seconds* timeout) {
  std::vector<std::byte> out;
  core().get(
      [](std::size_t size, void* context) -> void* {
        auto& v = *static_cast<std::vector<std::byte>*>(context);
        v.resize(size);
        return v.data() != nullptr ? v.data() : static_cast<void*>(&v);  // size 0: any address
      },
      &out, block, deadline_for(timeout, "queue get"));
  return out;
}

std::string QueueBase::get_string_raw(bool block, const Seconds* timeout) {
  std::string out;
  core().get(
      [](std::size_t size, void* context) -> void* {
        auto& s = *static_cast<std::string*>(context);
        s.resize(size);
        return s.data();
      },
      &out, block, deadline_for(timeout, "queue get"));
  return out;
}

namespace {
struct Buffer {
  void* data;
  std::size_t size;
  bool exact;
};
void* into_buffer(std::size_t size, void* context) {
  const auto& b = *static_cast<Buffer*>(context);
  if (b.exact ? size != b.size : size > b.size) return nullptr;
  return b.data != nullptr ? b.data : context;  // size 0 into a NULL buffer: nothing is copied
}
}  // namespace

namespace {
// get_into_raw and try_get_into_raw: false when empty, else the message's size. (Not through
// try_get_into_raw's std::optional: get_into_raw is the hot path of a blocking get, and returning
// the optional through memory stalled each call on a partial store-to-load forwarding.)
bool get_into_status(QueueCore& core, void* buffer, std::size_t size, bool block, const Seconds* timeout,
              std::size_t* needed, bool exact, std::size_t& got_size) {
  if (buffer == nullptr && size != 0)
    throw Error(std::make_error_code(std::errc::invalid_argument), "queue get_into: buffer is NULL");
  Buffer b{buffer, size, exact};
  QueueCore::Got got{0, false};
  if (core.get_status(into_buffer, &b, block, deadline_for(timeout, "queue get"), got) ==
      QueueCore::Status::empty)
    return false;
  got_size = got.size;
  if (got.taken) return true;
  if (exact)
    throw Error(errc::codec, "queue get<T>: the next message has " + std::to_string(got.size) +
                                 " bytes, sizeof(T) is " + std::to_string(size) +
                                 "; it stays in the queue");
  if (needed != nullptr) *needed = got.size;
  throw Error(errc::too_big, "queue get_into: the next message has " + std::to_string(got.size) +
                                 " bytes, more than the buffer's " + std::to_string(size) +
                                 "; it stays in the queue");
}
}  // namespace

std::size_t QueueBase::get_into_raw(void* buffer, std::size_t size, bool block,
                                    const Seconds* timeout, std::size_t* needed, bool exact) {
  std::size_t got = 0;
  if (!get_into_status(core(), buffer, size, block, timeout, needed, exact, got))
    QueueCore::throw_empty(block);
  return got;
}

std::optional<std::size_t> QueueBase::try_get_into_raw(void* buffer, std::size_t size, bool block,
                                                       const Seconds* timeout, std::size_t* needed,
                                                       bool exact) {
  std::size_t got = 0;
  if (!get_into_status(core(), buffer, size, block, timeout, needed, exact, got)) return std::nullopt;
  return got;
}

std::size_t QueueBase::get_with_raw(void* (*allocate)(std::size_t, void*), void* context,
                                    bool block, const Seconds* timeout) {
  const std::optional<std::size_t> got = try_get_with_raw(allocate, context, block, timeout);
  if (!got) QueueCore::throw_empty(block);
  return *got;
}

std::optional<std::size_t> QueueBase::try_get_with_raw(void* (*allocate)(std::size_t, void*),
                                                       void* context, bool block,
                                                       const Seconds* timeout) {
  if (allocate == nullptr)
    throw Error(std::make_error_code(std::errc::invalid_argument), "queue get_with: allocate is NULL");
  QueueCore::Got got{0, false};
  if (core().get_status(allocate, context, block, deadline_for(timeout, "queue get"), got) ==
      QueueCore::Status::empty)
    return std::nullopt;
  if (!got.taken)
    throw Error(std::make_error_code(std::errc::not_enough_memory),
                "queue get: no memory for a message of " + std::to_string(got.size) +
                    " bytes; it stays in the queue");
  return got.size;
}

bool QueueBase::empty() const { return core().empty(); }
void QueueBase::close() {
  if (core_) core_->close();
}
bool QueueBase::closed() const noexcept { return !core_ || core_->closed(); }
std::string QueueBase::handle() const { return core().handle(); }
std::size_t QueueBase::max_message_size() const noexcept {
  return core_ ? core_->max_message_size() : 0;
}
std::size_t QueueBase::capacity_bytes() const noexcept { return core_ ? core_->capacity() : 0; }

}  // namespace detail

Queue::Queue(std::size_t maxsize) : Queue(QueueOptions{maxsize}) {}
Queue::Queue(const QueueOptions& options) : QueueBase(create(QueueKind::queue, options)) {}
Queue::Queue(std::unique_ptr<detail::queue::QueueCore> core) noexcept
    : QueueBase(std::move(core)) {}
Queue Queue::attach(std::string_view handle) { return Queue(mproc::attach(handle, QueueKind::queue)); }
std::size_t Queue::qsize() const { return core().qsize(); }
bool Queue::full() const { return core().full(); }
std::size_t Queue::maxsize() const noexcept { return closed() ? 0 : core().maxsize(); }

JoinableQueue::JoinableQueue(std::size_t maxsize) : JoinableQueue(QueueOptions{maxsize}) {}
JoinableQueue::JoinableQueue(const QueueOptions& options)
    : Queue(create(QueueKind::joinable, options)) {}
JoinableQueue::JoinableQueue(std::unique_ptr<detail::queue::QueueCore> core) noexcept
    : Queue(std::move(core)) {}
JoinableQueue JoinableQueue::attach(std::string_view handle) {
  return JoinableQueue(mproc::attach(handle, QueueKind::joinable));
}
void JoinableQueue::task_done() { core().task_done(); }
void JoinableQueue::join() { core().join(Deadline()); }
bool JoinableQueue::join(Seconds timeout) {
  return core().join(deadline_for(&timeout, "JoinableQueue join"));
}

SimpleQueue::SimpleQueue(std::size_t capacity_bytes)
    : QueueBase(create(QueueKind::simple, QueueOptions{0, capacity_bytes})) {}
SimpleQueue::SimpleQueue(std::unique_ptr<detail::queue::QueueCore> core) noexcept
    : QueueBase(std::move(core)) {}
SimpleQueue SimpleQueue::attach(std::string_view handle) {
  return SimpleQueue(mproc::attach(handle, QueueKind::simple));
}

}  // namespace mproc
