#!/bin/sh
# Small-message Queue against the raw SPSC ring (issue 17 item 3: 64 B SPSC >= 0.5x the raw ring),
# alternating in one run: for each round, raw_ipc_bench's ring group, then mproc_queue_bench
# --small (a fixed 1 MiB ring and the default, unbounded Queue) with this build's libmproc and,
# when BEFORE_LIB names a directory holding another libmproc.so.0, with that one too (loaded
# through LD_LIBRARY_PATH). Prints every round's figures and ratios, then the medians.
# Usage: tests/bench/compare_queue_small.sh [build-dir]    (default: build-release)
# Environment: ROUNDS (default 3), BEFORE_LIB, NO_BUILD, PLACEMENT=same|split (bench_env.sh; under same the
# raw ring, a pure spinner, waits out a time slice per hand-off: it runs under a timeout of
# RAW_RING_SECONDS, default 120, and may report nothing).
set -eu

. "$(dirname "$0")/bench_env.sh"
build=${1:-$repo/build-release}
shared=$(find_shared_bench) || exit 2
work=${TMPDIR:-/tmp}/mproc-compare-queue-small.$$
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
setup_placement "$work" || exit 2

bench="$build/tests/bench/mproc_queue_bench"
# NO_BUILD=1 uses the build directory as it is (e.g. a RelWithDebInfo build, to compare with a
# BEFORE_LIB built the same way).
[ "${NO_BUILD:-0}" = 1 ] || build_bench "$build" mproc_queue_bench
raw="$work/raw_ipc_bench"
build_raw_ipc_bench "$shared" "$raw"

value() {  # value <name> <file>: the figure a benchmark printed for <name>
  awk -v n="$1" '$1 == n { print $2 }' "$2"
}
rounds=${ROUNDS:-3}
: >"$work/table"
round=1
while [ "$round" -le "$rounds" ]; do
  if [ "${PLACEMENT:-any}" = same ]; then
    timeout "${RAW_RING_SECONDS:-120}" taskset -c "${SAME_CPU:-1}" "$raw" ring \
      >"$work/raw.out" 2>/dev/null || true
  else
    placed "$raw" ring >"$work/raw.out" 2>/dev/null
  fi
  placed "$bench" --quick --small >"$work/new.out" 2>/dev/null
  ring=$(value shm_spsc_ring_64B "$work/raw.out")
  line="round $round: raw ring ${ring:-n/a} msgs/s; this build: fixed $(value queue_spsc_64B "$work/new.out"), default $(value queue_spsc_64B_default "$work/new.out")"
  echo "new $(value queue_spsc_64B "$work/new.out") $(value queue_spsc_64B_default "$work/new.out") ${ring:-0}" >>"$work/table"
  if [ -n "${BEFORE_LIB:-}" ]; then
    LD_LIBRARY_PATH="$BEFORE_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" placed "$bench" --quick --small \
      >"$work/old.out" 2>/dev/null
    line="$line; before: fixed $(value queue_spsc_64B "$work/old.out"), default $(value queue_spsc_64B_default "$work/old.out")"
    echo "old $(value queue_spsc_64B "$work/old.out") $(value queue_spsc_64B_default "$work/old.out") ${ring:-0}" >>"$work/table"
  fi
  echo "$line"
  round=$((round + 1))
done
echo "# load after: $(cat /proc/loadavg)" >&2

# Per round, each figure over that round's raw ring; then the median of those ratios.
awk '
  function median(a, n,   i, j, t) {
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  $4 > 0 { k = $1; n[k]++; fixed[k, n[k]] = $2 / $4; dflt[k, n[k]] = $3 / $4 }
  END {
    print ""
    print "median over rounds of (Queue 64 B / raw SPSC ring 64 B, same round); target >= 0.5"
    for (k in n) {
      for (i = 1; i <= n[k]; i++) { f[i] = fixed[k, i]; d[i] = dflt[k, i] }
      printf "%-6s fixed 1 MiB ring %.2f   default Queue() %.2f   (%d rounds)\n", k, median(f, n[k]), median(d, n[k]), n[k]
    }
  }' "$work/table"
