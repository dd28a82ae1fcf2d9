#!/usr/bin/env bash
# A consumer who compiles mproc's C++ headers without C++20, or any header off Linux, must get one
# clear error that names the fix, not pages of errors far from the cause:
#  - <mproc/mproc.hpp> compiled as C++17 fails with exactly one error, the #error naming
#    -std=c++20 (plus the fatal stop that ends compilation right after it);
#  - the same file as C++20 compiles (the check is not a false alarm);
#  - mproc.h compiles as C++17 (the C ABI needs no C++20);
#  - off Linux (the compiler's Linux macros undefined) mproc.h fails with the platform's #error.
#
# usage: check_language_error.sh <include dir> <capi dir> <C compiler> <C++ compiler>
set -euo pipefail

include_dir=$1 capi_dir=$2 cc=$3 cxx=$4
work=$(mktemp -d "${TMPDIR:-/tmp}/mproc-language-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
die() {
  echo "FAIL: $*"
  exit 1
}
printf '#include <mproc/mproc.hpp>\nint main() { return 0; }\n' >"$work/app.cpp"
printf '#include <mproc.h>\nint main(void) { return mproc_version() == 0; }\n' >"$work/app.c"
flags=(-I"$include_dir" -I"$capi_dir" -fsyntax-only)

echo "--- <mproc/mproc.hpp> as C++17"
if output=$("$cxx" -std=c++17 "${flags[@]}" "$work/app.cpp" 2>&1); then
  die "compiled as C++17 without an error"
fi
echo "$output"
errors=$(grep -cE '(^|: )(fatal )?error' <<<"$output" || true)
grep -qE 'error: .*-std=c\+\+20' <<<"$output" || die "no error names -std=c++20"
grep -qE 'fatal error: .*compilation_stopped_see_the_error_above' <<<"$output" ||
  die "compilation was not stopped after the #error"
((errors == 2)) || die "$errors errors instead of the #error and the stop"

echo "--- <mproc/mproc.hpp> as C++20"
"$cxx" -std=c++20 "${flags[@]}" "$work/app.cpp" || die "does not compile as C++20"

echo "--- mproc.h as C++17 and as C11"
"$cxx" -std=c++17 "${flags[@]}" -x c++ "$work/app.c" || die "mproc.h does not compile as C++17"
"$cc" -std=c11 "${flags[@]}" "$work/app.c" || die "mproc.h does not compile as C11"

echo "--- mproc.h with the compiler's Linux macros undefined"
if output=$("$cc" -std=c11 -U__linux__ -U__linux -Ulinux -U__gnu_linux__ "${flags[@]}" \
  "$work/app.c" 2>&1); then
  die "compiled off Linux without an error"
fi
echo "$output" | head -n 5
grep -qE 'error: .*mproc needs Linux 5\.3 or newer' <<<"$output" ||
  die "no error says that mproc needs Linux"

echo "OK: one clear error for a C++ standard older than C++20 and for a platform other than Linux"
