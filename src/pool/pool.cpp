#include <mproc/pool.hpp>

namespace mproc {

Pool::Pool(int processes) : Pool(PoolOptions{processes, {}, 0, StartMethod::fork, {}}) {}

Pool::Pool(PoolOptions options) : core_(detail::PoolCore::create(std::move(options))) {}

namespace {

// Terminates (bounded) unless the pool was joined; an imap iterator may still share the core, so
// the core's own destructor may come later.
void finish(std::shared_ptr<detail::PoolCore>& core) noexcept {
  if (!core) return;
  try {
    core->terminate();
  } catch (...) {
    // A forked copy of the pool (bad_state): the parent's business.
  }
  core.reset();
}

}  // namespace

Pool::~Pool() { finish(core_); }
Pool::Pool(Pool&& other) noexcept = default;
Pool& Pool::operator=(Pool&& other) noexcept {
  if (this != &other) {
    finish(core_);
    core_ = std::move(other.core_);
  }
  return *this;
}

detail::PoolCore& Pool::core() const {
  if (!core_) throw Error(errc::bad_state, "Pool: moved-from pool");
  return *core_;
}

void Pool::close() { core().close(); }
void Pool::join() { core().join(); }
void Pool::terminate() { core().terminate(); }
int Pool::processes() const { return core().processes(); }
PoolStats Pool::stats() const { return core().stats(); }
size_t Pool::completed_tasks() const { return core().completed(); }
std::vector<pid_t> Pool::worker_pids() const { return core().worker_pids(); }

}  // namespace mproc
