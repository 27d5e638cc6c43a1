#!/usr/bin/env bash
# Periodic rekeys of a deployed key server: gdoi-test-keyserver --profile field
# with a TEK rekey every 2 s and a KEK rekey every 5 s, no Delete (GAP 1,2). The member
# follows them all without a rejected push or a second registration, and the TEKs the key
# server never deletes retire: the group state holds the newest TEK plus those superseded less
# than the 1 s activation delay ago: 2, or 3 when the TEK and the KEK rekey coincide (10 s).
# Without retirement it would hold one TEK per push (8 or more).
#
#   field_periodic.sh KEYSERVER_BIN MEMBERD_BIN GDOICTL_BIN
set -euo pipefail
# shellcheck source=tests/member/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
member_test_init member_field_periodic "$@"

GROUP=FIELD-4242
IKE_DOI=2
ks_start ks --group 4242 --tek cbc256-sha256:0x11111111 --kek-sig rsa --gap 1,2 --ack --ack-period 3 \
  --profile field --rekey-every 2 --kek-rekey-every 5
member_config "$WORK/member.toml" "$(group_toml "$GROUP" 4242 "[\"$KS_IP\"]")"
member_start
if wait_for 20 group_state_is "$GROUP" registered; then pass "registered"; else fail "not registered: $(group_json "$GROUP" .detail)"; fi

max_teks=0
kek_rekeys() { grep -c "periodic KEK rekey: rekey-kek seq" "$WORK/ks.out" || true; }
enough() {
  local n
  n=$(group_json "$GROUP" '.teks | length')
  [ "$n" -gt "$max_teks" ] && max_teks=$n
  [ "$(group_json "$GROUP" .sequence)" -ge 8 ] && [ "$(kek_rekeys)" -ge 1 ]
}
if wait_for 30 enough; then pass "member at SEQ $(group_json "$GROUP" .sequence) after periodic rekeys"; else fail "member SEQ $(group_json "$GROUP" .sequence), key server KEK rekeys $(kek_rekeys)"; fi
ks_seq=$(ks_cmd ks status | awk '/^group/ {print $4}')
m_seq=$(group_json "$GROUP" .sequence)
if [ $((ks_seq - m_seq)) -le 1 ]; then pass "member SEQ $m_seq follows the key server's $ks_seq"; else fail "member SEQ $m_seq, key server $ks_seq"; fi
kr=$(kek_rekeys)
if [ "$kr" -ge 1 ]; then pass "key server made $kr periodic KEK rekey(s)"; else fail "no periodic KEK rekey"; fi
if grep -q "KEK rekey to SPI .*naming the current KEK's SPI (accepted)" "$WORK/member.err"; then pass "member followed a periodic KEK rekey"; else fail "no KEK rekey in the member's log"; fi
check "pushes rejected" 0 "$(group_json "$GROUP" .counters.rekeys_rejected)"
check "registrations" 1 "$(group_json "$GROUP" .counters.registrations)"
if [ "$max_teks" -le 3 ]; then pass "at most $max_teks TEKs held across the rekeys (no Delete)"; else fail "$max_teks TEKs held: superseded TEKs do not retire"; fi
if grep -q "retired TEK(s) 0x" "$WORK/member.err"; then pass "member log names retired TEKs"; else fail "no TEK retired"; fi
finish
