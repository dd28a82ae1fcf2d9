#include "shm/named_placement.hpp"

#include <mproc/error.hpp>

#include <memory>
#include <string>

namespace mproc::detail::shm {
namespace {

SharedPlacement placement_of(Segment segment, bool construct,
                             std::function<void(void*)> before_unmap) {
  auto owned = std::make_unique<Segment>(std::move(segment));
  void* payload = owned->payload();
  std::string name = owned->name();
  // The deleter runs where the last handle of this process goes; in a forked child the copy of
  // the Segment holds no reference, so its close() only unmaps.
  std::shared_ptr<Segment> keep(owned.release(), [before_unmap = std::move(before_unmap)](
                                                     Segment* s) {
    if (before_unmap && s->is_open()) before_unmap(s->payload());
    delete s;
  });
  return SharedPlacement{payload, std::shared_ptr<void>(keep, keep.get()), construct,
                         std::move(name)};
}

}  // namespace

SharedPlacement create_named_placement(std::size_t size, SegmentKind kind,
                                       std::function<void(void*)> before_unmap) {
  return placement_of(Segment::create(size, kind, nullptr, nullptr), true,
                      std::move(before_unmap));
}

SharedPlacement attach_named_placement(std::string_view handle, std::size_t size, SegmentKind kind,
                                       const char* type, std::function<void(void*)> before_unmap) {
  Segment segment = Segment::attach(handle, kind);
  if (segment.payload_size() < size)
    throw Error(errc::bad_handle, std::string(type) + "::attach: " + std::string(handle) +
                                      " is too small to hold a " + type);
  return placement_of(std::move(segment), false, std::move(before_unmap));
}

std::size_t placement_size(const SharedPlacement& where) noexcept {
  return where.keepalive && !where.name.empty()
             ? static_cast<const Segment*>(where.keepalive.get())->payload_size()
             : 0;
}

}  // namespace mproc::detail::shm
