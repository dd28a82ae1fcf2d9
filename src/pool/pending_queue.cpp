#include "pool/pending_queue.hpp"

#include <utility>

namespace mproc::detail::pool {
namespace {

// Spare batches kept, and the largest capacity worth keeping (a burst of a million submissions
// should not stay allocated).
constexpr size_t kSpareBatches = 2;
constexpr size_t kSpareJobsMax = size_t{1} << 14;
constexpr size_t kSpareBytesMax = size_t{1} << 20;

}  // namespace

InboxBatch PendingQueue::spare_batch() noexcept {
  if (spares_.empty()) return {};
  InboxBatch batch = std::move(spares_.back());
  spares_.pop_back();
  return batch;
}

void PendingQueue::append(InboxBatch&& batch) {
  size_t live = 0;
  for (size_t i = batch.next; i < batch.jobs.size(); ++i)
    if (batch.jobs[i].sink) ++live;
  if (live == 0) {
    recycle(std::move(batch));
    return;
  }
  batches_.push_back(std::move(batch));
  size_ += live;
}

void PendingQueue::push_front(JobPtr&& job) {
  records_.push_front(std::move(job));
  ++size_;
}

JobPtr PendingQueue::pop_record() {
  if (records_.empty()) return nullptr;
  JobPtr job = std::move(records_.front());
  records_.pop_front();
  --size_;
  return job;
}

void PendingQueue::pop_into(JobRecord& record) {
  InboxBatch& batch = batches_.front();  // drop_consumed_batches keeps a live job first
  InboxJob& entry = batch.jobs[batch.next];
  // The copy first: if it throws, the job is still queued (and will be failed, not lost).
  if (!entry.large.empty())
    record.job.payload = std::move(entry.large);
  else
    record.job.payload.assign(batch.bytes.data() + entry.offset, entry.size);
  ++batch.next;
  record.id = entry.id;
  record.job.sink = std::move(entry.sink);
  record.job.group = entry.group;
  record.job.items = entry.items;
  record.job.timeout = entry.timeout;
  --size_;
  drop_consumed_batches();
}

// Skips failed entries, and recycles the batches with nothing left, so that the front batch (if
// any) starts with a live job.
void PendingQueue::drop_consumed_batches() noexcept {
  while (!batches_.empty()) {
    InboxBatch& batch = batches_.front();
    while (batch.next < batch.jobs.size() && !batch.jobs[batch.next].sink) ++batch.next;
    if (batch.next < batch.jobs.size()) return;
    recycle(std::move(batch));
    batches_.pop_front();
  }
}

void PendingQueue::recycle(InboxBatch&& batch) noexcept {
  if (spares_.size() >= kSpareBatches || batch.jobs.capacity() > kSpareJobsMax ||
      batch.bytes.capacity() > kSpareBytesMax)
    return;
  batch.jobs.clear();
  batch.bytes.clear();
  batch.next = 0;
  try {
    spares_.push_back(std::move(batch));
  } catch (...) {
  }
}

}  // namespace mproc::detail::pool
