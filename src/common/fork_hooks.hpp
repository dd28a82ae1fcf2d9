// The library's locks across fork(). A child of fork() has one thread and a copy of every lock; a
// lock that another thread held at that moment stays held forever in the child. So one
// pthread_atfork handler takes every library lock before fork and releases them after it, in both
// processes, in ONE fixed order: outer locks first, the log sink last, because code that holds
// another library lock may log (takes the sink lock) but the sink never takes another lock. Taking
// them in separate handlers, in whatever order they were registered, deadlocks (a forking thread
// holding the sink waits for the registry, whose holder waits for the sink).
//
// The rank order, outermost first: child registry, handle table, pool task registry, log sink.
#pragma once

namespace mproc::detail {

// Creates the library's lock-owning singletons and installs the handler; runs once, when the
// library is loaded.
void install_fork_hooks();

}  // namespace mproc::detail
