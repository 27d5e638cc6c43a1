#!/usr/bin/env bash
# Key servers over IPv6: the member registers (IKEv1 Main Mode + GROUPKEY-PULL) with an IPv6
# local-address against a key server reached at an IPv6 address (the phase-1 identity is then
# ID_IPV6_ADDR, RFC 2407 §4.6.2.1), takes acknowledged GROUPKEY-PUSH rekeys from it, and fails
# over from a silent IPv6 server to the next. A second group takes its rekeys by IPv6 multicast
# (RFC 6407 §4: the SA KEK's DST ID names the group ff15::4242). The first group's TEK protects
# 2001:db8::/32 (ID_IPV6_ADDR_SUBNET selectors, RFC 6407 §5.4.1).: the member joins it on its WAN
# (IPV6_JOIN_GROUP), accepts the multicast push and ACKs it unicast (RFC 8263). tshark decodes
# every datagram (UDP over IPv6).
#
#   ipv6_servers.sh KEYSERVER_BIN MEMBERD_BIN GDOICTL_BIN
set -euo pipefail
# shellcheck source=tests/member/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
member_test_setup member_ipv6_servers "$@"

# Unique local addresses (RFC 4193), only inside this test's namespaces; no DAD wait.
MEMBER_IP=fd00:248::1
KS_IP=fd00:248::2
KS2_IP=fd00:248::3
NOBODY_IP=fd00:248::9
MCAST=ff15::4242
NS_M=gm6-$$
NS_K=gk6-$$
netns_create "$NS_M"
netns_create "$NS_K"
ip link add name veth-m netns "$NS_M" type veth peer name veth-k netns "$NS_K"
ip -n "$NS_M" addr add "$MEMBER_IP/64" dev veth-m nodad
ip -n "$NS_K" addr add "$KS_IP/64" dev veth-k nodad
ip -n "$NS_K" addr add "$KS2_IP/64" dev veth-k nodad
ip -n "$NS_M" link set veth-m up
ip -n "$NS_K" link set veth-k up
netns_wait_ping "$NS_M" "$KS_IP" 5

GROUP=GROUP_ID-0606
# wire_check compares the capture with the first key server's own plaintext record: its traffic only.
CAPTURE_FILTER="udp port 848 and host $KS_IP"
capture_start
ks_start ks --listen "[$KS_IP]:848" --group 606 --tek cbc256-sha256:0x06060001 --selector 2001:db8::/32 \
  --seq 3 --ack --ack-period 3
GROUP2=GROUP_ID-0607
ks_start ks2 --listen "[$KS2_IP]:848" --group 607 --tek cbc256-sha256:0x06070001 --selector 10.0.0.0/8 \
  --seq 1 --ack --ack-period 3 --multicast "[$MCAST]:848"
member_config "$WORK/member.toml" "$(group_toml "$GROUP" 606 "[\"$NOBODY_IP\", \"$KS_IP\"]")" \
  "$(group_toml "$GROUP2" 607 "[\"$KS2_IP\"]")"
member_start
if wait_for 60 group_state_is "$GROUP" registered; then pass "registered over IPv6"; else fail "not registered: $(group_json "$GROUP" .state)"; fi
server=$(group_json "$GROUP" .server)
if [[ "$server" == *"$KS_IP"* ]]; then pass "registered with the second server, $server (the first is silent)"; else fail "current server: '$server', want $KS_IP"; fi
check "initial SEQ" 3 "$(group_json "$GROUP" .sequence)"
check "the TEK's IPv6 selector (ID_IPV6_ADDR_SUBNET)" "2001:db8::/32 -> 2001:db8::/32 proto any" "$(group_json "$GROUP" '.teks[0].selector')"
check_grep "the key server registered the member at its IPv6 address" "registered member [$MEMBER_IP]:848 group 606" "$WORK/ks.out"

answer=$(ks_cmd ks rekey)
if wait_for 10 group_seq_is "$GROUP" 4; then pass "rekey over IPv6: member SEQ 4"; else fail "rekey: member SEQ $(group_json "$GROUP" .sequence)"; fi
want_spis=$(sed -n 's/^rekey seq [0-9]* teks \(.*\) deleted .*/\1/p' <<<"$answer")
check "rekey: TEK SPIs" "$want_spis" "$(group_json "$GROUP" '.teks | map(.spi) | join(" ")')"
acked() { grep -qF "ack received from [$MEMBER_IP]:848 seq 4" "$WORK/ks.out"; }
if wait_for 10 acked; then pass "the key server verified the ACK (RFC 8263) from [$MEMBER_IP]:848"; else fail "no ACK for SEQ 4: $(grep -i ack "$WORK/ks.out" | tail -2)"; fi

# Multicast rekeys over IPv6.
if wait_for 30 group_state_is "$GROUP2" registered; then pass "group 2 registered"; else fail "group 2 not registered: $(group_json "$GROUP2" .state)"; fi
joined() { ip -n "$NS_M" -6 maddr show dev veth-m | grep -qw "$MCAST"; }
if wait_for 5 joined; then pass "group 2: kernel membership $MCAST on veth-m"; else fail "group 2: $MCAST not in 'ip -6 maddr show dev veth-m'"; fi
check "group 2: gdoictl shows the rekey path" "multicast [$MCAST]:848 via veth-m" "$(group_json "$GROUP2" '.kek[0].rekey_via')"
ks_cmd ks2 rekey >/dev/null
if wait_for 10 group_seq_is "$GROUP2" 2; then pass "group 2: multicast rekey accepted, SEQ 2"; else fail "group 2: SEQ $(group_json "$GROUP2" .sequence)"; fi
acked2() { grep -qF "ack received from [$MEMBER_IP]:848 seq 2" "$WORK/ks2.out"; }
if wait_for 10 acked2; then pass "group 2: ACK (unicast) verified by its key server"; else fail "group 2: no ACK: $(tail -3 "$WORK/ks2.out")"; fi
check "group 2: the push came by multicast, not by a retransmission" 0 "$(grep -c "push retransmitted" "$WORK/ks2.out" || true)"

capture_stop
wire_check
check_grep "wire: the member's phase-1 identity is ID_IPV6_ADDR" "ID_IPV6_ADDR: $MEMBER_IP" "$WORK/wire.decoded.txt"
check_grep "wire: the key server's phase-1 identity is ID_IPV6_ADDR" "ID_IPV6_ADDR: $KS_IP" "$WORK/wire.decoded.txt"
check_grep "push plaintext: the SA TEK's source ID is an IPv6 subnet" "SRC ID Type: IPV6_ADDR_SUBNET (6)" "$WORK/push.decoded.txt"
check_grep "push plaintext: ... 2001:db8::/32" "ID_IPV6A_ADDR_SUBNET: ffff:ffff::" "$WORK/push.decoded.txt"
finish
