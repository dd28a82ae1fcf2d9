// Descriptors that travel inside task bytes (a Connection as a Pool task argument): the encoding
// registers the descriptor with this process's resource sharer (src/transport/resource_sharer)
// and writes where to collect it; the worker that decodes it connects to the sharer and receives
// the descriptor by SCM_RIGHTS. A share is bounded by the job it travels in: TaskWriter collects
// the shares made while it encodes into one DescriptorShares, and the job's sink drops them when
// the job ends (result, failure, cancel, terminate) — see <mproc/detail/job_shares.hpp>.
// Encoding such a value outside a task (a Queue message, Connection::send) has no job to bound the
// share, and is refused with errc::bad_state.
// Shipped with the headers because the templates of <mproc/pool.hpp> use it; not API.
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/export.h>

#include <memory>

namespace mproc::detail {

// True for a type whose encoding shares a descriptor (specialised next to the type: Connection).
template <class T>
inline constexpr bool shares_descriptors = false;

// The descriptors shared for one job; destroying it withdraws them from the sharer (a worker that
// asks later is told the share is gone). Opaque; made by ShareActivation.
// Thread-safety: destroyed by any one thread.
class DescriptorShares;

// While it lives, encodings on this thread register their shares into `*shares` (made on first
// use). Nestable; restores the previous activation when it ends.
// Thread-safety: affects the calling thread only.
class MPROC_API ShareActivation {
 public:
  explicit ShareActivation(std::shared_ptr<DescriptorShares>& shares) noexcept;
  ~ShareActivation();
  ShareActivation(const ShareActivation&) = delete;
  ShareActivation& operator=(const ShareActivation&) = delete;

 private:
  std::shared_ptr<DescriptorShares>* previous_;
};

}  // namespace mproc::detail
