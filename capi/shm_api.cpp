// The C ABI for shared memory: translation to mproc::SharedMemory and to the bytes-based core of
// Value / Array (detail::SharedBlock) only.
#include "mproc.h"

#include <mproc/shared_ctypes.hpp>
#include <mproc/shared_memory.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "capi_support.hpp"
#include "shm_support.hpp"

namespace {

using mproc::Error;
using mproc::capi::deref;
using mproc::capi::fail;
using mproc::capi::guard;
using mproc::capi::require;
using mproc::detail::HandleKind;
using mproc::detail::Handles;
using mproc::detail::SharedBlock;

using ShmTable = Handles<mproc::SharedMemory, HandleKind::shared_memory>;
using ArrayTable = Handles<SharedBlock, HandleKind::array>;

Error invalid(const char* function, const std::string& what) {
  return Error(std::make_error_code(std::errc::invalid_argument), std::string(function) + ": " + what);
}

mproc::SharedMemory& shm_of(mproc_shm_t* h, const char* f) {
  return deref<mproc::SharedMemory, HandleKind::shared_memory>(h, f, "mproc_shm_t");
}
SharedBlock& array_of(mproc_array_t* h, const char* f) {
  return deref<SharedBlock, HandleKind::array>(h, f, "mproc_array_t");
}

template <class Table, class CHandle>
int destroy(CHandle* handle, const char* function, const char* type) {
  if (handle == nullptr) return 0;
  return guard(function, [&] {
    if (!Table::remove(reinterpret_cast<std::uintptr_t>(handle)))
      throw Error(mproc::errc::bad_handle, std::string(function) + ": not a live " + type);
    return 0;
  });
}

// The natural alignment of an element of `size` bytes: its largest power-of-two divisor, up to 16.
std::size_t default_alignment(std::size_t size) {
  std::size_t align = 1;
  while (align < 16 && size % (align * 2) == 0) align *= 2;
  return align;
}

}  // namespace

namespace mproc::capi {

SharedBlock new_array_block(std::size_t element_size, std::size_t element_align, std::size_t count,
                            int flags, const char* fn) {
  if ((flags & ~MPROC_ARRAY_LOCK) != 0) throw invalid(fn, "unknown flags");
  if (element_size == 0) throw invalid(fn, "element_size must be positive");
  const std::size_t align = element_align == 0 ? default_alignment(element_size) : element_align;
  return SharedBlock(element_size, align, count, (flags & MPROC_ARRAY_LOCK) != 0, true);
}

}  // namespace mproc::capi

extern "C" {

// ---- SharedMemory

int mproc_shm_create(const char* name, int64_t size, mproc_shm_t** out) {
  return guard("mproc_shm_create", [&] {
    constexpr const char* fn = "mproc_shm_create";
    require(out, fn, "out");
    if (size <= 0) throw invalid(fn, "size must be positive, not " + std::to_string(size));
    auto shm = std::make_unique<mproc::SharedMemory>(mproc::SharedMemory::create(
        static_cast<std::size_t>(size), name == nullptr ? std::string_view{} : name));
    *out = reinterpret_cast<mproc_shm_t*>(ShmTable::insert(std::move(shm)));
    return 0;
  });
}

int mproc_shm_attach(const char* name, mproc_shm_t** out) {
  return guard("mproc_shm_attach", [&] {
    constexpr const char* fn = "mproc_shm_attach";
    require(name, fn, "name");
    require(out, fn, "out");
    auto shm = std::make_unique<mproc::SharedMemory>(mproc::SharedMemory::attach(name));
    *out = reinterpret_cast<mproc_shm_t*>(ShmTable::insert(std::move(shm)));
    return 0;
  });
}

int mproc_shm_buf(mproc_shm_t* shm, void** out) {
  return guard("mproc_shm_buf", [&] {
    auto& s = shm_of(shm, "mproc_shm_buf");
    require(out, "mproc_shm_buf", "out");
    *out = s.buf();
    return 0;
  });
}

int mproc_shm_size(mproc_shm_t* shm, size_t* out) {
  return guard("mproc_shm_size", [&] {
    auto& s = shm_of(shm, "mproc_shm_size");
    require(out, "mproc_shm_size", "out");
    *out = s.size();
    return 0;
  });
}

int mproc_shm_name(mproc_shm_t* shm, char* buf, size_t len) {
  return guard("mproc_shm_name", [&] {
    return mproc::capi::copy_out(shm_of(shm, "mproc_shm_name").name(), buf, len,
                                 "mproc_shm_name");
  });
}

int mproc_shm_close(mproc_shm_t* shm) {
  return guard("mproc_shm_close", [&] {
    shm_of(shm, "mproc_shm_close").close();
    return 0;
  });
}

int mproc_shm_unlink(mproc_shm_t* shm) {
  return guard("mproc_shm_unlink", [&] {
    shm_of(shm, "mproc_shm_unlink").unlink();
    return 0;
  });
}

int mproc_shm_destroy(mproc_shm_t* shm) {
  return destroy<ShmTable>(shm, "mproc_shm_destroy", "mproc_shm_t");
}

// ---- Value / Array

int mproc_array_create(size_t element_size, size_t element_align, size_t count, int flags,
                       mproc_array_t** out) {
  return guard("mproc_array_create", [&] {
    constexpr const char* fn = "mproc_array_create";
    require(out, fn, "out");
    auto block = std::make_unique<SharedBlock>(
        mproc::capi::new_array_block(element_size, element_align, count, flags, fn));
    *out = reinterpret_cast<mproc_array_t*>(ArrayTable::insert(std::move(block)));
    return 0;
  });
}

int mproc_array_attach(const char* handle, mproc_array_t** out) {
  return guard("mproc_array_attach", [&] {
    require(handle, "mproc_array_attach", "handle");
    require(out, "mproc_array_attach", "out");
    auto block = std::make_unique<SharedBlock>(SharedBlock::attach(handle));
    *out = reinterpret_cast<mproc_array_t*>(ArrayTable::insert(std::move(block)));
    return 0;
  });
}

int mproc_array_handle(mproc_array_t* array, char* buf, size_t len) {
  return guard("mproc_array_handle", [&] {
    return mproc::capi::copy_out(array_of(array, "mproc_array_handle").handle(), buf, len,
                                 "mproc_array_handle");
  });
}

int mproc_array_element_size(mproc_array_t* array, size_t* out) {
  return guard("mproc_array_element_size", [&] {
    auto& a = array_of(array, "mproc_array_element_size");
    require(out, "mproc_array_element_size", "out");
    *out = a.element_size();
    return 0;
  });
}

int mproc_array_count(mproc_array_t* array, size_t* out) {
  return guard("mproc_array_count", [&] {
    auto& a = array_of(array, "mproc_array_count");
    require(out, "mproc_array_count", "out");
    *out = a.count();
    return 0;
  });
}

int mproc_array_has_lock(mproc_array_t* array) {
  return guard("mproc_array_has_lock",
               [&] { return array_of(array, "mproc_array_has_lock").has_lock() ? 1 : 0; });
}

int mproc_array_get(mproc_array_t* array, size_t index, void* out, size_t size) {
  return guard("mproc_array_get", [&] {
    constexpr const char* fn = "mproc_array_get";
    auto& a = array_of(array, fn);
    require(out, fn, "out");
    if (size != a.element_size())
      throw invalid(fn, "size " + std::to_string(size) + " is not the element size " +
                            std::to_string(a.element_size()));
    a.read(index, out);
    return 0;
  });
}

int mproc_array_set(mproc_array_t* array, size_t index, const void* data, size_t size) {
  return guard("mproc_array_set", [&] {
    constexpr const char* fn = "mproc_array_set";
    auto& a = array_of(array, fn);
    require(data, fn, "data");
    if (size != a.element_size())
      throw invalid(fn, "size " + std::to_string(size) + " is not the element size " +
                            std::to_string(a.element_size()));
    a.write(index, data);
    return 0;
  });
}

int mproc_array_data(mproc_array_t* array, void** out) {
  return guard("mproc_array_data", [&] {
    auto& a = array_of(array, "mproc_array_data");
    require(out, "mproc_array_data", "out");
    *out = a.data();
    return 0;
  });
}

int mproc_array_acquire(mproc_array_t* array, int64_t timeout_ms) {
  return guard("mproc_array_acquire", [&] {
    constexpr const char* fn = "mproc_array_acquire";
    mproc::RLock& lock = array_of(array, fn).get_lock(fn);
    mproc::capi::check_timeout_ms(timeout_ms, fn);
    std::optional<mproc::Seconds> timeout;
    if (timeout_ms != mproc::capi::kWaitForever) timeout = std::chrono::milliseconds(timeout_ms);
    // A nested acquisition is not the one that recovered it: report 0 (as mproc_rlock_acquire).
    const bool nested = lock.is_mine();
    if (!lock.acquire(timeout_ms != 0, timeout))
      return fail(MPROC_ETIMEDOUT, std::string(fn) + ": not within " +
                                       std::to_string(timeout_ms) + " ms");
    if (!nested && lock.owner_died())
      return fail(MPROC_EOWNERDEAD, std::string(fn) +
                                        ": the previous holder died; the lock was recovered and "
                                        "is held by the caller");
    return 0;
  });
}

int mproc_array_release(mproc_array_t* array) {
  return guard("mproc_array_release", [&] {
    array_of(array, "mproc_array_release").get_lock("mproc_array_release").release();
    return 0;
  });
}

int mproc_array_destroy(mproc_array_t* array) {
  return destroy<ArrayTable>(array, "mproc_array_destroy", "mproc_array_t");
}

}  // extern "C"
