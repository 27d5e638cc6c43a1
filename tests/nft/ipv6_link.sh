#!/bin/bash
# IPv6 must keep working on the member's own links while an IPv6 group is fail-closed: neighbour
# discovery (RFC 4861: NS/NA for address resolution, RS/RA) and multicast listener reports
# (MLDv2, RFC 3810) of the member and of its neighbours are link-local by construction (hop limit
# 255 / 1, never forwarded) and never group traffic, even when the group's scope covers the
# link's own prefix. A member whose fail-closed rules drop its own neighbour advertisements
# cannot reach its next hop: a dead router.
#
#   M: wan0 2001:db8:ffff::1/64 -- P: wan0 2001:db8:ffff::2/64     M: lan0 2001:db8:1::1/64 -- H
# The group protects 2001:db8::/32 <-> 2001:db8::/32 (both links lie inside it); no TEK: fail-closed.
. "$(dirname "$0")/lib.sh"

setup_v6_topology
check "before the table: P reaches M's WAN address" ip netns exec "$P" ping -6 -c 1 -W 2 2001:db8:ffff::1

eval ip netns exec "$M" "$TOOL" --wan wan0 --lan lan0 --mark 0x10 \
    --g-in 192.0.0.1 --g-out 192.0.0.2 --group 1 --name GROUP_ID-0001 \
    --policy "'src=2001:db8::/32 dst=2001:db8::/32'" apply >/dev/null
check "fail-closed: H's traffic to P (in the scope) is dropped" bash -c "! ip netns exec $H ping -6 -c 1 -W 1 2001:db8:ffff::2"

# Address resolution both ways, from scratch: every cache flushed, then M and P must learn each
# other's link-layer address (NS from one, NA from the other, both in the group's scope).
resolved() {  # resolved NS ADDR: the neighbour entry has a link-layer address
    ip -n "$1" -6 neigh show "$2" dev "$3" | grep -q lladdr
}
ip -n "$M" -6 neigh flush all
ip -n "$P" -6 neigh flush all
ip -n "$H" -6 neigh flush all
ip netns exec "$P" ping -6 -c 1 -W 1 2001:db8:ffff::1 >/dev/null 2>&1 || true  # dropped, but resolves first
check "P resolved M's WAN address (M's neighbour advertisement left M)" resolved "$P" 2001:db8:ffff::1 wan0
ip netns exec "$M" ping -6 -c 1 -W 1 2001:db8:ffff::2 >/dev/null 2>&1 || true
check "M resolved P (P's advertisement reached M)" resolved "$M" 2001:db8:ffff::2 wan0
ip netns exec "$H" ping -6 -c 1 -W 1 2001:db8:1::1 >/dev/null 2>&1 || true
check "H resolved M's LAN address" resolved "$H" 2001:db8:1::1 eth0
ip netns exec "$M" ping -6 -c 1 -W 1 2001:db8:1::10 >/dev/null 2>&1 || true
check "M resolved H" resolved "$M" 2001:db8:1::10 lan0

# Router solicitation / advertisement: a router advertisement from M (as radvd would send it) reaches H.
SEEN=$(mktemp)
TSERR=$(mktemp)
# The capture filter selects router advertisements themselves (ICMPv6 type 134 right after the
# fixed header): -c counts captured packets, so with "icmp6" alone a neighbour solicitation or
# MLD report seen first ended the capture with no RA printed (a failed clean run).
ip netns exec "$H" timeout 10 tshark -q -i eth0 -f "icmp6 and ip6[40] == 134" -Y "icmpv6.type == 134" -c 1 -T fields -e ipv6.src >"$SEEN" 2>"$TSERR" &
CAP=$!
for _ in $(seq 100); do grep -q "Capturing on" "$TSERR" && break; sleep 0.1; done
# An RA leaves from M's link-local address, usable once its duplicate address detection is done
# (tentative before): on a loaded host that takes longer than the RAs used to be sent for.
for _ in $(seq 100); do
  ip -n "$M" -6 addr show dev lan0 scope link | grep -v tentative | grep -q fe80 && break
  sleep 0.1
done
# RAs every 0.2 s until the capture saw one (it stops at the first), for at most 8 s.
ip netns exec "$M" $PY - "$CAP" <<'PY'
import os, socket, struct, sys, time
cap = int(sys.argv[1])
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
s.setsockopt(socket.SOL_SOCKET, 25, b"lan0\0")  # SO_BINDTODEVICE
ra = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0)  # type, code, csum (kernel), hop, flags, lifetime
for _ in range(40):
    s.sendto(ra, ("ff02::1", 0, 0, socket.if_nametoindex("lan0")))
    time.sleep(0.2)
    try:
        os.kill(cap, 0)
    except ProcessLookupError:
        break
PY
wait "$CAP" || true
check "a router advertisement from M reached H" grep -q fe80 "$SEEN"
rm -f "$SEEN" "$TSERR"
check "the group's traffic is still dropped afterwards" bash -c "! ip netns exec $H ping -6 -c 1 -W 1 2001:db8:ffff::2"

# A LAN host cannot pass its traffic off as link signalling: neighbour solicitations with hop
# limit 255 and MLD reports with hop limit 2, addressed across the member into the scope,
# stay fail-closed (P counts what arrives from H). Without the table they arrive (the count works).
ip netns exec "$P" nft add table inet watch
ip netns exec "$P" nft add chain inet watch in '{ type filter hook input priority 0; }'
ip netns exec "$P" nft add rule inet watch in ip6 saddr 2001:db8:1::10 meta l4proto ipv6-icmp counter
from_h() { ip netns exec "$P" nft -j list chain inet watch in | jq '[.nftables[] | select(.rule) | .rule.expr[] | select(.counter) | .counter.packets] | add'; }
forge() {
    ip netns exec "$H" $PY - <<'PY'
import socket, struct
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
dst = ("2001:db8:ffff::2", 0)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
target = socket.inet_pton(socket.AF_INET6, "2001:db8:ffff::2")
for _ in range(3):
    s.sendto(struct.pack("!BBHI", 135, 0, 0, 0) + target + b"GDOI-MARKER", dst)  # NS
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 2)
for _ in range(3):
    s.sendto(struct.pack("!BBHHH", 143, 0, 0, 0, 0) + b"GDOI-MARKER", dst)  # MLDv2 report
PY
}
forge
sleep 0.5
check "crafted signalling from the LAN into the scope never reached P (P saw $(from_h))" test "$(from_h)" = 0
eval ip netns exec "$M" "$TOOL" --wan wan0 --lan lan0 --mark 0x10 --local 10.1.0.0/16 --group 1 \
    --policy "'src=2001:db8::/32 dst=2001:db8::/32'" remove
forge
sleep 0.5
check "control: without the table the same packets reach P (P saw $(from_h))" test "$(from_h)" -ge 3
finish
