#!/usr/bin/env bash
# check_symbols.sh must reject a library that breaks its rules (bad_symbols.cpp), naming each
# offence. Without this, a checker that always passes would go unnoticed.
#
# usage: check_symbols_selftest.sh <check_symbols.sh> <bad library> <capi/mproc.h> <include dir>
#                                  <C compiler>
set -euo pipefail

checker=$1 bad_lib=$2 header=$3 include_dir=$4 cc=$5
if output=$(bash "$checker" "$bad_lib" 0 "$header" "$include_dir" "$cc" 2>&1); then
  echo "$output"
  echo "FAIL: check_symbols.sh accepted $bad_lib"
  exit 1
fi
echo "$output"

missing=0
expect() {  # expect <description> <extended regex the output must match>
  if ! grep -qE -- "$2" <<<"$output"; then
    echo "FAIL: check_symbols.sh did not report $1 (no line matching '$2')"
    missing=1
  fi
}
expect "the wrong SONAME" "^FAIL: SONAME is '[^']+\.so\.99', expected 'libmproc\.so\.0'"
expect "a foreign C symbol" "^    not_mproc_function "
expect "a symbol of std" "^    _Z[^ ]+  \(.*leaked_std_instantiation"
expect "a dependency's symbol" "^    spdlog::leaked_dependency\(\)$"
expect "a dependency in an mproc signature" "^    mproc::takes_dependency\(.*spdlog"
expect "the missing version node" "^FAIL: exported symbols without the MPROC_<n> version"
expect "a C function missing from mproc.h" "^    mproc_not_in_the_header$"
expect "an mproc.h function missing from the library" "^    mproc_version$"
exit "$missing"
