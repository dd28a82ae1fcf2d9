#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for a bounded time.
#
#   tests/fuzz/run.sh [seconds per target (default 60)] [build dir (default <repo>/build-fuzz)]
#
# Exits 0 when clang is missing (nothing to run: says so), non-zero when a target finds a crash,
# a leak, an allocation over the limit, a timeout, or when the build fails. A crashing input is
# left in the build dir (crash-*, leak-*, oom-*, timeout-*) and printed.
set -euo pipefail
seconds="${1:-60}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="$(realpath -m "${2:-$repo/build-fuzz}")"

if ! command -v clang++ >/dev/null; then
  echo "clang++ not found: the fuzz targets are not built (Debian: clang libfuzzer-14-dev)"
  exit 0
fi
cmake -S "$repo/tests/fuzz" -B "$build" -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build "$build" -j2

status=0
for target in connection_framing_fuzz codec_fuzz; do
  corpus="$build/corpus-$target"
  mkdir -p "$corpus"
  echo "=== $target for ${seconds}s"
  # -malloc_limit_mb: a single allocation above it is a finding (a size believed from input).
  (cd "$build" && "./$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 \
    -malloc_limit_mb=32 -max_len=8192 -print_final_stats=1 "$corpus") || status=1
done
exit "$status"
