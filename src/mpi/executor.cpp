#include "mpi/executor.hpp"

#include "mpi/wire.hpp"

#include <mproc/errors.h>

#include <algorithm>

namespace mproc::mpi {

struct Executor::Outbox {
  std::mutex mutex;
  std::vector<wire::Writer> messages;  // RESULTS messages, the last one still growing
  size_t records = 0;                  // outcomes in `messages`
  uint64_t pool = 0;
  std::function<void()> wake;
  bool dropping = false;  // after terminate: outcomes are nobody's

  // One message per batch, a new one past about 4 MiB, so that no single message grows unbounded.
  static constexpr size_t kSplit = size_t{4} << 20;

  void push(uint64_t id, uint32_t count, int32_t code, std::string_view bytes) noexcept {
    try {
      {
        std::lock_guard lock(mutex);
        if (dropping) return;
        if (messages.empty() || messages.back().size() >= kSplit)
          messages.push_back(wire::about_pool(pool, wire::kResults));
        messages.back().put_result(id, count, code, bytes);
        ++records;
      }
      if (wake) wake();
    } catch (...) {
      // Out of memory: rank 0's timeout (if any) is the task's only way out; nothing else to do
      // in the local pool's dispatcher thread.
    }
  }
};

namespace {

// The sink of one task in the local pool: its outcome goes to the outbox, for the MPI thread.
class OutboxSink final : public mproc::detail::JobSink {
 public:
  OutboxSink(std::shared_ptr<Executor::Outbox> outbox, uint64_t id, uint32_t count)
      : outbox_(std::move(outbox)), id_(id), count_(count) {}
  void on_items(const char* data, size_t size, uint32_t count) noexcept override {
    outbox_->push(id_, count, 0, std::string_view(data, size));
  }
  void on_failure(std::error_code code, const std::string& message) noexcept override {
    outbox_->push(id_, count_, to_c_code(code), message);
  }

 private:
  std::shared_ptr<Executor::Outbox> outbox_;
  uint64_t id_;
  uint32_t count_;
};

}  // namespace

Executor::Executor(int processes, std::function<void()> wake, uint64_t pool)
    : processes_(processes), outbox_(std::make_shared<Outbox>()) {
  outbox_->wake = std::move(wake);
  outbox_->pool = pool;
  PoolOptions options;
  options.processes = processes;
  // Workers come from the forkserver, forked before MPI_Init: never a fork of a process that
  // has initialised MPI (see the README, "Past one machine").
  options.start_method = StartMethod::forkserver;
  core_ = mproc::detail::PoolCore::create(std::move(options));
}

Executor::~Executor() {
  if (!joined_) terminate();
}

const mproc::detail::RegisteredTask* Executor::find(std::string_view name) {
  std::string key(name);
  auto it = tasks_.find(key);
  if (it == tasks_.end()) {
    it = tasks_.emplace(key, mproc::detail::find_registered_task(key)).first;
  }
  return &it->second;
}

void Executor::add(uint64_t id, std::string_view name, std::string_view payload,
                   std::optional<Seconds> timeout) {
  uint32_t count = 0;
  ++outstanding_;
  try {
    if (!mproc::detail::read_item_count(payload, count))
      throw Error(errc::codec, "mpi: a task's payload is shorter than its item count");
    if (count == 0) throw Error(errc::codec, "mpi: a task without items");
    const mproc::detail::RegisteredTask* task = find(name);
    // The local payload: this rank's head and callable, then the [u32 count][items] received.
    mproc::detail::Job job;
    job.payload.reserve(mproc::detail::kPayloadHead + task->callable.size() + payload.size());
    mproc::detail::put_payload_head(job.payload, task->invoker, task->callable);
    job.payload.append(payload);
    job.items = count;
    job.timeout = timeout;
    job.group = id;  // cancel(id)
    job.sink = std::make_shared<OutboxSink>(outbox_, id, count);
    batch_.push_back(std::move(job));
  } catch (const Error& e) {
    outbox_->push(id, count, to_c_code(e.code()), e.what());
  }
}

void Executor::flush() {
  if (batch_.empty()) return;
  try {
    core_->submit(batch_);
  } catch (const Error& e) {
    // Closed or terminated under us: each task fails with that error.
    for (auto& job : batch_) job.sink->on_failure(e.code(), e.what());
  }
  batch_.clear();
}

void Executor::cancel(uint64_t id) {
  // Not flushed yet: it would be submitted after the cancel and run.
  for (auto it = batch_.begin(); it != batch_.end(); ++it) {
    if (it->group != id) continue;
    it->sink->on_failure(make_error_code(errc::cancelled), "task cancelled before it started");
    batch_.erase(it);
    return;
  }
  core_->cancel(id);
}

size_t Executor::take(std::vector<std::string>& out) {
  std::lock_guard lock(outbox_->mutex);
  const size_t records = outbox_->records;
  if (records == 0) return 0;
  for (auto& m : outbox_->messages) out.push_back(m.take());
  outbox_->messages.clear();
  outbox_->records = 0;
  outstanding_ -= std::min(outstanding_, records);
  return records;
}

void Executor::close_and_join() {
  flush();
  core_->close();
  core_->join();
  joined_ = true;
}

void Executor::terminate() {
  {
    std::lock_guard lock(outbox_->mutex);
    outbox_->dropping = true;
    outbox_->messages.clear();
    outbox_->records = 0;
  }
  batch_.clear();
  outstanding_ = 0;
  core_->terminate();
  core_->join();
  joined_ = true;
}

}  // namespace mproc::mpi
