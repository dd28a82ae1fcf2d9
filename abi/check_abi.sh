#!/usr/bin/env bash
# The C ABI check: compares the mproc_* functions of a built libmproc.so, and the types they use,
# with the stored baseline abi/libmproc.abi (abidw's XML, C symbols only: abi/c_abi.suppr drops the
# C++ ones). Fails on a removed function or a changed one (its parameters, return type, or a type
# behind them); added functions pass. A field appended to a size-prefixed options struct is a
# compatible change by design (DESIGN.md) but abidiff sees a changed type: refresh the baseline
# with such a change (--update), and say so in the commit. Needs Debian's abigail-tools and a library with debug
# information (the default RelWithDebInfo build).
#
# usage: check_abi.sh <libmproc.so>             compare with the baseline
#        check_abi.sh <libmproc.so> --update    replace the baseline (an intended ABI change:
#                                               commit the new abi/libmproc.abi with it)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
lib=${1:?usage: check_abi.sh <libmproc.so> [--update]}
baseline=$here/libmproc.abi
suppressions=$here/c_abi.suppr
for tool in abidw abidiff; do
  command -v "$tool" >/dev/null || {
    echo "$tool is needed: apt-get install abigail-tools"
    exit 2
  }
done

# --no-corpus-path and --no-show-locs: the XML names no build directory or source line, so the
# baseline does not change when the code only moves.
dump() {
  abidw --no-corpus-path --no-show-locs --type-id-style hash --exported-interfaces-only \
    --suppressions "$suppressions" "$1"
}

if [[ ${2:-} == --update ]]; then
  dump "$lib" >"$baseline"
  echo "baseline written: $baseline ($(grep -c '<elf-symbol name=' "$baseline") C symbols)"
  exit 0
fi

# abidiff's exit status is a bit mask: 1 error, 2 usage error, 4 ABI change, 8 incompatible
# change (a removed symbol). With --no-added-syms, added functions are neither shown nor counted,
# so any other bit set means a C function was removed or changed.
status=0
abidiff --no-added-syms --suppressions "$suppressions" "$baseline" "$lib" || status=$?
if ((status == 0)); then
  echo "OK: the C ABI of $lib matches $baseline (additions allowed)"
  exit 0
fi
echo "FAIL: the C ABI changed (abidiff status $status; see above). If the change is intended (a"
echo "new minor version while 0.x), refresh the baseline: bash abi/check_abi.sh $lib --update"
exit 1
