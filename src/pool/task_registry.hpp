// Tasks registered by name (mproc::register_task). One library-wide lock: the fork hooks take it
// before fork (rank: after the handle table, before the log sink), so a child may use the registry.
#pragma once

namespace mproc::detail {

// Creates the registry (called by install_fork_hooks, so the fork handler never creates it).
void init_task_registry();
void lock_task_registry_for_fork();
void unlock_task_registry_after_fork();

}  // namespace mproc::detail
