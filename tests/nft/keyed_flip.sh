#!/bin/bash
# The keyed flip in place, in one process as gdoi-memberd does it: a registration (fail-closed
# with the LAN scope -> keyed with the TEK's selectors) and the loss of the TEK write only the
# rules that differ (policy/src/table_diff.h), in one transaction, and leave exactly the table a
# fresh apply of the same rules gives. Counted twice: by the ApplyReport and by `nft monitor`.
. "$(dirname "$0")/lib.sh"

UNKEYED="--unkeyed-policy 'src=10.1.0.0/16'"
written() { sed -n "s/^$1: .*, \([0-9]*\) rules written$/\1/p" <<<"$2"; }
total() { sed -n "s/^$1: \([0-9]*\) rules,.*/\1/p" <<<"$2"; }

# The table as rules per chain and sets by name, the alternating set names (NAME_b) as NAME.
normalized() {
    ip netns exec "$1" nft -j list table inet gdoi_member |
        sed -E 's/"(scope|failopen)([46]_[0-9]+(_[0-9]+)?)_b"/"\1\2"/g; s/@(scope|failopen)([46]_[0-9]+(_[0-9]+)?)_b\b/@\1\2/g' |
        jq -S '{rules: [.nftables[] | select(.rule) | .rule | del(.handle)],
                sets: ([.nftables[] | select(.set) | .set | del(.handle)] | sort_by(.name))}'
}

# 1. unkeyed -> keyed, watched by nft monitor.
NS=$(new_ns flip)
MON=$(mktemp)
ip netns exec "$NS" nft monitor rules >"$MON" 2>&1 &
MONITOR=$!
sleep 0.5
if OUT=$(tool "$NS" --tek "$UNKEYED" flip); then pass "flip in one process"; else fail "flip in one process: $OUT"; fi
sleep 0.5
kill "$MONITOR" 2>/dev/null || true
wait "$MONITOR" 2>/dev/null || true
ALL=$(total keyed "$OUT")
CREATED=$(written unkeyed "$OUT")
FLIP=$(written keyed "$OUT")
check "the fail-closed table was created whole ($CREATED of $ALL rules)" test "${CREATED:-0}" -ge 40
check "the keyed flip was in place" grep -q '^keyed: .*, in place, ' <<<"$OUT"
check "the keyed flip wrote a handful of rules ($FLIP of $ALL), not the table" test "${FLIP:-999}" -le 12
ADDED=$(grep -cE '^(add|insert) rule inet gdoi_member ' "$MON" || true)
check "nft monitor saw as many rules added as were written ($ADDED = $CREATED + $FLIP)" test "$ADDED" = "$((CREATED + FLIP))"
FRESH=$(new_ns fresh)
check "a fresh keyed table" tool "$FRESH" --tek apply
check "the flipped table is the fresh keyed table (rules in order, sets)" test "$(normalized "$NS")" = "$(normalized "$FRESH")"
check "no bridge table was needed" test "$(ip netns exec "$NS" nft list tables | grep -c gdoi_member)" = 1

# 2. unkeyed -> keyed -> unkeyed (the TEK lost).
BACK=$(new_ns back)
if OUT=$(tool "$BACK" --tek "$UNKEYED" flip back); then pass "flip and back"; else fail "flip and back: $OUT"; fi
LOST=$(written "unkeyed again" "$OUT")
check "losing the TEK was in place" grep -q '^unkeyed again: .*, in place, ' <<<"$OUT"
check "losing the TEK wrote a handful of rules ($LOST of $ALL)" test "${LOST:-999}" -le 12
FRESH2=$(new_ns fresh2)
# What flip applies unkeyed: member_args with the LAN scope as the group's only policy.
# shellcheck disable=SC2119  # member_args without extra arguments
check "a fresh unkeyed table" eval ip netns exec "$FRESH2" "$TOOL" \
    "$(member_args | sed "s|--policy 'src=10.1.0.0/16 dst=10.2.0.0/16'|--policy 'src=10.1.0.0/16'|")" apply
check "the table after losing the TEK is the fresh unkeyed table" test "$(normalized "$BACK")" = "$(normalized "$FRESH2")"

rm -f "$MON"
finish
