#!/usr/bin/env bash
# The ABI surface of libmproc.so: the SONAME carries the major version, every exported symbol is
# mproc's own (mproc_* for C, namespace mproc for C++ with its typeinfo and vtables), no symbol of a
# dependency (spdlog, fmt, cereal) or of the standard library leaks out, every symbol carries the
# version node of cmake/mproc.map, and the C symbols are exactly the functions capi/mproc.h declares
# with MPROC_API (a declared function that is not exported would fail at the user's link time).
#
# usage: check_symbols.sh <libmproc.so> <major version> <capi/mproc.h> <include dir> <C compiler>
set -euo pipefail
# No process substitution in these scripts: bash does not wait for it, and the CI run reports
# every process that outlives its parent.

lib=$1 major=$2 header=$3 include_dir=$4 cc=$5
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# --- SONAME --------------------------------------------------------------------------------------
soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
if [[ $soname != "libmproc.so.$major" ]]; then
  fail "SONAME is '${soname:-<none>}', expected 'libmproc.so.$major'"
fi

# --- Exported symbols ----------------------------------------------------------------------------
# nm prints "name[@@VERSION] type value [size]".
symbols=$(nm -D --defined-only --format=posix "$lib")
[[ -n $symbols ]] || fail "$lib exports no symbol at all"

# One c++filt for all symbols, line by line with nm's output.
mapfile -t symbol_lines <<<"$symbols"
mapfile -t demangled_lines <<<"$(cut -d' ' -f1 <<<"$symbols" | sed 's/@.*//' | c++filt)"

foreign=() unversioned=() dependency=() exported_c_functions=() exported_c_data=()
for i in "${!symbol_lines[@]}"; do
  read -r versioned type _ <<<"${symbol_lines[$i]}"
  demangled=${demangled_lines[$i]}
  name=${versioned%%@*}
  version=${versioned#"$name"}
  version=${version##*@}
  if [[ $type == A ]]; then
    # The version node itself (MPROC_0) is an absolute symbol.
    [[ $name =~ ^MPROC_[0-9]+$ ]] || foreign+=("$versioned")
    continue
  fi
  [[ $version =~ ^MPROC_[0-9]+$ ]] || unversioned+=("$versioned")
  # A symbol in namespace mproc may still expose a dependency in its signature.
  if [[ $demangled =~ (^|[^[:alnum:]_])(spdlog|fmt|cereal):: ]]; then
    dependency+=("$demangled")
  fi
  if [[ $name =~ ^mproc_[a-z0-9_]+$ ]]; then
    case $type in
      T | W | i) exported_c_functions+=("$name") ;;
      *) exported_c_data+=("$name") ;;
    esac
  # C++: nested names in namespace mproc (_ZN, optional cv/ref qualifiers, then 5mproc), the
  # special names typeinfo (TI), typeinfo name (TS), vtable (TV), VTT (TT), construction vtable
  # (TC), thunks (Th, Tv, Tc), guard variables (GV) and TLS init/wrapper (TH, TW) of mproc's types.
  elif [[ $name =~ ^_ZN[rVKRO]*5mproc ]] ||
    [[ $name =~ ^_ZT[ISVTCHW]N[rVKRO]*5mproc ]] ||
    [[ $name =~ ^_ZT[hvc][0-9n_]*N[rVKRO]*5mproc ]] ||
    [[ $name =~ ^_ZGVN[rVKRO]*5mproc ]]; then
    :
  else
    foreign+=("$versioned  ($demangled)")
  fi
done

report() {  # report <title> <items...>
  local title=$1
  shift
  (($# > 0)) || return 0
  fail "$title ($#):"
  printf '    %s\n' "$@"
}
report "exported symbols that are not mproc's (not mproc_* nor namespace mproc)" "${foreign[@]}"
report "exported symbols that expose spdlog, fmt or cereal" "${dependency[@]}"
report "exported symbols without the MPROC_<n> version of cmake/mproc.map" "${unversioned[@]}"

# --- The C ABI: exported C functions == functions declared with MPROC_API in mproc.h -------------
# Preprocessing drops the comments; with MPROC_BUILDING_LIBRARY, MPROC_API expands to the visibility
# attribute, which marks each exported declaration. Declarations are split on ';'.
preprocessed=$("$cc" -E -P -std=c11 -DMPROC_BUILDING_LIBRARY -I"$include_dir" -I"$(dirname "$header")" \
  "$header")
declared=$(tr '\n' ' ' <<<"$preprocessed" | tr ';' '\n' |
  grep -F 'visibility("default")' |
  sed -n 's/.*visibility("default")))[^(]*[^[:alnum:]_]\(mproc_[a-z0-9_]*\)[[:space:]]*(.*/\1/p' |
  sort -u)
[[ -n $declared ]] || fail "found no MPROC_API function declaration in $header"

declare -A is_declared=() is_exported=()
for f in $declared; do is_declared[$f]=1; done
for f in "${exported_c_functions[@]}"; do is_exported[$f]=1; done
not_exported=() not_declared=()
for f in $declared; do [[ -v is_exported[$f] ]] || not_exported+=("$f"); done
for f in "${exported_c_functions[@]}"; do [[ -v is_declared[$f] ]] || not_declared+=("$f"); done
report "functions declared in mproc.h but not exported by the library (missing definition?)" \
  "${not_exported[@]}"
report "C functions exported but not declared in mproc.h" "${not_declared[@]}"
for data in "${exported_c_data[@]}"; do
  grep -qw -- "$data" <<<"$preprocessed" || fail "C data symbol $data is not declared in mproc.h"
done

count=$(wc -l <<<"$symbols")
if ((failures > 0)); then
  echo "$failures check(s) failed for $lib ($count dynamic symbols)"
  exit 1
fi
echo "OK: $lib, SONAME $soname, $count dynamic symbols," \
  "${#exported_c_functions[@]} C functions matching mproc.h"
