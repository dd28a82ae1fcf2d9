// Start methods by name, as Python's multiprocessing.get_context(name) takes them: the C ABI (and
// other bindings) name a method with a constant and reach the enumerator here, so that a method
// this build lacks is one clear error in one place.
#include <mproc/pool.hpp>

#include <string>

namespace mproc {

StartMethod start_method_from_name(std::string_view name) {
  if (name == "fork") return StartMethod::fork;
  if (name == "forkserver") return StartMethod::forkserver;
  // Python's spawn starts a fresh interpreter and imports the task by name; a native program has
  // nothing to re-import, and forkserver already gives what spawn is chosen for (workers that
  // inherit no threads or locks from a busy parent).
  if (name == "spawn")
    throw Error(std::make_error_code(std::errc::not_supported),
                "start method \"spawn\" is not supported (use \"forkserver\": workers forked by "
                "a single-threaded server)");
  throw Error(std::make_error_code(std::errc::invalid_argument),
              "unknown start method \"" + std::string(name) + "\" (fork, forkserver, spawn)");
}

}  // namespace mproc
