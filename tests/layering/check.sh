#!/usr/bin/env bash
# The libraries' layers only point down (ARCHITECTURE.md): every #include "dir/..." of a
# folder must name a folder that folder may use, and gdoictl's binary carries none of the
# daemon's code. Usage: check.sh SOURCE_DIR GDOICTL_BINARY
set -euo pipefail
src=$1
gdoictl=$2
fail=0

# folder: the include folders it may use (besides its own)
allowed=(
  "common:"
  "gdoi:common"
  "xfrm:common"
  "policy:common"
  "member/control:common"
  "member/config:common control gdoi policy"
  "member/session:common gdoi"
  "member/dataplane:common config gdoi xfrm policy"
  "member/watch:common dataplane gdoi xfrm"
  "member/daemon:common config control dataplane session watch gdoi xfrm policy"
  "member/gdoictl:common control"
)
for entry in "${allowed[@]}"; do
  folder=${entry%%:*}
  own=${folder##*/}
  ok=" $own ${entry#*:} "
  while IFS= read -r hit; do
    file=${hit%%:*}
    dir=$(sed -E 's/.*#include "([a-z_]+)\/.*/\1/' <<<"$hit")
    if [[ $ok != *" $dir "* ]]; then
      echo "LAYER VIOLATION: $file includes $dir/ (${folder} may use:${ok})"
      fail=1
    fi
  done < <(grep -rnE '#include "[a-z_]+/' "$src/$folder" --include=*.h --include=*.cpp || true)
done

# The mains: gdoictl.cpp uses gdoictl/ only; gdoi-memberd.cpp never gdoictl/.
if grep -nE '#include "[a-z_]+/' "$src/member/gdoictl.cpp" | grep -v '"gdoictl/'; then
  echo "LAYER VIOLATION: member/gdoictl.cpp includes more than gdoictl/"
  fail=1
fi
if grep -n '#include "gdoictl/' "$src/member/gdoi-memberd.cpp"; then
  echo "LAYER VIOLATION: member/gdoi-memberd.cpp includes gdoictl/"
  fail=1
fi

# gdoictl links control/ only: no daemon, session, dataplane, config, gdoi/, xfrm/ or policy/ code.
daemon_symbols=$(nm -C "$gdoictl" | grep -cE 'member::(Daemon|GroupSession|KernelDataplane|load_config)|gdoi::|xfrm::|policy::' || true)
if [[ $daemon_symbols -ne 0 ]]; then
  echo "LAYER VIOLATION: gdoictl carries $daemon_symbols symbols of the daemon's libraries:"
  nm -C "$gdoictl" | grep -E 'member::(Daemon|GroupSession|KernelDataplane|load_config)|gdoi::|xfrm::|policy::' | head -5
  fail=1
fi
[[ $fail -eq 0 ]] && echo "layering: ok (${#allowed[@]} folders; gdoictl: 0 daemon symbols)"
exit $fail
