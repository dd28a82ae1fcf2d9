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
#include <sys/types.h>

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

// What a stage takes for a Process child at fork (a fork under ReleasingChildFork, below) and
// how it is given back. Any may be null.
//   before_exit: in the child, just before a child the library forked ends itself with _exit (a
//     Process child, a pool worker): gives back what the child holds as its own (segment
//     references) and retires what it must not use any more.
//   adopt: in the parent, right after the fork, on the forking thread: files what the prepare
//     handler took for the child under its pid (`child` < 0: the fork failed; give it back now).
//   release: in the parent, once `child` has been reaped: gives back what was filed under it.
//     Nothing of the child runs any more (its robust futex list was walked before it became a
//     zombie), so even the last reference of a lock it held may go: a child that was killed, or
//     that held the last references (Python's `Process(target=f, args=(Lock(),))`), leaks none.
struct ChildReferenceHandlers {
  void (*before_exit)() = nullptr;
  void (*adopt)(pid_t child) = nullptr;
  void (*release)(pid_t child) = nullptr;
};
void register_child_reference_handlers(ForkStage stage,
                                       const ChildReferenceHandlers& handlers) noexcept;
// Runs the registered before_exit handlers (last stage first). Called by the library's children
// just before _exit. Never throws.
void run_exit_handlers() noexcept;
// Runs the adopt handlers (see above). Called by the thread that forked under a
// ReleasingChildFork, in the parent, with what fork returned.
void adopt_fork_references(pid_t child) noexcept;
// Runs the release handlers (see above), once `child` has been reaped.
void release_child_references(pid_t child) noexcept;

// While one lives, a fork by this thread makes a child that will call run_exit_handlers() before it
// ends, and whose parent calls adopt_fork_references() after the fork and
// release_child_references() once it has reaped it (a Process child): the prepare handlers may
// take references for it.
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
