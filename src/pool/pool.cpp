#include <mproc/pool.hpp>

namespace mproc {

Pool::Pool(int processes) : Pool(PoolOptions{processes, {}, 0, StartMethod::fork, {}}) {}

Pool::Pool(PoolOptions options) : core_(detail::PoolCore::create(std::move(options))) {}

Pool::~Pool() = default;  // the core's destructor terminates if the pool was not joined
Pool::Pool(Pool&& other) noexcept = default;
Pool& Pool::operator=(Pool&& other) noexcept = default;

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
