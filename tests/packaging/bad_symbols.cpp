// A library that breaks every rule check_symbols.sh enforces (see check_symbols_selftest.sh):
// wrong SONAME, no version script, a C symbol that is not mproc_*, a C function that mproc.h does
// not declare, and symbols of std and of a dependency's namespace.
#include <string>

#define EXPORTED __attribute__((visibility("default")))

extern "C" EXPORTED int not_mproc_function(void) { return 1; }
extern "C" EXPORTED int mproc_not_in_the_header(void) { return 2; }

namespace spdlog {
struct logger;
EXPORTED int leaked_dependency() { return 3; }
}  // namespace spdlog

namespace mproc {
// In namespace mproc, but its signature exposes the dependency.
EXPORTED int takes_dependency(spdlog::logger* logger) { return logger == nullptr ? 4 : 5; }
}  // namespace mproc

EXPORTED std::string leaked_std_instantiation() { return std::string(100, 'x'); }
