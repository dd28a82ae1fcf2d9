#!/usr/bin/env bash
# Builds the library, its MPI component and the examples with Debian's clang (warnings are errors;
# no test suite) and runs the tour: a user who builds mproc with Clang, or includes its headers in
# a Clang project, gets a working library. Usage: .ci/clang_build.sh [dir]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir=${1:-build-clang}
CC=clang CXX=clang++ cmake -S . -B "$dir" -DMPROC_BUILD_TESTS=OFF -DMPROC_WARNINGS_AS_ERRORS=ON
cmake --build "$dir" -j"${MPROC_JOBS:-2}"
"$dir"/examples/mproc_tour >/dev/null
echo "clang build and tour: ok ($(clang --version | head -n1))"
