#!/bin/bash
# The table is not tied to the process that installed it (no NFT_TABLE_F_OWNER): SIGKILL the
# installer and fail-closed still drops; a new run adopts the table and replaces it atomically.
. "$(dirname "$0")/lib.sh"

setup_topology
LOG=$(mktemp)
(eval exec ip netns exec "$M" "$TOOL" "$(member_args)" hold >"$LOG" 2>&1) &  # exec: $! is the installer
PID=$!
for _ in $(seq 50); do grep -q applied "$LOG" && break; sleep 0.1; done
check "the installer applied the table and keeps running" grep -q applied "$LOG"
check_not "fail-closed while the installer runs" ping_ok "$H" 10.2.0.1

check "the process to kill is the installer itself" test "$(ps -o comm= -p "$PID")" = policy_tool
kill -KILL "$PID"
wait "$PID" 2>/dev/null || true
check_not "the installer is dead" kill -0 "$PID"
check "the table survives it" tool "$M" exists
BEFORE=$(rule_packets "$M" outbound "fail-closed GROUP_ID-0001 policies @scope4_1")
check_not "fail-closed still drops after SIGKILL (no cleartext leak)" ping_ok "$H" 10.2.0.1
AFTER=$(rule_packets "$M" outbound "fail-closed GROUP_ID-0001 policies @scope4_1")
check "  the fail-closed counter kept counting ($BEFORE -> $AFTER)" test "$AFTER" -gt "$BEFORE"
check "fail-open still works from the set left in the kernel" ping_ok "$H" 10.2.5.1

# A restarted member adopts: it finds its table and replaces it in one transaction. A pinger
# runs during repeated replacements: not one packet of the scope may pass in clear meanwhile.
ip netns exec "$P" nft add table inet watch
ip netns exec "$P" nft add chain inet watch in '{ type filter hook input priority 0; }'
ip netns exec "$P" nft add rule inet watch in ip saddr 10.1.0.0/16 ip daddr 10.2.0.1 counter
ip netns exec "$H" ping -n -q -i 0.01 -c 300 -W 1 10.2.0.1 >/dev/null 2>&1 &
PINGER=$!
ADOPTIONS=0
while kill -0 "$PINGER" 2>/dev/null; do tool "$M" apply >/dev/null; ADOPTIONS=$((ADOPTIONS + 1)); done
wait "$PINGER" || true
peer_saw() { ip netns exec "$P" nft -j list chain inet watch in | jq '[.nftables[] | select(.rule) | .rule.expr[] | select(.counter) | .counter.packets] | add'; }
LEAKED=$(peer_saw)
check "no packet leaked during $ADOPTIONS adoptions under load (peer saw $LEAKED)" test "$LEAKED" = 0

# One process replacing its own table again and again, the scope set different each time and
# every other time keyed (the keyed flip: the group's verdicts, its carrier rules, its fail-open set
# emptied or filled): the changed sets are created first and the rules that differ rebound to them
# in one transaction. Not one packet of the scope may pass in clear meanwhile (keyed, it is routed
# to the WAN, not into a carrier: dropped too), over at least 400 such replacements.
ip netns exec "$H" ping -n -q -i 0.005 -c 1500 -W 1 10.2.0.1 >/dev/null 2>&1 &
PINGER=$!
CHURN=$(tool "$M" --tek churn "$PINGER")
wait "$PINGER" || true
churned() { sed -n "s/^churned: [0-9]* replacements, \([0-9]*\) in place with new sets, \([0-9]*\) keyed flips, at most \([0-9]*\) rules written$/\\$1/p" <<<"$CHURN"; }
IN_PLACE=$(churned 1)
check "at least 400 in-place replacements with new sets ($CHURN)" test "${IN_PLACE:-0}" -ge 400
check "  at least 400 of them keyed flips" test "$(churned 2)" -ge 400
check "  none rewrote the table (at most $(churned 3) rules written)" test "$(churned 3)" -le 12
LEAKED=$(peer_saw)
check "no packet leaked during them (peer saw $LEAKED)" test "$LEAKED" = 0
check "fail-closed drops after them" bash -c "! ip netns exec $H ping -c 1 -W 1 10.2.0.1 >/dev/null"
check "only the latest sets are left (no _b duplicates of one name, no bridge)" test "$(ip netns exec "$M" nft list sets table inet gdoi_member | grep -c 'set scope4_1')" = 1
# A bridge left by an apply that died half-way is removed by the next apply / by flush.
ip netns exec "$M" nft add table inet gdoi_member_bridge
check "a leftover bridge table is removed by flush" bash -c "$(declare -f tool member_args); TOOL=$TOOL; tool $M remove && ! ip netns exec $M nft list table inet gdoi_member_bridge"
check "re-apply after flush" tool "$M" apply
check "exactly one member table after adoption" test "$(ip netns exec "$M" nft list tables | grep -c gdoi_member)" = 1

rm -f "$LOG"
finish
