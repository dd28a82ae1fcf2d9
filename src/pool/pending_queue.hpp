// The jobs submitted to a pool and not yet sent to a worker, in submission order.
//
// Submitting threads append jobs to an InboxBatch (under the pool's mutex); the dispatcher swaps
// the whole batch out and queues it here as it is: entries and payload bytes side by side, with
// no allocation and no copy per job. A job becomes a JobRecord only when it is sent to a worker,
// so the records (recycled) stay as few as the jobs in flight, and hot in cache, however many
// jobs wait. Jobs taken back from a worker (it died before starting them, or an idle worker
// should have them) are records already: they go first.
#pragma once

#include <mproc/pool.hpp>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mproc::detail::pool {

// A job as the dispatcher tracks it once sent.
struct JobRecord {
  uint64_t id = 0;
  Job job;
  std::optional<errc> kill_reason;  // set when we killed its worker on purpose
};
using JobPtr = std::unique_ptr<JobRecord>;

// A submitted job, not yet sent. Its payload is `size` bytes at `offset` in its batch's bytes
// (so that no heap block allocated by a submitting thread is freed by the dispatcher thread:
// such cross-thread frees cost more than the copy, with malloc's per-thread caches), or, if
// large, `large`, moved in whole.
struct InboxJob {
  uint64_t id = 0;
  std::shared_ptr<JobSink> sink;  // null once failed (cancelled) in the queue
  uint64_t group = 0;
  std::optional<Seconds> timeout;
  uint32_t items = 1;
  uint32_t size = 0;
  size_t offset = 0;
  std::string large;
};

struct InboxBatch {
  std::vector<InboxJob> jobs;
  std::string bytes;
  size_t next = 0;  // the jobs before it were taken
};

// Thread-safety: the dispatcher thread only.
class PendingQueue {
 public:
  bool empty() const noexcept { return size_ == 0; }
  size_t size() const noexcept { return size_; }

  // An empty batch whose vectors keep the capacity of one consumed earlier.
  InboxBatch spare_batch() noexcept;
  // Queues every job of `batch` (which is left empty).
  void append(InboxBatch&& batch);
  // Queues a record taken back from a worker, ahead of everything else. If it throws (out of
  // memory), `job` is left with the caller.
  void push_front(JobPtr&& job);

  // Takes the first job into `record` (a fresh or recycled one, payload cleared). Precondition:
  // !empty().
  void pop_into(JobRecord& record);
  // Takes a record taken back from a worker, if the first job is one.
  JobPtr pop_record();

  // Removes the jobs of `group` (every job if `all`), handing each one's sink and item count to
  // `failed` (as a record first for those that are records: `failed_record`).
  template <class Failed, class FailedRecord>
  void remove(bool all, uint64_t group, Failed failed, FailedRecord failed_record) {
    for (auto it = records_.begin(); it != records_.end();) {
      if (all || (*it)->job.group == group) {
        JobPtr job = std::move(*it);
        it = records_.erase(it);
        --size_;
        failed_record(std::move(job));
      } else {
        ++it;
      }
    }
    for (auto& batch : batches_) {
      for (size_t i = batch.next; i < batch.jobs.size(); ++i) {
        InboxJob& entry = batch.jobs[i];
        if (!entry.sink || !(all || entry.group == group)) continue;
        --size_;
        std::shared_ptr<JobSink> sink = std::move(entry.sink);
        failed(*sink, entry.items);
      }
    }
    drop_consumed_batches();
  }

 private:
  void drop_consumed_batches() noexcept;
  void recycle(InboxBatch&& batch) noexcept;

  std::deque<JobPtr> records_;
  std::deque<InboxBatch> batches_;
  std::vector<InboxBatch> spares_;
  size_t size_ = 0;
};

}  // namespace mproc::detail::pool
