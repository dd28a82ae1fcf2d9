#!/usr/bin/env bash
# Compiles the library's object files for aarch64 with Debian's g++-aarch64-linux-gnu (no tests, no
# linking): the source-level portability check of ARCHITECTURE.md. Usage: .ci/cross_aarch64.sh [dir]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir=${1:-build-aarch64}
cmake -S . -B "$dir" -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
  -DMPROC_BUILD_TESTS=OFF -DMPROC_BUILD_EXAMPLES=OFF -DMPROC_WITH_MPI=OFF \
  -DMPROC_WARNINGS_AS_ERRORS=ON
# Every floor's object library (cmake/Floors.cmake), not libmproc.so.
mapfile -t floors < <(sed -n 's/^mproc_floor(\([a-z]*\).*/\1/p' CMakeLists.txt)
targets=()
for floor in "${floors[@]}"; do targets+=(--target "mproc_$floor"); done
cmake --build "$dir" -j"${MPROC_JOBS:-2}" "${targets[@]}"
file "$dir"/CMakeFiles/mproc_base.dir/src/base/futex.cpp.o
