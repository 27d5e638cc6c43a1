#!/usr/bin/env bash
# Rekeys : three GROUPKEY-PUSH in a row, each with fresh TEKs
# (new SPIs, SEQ+1, Delete of the old SPIs) and KEK_ACK_REQUESTED: the member must show
# each new SPI set and SEQ, and the key server must log a verified RFC 8263 ACK for each.
# Then a replayed, a forged (bad signature), an unknown-KEK and a truncated push: each
# must be rejected and counted by reason in `gdoictl show stats`, SEQ and SPIs unchanged.
# The UDP 848 traffic is decoded with tshark (wire_check in lib.sh); only the truncated
# push may be "Malformed".
#
#   rekeys.sh KEYSERVER_BIN MEMBERD_BIN GDOICTL_BIN
set -euo pipefail
# shellcheck source=tests/member/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
member_test_init member_rekeys "$@"

GROUP=GROUP_ID-4242
IKE_DOI=1  # tshark 4.0 decrypts the pull only then (README)
capture_start
ks_start ks --group 4242 --tek cbc256-sha256:0x11111111 --tek gcm128:0x22222222 \
  --selector 10.0.0.0/8 --kek-sig rsa --gap 15,45 --seq 7 --ack --ack-period 3 --ack-retransmits 2
member_config "$WORK/member.toml" "$(group_toml "$GROUP" 4242 '["10.248.0.2"]')"
member_start
if wait_for 20 group_state_is "$GROUP" registered; then pass "registered"; else fail "not registered"; fi
check "initial SEQ" 7 "$(group_json "$GROUP" .sequence)"

tek_spis() { group_json "$GROUP" '.teks | map(.spi) | join(" ")'; }
rejected_is() { [ "$(rejected_count "$GROUP" "$1")" = "$2" ]; }
acks_logged() { [ "$(grep -cF "ack received from $MEMBER_IP:848 seq $1" "$WORK/ks.out")" -ge 1 ]; }

seq=7
for round in 1 2 3; do
  answer=$(ks_cmd ks rekey)
  seq=$((seq + 1))
  # "rekey seq N teks 0x... 0x... deleted 0x... 0x..."
  want_spis=$(sed -n 's/^rekey seq [0-9]* teks \(.*\) deleted .*/\1/p' <<<"$answer")
  check "rekey $round: key server SEQ" "$seq" "$(awk '{print $3}' <<<"$answer")"
  if wait_for 10 group_seq_is "$GROUP" "$seq"; then pass "rekey $round: member SEQ $seq"; else fail "rekey $round: member SEQ $(group_json "$GROUP" .sequence), want $seq"; fi
  check "rekey $round: member TEK SPIs" "$want_spis" "$(tek_spis)"
  if wait_for 10 acks_logged "$seq"; then pass "rekey $round: key server verified the ACK for SEQ $seq"; else fail "rekey $round: no ACK for SEQ $seq in the key server's log"; fi
  check "rekey $round: rekeys_accepted" "$round" "$(group_json "$GROUP" .counters.rekeys_accepted)"
  check "rekey $round: acks_sent" "$round" "$(group_json "$GROUP" .counters.acks_sent)"
  check "rekey $round: registrations (no re-registration)" 1 "$(group_json "$GROUP" .counters.registrations)"
done
status=$(ks_cmd ks status)
for s in 8 9 10; do
  if grep -qx "acks seq $s 1/1" <<<"$status"; then pass "key server status: acks seq $s 1/1"; else fail "key server status lacks 'acks seq $s 1/1': $status"; fi
done
if grep -q "push retransmitted" "$WORK/ks.out"; then fail "key server retransmitted although the ACKs came"; else pass "no retransmission (ACKs in time)"; fi

# Bad pushes: each rejected, counted by reason, state unchanged.
good_spis=$(tek_spis)
expect_reject() {  # COMMAND REASON
  local cmd=$1 reason=$2
  ks_cmd ks "$cmd" >/dev/null
  if wait_for 5 rejected_is "$reason" 1; then
    pass "$cmd: rejected as $reason"
  else
    fail "$cmd: rejected count for '$reason' is $(rejected_count "$GROUP" "$reason"), want 1 (member log: $(grep 'rekey rejected' "$WORK/member.err" | tail -1))"
  fi
  check "$cmd: SEQ unchanged" "$seq" "$(group_json "$GROUP" .sequence)"
  check "$cmd: TEK SPIs unchanged" "$good_spis" "$(tek_spis)"
  check "$cmd: state" registered "$(group_json "$GROUP" .state)"
}
expect_reject rekey-replay replay
expect_reject rekey-forged bad-signature
expect_reject rekey-unknown-kek unknown-kek
expect_reject rekey-truncated malformed
check "rekeys_accepted after the bad pushes" 3 "$(group_json "$GROUP" .counters.rekeys_accepted)"
check "rekeys_rejected total" 4 "$(group_json "$GROUP" .counters.rekeys_rejected)"
check "acks_sent after the bad pushes" 3 "$(group_json "$GROUP" .counters.acks_sent)"
ctl show stats --group "$GROUP" >"$WORK/stats.txt"
for r in replay bad-signature unknown-kek malformed; do
  if grep -qE "^ +$r +1$" "$WORK/stats.txt"; then pass "show stats: $r 1"; else fail "show stats: no '$r 1' line"; fi
done
check_grep "show groups: SEQ $seq" " $seq " <(ctl show groups)

# ACK retransmission: the member stopped (SIGSTOP), a rekey goes unanswered; the key
# server retransmits every --ack-period (3 s) --ack-retransmits (2) times, then gives up.
kill -STOP "$MEMBER_PID"
ks_cmd ks rekey >/dev/null
seq=$((seq + 1))
missing() { grep -qF "ack missing from $MEMBER_IP:848 seq $seq after 2 retransmission(s)" "$WORK/ks.out"; }
if wait_for 15 missing; then pass "ack missing for SEQ $seq logged after 2 retransmissions"; else fail "no 'ack missing' line for SEQ $seq"; fi
check "retransmissions of SEQ $seq" 2 "$(grep -c "push retransmitted seq $seq to $MEMBER_IP:848" "$WORK/ks.out")"
t1=$(grep -n "push sent (rekey) seq $seq" "$WORK/ks.out" | head -1 | cut -d: -f1)
if [ -n "$t1" ]; then pass "push for SEQ $seq sent before the retransmissions"; else fail "no push line for SEQ $seq"; fi
kill -CONT "$MEMBER_PID"
# The three queued copies: the first accepted (and acknowledged, late), the others replays.
if wait_for 10 group_seq_is "$GROUP" "$seq"; then pass "member caught up to SEQ $seq"; else fail "member SEQ $(group_json "$GROUP" .sequence) after SIGCONT"; fi
if wait_for 10 acks_logged "$seq"; then pass "late ACK for SEQ $seq verified"; else fail "no ACK for SEQ $seq after SIGCONT"; fi

capture_stop
# The truncated push is malformed by design: its frame may be flagged, no other.
trunc_len=$(sed -n 's/^push sent (truncated) .*(\([0-9]*\) bytes)$/\1/p' "$WORK/ks.out" | head -1)
allowed=()
if [ -n "$trunc_len" ] && command -v tshark >/dev/null; then
  mapfile -t allowed < <(tshark -n -r "$WORK/wire.pcapng" -Y "udp.length == $((trunc_len + 8))" -T fields -e frame.number 2>/dev/null)
fi
WIRE_GAP=15,45 wire_check "${allowed[@]}"
finish
