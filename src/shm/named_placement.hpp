// Shared state in a named segment: the SharedPlacement (include/mproc/sync_placement.hpp) behind
// the `attachable` synchronisation objects and behind Value / Array. The segment's name is the
// object's handle; the keepalive owns the Segment, so the memory stays mapped while any handle in
// this process refers to it, and the name follows Segment's unlink_with_creator rule (it goes when
// the creating process drops its last handle, or dies).
#pragma once

#include <mproc/sync_placement.hpp>

#include <cstddef>
#include <functional>
#include <string_view>

#include "shm/segment.hpp"

namespace mproc::detail::shm {

// The kind of segment that holds one synchronisation object (its own header says which).
inline constexpr SegmentKind kSyncSegment{0x53594e43u /* "SYNC" */, 1, "synchronisation object"};

// A new segment of `kind` with `size` bytes of zeroed payload, 64-byte aligned; construct = true.
// `before_unmap` (may be empty) runs on the payload before this process unmaps it.
// Errors: as Segment::create.
SharedPlacement create_named_placement(std::size_t size, SegmentKind kind,
                                       std::function<void(void*)> before_unmap = {});

// Attaches the segment named `handle`, which must be of `kind` with at least `size` bytes of
// payload; construct = false. `type` names the object in messages ("Lock").
// Errors: as Segment::attach; errc::bad_handle for a payload smaller than `size`.
SharedPlacement attach_named_placement(std::string_view handle, std::size_t size, SegmentKind kind,
                                       const char* type,
                                       std::function<void(void*)> before_unmap = {});

// The payload size of an attached placement's segment.
std::size_t placement_size(const SharedPlacement& where) noexcept;

}  // namespace mproc::detail::shm
