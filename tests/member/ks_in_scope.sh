#!/usr/bin/env bash
# A key server inside the group's scope: a 10.0.0.0/8 <-> 10.0.0.0/8 group
# whose key server is 10.248.0.2, as on many private WANs. The member runs with its kernel
# dataplane; this kernel has no ESP, so every install is refused and the group stays
# fail-closed with the key server's policy as its scope — the state in which the member's own
# rules used to drop its phase 1 and pull ("send ... failed: Operation not permitted") and
# its ACKs. Now its IKE/GDOI with the key server is exempt: it registers again after each
# refused install, and a push is acknowledged.
#
#   ks_in_scope.sh KEYSERVER_BIN MEMBERD_BIN GDOICTL_BIN
set -euo pipefail
# shellcheck source=tests/member/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
member_test_init member_ks_in_scope "$@"
member_dataplane_init

G=GROUP_ID-4242
ks_start ks --group 4242 --tek cbc256-sha256:0x11111111 --selector 10.0.0.0/8 --ack --ack-period 3
member_config "$WORK/member.toml" "$(group_toml "$G" 4242 "[\"$KS_IP\"]")"
MEMBER_DATAPLANE=1 member_start

registrations() { group_json "$G" .counters.registrations; }
at_least() { [ "$(registrations)" -ge "$1" ]; }
if wait_for 20 at_least 1; then pass "first registration"; else fail "not registered: $(tail -3 "$WORK/member.err")"; fi
# The refused install leaves the group fail-closed with 10.0.0.0/8 <-> 10.0.0.0/8 as its scope;
# the session registers again after 10 s — through its own rules.
table() { ip netns exec "$NS_M" nft list table inet gdoi_member; }
scope_is_policy() { table | grep -q "10.0.0.0/8 . 10.0.0.0/8"; }
if wait_for 10 scope_is_policy; then pass "fail-closed with the key server inside the scope (10.0.0.0/8 . 10.0.0.0/8)"
else fail "the scope never became the key server's policy"; fi
if wait_for 30 at_least 2; then pass "registered again while fail-closed (key server inside the scope)"
else fail "no second registration: $(grep -m1 'not permitted' "$WORK/member.err" || tail -2 "$WORK/member.err")"; fi
if grep -q "Operation not permitted" "$WORK/member.err"; then fail "a send to the key server was refused by the member's rules"
else pass "no send to the key server refused"; fi

# A push: received and acknowledged through the rules while fail-closed.
ks_cmd ks rekey >/dev/null
acked() { grep -qF "ack received from $MEMBER_IP:848 seq 2" "$WORK/ks.out"; }
if wait_for 15 acked; then pass "the push's ACK reached the key server"; else fail "no ACK for SEQ 2"; fi

# gdoictl show policy names the exemption first.
first=$(ctl show policy --json | jq -r '.groups[0].policies[0] | .kind + " " + .action' 2>/dev/null || true)
if [[ "$first" == own* ]]; then pass "gdoictl show policy lists the own IKE/GDOI first ($first)"
else fail "first policy row: '$first'"; fi
listing=$(table)
if grep -q "member's IKE/GDOI.*10.248.0.2" <<<"$listing"; then pass "the exemption is in the nft table"
else fail "no exemption for 10.248.0.2 in the nft table"; fi
finish
