// mpi::Pool's methods that are not templates.
#include <mproc/mpi/pool.hpp>

namespace mproc::mpi {

Pool::Pool() : Pool(PoolOptions{}) {}
Pool::Pool(const PoolOptions& options) : engine_(detail::Engine::create(options)) {}

Pool::~Pool() {
  if (engine_) engine_->stop();
}

Pool::Pool(Pool&& other) noexcept = default;

Pool& Pool::operator=(Pool&& other) noexcept {
  if (this != &other) {
    if (engine_) engine_->stop();
    engine_ = std::move(other.engine_);
  }
  return *this;
}

detail::Engine& Pool::engine() const {
  if (!engine_) throw Error(errc::bad_state, "mpi::Pool: moved from");
  return *engine_;
}

void Pool::close() { engine().close(); }
void Pool::join() { engine().join(); }
void Pool::terminate() { engine().terminate(); }
int Pool::processes() const { return engine().processes(); }
std::vector<RankInfo> Pool::ranks() const { return engine().ranks(); }
PoolStats Pool::stats() const { return engine().stats(); }
size_t Pool::completed_tasks() const { return engine().completed(); }

}  // namespace mproc::mpi
