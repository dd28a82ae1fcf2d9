#!/bin/sh
# Runs the same workloads through Python's multiprocessing and through the mproc Python package in
# one run and prints the ratios (tests/bench/compare_python.py: py_mp_bench.py's workloads, each
# side in a fresh interpreter), against a Release libmproc.
# Usage: tests/bench/compare_python.sh [build-dir] [--reps N] [--quick]   (default: build-release)
# Environment: MPROC_SHARED_BENCH overrides the peers' directory (default: <repo>/../shared/bench);
# PLACEMENT=same runs everything on CPU $SAME_CPU (default 1; bench_env.sh). PLACEMENT=split is not
# offered: each side runs in a fresh interpreter started by fork and exec, which the split hook
# would pin, with all its processes, to the children's CPU.
set -eu

. "$(dirname "$0")/bench_env.sh"
build=${1:-$repo/build-release}
[ $# -gt 0 ] && shift
shared=$(find_shared_bench) || exit 2
build_bench "$build" mproc
case "${PLACEMENT:-any}" in
  any | same) ;;
  *) echo "$(basename "$0"): PLACEMENT must be any or same here (got ${PLACEMENT})" >&2; exit 2 ;;
esac
setup_placement "${TMPDIR:-/tmp}"
MPROC_LIBRARY="$build/libmproc.so" PYTHONPATH="$repo/capi/python" MPROC_SHARED_BENCH="$shared" \
  placed /usr/bin/python3 "$repo/tests/bench/compare_python.py" "$@"
