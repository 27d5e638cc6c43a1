#!/usr/bin/env bash
# Multicast rekeys (RFC 6407 §4, §5.3): the key server's SA KEK names 239.1.2.3:848 as the
# rekeys' DST ID (gdoi-test-keyserver --multicast) and it sends each GROUPKEY-PUSH once to
# that group. Two members share the key server's L2 segment (a bridge in the key server's
# namespace); both join 239.1.2.3 on their WAN, accept the push (SEQ, TEK SPIs, counters)
# and ACK it unicast (RFC 8263). A third member reaches the key server over another link:
# it joins the group too, but the multicast does not reach it — it gets the push only by
# the key server's unicast retransmission for the missing ACK. tshark on the key server's
# interfaces proves where the pushes went. Finally a group removed by SIGHUP leaves the
# multicast group (the kernel's membership list no longer has it).
#
#   NS_K: gdoi-test-keyserver on br0 10.248.0.2/24 (ports veth-k1, veth-k2), veth-k3 10.248.1.2/24
#   NS_M1: member 1, veth-m 10.248.0.1/24 -> br0       NS_M2: member 2, veth-m 10.248.0.4/24 -> br0
#   NS_M3: member 3, veth-m 10.248.1.1/24 -> veth-k3 (route to 10.248.0.0/24 via 10.248.1.2)
#
#   multicast.sh KEYSERVER_BIN MEMBERD_BIN GDOICTL_BIN
set -euo pipefail
# shellcheck source=tests/member/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

member_test_setup member_multicast "$@"

MCAST=239.1.2.3
NS_K=gk-$$
NS_M=(unused gm1-$$ gm2-$$ gm3-$$)
M_IP=(unused 10.248.0.1 10.248.0.4 10.248.1.1)
KS3_IP=10.248.1.2
for n in "$NS_K" "${NS_M[1]}" "${NS_M[2]}" "${NS_M[3]}"; do netns_create "$n"; done
ip -n "$NS_K" link add br0 type bridge mcast_snooping 0
for i in 1 2; do
  ip link add name "veth-k$i" netns "$NS_K" type veth peer name veth-m netns "${NS_M[$i]}"
  ip -n "$NS_K" link set "veth-k$i" master br0 up
  ip -n "${NS_M[$i]}" addr add "${M_IP[$i]}/24" dev veth-m
  ip -n "${NS_M[$i]}" link set veth-m up
done
ip -n "$NS_K" addr add "$KS_IP/24" dev br0
ip -n "$NS_K" link set br0 up
ip link add name veth-k3 netns "$NS_K" type veth peer name veth-m netns "${NS_M[3]}"
ip -n "$NS_K" addr add "$KS3_IP/24" dev veth-k3
ip -n "$NS_K" link set veth-k3 up
ip -n "${NS_M[3]}" addr add "${M_IP[3]}/24" dev veth-m
ip -n "${NS_M[3]}" link set veth-m up
ip -n "${NS_M[3]}" route add 10.248.0.0/24 via "$KS3_IP"
for i in 1 2 3; do netns_wait_ping "${NS_M[$i]}" "$KS_IP" 5; done

# Capture on the segment and on member 3's link: UDP 848 only.
if command -v tshark >/dev/null; then
  ip netns exec "$NS_K" tshark -q -i br0 -i veth-k3 -f "udp port 848" -w "$WORK/wire.pcapng" \
    >"$WORK/tshark.out" 2>"$WORK/tshark.err" &
  CAPTURE_PID=$!
  cleanup_add "kill -INT $CAPTURE_PID 2>/dev/null"
  for ((i = 0; i < 100; i++)); do grep -q "Capturing on" "$WORK/tshark.err" 2>/dev/null && break; sleep 0.1; done
fi

GROUP=GROUP_ID-4242
ks_start ks --group 4242 --tek cbc256-sha256:0x11111111 --seq 7 --ack --ack-period 4 --ack-retransmits 2 \
  --psk-any "$WORK/psk" --multicast "$MCAST"
check_grep "key server: SA KEK names the multicast DST ID" "rekeys 10.248.0.2/32:848 -> $MCAST/32:848 proto 17" "$WORK/ks.err"

# member_toml N GROUP_TOML — WORK/mN.toml: member N's [member] table and one group.
member_toml() { MEMBER_NAME=m$1 MEMBER_ADDR=${M_IP[$1]} member_config "$WORK/m$1.toml" "$2"; }
# member_start_n N — gdoi-memberd --no-dataplane in NS_M[N] with WORK/mN.toml, control WORK/mN.sock.
member_start_n() {
  member_toml "$1" "$(group_toml "$GROUP" 4242 "[\"$KS_IP\"]")"
  MEMBER_NAME=m$1 MEMBER_NS=${NS_M[$1]} member_start
}
mj() { "$GDOICTL" -s "$WORK/m$1.sock" show --json --group "$GROUP" | jq -r ".groups[0]$2"; }
state_is() { [ "$(mj "$1" .state)" = "$2" ]; }
seq_is() { [ "$(mj "$1" .sequence)" = "$2" ]; }
joined() { ip -n "${NS_M[$1]}" maddr show dev veth-m | grep -qw "$MCAST"; }
acked() { grep -qF "ack received from ${M_IP[$1]}:848 seq $2" "$WORK/ks.out"; }

for n in 1 2 3; do
  member_start_n "$n"
  if wait_for 20 state_is "$n" registered; then pass "member $n registered"; else fail "member $n not registered: $(mj "$n" .detail)"; fi
  check "member $n: initial SEQ" 7 "$(mj "$n" .sequence)"
  check_grep "member $n: joins the KEK's multicast DST" \
    "group $GROUP: receiving rekeys on multicast $MCAST:848 via veth-m" "$WORK/m$n.err"
  if wait_for 5 joined "$n"; then pass "member $n: kernel membership $MCAST on veth-m"; else fail "member $n: $MCAST not in 'ip maddr show dev veth-m'"; fi
  check "member $n: gdoictl shows the rekey path" "multicast $MCAST:848 via veth-m" "$(mj "$n" '.kek[0].rekey_via')"
done

seq=7
for round in 1 2; do
  answer=$(ks_cmd ks rekey)
  seq=$((seq + 1))
  want_spis=$(sed -n 's/^rekey seq [0-9]* teks \(.*\) deleted .*/\1/p' <<<"$answer")
  check_grep "rekey $round: key server sent it once, to the group" "push sent (rekey) seq $seq to $MCAST:848 multicast, 3 member(s)" "$WORK/ks.out"
  for n in 1 2; do
    if wait_for 3 seq_is "$n" "$seq"; then pass "rekey $round: member $n SEQ $seq"; else fail "rekey $round: member $n SEQ $(mj "$n" .sequence), want $seq"; fi
    check "rekey $round: member $n TEK SPIs" "$want_spis" "$(mj "$n" '.teks | map(.spi) | join(" ")')"
    check "rekey $round: member $n rekeys_accepted" "$round" "$(mj "$n" .counters.rekeys_accepted)"
    check "rekey $round: member $n acks_sent" "$round" "$(mj "$n" .counters.acks_sent)"
    if wait_for 3 acked "$n" "$seq"; then pass "rekey $round: key server verified member $n's unicast ACK"; else fail "rekey $round: no ACK from member $n for SEQ $seq"; fi
  done
  # Member 3 is not on the segment: no multicast; its SEQ moves only with the unicast
  # retransmission that follows the missing ACK (--ack-period 4).
  check "rekey $round: member 3 (other link) did not get the multicast push" "$((seq - 1))" "$(mj 3 .sequence)"
  if wait_for 8 seq_is 3 "$seq"; then pass "rekey $round: member 3 caught up by the unicast retransmission"; else fail "rekey $round: member 3 SEQ $(mj 3 .sequence)"; fi
  check_grep "rekey $round: retransmitted unicast to member 3" "push retransmitted seq $seq to ${M_IP[3]}:848 (1/2)" "$WORK/ks.out"
  if wait_for 3 acked 3 "$seq"; then pass "rekey $round: member 3's ACK verified"; else fail "rekey $round: no ACK from member 3"; fi
done
if grep -q "push retransmitted seq [0-9]* to ${M_IP[1]}\|push retransmitted seq [0-9]* to ${M_IP[2]}" "$WORK/ks.out"; then
  fail "the key server retransmitted to a member on the segment"
else
  pass "no retransmission to the members on the segment (their ACKs came)"
fi

# Group removed by SIGHUP (replaced by a group whose key server never answers): member 1
# leaves the multicast group.
member_toml 1 "$(group_toml OTHER 4243 "[\"$NOBODY_IP\"]")"
kill -HUP "$(cat "$WORK/m1.pid")"
left() { ! joined 1; }
if wait_for 5 left; then pass "member 1: group removed, $MCAST left (kernel membership gone)"; else fail "member 1: still a member of $MCAST"; fi
check_grep "member 1: logs leaving" "group $GROUP: no longer receiving rekeys on multicast $MCAST:848 (group removed)" "$WORK/m1.err"
if joined 2; then pass "member 2: still a member of $MCAST"; else fail "member 2 left $MCAST"; fi

if [ -n "${CAPTURE_PID:-}" ]; then
  sleep 0.5
  kill -INT "$CAPTURE_PID" 2>/dev/null || true
  wait "$CAPTURE_PID" 2>/dev/null || true
  # shellcheck disable=SC2054  # the comma belongs to tshark's -d argument
  ts=(tshark -n -r "$WORK/wire.pcapng" -d udp.port==848,isakmp)
  count() { "${ts[@]}" -Y "$1" -T fields -e frame.number 2>/dev/null | wc -l; }
  # Exchange 33 = GROUPKEY-PUSH, 35 = the RFC 8263 ACK.
  check "wire: pushes to $MCAST (from $KS_IP, on br0)" 2 \
    "$(count "isakmp.exchangetype == 33 && ip.dst == $MCAST && ip.src == $KS_IP && frame.interface_name == \"br0\"")"
  check "wire: multicast pushes with TTL 8" 2 "$(count "isakmp.exchangetype == 33 && ip.dst == $MCAST && ip.ttl == 8")"
  check "wire: unicast pushes to the members on the segment" 0 "$(count "isakmp.exchangetype == 33 && (ip.dst == ${M_IP[1]} || ip.dst == ${M_IP[2]})")"
  check "wire: unicast pushes to member 3 (retransmissions)" 2 "$(count "isakmp.exchangetype == 33 && ip.dst == ${M_IP[3]}")"
  check "wire: multicast pushes on member 3's link" 0 "$(count "isakmp.exchangetype == 33 && ip.dst == $MCAST && frame.interface_name == \"veth-k3\"")"
  for n in 1 2 3; do
    check "wire: unicast ACKs from member $n to $KS_IP" 2 "$(count "isakmp.exchangetype == 35 && ip.src == ${M_IP[$n]} && ip.dst == $KS_IP")"
  done
else
  fail "wire: tshark not installed"
fi
finish
