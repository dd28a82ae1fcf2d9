#include "transport/queue_sync.hpp"

namespace mproc::detail::queue {

RobustLock::RobustLock(pthread_mutex_t* mutex, const Deadline& deadline)
    : mutex_(&RobustMutex::of(*mutex)) {
  // The owner died inside its critical section. Nothing to repair: its uncommitted writes lie
  // outside the committed region and are overwritten later (see queue_core.cpp).
  const Acquired how = mutex_->lock(deadline, OwnerDeath::repair_silently(), "queue lock");
  locked_ = how != Acquired::no;
  recovered_ = how == Acquired::recovered;
}

}  // namespace mproc::detail::queue
