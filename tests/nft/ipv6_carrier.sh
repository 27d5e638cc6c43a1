#!/bin/bash
# The IPv6 carrier's rules on this host's nftables (no ip6tnl and no ESP here: the real carrier
# and ESP are proven in tests/vm/ipv6-layout.sh): the table as the kernel holds it, and crafted
# packets through it.
#   - cleartext ip6ip6 from the WAN to G_IN6 (the carrier's decapsulation bypass) is dropped;
#   - ESP from the WAN for the IPv6 own scope is readdressed to G_OUT6 -> G_IN6 (one inbound SA);
#   - ip6ip6 from G_IN6 whose route applies no SA never leaves (per-group carrier guard).
#
#   M: wan0 2001:db8:ffff::1/64 -- P: wan0 2001:db8:ffff::2/64     M: lan0 2001:db8:1::1/64 -- H
# G_IN6 100::47 on M's lo, G_OUT6 100::48 routed via P (RFC 6666 discard-only prefix 100::/64).
. "$(dirname "$0")/lib.sh"

setup_v6_topology
ip -n "$M" addr add 100::47/128 dev lo
ip -n "$M" route add 100::48/128 via 2001:db8:ffff::2
ip -n "$M" route add 2001:db8:2::/48 via 2001:db8:ffff::2
ip -n "$H" route add default via 2001:db8:1::1
ip -n "$P" route add 100::47/128 via 2001:db8:ffff::1
ip -n "$P" route add 2001:db8:1::/48 via 2001:db8:ffff::1

ARGS="--wan wan0 --lan lan0 --mark 0x10 --g-in 192.0.0.1 --g-out 192.0.0.2 --local 10.1.0.0/16 \
    --g-in6 100::47 --g-out6 100::48 --peers6 100::/64 --local 2001:db8:1::/48 \
    --group 1 --name GROUP_ID-0001 --tek --carrier-peer 192.0.0.2 --carrier6 gdoi6 --carrier6-peer 100::48 \
    --policy 'src=2001:db8:1::/48 dst=2001:db8:2::/48'"
APPLIED=$(eval ip netns exec "$M" "$TOOL" "$ARGS" apply) && pass "apply a table with the IPv6 carrier" ||
    fail "apply a table with the IPv6 carrier"
TEXT=$(ip netns exec "$M" nft list table inet gdoi_member)
grep_text() { grep -qF -- "$1" <<<"$TEXT"; }
check "text: ESP for the IPv6 own scope readdressed to G_OUT6 -> G_IN6, untracked" grep_text \
    'iifname "wan0" meta l4proto esp ip6 daddr 2001:db8:1::/48 ip6 saddr set 100::48 ip6 daddr set 100::47 notrack'
check "text: the IPv6 carrier is untracked" grep_text 'ip6 saddr 100::47 meta l4proto ipv6 notrack'
check "text: the IPv6 carrier's outer addresses := the inner ones (@nh,384,128 / @nh,512,128)" grep_text \
    'ip6 saddr 100::47 meta l4proto ipv6 rt ipsec exists ip6 saddr set @nh,384,128 ip6 daddr set @nh,512,128'
check "text: ip6ip6 to a carrier peer without SA is dropped" grep_text 'meta l4proto ipv6 ip6 daddr 100::/64 counter packets 0 bytes 0 drop'
check "text: IPv6 policies go only into the IPv6 carrier" grep_text 'oifname "gdoi6" counter packets 0 bytes 0 accept'
WANT=$(sed -n 's/^applied: \([0-9]*\) rules.*/\1/p' <<<"$APPLIED")
GOT=$(ip netns exec "$M" nft -j list table inet gdoi_member | jq '[.nftables[] | select(.rule)] | length')
check "kernel holds every compiled rule ($WANT)" test "$WANT" = "$GOT"

# P counts what reaches it from M: ip6ip6 (the carrier's protocol) of any source.
ip netns exec "$P" nft add table inet watch
ip netns exec "$P" nft add chain inet watch in '{ type filter hook prerouting priority -400; }'
ip netns exec "$P" nft add rule inet watch in iifname wan0 meta l4proto ipv6 counter
ip6ip6_at_p() { ip netns exec "$P" nft -j list chain inet watch in | jq '[.nftables[] | select(.rule) | .rule.expr[] | select(.counter) | .counter.packets] | add'; }

# send NS SRC DST PROTO: raw IPv6 packets of next header PROTO carrying an inner IPv6 packet
# (LAN host <- remote site) with a marker.
send() {
    ip netns exec "$1" $PY - "$2" "$3" "$4" <<'PY'
import socket, struct, sys
src, dst, proto = sys.argv[1], sys.argv[2], int(sys.argv[3])
payload = b"GDOI-MARKER" * 4
inner = struct.pack("!IHBB", 6 << 28, len(payload), 59, 64)  # version 6, no next header
inner += socket.inet_pton(socket.AF_INET6, "2001:db8:2::5") + socket.inet_pton(socket.AF_INET6, "2001:db8:1::10")
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, proto)
s.bind((src, 0))
body = inner + payload if proto == 41 else struct.pack("!II", 0x1000, 1) + payload  # ESP: SPI, sequence
for _ in range(3):
    try:
        s.sendto(body, (dst, 0))
    except PermissionError:  # a drop on the member's own output path (the guard under test)
        pass
PY
}

send "$P" 2001:db8:ffff::2 100::47 41
sleep 0.3
check "cleartext ip6ip6 from the WAN to G_IN6 is dropped at input (carrier bypass)" \
    rule_counted "$M" input "cleartext ip6ip6 to G_IN6"

send "$P" 2001:db8:ffff::2 2001:db8:1::10 50
sleep 0.3
check "ESP for the IPv6 own scope is readdressed (esp_inbound counted it)" \
    rule_counted "$M" esp_inbound "ESP for own scope 2001:db8:1::/48"
check "... and arrives for G_IN6 (inbound: group ESP readdressed to G_IN6)" \
    rule_counted "$M" inbound "group ESP readdressed to G_IN6"

send "$M" 100::47 100::48 41
sleep 0.3
check "ip6ip6 from G_IN6 without SA is dropped by the group's IPv6 carrier guard" \
    rule_counted "$M" postrouting "IPv6 carrier of GROUP_ID-0001 without SA"
check "no ip6ip6 reached P (P saw $(ip6ip6_at_p))" test "$(ip6ip6_at_p)" = 0

# Control: without the table the same carrier packets leave M (the count works).
eval ip netns exec "$M" "$TOOL" "$ARGS" remove
send "$M" 100::47 100::48 41
sleep 0.3
check "control: without the table ip6ip6 from G_IN6 reaches P (P saw $(ip6ip6_at_p))" test "$(ip6ip6_at_p)" -ge 3
finish
