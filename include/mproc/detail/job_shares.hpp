// Ties the descriptors shared for a job (<mproc/detail/descriptor_shares.hpp>) to the job: the
// dispatcher holds a job's sink until the job ends, and this sink withdraws the shares as soon as
// it is told the outcome (items, worker death, timeout, cancel, terminate), so a share that no
// worker collects is closed with its job, never kept for the life of the process.
// Shipped with the headers because the templates of <mproc/pool.hpp> use it; not API.
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/detail/descriptor_shares.hpp>
#include <mproc/detail/pool_core.hpp>

#include <memory>
#include <string>
#include <system_error>
#include <utility>

namespace mproc::detail {

// Forwards the outcome to the job's own sink, then drops the job's shares.
class SharesSink final : public JobSink {
 public:
  SharesSink(std::shared_ptr<JobSink> sink, std::shared_ptr<DescriptorShares> shares) noexcept
      : sink_(std::move(sink)), shares_(std::move(shares)) {}
  void on_items(const char* data, size_t size, uint32_t count) noexcept override {
    sink_->on_items(data, size, count);
    shares_.reset();
  }
  void on_failure(std::error_code code, const std::string& message) noexcept override {
    sink_->on_failure(code, message);
    shares_.reset();
  }

 private:
  std::shared_ptr<JobSink> sink_;
  std::shared_ptr<DescriptorShares> shares_;
};

// `sink`, or, when the job shared descriptors, a sink that also holds them.
inline std::shared_ptr<JobSink> bind_shares(std::shared_ptr<JobSink> sink,
                                            std::shared_ptr<DescriptorShares> shares) {
  if (!shares) return sink;
  return std::make_shared<SharesSink>(std::move(sink), std::move(shares));
}

}  // namespace mproc::detail
