#include "mpi/executor.hpp"

#include <mproc/errors.h>

#include <algorithm>

namespace mproc::mpi {

struct Executor::Outbox {
  std::mutex mutex;
  std::vector<Outcome> outcomes;
  std::function<void()> wake;
  bool dropping = false;  // after terminate: outcomes are nobody's

  void push(Outcome&& outcome) noexcept {
    try {
      {
        std::lock_guard lock(mutex);
        if (dropping) return;
        outcomes.push_back(std::move(outcome));
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
    Outcome o;
    o.id = id_;
    o.count = count;
    try {
      o.bytes.assign(data, size);
    } catch (...) {
      return on_failure(std::make_error_code(std::errc::not_enough_memory), "out of memory");
    }
    outbox_->push(std::move(o));
  }
  void on_failure(std::error_code code, const std::string& message) noexcept override {
    Outcome o;
    o.id = id_;
    o.count = count_;
    o.code = to_c_code(code);
    try {
      o.bytes = message;
    } catch (...) {
    }
    outbox_->push(std::move(o));
  }

 private:
  std::shared_ptr<Executor::Outbox> outbox_;
  uint64_t id_;
  uint32_t count_;
};

}  // namespace

Executor::Executor(int processes, std::function<void()> wake)
    : processes_(processes), outbox_(std::make_shared<Outbox>()) {
  outbox_->wake = std::move(wake);
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
    Outcome o;
    o.id = id;
    o.count = count;
    o.code = to_c_code(e.code());
    o.bytes = e.what();
    outbox_->push(std::move(o));
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

bool Executor::take(std::vector<Outcome>& out) {
  std::lock_guard lock(outbox_->mutex);
  if (outbox_->outcomes.empty()) return false;
  for (auto& o : outbox_->outcomes) out.push_back(std::move(o));
  outstanding_ -= std::min(outstanding_, outbox_->outcomes.size());
  outbox_->outcomes.clear();
  return true;
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
    outbox_->outcomes.clear();
  }
  batch_.clear();
  outstanding_ = 0;
  core_->terminate();
  core_->join();
  joined_ = true;
}

}  // namespace mproc::mpi
