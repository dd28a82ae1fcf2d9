#!/bin/sh
# Runs the same workloads through Python's multiprocessing and through the mproc Python package in
# one run and prints the ratios (tests/bench/compare_python.py: py_mp_bench.py's workloads, each
# side in a fresh interpreter), against a Release libmproc.
# Usage: tests/bench/compare_python.sh [build-dir] [--reps N] [--rounds R] [--groups g,...] [--quick]
#        (default build dir: build-release; NO_BUILD=1 uses it as built)
# PLACEMENT=same runs both sides on one CPU, PLACEMENT=split the parent on one CPU and every
# process it forks on the other (bench_env.sh); --rounds R alternates the sides R times and prints
# medians of the rounds.
# Environment: MPROC_SHARED_BENCH overrides the peers' directory (default: <repo>/../shared/bench).
set -eu

. "$(dirname "$0")/bench_env.sh"
build=${1:-$repo/build-release}
[ $# -gt 0 ] && shift
shared=$(find_shared_bench) || exit 2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
setup_placement "$work" || exit 2
build_bench "$build" mproc
MPROC_LIBRARY="$build/libmproc.so" PYTHONPATH="$repo/capi/python" MPROC_SHARED_BENCH="$shared" \
  MPROC_BENCH_PRELOAD="${placement_preload:-}" PLACEMENT="${PLACEMENT:-any}" \
  /usr/bin/python3 "$repo/tests/bench/compare_python.py" "$@"
