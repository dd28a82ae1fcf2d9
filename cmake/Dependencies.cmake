# Every dependency comes from Debian's packages; a missing one stops configure with the name of
# the package that provides it.
find_package(Threads REQUIRED)

macro(mproc_require_package name debian_package)
  find_package(${name} ${ARGN} QUIET)
  if(NOT ${name}_FOUND)
    message(FATAL_ERROR
      "mproc needs ${name}: install it with `apt-get install ${debian_package}`")
  endif()
endmacro()

mproc_require_package(spdlog libspdlog-dev)
mproc_require_package(OpenSSL libssl-dev COMPONENTS Crypto)  # HMAC-SHA256 (Listener/client)
# cereal: the library itself never includes it; only the opt-in <mproc/cereal_codec.hpp> does, so
# only the tests (which cover that header) require it. The examples use it when it is there.
if(MPROC_BUILD_TESTS)
  mproc_require_package(cereal libcereal-dev)
  mproc_require_package(GTest libgtest-dev)
else()
  find_package(cereal QUIET)
endif()
# The benchmarks (tests/bench) are plain drivers: they need nothing beyond the library.
