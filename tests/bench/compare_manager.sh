#!/bin/sh
# Runs, in one go on the same machine, Python's Manager().dict() benchmark and mproc's, then prints
# the ratio the Manager is held to (>= 100x Python's operations per second):
#   - python3 ../shared/bench/py_mp_bench.py --only manager_dict (a child sets 20 000 keys through
#     the Manager's server, the parent reads them back);
#   - mproc_manager_bench (a Release build with -DMPROC_BUILD_BENCHMARKS=ON): the same work on a
#     Manager dict in shared memory;
#   - boost_dict_bench.cpp (beside this script; Debian libboost-dev): the same work on a
#     boost::unordered_map in Boost.Interprocess shared memory under one interprocess_mutex (not
#     crash-consistent), the peer issue 17 holds the Manager to (>= 1x on sets and on gets).
# Usage: tests/bench/compare_manager.sh [build-dir]    (default: build-release)
# Environment: MPROC_SHARED_BENCH overrides the peers' directory (default: <repo>/../shared/bench).
# PLACEMENT=same runs both sides on one CPU, PLACEMENT=split each on its own (bench_env.sh).
set -eu

. "$(dirname "$0")/bench_env.sh"
build=${1:-$repo/build-release}
shared=$(find_shared_bench) || exit 2
work=${TMPDIR:-/tmp}/mproc-compare-manager.$$
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
setup_placement "$work" || exit 2

bench="$build/tests/bench/mproc_manager_bench"
build_bench "$build" mproc_manager_bench
echo "# building boost_dict_bench" >&2
g++ -O2 -std=c++17 -pthread "$repo/tests/bench/boost_dict_bench.cpp" -o "$work/boost_dict_bench" \
  -lrt || exit 2

echo "# py_mp_bench --only manager_dict" >&2
placed python3 "$shared/py_mp_bench.py" --only manager_dict 2>"$work/py.err" | tee "$work/py.out"
echo "# mproc_manager_bench" >&2
placed "$bench" 2>"$work/mproc.err" | tee "$work/mproc.out"
echo "# boost_dict_bench" >&2
placed "$work/boost_dict_bench" 2>"$work/boost.err" | tee "$work/boost.out"
grep -h '^# ' "$work/py.err" "$work/mproc.err" "$work/boost.err" >&2 || true

cat "$work/py.out" "$work/mproc.out" "$work/boost.out" | awk '
  { value[$1] = $2 }
  function ratio(label, a, b, target) {
    if (!(a in value) || !(b in value) || value[b] == 0) { printf "%-46s n/a\n", label; return }
    printf "%-46s %8.1f   (%s / %s; target %s)\n", label, value[a] / value[b], a, b, target
  }
  END {
    print ""
    print "ratios"
    ratio("Manager dict ops vs Python Manager().dict()", "mproc_manager_dict_ops", "manager_dict_ops", ">= 100")
    ratio("  set (child) vs Python", "mproc_manager_dict_set_child", "manager_dict_set_child", "-")
    ratio("  get (parent) vs Python", "mproc_manager_dict_get_parent", "manager_dict_get_parent", "-")
    ratio("Manager dict ops vs Boost.Interprocess map", "mproc_manager_dict_ops", "boost_dict_ops", "-")
    ratio("  set (child) vs Boost", "mproc_manager_dict_set_child", "boost_dict_set_child", ">= 1")
    ratio("  get (parent) vs Boost", "mproc_manager_dict_get_parent", "boost_dict_get_parent", ">= 1")
  }'
