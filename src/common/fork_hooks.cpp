#include "common/fork_hooks.hpp"

#include <pthread.h>

#include "common/handle_table.hpp"
#include "log/logger.hpp"
#include "pool/task_registry.hpp"
#include "process/child_registry.hpp"

namespace mproc::detail {
namespace {

void prepare() {
  ChildRegistry::instance().lock_for_fork();
  HandleTable::instance().lock_for_fork();
  lock_task_registry_for_fork();
  lock_logger_for_fork();
}

void parent() {
  unlock_logger_after_fork();
  unlock_task_registry_after_fork();
  HandleTable::instance().unlock_after_fork();
  ChildRegistry::instance().unlock_after_fork_in_parent();
}

void child() {
  unlock_logger_after_fork();
  unlock_task_registry_after_fork();
  HandleTable::instance().unlock_after_fork();
  ChildRegistry::instance().reset_after_fork_in_child();
}

// Installed at load time, before any thread of the program can call into the library: the
// singletons exist (so the handlers never create one mid-fork) and the handler is registered once.
struct InstallAtLoad {
  InstallAtLoad() { install_fork_hooks(); }
} g_install_at_load;

}  // namespace

void install_fork_hooks() {
  static const bool installed = [] {
    ChildRegistry::instance();
    HandleTable::instance();
    init_task_registry();
    logger();
    ::pthread_atfork(prepare, parent, child);
    return true;
  }();
  (void)installed;
}

}  // namespace mproc::detail
