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

Executor::Executor(int processes, std::function<void()> wake, uint64_t pool)
    : processes_(processes), outbox_(std::make_shared<Outbox>()) {
  outbox_->wake = std::move(wake);
  outbox_->pool = pool;
  // Workers come from the forkserver, forked before MPI_Init: never a fork of a process that
  // has initialised MPI (see the README, "Past one machine").
  runner_ = std::make_unique<mproc::detail::NamedRunner>(
      processes, [outbox = outbox_](uint64_t id, uint32_t count, int32_t code,
                                    std::string_view bytes) {
        outbox->push(id, count, code, bytes);
      });
}

Executor::~Executor() {
  if (!joined_) terminate();
}

void Executor::add(uint64_t id, std::string_view name, std::string_view payload,
                   std::optional<Seconds> timeout) {
  ++outstanding_;
  runner_->add(id, name, payload, timeout);
}

void Executor::flush() { runner_->flush(); }

void Executor::cancel(uint64_t id) { runner_->cancel(id); }

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
  runner_->close_and_join();
  joined_ = true;
}

void Executor::terminate() {
  {
    std::lock_guard lock(outbox_->mutex);
    outbox_->dropping = true;
    outbox_->messages.clear();
    outbox_->records = 0;
  }
  outstanding_ = 0;
  runner_->terminate();
  joined_ = true;
}

}  // namespace mproc::mpi
