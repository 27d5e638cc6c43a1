#!/usr/bin/env bash
# packaging/bash-completion/gdoictl: sourced in bash it registers a completion for gdoictl,
# which offers "show" for "gdoictl sh", the views after "show", and options after "-".
#   bash-completion-test.sh SOURCE_DIR
set -euo pipefail
src=${1:?source dir}
fail() { echo "FAIL: $*"; exit 1; }
# shellcheck source=/dev/null
source "$src/packaging/bash-completion/gdoictl"

complete -p gdoictl | grep -q -- '-F _gdoictl' || fail "complete -p gdoictl: $(complete -p gdoictl 2>&1)"

# complete_line WORDS...: COMPREPLY for completing the last word (gdoictl itself is not run
# for these: no group names are needed).
complete_line() {
    COMP_WORDS=("$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE="$*"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    _gdoictl gdoictl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    echo "${COMPREPLY[*]}"
}

[[ $(complete_line gdoictl sh) == show ]] || fail "gdoictl sh -> '$(complete_line gdoictl sh)', expected show"
[[ $(complete_line gdoictl "") == "show register flush monitor help" ]] || fail "gdoictl '' -> '$(complete_line gdoictl "")'"
[[ $(complete_line gdoictl show t) == tek ]] || fail "gdoictl show t -> '$(complete_line gdoictl show t)'"
[[ $(complete_line gdoictl -s /run/x.sock show "") == "groups servers kek tek policy stats" ]] ||
  fail "views after -s PATH show: '$(complete_line gdoictl -s /run/x.sock show "")'"
[[ $(complete_line gdoictl show --j) == --json ]] || fail "gdoictl show --j -> '$(complete_line gdoictl show --j)'"
[[ $(complete_line gdoictl show stats --format p) == prometheus ]] || fail "--format p -> '$(complete_line gdoictl show stats --format p)'"
[[ $(complete_line gdoictl show --format prometheus "") == "groups servers kek tek policy stats" ]] ||
  fail "views after --format prometheus: '$(complete_line gdoictl show --format prometheus "")'"
[[ $(complete_line gdoictl show --o) == --output ]] || fail "gdoictl show --o -> '$(complete_line gdoictl show --o)'"
[[ $(complete_line gdoictl --ver) == --version ]] || fail "gdoictl --ver -> '$(complete_line gdoictl --ver)'"
[[ -z $(complete_line gdoictl flush "") ]] || fail "flush takes no arguments"
[[ $(complete_line gdoictl mon) == monitor ]] || fail "gdoictl mon -> '$(complete_line gdoictl mon)'"
[[ $(complete_line gdoictl monitor --) == "--socket --timeout --help --version --json --group" ]] ||
  fail "gdoictl monitor -- -> '$(complete_line gdoictl monitor --)'"
[[ -z $(complete_line gdoictl monitor "") ]] || fail "monitor takes no arguments"

# Group names come from `gdoictl show groups --json` (a stand-in here), on the socket given.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/gdoictl" <<'STUB'
#!/bin/sh
echo "$*" >"$(dirname "$0")/args"
printf '{\n  "schema": 2,\n  "version": "0",\n  "uptime_seconds": 1,\n  "groups": [\n    {\n'
printf '      "name": "GROUP_ID-0001",\n      "id": 1\n    },\n    {\n      "name": "branch west",\n      "id": 2\n    }\n  ]\n}\n'
STUB
chmod +x "$work/gdoictl"
groups=$(complete_line "$work/gdoictl" -s /run/x.sock register "")
[[ $groups == "GROUP_ID-0001 branch west" ]] || fail "register '' -> '$groups'"
grep -q -- "--socket /run/x.sock --timeout 1 show groups --json" "$work/args" || fail "asked with: $(cat "$work/args")"
[[ $(complete_line "$work/gdoictl" show tek --group b) == "branch west" ]] || fail "--group b"
[[ $(complete_line "$work/gdoictl" monitor --json --group G) == "GROUP_ID-0001" ]] || fail "monitor --group G"
echo "bash completion: 1 passed, 0 failed"
