#!/usr/bin/env bash
# What a Pool refuses at compile time, with a clear message rather than a page of template errors
# or a failure at run time (issue 13 item 8):
#  - a task capturing a Queue by reference (compile_checks/reference_capture.cpp): a worker's copy
#    of memory predates the Queue, so the task would read garbage ("this object was moved from");
#  - a Connection as an MPI Pool task's argument (compile_checks/mpi_connection_argument.cpp): a
#    descriptor cannot reach another rank's worker.
# (A Connection as a task argument was refused here too; it now travels by SCM_RIGHTS:
# tests/pool/connection_argument_test.cpp.)
# Each file must fail with its static_assert's text and at most two errors, and compile with
# -DMPROC_ACCEPTED_FORM (the form that works: not a false alarm).
#
# usage: check_compile_refusals.sh <include dir> <C++ compiler>
set -euo pipefail

include_dir=$1 cxx=$2
here=$(cd "$(dirname "$0")" && pwd)
die() {
  echo "FAIL: $*"
  exit 1
}
check() {
  local file=$1 expected=$2 output errors
  echo "--- $file"
  if output=$("$cxx" -std=c++20 -fsyntax-only -I"$include_dir" "$here/compile_checks/$file" 2>&1); then
    die "$file compiled"
  fi
  grep -qF -- "$expected" <<<"$output" || { echo "$output" | head -n 40; die "$file: no '$expected'"; }
  errors=$(grep -c 'error:' <<<"$output" || true)
  ((errors <= 2)) || { echo "$output" | grep 'error:' | head -n 20; die "$file: $errors errors"; }
  "$cxx" -std=c++20 -fsyntax-only -I"$include_dir" -DMPROC_ACCEPTED_FORM \
    "$here/compile_checks/$file" || die "$file: the accepted form does not compile"
}
check reference_capture.cpp "a task may not capture pointers or references"
check mpi_connection_argument.cpp "a Connection cannot be a task argument"
echo "OK: refused at compile time with its message; the accepted form compiles"
