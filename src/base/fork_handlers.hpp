// The library's one pthread_atfork registration. A child of fork() has one thread and a copy of
// every lock; a lock that another thread held at that moment stays held forever in the child. So
// the prepare handlers take every library lock before fork, and the parent and child handlers
// release them after it, in ONE fixed order, written here: taking them in separate
// pthread_atfork handlers, in whatever order they happened to be registered, deadlocks (a forking
// thread holding the log sink waits for the child registry, whose holder waits for the sink).
// The child handlers also reset per-process state that the child must not share with its parent.
//
// The floor that owns a lock or a piece of state registers its handlers into its stage (the
// registry knows the stages, not the floors: it includes nothing of theirs). The rule:
//   prepare handlers run in stage order, first to last;
//   parent and child handlers run in the reverse order, last to first.
// So the resets (first in the list) run last in the child, once every lock is released again.
#pragma once

#include <cstdint>

namespace mproc::detail {

enum class ForkStage : std::uint8_t {
  // Child-only resets of per-process state; in the child they run after every lock is released,
  // from the bottom of this group to its top.
  thread_id,          // src/sync: the cached thread id (the child's one thread has a new one)
  queue_barrier,      // src/transport: the queue's cached ids and its membarrier registration
  pool_pid,           // src/pool: the pid cached for the pool's owner check
  parent_watch,       // src/process: the parent's pidfd belongs to the parent's own watcher
  forkserver_client,  // src/pool: the fork server belongs to the parent
  shm_tracker,        // src/shm: the tracker connection belongs to the parent; its mutex made anew
  // Locks held across fork, outermost first (a thread holding one may take the later ones).
  child_registry,  // src/process: the children of this process (emptied in the child)
  handle_table,    // capi: the C ABI's handles
  task_registry,   // src/pool: tasks registered by name
  segment_references,  // src/shm: the Segments holding a reference (a Process child takes its own)
  sync_arena,      // src/sync: the arena's cells held by this process (every child takes its own)
  resource_sharer,  // src/transport: descriptors shared with workers (reset in the child)
  log_sink,        // src/log: innermost: code holding any lock above may log; the sink takes none
  count_
};

// Any may be null. A `prepare` is called only from the forking thread; `parent` and `child` of a
// stage with a prepare run only after a fork whose prepare ran it (a stage registered while
// another thread forks is not half-handled).
struct ForkHandlers {
  void (*prepare)() = nullptr;
  void (*parent)() = nullptr;
  void (*child)() = nullptr;
};

// Handlers that give back, just before a child the library forked ends itself with _exit (a
// Process child, a pool worker), what was taken for it at fork (segment references, arena cells):
// a child that ends without them (killed, or a raw fork() that calls _exit) keeps them until the
// owner of the memory cleans up (see the floors that register). `before_exit` may be null.
struct ExitHandlers {
  void (*before_exit)() = nullptr;
};
void register_exit_handlers(ForkStage stage, const ExitHandlers& handlers) noexcept;
// Runs the registered before_exit handlers (last stage first). Called by the library's children
// just before _exit. Never throws.
void run_exit_handlers() noexcept;

// While one lives, a fork by this thread makes a child that will call run_exit_handlers() before it
// ends (a Process child): the child handlers may take references for it that it gives back then.
// The mark is cleared in the child once its fork handlers ran.
class ReleasingChildFork {
 public:
  ReleasingChildFork() noexcept;
  ~ReleasingChildFork();
  ReleasingChildFork(const ReleasingChildFork&) = delete;
  ReleasingChildFork& operator=(const ReleasingChildFork&) = delete;

 private:
  bool previous_;
};
// While one lives, a ReleasingChildFork on this thread does not mark its fork (pool workers: a
// worker may be killed at any time, and would then pin what it was given at fork).
class PlainChildForks {
 public:
  PlainChildForks() noexcept;
  ~PlainChildForks();
  PlainChildForks(const PlainChildForks&) = delete;
  PlainChildForks& operator=(const PlainChildForks&) = delete;

 private:
  bool previous_;
};
// In a fork handler (prepare, parent or child): true if the fork is made under a
// ReleasingChildFork (and no PlainChildForks).
bool fork_child_releases_at_exit() noexcept;

// Registers the handlers of `stage`, once (a second registration of a stage is ignored). Register
// before a second thread can take the lock concerned: at load, or when the state is created.
// Thread-safety: any thread; takes effect at the next fork.
void register_fork_handlers(ForkStage stage, const ForkHandlers& handlers) noexcept;

}  // namespace mproc::detail
