#!/usr/bin/env bash
# Interoperation with deployed key servers, against gdoi-test-keyserver
# --profile field: it drops a phase-1 SA with DOI 2 and a Situation other than 0 without a
# word, pushes from source port 8848 without Delete, signs with raw-hash RSA, writes the
# SAK with 6 octets after the SPI, 1-octet SAT ID lengths, a basic KEK_KEY_LIFETIME and
# ADDRESS_PRESERVATION / SA_DIRECTION 0, and names the current KEK's SPI in a KEK rekey's KD.
#  1. A bare listener (first key server; it never answers) sees message 1 with DOI 2 and
#     Situation 0; the member says once for that attempt why silence may happen.
#  2. The member registers (ike.doi = 2) with the field key server, follows 3 rekeys and a
#     KEK rekey, and acknowledges each push to port 8848.
#  3. A KEK rekey whose push is lost: the next push comes under a KEK the member does not
#     hold; it registers again at once and follows the rekeys after it.
#
#   field.sh KEYSERVER_BIN MEMBERD_BIN GDOICTL_BIN
set -euo pipefail
# shellcheck source=tests/member/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
member_test_init member_field "$@"
command -v python3 >/dev/null || { echo "member_field: needs python3" >&2; exit 77; }

GROUP=FIELD-4242
IKE_DOI=2
# 1. The bare listener on KS2_IP:848: writes the first datagram it gets, in hex, and stays silent.
ip netns exec "$NS_K" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 848))
open(sys.argv[2] + ".ready", "w").close()
data, peer = s.recvfrom(65535)
open(sys.argv[2], "w").write(data.hex())
while True:
    s.recvfrom(65535)
' "$KS2_IP" "$WORK/listener.hex" >"$WORK/listener.err" 2>&1 &
cleanup_add "kill -TERM $! 2>/dev/null"
wait_for 10 test -e "$WORK/listener.hex.ready" || fail "bare listener did not start: $(cat "$WORK/listener.err")"

ks_start ks --group 4242 --tek cbc256-sha256:0x11111111 --kek-sig rsa --seq 5 --ack --ack-period 3 \
  --profile field
check_grep "key server pushes from port 8848" "pushes from $KS_IP:8848" "$WORK/ks.err"
member_config "$WORK/member.toml" "$(group_toml "$GROUP" 4242 "[\"$KS2_IP\", \"$KS_IP\"]")"
member_start
if wait_for 40 group_state_is "$GROUP" registered; then pass "registered (after the silent first server)"; else fail "not registered: $(group_json "$GROUP" .detail)"; fi

hex=$(cat "$WORK/listener.hex" 2>/dev/null || true)
# RFC 2408 §3.1/§3.4: 28-octet header, 4-octet generic header, then DOI (4) and Situation (4).
check "message 1: exchange type (Main Mode)" 02 "${hex:36:2}"
check "message 1: first payload SA" 01 "${hex:32:2}"
check "message 1: DOI" 00000002 "${hex:64:8}"
check "message 1: Situation" 00000000 "${hex:72:8}"
silent=$(grep -c "phase1 $KS2_IP:848.*silently refuses our proposal, DOI (ike.doi 2) or identity: check its log\|key server $KS2_IP:848 failed: no answer from the key server: either it is not reachable" "$WORK/member.err" || true)
if [ "$silent" -ge 1 ]; then pass "the silent key server's failure names both explanations"; else fail "no honest no-answer line in the member's log"; fi
check "no-answer failures logged for the silent key server" 1 "$(grep -c "key server $KS2_IP:848 failed: no answer" "$WORK/member.err")"
check_grep "key server: registered member" "registered member $MEMBER_IP:848 group 4242 seq 5" "$WORK/ks.out"
kek_spi() { group_json "$GROUP" '.kek[0].spi' | tr 'A-F' 'a-f' | sed 's/^0x//'; }
tek_spis() { group_json "$GROUP" '.teks | map(.spi) | join(" ")'; }
acks_logged() { grep -qF "ack received from $MEMBER_IP:848 seq $1" "$WORK/ks.out"; }
kek_left=$(group_json "$GROUP" '.kek[0].remaining_seconds')
if [ "$kek_left" -le 65535 ] && [ "$kek_left" -gt 65000 ]; then pass "KEK lifetime from a basic attribute: $kek_left s left"; else fail "KEK remaining $kek_left s, want 65000..65535"; fi
check "TEK from the SAT with 1-octet ID lengths" 0x11111111 "$(group_json "$GROUP" '.teks[0].spi')"

# 2. Three rekeys, then a KEK rekey, each acknowledged to port 8848.
seq=5
rekey_round() {  # COMMAND LABEL
  local answer new_spis
  answer=$(ks_cmd ks "$1")
  seq=$((seq + 1))
  new_spis=$(sed -n 's/.* teks \(.*\) deleted.*/\1/p' <<<"$answer")
  check "$2: key server SEQ" "$seq" "$(awk '{print $3}' <<<"$answer")"
  check "$2: no Delete in the push" "" "$(sed -n 's/.* deleted *//p' <<<"$answer")"
  if wait_for 10 group_seq_is "$GROUP" "$seq"; then pass "$2: member SEQ $seq"; else fail "$2: member SEQ $(group_json "$GROUP" .sequence), want $seq ($(grep 'rekey rejected' "$WORK/member.err" | tail -1))"; fi
  if [[ " $(tek_spis) " == *" $new_spis "* ]]; then pass "$2: member holds the new TEK $new_spis"; else fail "$2: member TEKs '$(tek_spis)' lack $new_spis"; fi
  if wait_for 10 acks_logged "$seq"; then pass "$2: ACK for SEQ $seq verified by the key server (port 8848)"; else fail "$2: no ACK for SEQ $seq"; fi
  LAST_ANSWER=$answer
}
for round in 1 2 3; do rekey_round rekey "rekey $round"; done
old_kek=$(kek_spi)
rekey_round rekey-kek "KEK rekey"
new_kek=$(awk '{print $5}' <<<"$LAST_ANSWER")
check "KEK rekey: member's KEK SPI is the new one" "$new_kek" "$(kek_spi)"
if [ "$old_kek" != "$new_kek" ]; then pass "KEK SPI changed"; else fail "KEK SPI unchanged"; fi
check_grep "member log: KD named the current KEK's SPI, accepted" "KEK rekey to SPI $new_kek, keyed by a KD packet naming the current KEK's SPI (accepted)" "$WORK/member.err"
rekey_round rekey "rekey under the new KEK"
check "registrations so far" 1 "$(group_json "$GROUP" .counters.registrations)"
check "rekeys accepted" 5 "$(group_json "$GROUP" .counters.rekeys_accepted)"
check "no push rejected" 0 "$(group_json "$GROUP" .counters.rekeys_rejected)"

# 3. A KEK rekey the member misses; the next push is under the new KEK.
lost=$(ks_cmd ks rekey-kek-lost)
seq=$((seq + 1))
lost_kek=$(awk '{print $5}' <<<"$lost")
t_push=$(date +%s%N)
ks_cmd ks rekey >/dev/null
seq=$((seq + 1))
registered_twice() { [ "$(group_json "$GROUP" .counters.registrations)" = 2 ]; }
if wait_for 10 registered_twice; then
  pass "registered again $((($(date +%s%N) - t_push) / 1000000)) ms after the unknown-KEK push"
else
  fail "no prompt re-registration: $(group_json "$GROUP" .detail)"
fi
check "unknown-kek pushes counted" 1 "$(rejected_count "$GROUP" unknown-kek)"
check_grep "member log: missed KEK rekey" "a rekey came under a KEK we do not hold (a KEK rekey missed?): registering again in 0 s" "$WORK/member.err"
if wait_for 10 group_seq_is "$GROUP" "$seq"; then pass "SEQ $seq from the new registration"; else fail "SEQ $(group_json "$GROUP" .sequence) after re-registration, want $seq"; fi
check "KEK after re-registration" "$lost_kek" "$(kek_spi)"
rekey_round rekey "rekey after the re-registration"
check "rekeys accepted in all" 6 "$(group_json "$GROUP" .counters.rekeys_accepted)"
check "gdoictl show tek: no ESP_3DES-0 / -0 names" 0 "$(ctl show tek | grep -c -- '-0[ /]' || true)"
finish
