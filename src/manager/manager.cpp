// Manager and Namespace: a registry of named containers (itself a dict segment, name -> "kind:
// handle") and the objects a Manager owns.
#include <mproc/manager.hpp>

#include <mutex>
#include <unistd.h>

#include "manager/store.hpp"
#include "shm/segment.hpp"

namespace mproc {

using detail::manager::Kind;
using detail::manager::Store;

Namespace::Namespace() : dict_(Store::create(Kind::names)) {}

Namespace Namespace::attach(std::string_view handle) {
  return Namespace(BytesDict(Store::attach(handle, Kind::names)));
}

void Namespace::set_bytes(std::string_view attribute, std::string_view value) {
  dict_.set(attribute, value);
}

std::string Namespace::get_bytes(std::string_view attribute) const {
  auto value = dict_.get(attribute);
  if (!value) missing(attribute);
  return std::move(*value);
}

void Namespace::missing(std::string_view attribute) {
  throw Error(std::make_error_code(std::errc::no_such_file_or_directory),
              "Namespace: no attribute \"" + std::string(attribute) + "\"");
}

struct Manager::Impl {
  BytesDict registry;
  std::string name;     // the registry's handle
  pid_t owner_pid = 0;  // 0 for an attached Manager
  mutable std::mutex mutex;
  struct Owned {
    std::string handle;
    pid_t maker = 0;  // the process that made it: only there does shutdown() remove its name
    std::shared_ptr<void> object;
  };
  std::vector<Owned> owned;  // guarded by mutex
  bool shut = false;                         // guarded by mutex
  std::optional<Seconds> timeout;            // given to the containers it returns; guarded by mutex
};

namespace {

// A registry entry: "<kind>:<handle>".
std::string entry(const char* kind, const std::string& handle) {
  return std::string(kind) + ":" + handle;
}

std::string handle_in(const std::string& value, const char* kind, std::string_view name) {
  const auto colon = value.find(':');
  const std::string_view found = std::string_view(value).substr(0, colon);
  if (colon == std::string::npos || found != kind)
    throw Error(errc::bad_handle, "Manager: \"" + std::string(name) + "\" is a " +
                                      std::string(found) + ", not a " + kind);
  return value.substr(colon + 1);
}

// `container` with the timeout Manager::set_timeout gave (read under the manager's lock).
template <class Container, class ManagerImpl>
Container with_timeout(Container container, ManagerImpl& i) {
  std::unique_lock lock(i.mutex);
  const std::optional<Seconds> timeout = i.timeout;
  lock.unlock();
  container.set_timeout(timeout);
  return container;
}

}  // namespace

Manager::Manager() : impl_(std::make_unique<Impl>()) {
  impl_->registry = BytesDict(Store::create(Kind::registry));
  impl_->name = impl_->registry.handle();
  impl_->owner_pid = ::getpid();
  // Attached Managers keep the registry's name after this object goes (see release()).
  detail::shm::share_name_with_users(impl_->name);
}

Manager::Manager(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}

Manager Manager::attach(std::string_view name) {
  auto impl = std::make_unique<Impl>();
  impl->registry = BytesDict(Store::attach(name, Kind::registry));
  impl->name = impl->registry.handle();
  return Manager(std::move(impl));
}

Manager::Manager(Manager&&) noexcept = default;
Manager& Manager::operator=(Manager&& other) noexcept {
  if (this != &other) {
    release();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

Manager::~Manager() { release(); }

void Manager::release() noexcept {
  if (!impl_) return;
  std::vector<Impl::Owned> owned;
  {
    std::lock_guard lock(impl_->mutex);
    owned.swap(impl_->owned);
  }
  owned.clear();  // each object drops its reference: the last holder anywhere removes the name
  impl_->registry.close();
}

Manager::Impl& Manager::impl() const {
  if (!impl_) throw Error(errc::closed, "Manager: moved from");
  return *impl_;
}

const std::string& Manager::name() const { return impl().name; }

bool Manager::owner() const noexcept { return impl_ && impl_->owner_pid == ::getpid(); }

std::optional<std::string> Manager::lookup(const char* kind, std::string_view name) const {
  Impl& i = impl();
  {
    std::lock_guard lock(i.mutex);
    if (i.shut) throw Error(errc::closed, "Manager: it was shut down");
  }
  auto value = i.registry.get(name);
  if (value) return handle_in(*value, kind, name);
  if (!owner())
    throw Error(std::make_error_code(std::errc::no_such_file_or_directory),
                "Manager: no " + std::string(kind) + " named \"" + std::string(name) +
                    "\" (only the Manager that created the registry creates names)");
  return std::nullopt;
}

std::string Manager::keep(const char* kind, std::string_view name, const std::string& handle,
                          std::shared_ptr<void> object) {
  Impl& i = impl();
  std::lock_guard lock(i.mutex);
  if (i.shut) throw Error(errc::closed, "Manager: it was shut down");
  if (!name.empty()) {
    const std::string mine = entry(kind, handle);
    const std::string winner = i.registry.setdefault(name, mine);
    // Another thread registered the name first: use its object; ours goes with `object`.
    if (winner != mine) return handle_in(winner, kind, name);
  }
  // From now on the object's name lives while any process holds it, not while this Manager does:
  // Manager().Queue() stays usable in the hands of the returned object and its attachers.
  detail::shm::share_name_with_users(handle);
  i.owned.push_back({handle, ::getpid(), std::move(object)});
  return handle;
}

BytesDict Manager::bytes_dict(std::string_view name) { return bytes_dict(name, nullptr, nullptr); }

BytesList Manager::bytes_list(std::string_view name) { return bytes_list(name, nullptr, nullptr); }

BytesDict Manager::bytes_dict(std::string_view name, FillDict fill, const void* init) {
  return with_timeout(adopt<BytesDict>("dict", name,
                                       [&] {
                                         BytesDict made;
                                         if (fill != nullptr) fill(made, init);
                                         return made;
                                       }),
                      impl());
}

BytesList Manager::bytes_list(std::string_view name, FillList fill, const void* init) {
  return with_timeout(adopt<BytesList>("list", name,
                                       [&] {
                                         BytesList made;
                                         if (fill != nullptr) fill(made, init);
                                         return made;
                                       }),
                      impl());
}

mproc::Namespace Manager::Namespace(std::string_view name) {
  return with_timeout(
      adopt<mproc::Namespace>("namespace", name, [] { return mproc::Namespace(); }), impl());
}

void Manager::set_timeout(std::optional<Seconds> timeout) {
  Impl& i = impl();
  i.registry.set_timeout(timeout);
  std::lock_guard lock(i.mutex);
  i.timeout = timeout;
}

mproc::Queue Manager::Queue(std::size_t maxsize, std::string_view name) {
  return adopt<mproc::Queue>("queue", name, [maxsize] { return mproc::Queue(maxsize); });
}

std::vector<std::string> Manager::names() const {
  Impl& i = impl();
  {
    std::lock_guard lock(i.mutex);
    if (i.shut) throw Error(errc::closed, "Manager: it was shut down");
  }
  return i.registry.keys();
}

void Manager::shutdown() {
  Impl& i = impl();
  std::vector<Impl::Owned> owned;
  {
    std::lock_guard lock(i.mutex);
    if (i.shut) return;
    i.shut = true;
    owned.swap(i.owned);
  }
  // Python's shutdown(): the names go now, held or not (their mappings stay valid).
  for (const auto& o : owned)
    if (o.maker == ::getpid()) detail::shm::remove_segment_name(o.handle);
  owned.clear();
  if (owner()) detail::shm::remove_segment_name(i.name);
  i.registry.close();
}

}  // namespace mproc
