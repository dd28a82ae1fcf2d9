// Start methods by name, as Python's multiprocessing.get_context(name) takes them: the C ABI (and
// other bindings) name a method with a constant and reach the enumerator here, so that a method
// this build lacks is one clear error in one place.
#include <mproc/pool.hpp>

#include <string>

namespace mproc {

StartMethod start_method_from_name(std::string_view name) {
  if (name == "fork") return StartMethod::fork;
  if (name == "forkserver" || name == "spawn")
    throw Error(std::make_error_code(std::errc::not_supported),
                "start method \"" + std::string(name) + "\" is not supported by this build");
  throw Error(std::make_error_code(std::errc::invalid_argument),
              "unknown start method \"" + std::string(name) + "\" (fork, forkserver, spawn)");
}

}  // namespace mproc
