// Ties what a job holds (JobHolds in <mproc/detail/pool_wire.hpp>: the descriptors it shares, see
// <mproc/detail/descriptor_shares.hpp>, and its by-handle arguments) to the job: the dispatcher
// holds a job's sink until the job ends, and this sink lets go of them as soon as it is told the
// outcome (items, worker death, timeout, cancel, terminate), so a share that no worker collects is
// closed with its job, never kept for the life of the process.
// Shipped with the headers because the templates of <mproc/pool.hpp> use it; not API.
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/detail/pool_core.hpp>
#include <mproc/detail/pool_wire.hpp>

#include <memory>
#include <string>
#include <system_error>
#include <utility>

namespace mproc::detail {

// Drops what the job held, then forwards the outcome to the job's own sink: whoever sees the
// outcome finds the arguments let go.
class HoldingSink final : public JobSink {
 public:
  HoldingSink(std::shared_ptr<JobSink> sink, JobHolds holds) noexcept
      : sink_(std::move(sink)), holds_(std::move(holds)) {}
  void on_items(const char* data, size_t size, uint32_t count) noexcept override {
    holds_ = JobHolds{};
    sink_->on_items(data, size, count);
  }
  void on_failure(std::error_code code, const std::string& message) noexcept override {
    holds_ = JobHolds{};
    sink_->on_failure(code, message);
  }

 private:
  std::shared_ptr<JobSink> sink_;
  JobHolds holds_;
};

// `sink`, or, when the job holds something, a sink that also holds it.
inline std::shared_ptr<JobSink> bind_holds(std::shared_ptr<JobSink> sink, JobHolds holds) {
  if (holds.empty()) return sink;
  return std::make_shared<HoldingSink>(std::move(sink), std::move(holds));
}

}  // namespace mproc::detail
