#!/usr/bin/env bash
# Failover: two key servers configured, the first one's address unreachable (on
# the link, but nobody there): the member must give up on it, register with the second,
# and `gdoictl show servers` must show the first one's failure and error. (This key server
# signs with ECDSA P-256, the other tests with RSA.)
#
#   failover.sh KEYSERVER_BIN MEMBERD_BIN GDOICTL_BIN
set -euo pipefail
# shellcheck source=tests/member/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
member_test_init member_failover "$@"

GROUP=GROUP_ID-4242
ks_start ks --group 4242 --tek cbc256-sha256:0x11111111 --seq 3 --kek-sig ecdsa256
member_config "$WORK/member.toml" "$(group_toml "$GROUP" 4242 "[\"$NOBODY_IP\", \"$KS_IP:848\"]")"
member_start
start=$(date +%s)
# The first server gets the member's whole phase-1 retransmission budget (15 s) first.
if wait_for 60 group_state_is "$GROUP" registered; then
  pass "registered after $(($(date +%s) - start)) s"
else
  fail "not registered: $(group_json "$GROUP" .detail)"
fi
ctl show --json >"$WORK/status.json"
J() { jq -r ".groups[0]$1" "$WORK/status.json"; }
check "server in use" "$KS_IP:848" "$(J .server)"
check "servers[0].address" "$NOBODY_IP:848" "$(J '.servers[0].address')"
check "servers[0].in_use" false "$(J '.servers[0].in_use')"
check "servers[1].address" "$KS_IP:848" "$(J '.servers[1].address')"
check "servers[1].in_use" true "$(J '.servers[1].in_use')"
check "servers[1].failures" 0 "$(J '.servers[1].failures')"
check "servers[1].last_error" "" "$(J '.servers[1].last_error')"
f0=$(J '.servers[0].failures') e0=$(J '.servers[0].last_error')
if [ "$f0" -ge 1 ]; then pass "servers[0].failures = $f0"; else fail "servers[0].failures = $f0, want >= 1"; fi
if [ -n "$e0" ]; then pass "servers[0].last_error = '$e0'"; else fail "servers[0].last_error is empty"; fi
check "counters.registrations" 1 "$(J .counters.registrations)"
rf=$(J .counters.registration_failures)
if [ "$rf" -ge 1 ]; then pass "counters.registration_failures = $rf"; else fail "counters.registration_failures = $rf"; fi
check "sequence from the second server" 3 "$(J .sequence)"
check "TEK from the second server" 0x11111111 "$(J '.teks[0].spi')"
sig=$(J '.kek[0].signature')
if [[ "$sig" == ECDSA*256* ]]; then pass "kek[0].signature = $sig"; else fail "kek[0].signature = $sig, want ECDSA P-256"; fi
check "kek[0].ack_requested (no --ack)" false "$(J '.kek[0].ack_requested')"
# An ECDSA-signed rekey is accepted (no ACK requested: none sent).
ks_cmd ks rekey >/dev/null
if wait_for 10 group_seq_is "$GROUP" 4; then pass "ECDSA-signed rekey accepted (SEQ 4)"; else fail "ECDSA rekey: SEQ $(group_json "$GROUP" .sequence)"; fi
check "acks_sent without KEK_ACK_REQUESTED" 0 "$(group_json "$GROUP" .counters.acks_sent)"

ctl show servers >"$WORK/servers.txt"
cat "$WORK/servers.txt"
row0=$(grep -F "$NOBODY_IP:848" "$WORK/servers.txt" || true)
row1=$(grep -F "$KS_IP:848" "$WORK/servers.txt" || true)
if [ -n "$row0" ] && [[ "$row0" == *"${e0:0:20}"* ]] && [[ "$row0" =~ [[:space:]]no[[:space:]] ]]; then
  pass "show servers: first server not in use, with its error"
else
  fail "show servers: first server row '$row0' lacks 'no' or the error '$e0'"
fi
if [[ "$row1" =~ [[:space:]]yes[[:space:]] ]]; then pass "show servers: second server in use"; else fail "show servers: second server row '$row1'"; fi
check_grep "key server: registered member" "registered member $MEMBER_IP:848 group 4242 seq 3" "$WORK/ks.out"
# A forced registration (gdoictl register) starts with the server in use and gets the
# key server's current state (SEQ 4 after the rekey above).
ctl register "$GROUP" >/dev/null
two_regs() { [ "$(group_json "$GROUP" .counters.registrations)" = 2 ] && group_state_is "$GROUP" registered; }
if wait_for 20 two_regs; then pass "gdoictl register: registered again"; else fail "gdoictl register: registrations $(group_json "$GROUP" .counters.registrations)"; fi
check "server after gdoictl register" "$KS_IP:848" "$(group_json "$GROUP" .server)"
check "sequence after gdoictl register" 4 "$(group_json "$GROUP" .sequence)"
check "key server: registrations logged" 2 "$(grep -c "registered member $MEMBER_IP:848 group 4242" "$WORK/ks.out")"
finish
