#!/usr/bin/env bash
# What the public headers may include: users get libmproc.so and its headers, not spdlog, fmt or
# cereal (they are private dependencies, linked into the library only), and not the library's own
# internals under src/. Also checks that the umbrella header <mproc/mproc.hpp> includes, directly or
# through other public headers, every public C++ header but the opt-in ones, so that `#include <mproc/mproc.hpp>` really gives the whole API.
# (That each header compiles on its own is checked by the build: see CMakeLists.txt.)
#
# usage: check_public_headers.sh <include dir> <capi/mproc.h>
set -euo pipefail
# No process substitution in these scripts: bash does not wait for it, and the CI run reports
# every process that outlives its parent.

include_dir=$1 c_header=$2
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# Opt-in headers: they include cereal on purpose (a user who wants cereal-encoded values includes
# them and needs libcereal-dev), so the umbrella header must not include them.
readonly opt_in_headers=(mproc/cereal_codec.hpp mproc/cereal_archive.hpp)  # the second in detail/
is_opt_in() { [[ " ${opt_in_headers[*]} " == *" $1 "* ]]; }

shopt -s nullglob
headers=("$include_dir"/mproc/*.hpp "$include_dir"/mproc/*.h "$include_dir"/mproc/detail/*.hpp
  "$c_header" "$(dirname "$c_header")"/mproc/*.h)
((${#headers[@]} > 1)) || fail "no public header found under $include_dir/mproc"

for header in "${headers[@]}"; do
  # Any #include of a private dependency, with <> or "", with or without spaces after '#'; an
  # opt-in header may include cereal, nothing else.
  private='spdlog|fmt|cereal'
  is_opt_in "mproc/$(basename "$header")" && private='spdlog|fmt'
  hits=$(grep -nE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]($private)[/.]" \
    "$header" || true)
  while IFS= read -r hit; do
    [[ -z $hit ]] || fail "$header includes a private dependency: $hit"
  done <<<"$hits"
  # Quoted includes must name another public header (mproc/...), never an internal one.
  hits=$(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$header" |
    grep -vE '#[[:space:]]*include[[:space:]]*"mproc/[a-z0-9_]+\.h(pp)?"' || true)
  while IFS= read -r hit; do
    [[ -z $hit ]] || fail "$header includes a non-public header: $hit"
  done <<<"$hits"
done

# Every C++ header starts with the C++20 and platform checks, so that a consumer compiling without
# -std=c++20 gets their one #error before anything else fails.
for header in "$include_dir"/mproc/*.hpp "$include_dir"/mproc/detail/*.hpp; do
  [[ $(basename "$header") == cxx20.hpp ]] && continue
  first=$(grep -m1 -E '^[[:space:]]*#[[:space:]]*include' "$header" || true)
  [[ $first == '#include <mproc/cxx20.hpp>'* ]] ||
    fail "$header does not include <mproc/cxx20.hpp> first (its first include: ${first:-none})"
done

# The public headers that <mproc/mproc.hpp> reaches, directly or through other public headers.
reachable_from() {
  local -A seen=()
  local queue=("$1") current included
  while ((${#queue[@]} > 0)); do
    current=${queue[0]}
    queue=("${queue[@]:1}")
    [[ -v seen[$current] ]] && continue
    seen[$current]=1
    while IFS= read -r included; do
      [[ -n $included && -f $include_dir/$included ]] && queue+=("$included")
    done <<<"$(sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*<(mproc\/[a-z0-9_]+\.h(pp)?)>.*/\1/p' \
      "$include_dir/$current")"
  done
  printf '%s\n' "${!seen[@]}"
}

umbrella="$include_dir/mproc/mproc.hpp"
if [[ ! -f $umbrella ]]; then
  fail "the umbrella header $umbrella is missing"
else
  reachable=$(reachable_from mproc/mproc.hpp)
  for header in "$include_dir"/mproc/*.hpp; do
    name=mproc/$(basename "$header")
    [[ $name == mproc/mproc.hpp ]] && continue
    if is_opt_in "$name"; then
      grep -qxF "$name" <<<"$reachable" && fail "$umbrella includes the opt-in header <$name>"
      continue
    fi
    grep -qxF "$name" <<<"$reachable" || fail "$umbrella does not reach <$name>"
  done
fi

if ((failures > 0)); then
  echo "$failures problem(s) in the public headers"
  exit 1
fi
echo "OK: ${#headers[@]} public headers include no private dependency;" \
  "the umbrella header reaches them all"
