// The C ABI for synchronisation: translation to mproc::Lock, RLock, Semaphore, BoundedSemaphore,
// Event, Condition and Barrier only.
#include "mproc.h"

#include <mproc/sync.hpp>

#include <chrono>
#include <optional>
#include <string>

#include "capi_support.hpp"

namespace {

using mproc::capi::deref;
using mproc::capi::fail;
using mproc::capi::guard;
using mproc::capi::require;
using mproc::detail::HandleKind;
using mproc::detail::Handles;

// The C handles and the C++ objects behind them. A semaphore handle holds a Semaphore whether it
// is bounded or not (a BoundedSemaphore is a Semaphore whose state knows its bound).
struct Kinds {
  using Lock = Handles<mproc::Lock, HandleKind::lock>;
  using RLock = Handles<mproc::RLock, HandleKind::rlock>;
  using Semaphore = Handles<mproc::Semaphore, HandleKind::semaphore>;
  using Event = Handles<mproc::Event, HandleKind::event>;
  using Condition = Handles<mproc::Condition, HandleKind::condition>;
  using Barrier = Handles<mproc::Barrier, HandleKind::barrier>;
};

std::optional<mproc::Seconds> timeout_of(std::int64_t timeout_ms, const char* function) {
  mproc::capi::check_timeout_ms(timeout_ms, function);
  if (timeout_ms == mproc::capi::kWaitForever) return std::nullopt;
  return std::chrono::milliseconds(timeout_ms);
}

int timed_out(const char* function, std::int64_t timeout_ms) {
  return fail(MPROC_ETIMEDOUT,
              std::string(function) + ": not within " + std::to_string(timeout_ms) + " ms");
}

template <class CHandle, class Table, class Object>
int create(CHandle** out, const char* function, Object&& make) {
  return guard(function, [&] {
    require(out, function, "out");
    *out = reinterpret_cast<CHandle*>(Table::insert(make()));
    return 0;
  });
}

template <class Table, class CHandle>
int destroy(CHandle* handle, const char* function, const char* type) {
  if (handle == nullptr) return 0;
  return guard(function, [&] {
    if (!Table::remove(reinterpret_cast<std::uintptr_t>(handle)))
      throw mproc::Error(mproc::errc::bad_handle, std::string(function) + ": not a live " + type);
    return 0;
  });
}

// Lock, RLock and a condition's lock: 0, MPROC_EOWNERDEAD (held) or MPROC_ETIMEDOUT.
template <class L>
int acquire(L& lock, std::int64_t timeout_ms, const char* function) {
  const auto timeout = timeout_of(timeout_ms, function);
  // A nested acquisition of an RLock is not the one that recovered it: report 0.
  const bool nested = lock.is_mine();
  // timeout_ms 0 only tries, so that a Lock the caller holds gives ETIMEDOUT rather than EDEADLK.
  if (!lock.acquire(timeout_ms != 0, timeout)) return timed_out(function, timeout_ms);
  if (!nested && lock.owner_died())
    return fail(MPROC_EOWNERDEAD, std::string(function) +
                                      ": the previous holder died; the lock was recovered and "
                                      "is held by the caller");
  return 0;
}

template <class Object, HandleKind Kind, class CHandle>
Object& object_of(CHandle* handle, const char* function, const char* type) {
  return deref<Object, Kind>(handle, function, type);
}

mproc::Lock& lock_of(mproc_lock_t* h, const char* f) {
  return object_of<mproc::Lock, HandleKind::lock>(h, f, "mproc_lock_t");
}
mproc::RLock& rlock_of(mproc_rlock_t* h, const char* f) {
  return object_of<mproc::RLock, HandleKind::rlock>(h, f, "mproc_rlock_t");
}
mproc::Semaphore& semaphore_of(mproc_semaphore_t* h, const char* f) {
  return object_of<mproc::Semaphore, HandleKind::semaphore>(h, f, "mproc_semaphore_t");
}
mproc::Event& event_of(mproc_event_t* h, const char* f) {
  return object_of<mproc::Event, HandleKind::event>(h, f, "mproc_event_t");
}
mproc::Condition& condition_of(mproc_condition_t* h, const char* f) {
  return object_of<mproc::Condition, HandleKind::condition>(h, f, "mproc_condition_t");
}
mproc::Barrier& barrier_of(mproc_barrier_t* h, const char* f) {
  return object_of<mproc::Barrier, HandleKind::barrier>(h, f, "mproc_barrier_t");
}

}  // namespace

extern "C" {

// ---- Lock

int mproc_lock_create(mproc_lock_t** out) {
  return create<mproc_lock_t, Kinds::Lock>(out, "mproc_lock_create",
                                           [] { return std::make_unique<mproc::Lock>(); });
}

int mproc_lock_acquire(mproc_lock_t* lock, int64_t timeout_ms) {
  return guard("mproc_lock_acquire", [&] {
    return acquire(lock_of(lock, "mproc_lock_acquire"), timeout_ms, "mproc_lock_acquire");
  });
}

int mproc_lock_release(mproc_lock_t* lock) {
  return guard("mproc_lock_release", [&] {
    lock_of(lock, "mproc_lock_release").release();
    return 0;
  });
}

int mproc_lock_destroy(mproc_lock_t* lock) {
  return destroy<Kinds::Lock>(lock, "mproc_lock_destroy", "mproc_lock_t");
}

// ---- RLock

int mproc_rlock_create(mproc_rlock_t** out) {
  return create<mproc_rlock_t, Kinds::RLock>(out, "mproc_rlock_create",
                                             [] { return std::make_unique<mproc::RLock>(); });
}

int mproc_rlock_acquire(mproc_rlock_t* rlock, int64_t timeout_ms) {
  return guard("mproc_rlock_acquire", [&] {
    return acquire(rlock_of(rlock, "mproc_rlock_acquire"), timeout_ms, "mproc_rlock_acquire");
  });
}

int mproc_rlock_release(mproc_rlock_t* rlock) {
  return guard("mproc_rlock_release", [&] {
    rlock_of(rlock, "mproc_rlock_release").release();
    return 0;
  });
}

int mproc_rlock_destroy(mproc_rlock_t* rlock) {
  return destroy<Kinds::RLock>(rlock, "mproc_rlock_destroy", "mproc_rlock_t");
}

// ---- Semaphore

int mproc_semaphore_create(int value, int bounded, mproc_semaphore_t** out) {
  return create<mproc_semaphore_t, Kinds::Semaphore>(
      out, "mproc_semaphore_create", [&]() -> std::unique_ptr<mproc::Semaphore> {
        if (bounded) return std::make_unique<mproc::BoundedSemaphore>(value);
        return std::make_unique<mproc::Semaphore>(value);
      });
}

int mproc_semaphore_acquire(mproc_semaphore_t* semaphore, int64_t timeout_ms) {
  return guard("mproc_semaphore_acquire", [&] {
    auto& s = semaphore_of(semaphore, "mproc_semaphore_acquire");
    if (!s.acquire(true, timeout_of(timeout_ms, "mproc_semaphore_acquire")))
      return timed_out("mproc_semaphore_acquire", timeout_ms);
    return 0;
  });
}

int mproc_semaphore_release(mproc_semaphore_t* semaphore) {
  return guard("mproc_semaphore_release", [&] {
    semaphore_of(semaphore, "mproc_semaphore_release").release();
    return 0;
  });
}

int mproc_semaphore_value(mproc_semaphore_t* semaphore) {
  return guard("mproc_semaphore_value", [&] { return semaphore_of(semaphore, "mproc_semaphore_value").get_value(); });
}

int mproc_semaphore_destroy(mproc_semaphore_t* semaphore) {
  return destroy<Kinds::Semaphore>(semaphore, "mproc_semaphore_destroy", "mproc_semaphore_t");
}

// ---- Event

int mproc_event_create(mproc_event_t** out) {
  return create<mproc_event_t, Kinds::Event>(out, "mproc_event_create",
                                             [] { return std::make_unique<mproc::Event>(); });
}

int mproc_event_set(mproc_event_t* event) {
  return guard("mproc_event_set", [&] {
    event_of(event, "mproc_event_set").set();
    return 0;
  });
}

int mproc_event_clear(mproc_event_t* event) {
  return guard("mproc_event_clear", [&] {
    event_of(event, "mproc_event_clear").clear();
    return 0;
  });
}

int mproc_event_is_set(mproc_event_t* event) {
  return guard("mproc_event_is_set", [&] { return event_of(event, "mproc_event_is_set").is_set() ? 1 : 0; });
}

int mproc_event_wait(mproc_event_t* event, int64_t timeout_ms) {
  return guard("mproc_event_wait", [&] {
    auto& e = event_of(event, "mproc_event_wait");
    if (!e.wait(timeout_of(timeout_ms, "mproc_event_wait")))
      return timed_out("mproc_event_wait", timeout_ms);
    return 0;
  });
}

int mproc_event_destroy(mproc_event_t* event) {
  return destroy<Kinds::Event>(event, "mproc_event_destroy", "mproc_event_t");
}

// ---- Condition

int mproc_condition_create(mproc_condition_t** out) {
  return create<mproc_condition_t, Kinds::Condition>(
      out, "mproc_condition_create", [] { return std::make_unique<mproc::Condition>(); });
}

int mproc_condition_create_with_lock(mproc_lock_t* lock, mproc_condition_t** out) {
  return create<mproc_condition_t, Kinds::Condition>(out, "mproc_condition_create_with_lock", [&] {
    return std::make_unique<mproc::Condition>(lock_of(lock, "mproc_condition_create_with_lock"));
  });
}

int mproc_condition_create_with_rlock(mproc_rlock_t* rlock, mproc_condition_t** out) {
  return create<mproc_condition_t, Kinds::Condition>(out, "mproc_condition_create_with_rlock", [&] {
    return std::make_unique<mproc::Condition>(rlock_of(rlock, "mproc_condition_create_with_rlock"));
  });
}

int mproc_condition_acquire(mproc_condition_t* condition, int64_t timeout_ms) {
  return guard("mproc_condition_acquire", [&] {
    auto& c = condition_of(condition, "mproc_condition_acquire");
    return acquire(c, timeout_ms, "mproc_condition_acquire");
  });
}

int mproc_condition_release(mproc_condition_t* condition) {
  return guard("mproc_condition_release", [&] {
    condition_of(condition, "mproc_condition_release").release();
    return 0;
  });
}

int mproc_condition_wait(mproc_condition_t* condition, int64_t timeout_ms) {
  return guard("mproc_condition_wait", [&] {
    auto& c = condition_of(condition, "mproc_condition_wait");
    const bool notified = c.wait(timeout_of(timeout_ms, "mproc_condition_wait"));
    if (c.owner_died())
      return fail(MPROC_EOWNERDEAD,
                  "mproc_condition_wait: the lock's holder died; the lock was "
                  "recovered and is held by the caller");
    return notified ? 0 : timed_out("mproc_condition_wait", timeout_ms);
  });
}

int mproc_condition_wait_for(mproc_condition_t* condition, mproc_predicate_fn predicate,
                             void* user_data, int64_t timeout_ms) {
  return guard("mproc_condition_wait_for", [&] {
    auto& c = condition_of(condition, "mproc_condition_wait_for");
    require(reinterpret_cast<const void*>(predicate), "mproc_condition_wait_for", "predicate");
    if (!c.wait_for([&] { return predicate(user_data) != 0; },
                    timeout_of(timeout_ms, "mproc_condition_wait_for")))
      return timed_out("mproc_condition_wait_for", timeout_ms);
    return 0;
  });
}

int mproc_condition_notify(mproc_condition_t* condition, int n) {
  return guard("mproc_condition_notify", [&] {
    condition_of(condition, "mproc_condition_notify").notify(n);
    return 0;
  });
}

int mproc_condition_notify_all(mproc_condition_t* condition) {
  return guard("mproc_condition_notify_all", [&] {
    condition_of(condition, "mproc_condition_notify_all").notify_all();
    return 0;
  });
}

int mproc_condition_destroy(mproc_condition_t* condition) {
  return destroy<Kinds::Condition>(condition, "mproc_condition_destroy", "mproc_condition_t");
}

// ---- Barrier

int mproc_barrier_create(int parties, mproc_barrier_action_fn action, void* user_data,
                         int64_t timeout_ms, mproc_barrier_t** out) {
  return create<mproc_barrier_t, Kinds::Barrier>(out, "mproc_barrier_create", [&] {
    std::function<void()> run;
    if (action != nullptr) run = [action, user_data] { action(user_data); };
    return std::make_unique<mproc::Barrier>(parties, std::move(run),
                                            timeout_of(timeout_ms, "mproc_barrier_create"));
  });
}

int mproc_barrier_wait(mproc_barrier_t* barrier, int64_t timeout_ms) {
  return guard("mproc_barrier_wait", [&] {
    auto& b = barrier_of(barrier, "mproc_barrier_wait");
    return b.wait(timeout_of(timeout_ms, "mproc_barrier_wait"));
  });
}

int mproc_barrier_abort(mproc_barrier_t* barrier) {
  return guard("mproc_barrier_abort", [&] {
    barrier_of(barrier, "mproc_barrier_abort").abort();
    return 0;
  });
}

int mproc_barrier_reset(mproc_barrier_t* barrier) {
  return guard("mproc_barrier_reset", [&] {
    barrier_of(barrier, "mproc_barrier_reset").reset();
    return 0;
  });
}

int mproc_barrier_parties(mproc_barrier_t* barrier) {
  return guard("mproc_barrier_parties", [&] { return barrier_of(barrier, "mproc_barrier_parties").parties(); });
}

int mproc_barrier_n_waiting(mproc_barrier_t* barrier) {
  return guard("mproc_barrier_n_waiting", [&] { return barrier_of(barrier, "mproc_barrier_n_waiting").n_waiting(); });
}

int mproc_barrier_broken(mproc_barrier_t* barrier) {
  return guard("mproc_barrier_broken", [&] { return barrier_of(barrier, "mproc_barrier_broken").broken() ? 1 : 0; });
}

int mproc_barrier_destroy(mproc_barrier_t* barrier) {
  return destroy<Kinds::Barrier>(barrier, "mproc_barrier_destroy", "mproc_barrier_t");
}

}  // extern "C"

// ---- Attachable objects: create in a named segment, handle, attach (see the header's section)

namespace {

template <class Object, class Table, class CHandle>
int attach_as(const char* handle, CHandle** out, const char* function) {
  return guard(function, [&] {
    require(handle, function, "handle");
    require(out, function, "out");
    *out = reinterpret_cast<CHandle*>(Table::insert(std::make_unique<Object>(Object::attach(handle))));
    return 0;
  });
}

}  // namespace

extern "C" {

int mproc_lock_create_attachable(mproc_lock_t** out) {
  return create<mproc_lock_t, Kinds::Lock>(out, "mproc_lock_create_attachable", [] {
    return std::make_unique<mproc::Lock>(mproc::attachable);
  });
}
int mproc_lock_attach(const char* handle, mproc_lock_t** out) {
  return attach_as<mproc::Lock, Kinds::Lock>(handle, out, "mproc_lock_attach");
}
int mproc_lock_handle(mproc_lock_t* lock, char* buf, size_t len) {
  return guard("mproc_lock_handle", [&] {
    return mproc::capi::copy_out(lock_of(lock, "mproc_lock_handle").handle(), buf, len,
                                 "mproc_lock_handle");
  });
}

int mproc_rlock_create_attachable(mproc_rlock_t** out) {
  return create<mproc_rlock_t, Kinds::RLock>(out, "mproc_rlock_create_attachable", [] {
    return std::make_unique<mproc::RLock>(mproc::attachable);
  });
}
int mproc_rlock_attach(const char* handle, mproc_rlock_t** out) {
  return attach_as<mproc::RLock, Kinds::RLock>(handle, out, "mproc_rlock_attach");
}
int mproc_rlock_handle(mproc_rlock_t* rlock, char* buf, size_t len) {
  return guard("mproc_rlock_handle", [&] {
    return mproc::capi::copy_out(rlock_of(rlock, "mproc_rlock_handle").handle(), buf, len,
                                 "mproc_rlock_handle");
  });
}

int mproc_semaphore_create_attachable(int value, int bounded, mproc_semaphore_t** out) {
  return create<mproc_semaphore_t, Kinds::Semaphore>(
      out, "mproc_semaphore_create_attachable", [&]() -> std::unique_ptr<mproc::Semaphore> {
        if (bounded) return std::make_unique<mproc::BoundedSemaphore>(mproc::attachable, value);
        return std::make_unique<mproc::Semaphore>(mproc::attachable, value);
      });
}
int mproc_semaphore_attach(const char* handle, mproc_semaphore_t** out) {
  return attach_as<mproc::Semaphore, Kinds::Semaphore>(handle, out, "mproc_semaphore_attach");
}
int mproc_semaphore_handle(mproc_semaphore_t* semaphore, char* buf, size_t len) {
  return guard("mproc_semaphore_handle", [&] {
    return mproc::capi::copy_out(semaphore_of(semaphore, "mproc_semaphore_handle").handle(), buf,
                                 len, "mproc_semaphore_handle");
  });
}

int mproc_event_create_attachable(mproc_event_t** out) {
  return create<mproc_event_t, Kinds::Event>(out, "mproc_event_create_attachable", [] {
    return std::make_unique<mproc::Event>(mproc::attachable);
  });
}
int mproc_event_attach(const char* handle, mproc_event_t** out) {
  return attach_as<mproc::Event, Kinds::Event>(handle, out, "mproc_event_attach");
}
int mproc_event_handle(mproc_event_t* event, char* buf, size_t len) {
  return guard("mproc_event_handle", [&] {
    return mproc::capi::copy_out(event_of(event, "mproc_event_handle").handle(), buf, len,
                                 "mproc_event_handle");
  });
}

int mproc_condition_create_attachable(mproc_condition_t** out) {
  return create<mproc_condition_t, Kinds::Condition>(out, "mproc_condition_create_attachable", [] {
    return std::make_unique<mproc::Condition>(mproc::attachable);
  });
}
int mproc_condition_attach(const char* handle, mproc_condition_t** out) {
  return attach_as<mproc::Condition, Kinds::Condition>(handle, out, "mproc_condition_attach");
}
int mproc_condition_handle(mproc_condition_t* condition, char* buf, size_t len) {
  return guard("mproc_condition_handle", [&] {
    return mproc::capi::copy_out(condition_of(condition, "mproc_condition_handle").handle(), buf,
                                 len, "mproc_condition_handle");
  });
}

int mproc_barrier_create_attachable(int parties, mproc_barrier_action_fn action, void* user_data,
                                    int64_t timeout_ms, mproc_barrier_t** out) {
  return create<mproc_barrier_t, Kinds::Barrier>(out, "mproc_barrier_create_attachable", [&] {
    std::function<void()> run;
    if (action != nullptr) run = [action, user_data] { action(user_data); };
    return std::make_unique<mproc::Barrier>(
        mproc::attachable, parties, std::move(run),
        timeout_of(timeout_ms, "mproc_barrier_create_attachable"));
  });
}
int mproc_barrier_attach(const char* handle, mproc_barrier_action_fn action, void* user_data,
                         int64_t timeout_ms, mproc_barrier_t** out) {
  return guard("mproc_barrier_attach", [&] {
    constexpr const char* fn = "mproc_barrier_attach";
    require(handle, fn, "handle");
    require(out, fn, "out");
    std::function<void()> run;
    if (action != nullptr) run = [action, user_data] { action(user_data); };
    *out = reinterpret_cast<mproc_barrier_t*>(Kinds::Barrier::insert(std::make_unique<mproc::Barrier>(
        mproc::Barrier::attach(handle, std::move(run), timeout_of(timeout_ms, fn)))));
    return 0;
  });
}
int mproc_barrier_handle(mproc_barrier_t* barrier, char* buf, size_t len) {
  return guard("mproc_barrier_handle", [&] {
    return mproc::capi::copy_out(barrier_of(barrier, "mproc_barrier_handle").handle(), buf, len,
                                 "mproc_barrier_handle");
  });
}

}  // extern "C"
