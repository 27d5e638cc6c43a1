#!/bin/bash
# Real packets through the member's rules: hosts (H) — member (M) — peer (P) over veth.
# No ESP on this kernel: these prove the rule order, fail-closed, fail-open, the WAN guards.
. "$(dirname "$0")/lib.sh"

setup_topology
check "baseline without the table: H reaches the remote scope in clear" ping_ok "$H" 10.2.0.1
check "apply the member's table (no TEK yet)" tool "$M" apply

# 1 exclude: BGP (tcp/179) passes in clear, both directions, before any key exists.
tcp_listen "$P" 10.2.0.1 179
check "excluded tcp/179 from a LAN host passes in clear" tcp_connect "$H" 10.2.0.1 179
check "  counted by the exclude rule" rule_counted "$M" classify "exclude 1"
check "  left by the WAN as clear-marked traffic" rule_counted "$M" postrouting "marked clear"
tcp_listen "$M" 10.1.0.1 179
check "excluded tcp/179 from the peer to the member passes" tcp_connect "$P" 10.1.0.1 179 10.2.0.1
check "member's own tcp/179 (route hook output) passes" tcp_connect "$M" 10.2.0.1 179 10.1.0.1
tcp_listen "$H2" 10.1.1.10 179
check "excluded tcp/179 between two LANs stays on the LANs (not marked to the WAN table)" tcp_connect "$H" 10.1.1.10 179
check "  skipped by the LAN route check" rule_counted "$M" lan_classify "routed to LAN lan1"
check "LAN to LAN traffic is not touched" ping_ok "$H" 10.1.1.10
tcp_listen "$P" 10.2.0.1 8080
check_not "non-excluded tcp/8080 in the scope is dropped (fail-closed)" tcp_connect "$H" 10.2.0.1 8080

# 4 fail-closed while no TEK.
check_not "group traffic without a TEK is dropped (fail-closed)" ping_ok "$H" 10.2.0.1
check "  counted by the fail-closed rule" rule_counted "$M" outbound "fail-closed GROUP_ID-0001 policies @scope4_1"
check "  and by the policy's element of the scope set" element_counted "$M" scope4_1 "GROUP_ID-0001 policy 1: 10.1.0.0/16 -> 10.2.0.0/16"
# Every fragment is dropped, not only the first: the scope lookup reads no transport header.
F0=$(rule_packets "$M" outbound "fail-closed GROUP_ID-0001 policies @scope4_1")
check_not "fragmented group traffic without a TEK is dropped" ping_ok "$H" 10.2.0.1 -s 3000 -M dont
F1=$(rule_packets "$M" outbound "fail-closed GROUP_ID-0001 policies @scope4_1")
check "  all 3 fragments of each of the 2 pings ($((F1 - F0)) dropped)" test $((F1 - F0)) -ge 6
check_not "member's own scope traffic without a TEK is dropped" ping_ok "$M" 10.2.0.1 -I 10.1.0.1
check "  by the last-resort WAN guard (before NAT)" rule_counted "$M" postrouting_early "last resort, GROUP_ID-0001 scope in clear, policies @scope4_1"
check "traffic outside the scope is not touched" ping_ok "$H" 172.31.255.2

# 3 fail-open while no TEK: ICMP to 10.2.5.0/24 passes in clear, marked for the WAN table.
check "fail-open traffic passes in clear while no TEK" ping_ok "$H" 10.2.5.1
check "  counted by the fail-open rule" rule_counted "$M" classify "fail-open of GROUP_ID-0001"
check "  its replies by the inbound fail-open rule" rule_counted "$M" inbound "fail-open of GROUP_ID-0001 @failopen4_1 (reply"
check_not "fail-open is only ICMP: tcp to 10.2.5.1 is dropped" tcp_connect "$H" 10.2.5.1 8080
check "empty the fail-open set (TEK arrived)" tool "$M" fail-open 1 off
check_not "fail-open set emptied: dropped again" ping_ok "$H" 10.2.5.1
check "fill the fail-open set (TEK lost)" tool "$M" fail-open 1 on
check "fail-open again" ping_ok "$H" 10.2.5.1

# Cleartext from the WAN into the protected scope.
check_not "cleartext ping from the WAN into the scope is dropped" ping_ok "$P" 10.1.0.10 -I 10.2.0.1
check "  counted by the inbound fail-closed rule" rule_counted "$M" inbound "cleartext from WAN into GROUP_ID-0001 scope, policies @scope4_1"
check "  and by the mirrored element of the scope set" element_counted "$M" scope4_1 "GROUP_ID-0001 policy 1: 10.2.0.0/16 -> 10.1.0.0/16"
check_not "cleartext ping from the WAN to the member's LAN address is dropped" ping_ok "$P" 10.1.0.1 -I 10.2.0.1
tcp_listen "$H" 10.1.0.10 8080
check_not "cleartext tcp from the WAN to a LAN host is dropped" tcp_connect "$P" 10.1.0.10 8080 10.2.0.1

# Cleartext IPIP to G_IN (the carrier bypass), inner source outside every policy.
ip netns exec "$P" $PY -c '
import socket, struct
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); return ~(s + (s >> 16)) & 0xffff
icmp = struct.pack("!BBHHH", 8, 0, 0, 1, 1) + b"spoof"
icmp = icmp[:2] + struct.pack("!H", csum(icmp + b"\0")) + icmp[4:]
inner = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 1, 0, 64, 1, 0,
                    socket.inet_aton("10.9.9.9"), socket.inet_aton("10.1.0.10"))
inner = inner[:10] + struct.pack("!H", csum(inner)) + inner[12:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 4)
for _ in range(3): s.sendto(inner + icmp, ("192.0.0.1", 0))
'
check "cleartext IPIP to G_IN is dropped at input" rule_counted "$M" input "cleartext IPIP to G_IN"

# A carrier packet (G_IN -> G_OUT, IPIP) without an SA never leaves.
ip netns exec "$M" $PY -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 4)
s.bind(("192.0.0.1", 0))
for _ in range(3):
    try: s.sendto(b"\x45" + b"\0" * 39, ("192.0.0.2", 0))
    except PermissionError: pass  # the drop in postrouting is reported to the sender as EPERM
'
check "carrier without SA is dropped in postrouting" rule_counted "$M" postrouting "carrier without SA"

# The router masquerades on its WAN: nothing changes for the group's scope.
ip netns exec "$M" nft add table ip router_nat
ip netns exec "$M" nft add chain ip router_nat post '{ type nat hook postrouting priority srcnat; }'
ip netns exec "$M" nft add rule ip router_nat post oifname wan0 masquerade
check_not "masquerade: member's own scope traffic without a TEK is still dropped" ping_ok "$M" 10.2.0.1 -I 10.1.0.1
check_not "masquerade: group traffic without a TEK is still dropped" ping_ok "$H" 10.2.0.1
check "masquerade: traffic outside the scope is masqueraded and flows" ping_ok "$H" 172.31.255.2
# IPIP to the carrier peer whose source NAT (or anything) rewrote: dropped by its destination.
ip netns exec "$M" $PY -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 4)
s.bind(("172.31.255.1", 0))
for _ in range(3):
    try: s.sendto(b"\x45" + b"\0" * 39, ("192.0.0.2", 0))
    except PermissionError: pass
'
check "IPIP to the carrier peer from another source is dropped" rule_counted "$M" postrouting "IPIP to a carrier peer without SA"
ip netns exec "$M" nft delete table ip router_nat

# The member's own IKE/GDOI with a key server inside the scope: fail-closed must
# not cut it. Without the exemption it is dropped; with it, both directions pass.
ip netns exec "$P" $PY -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.2.0.1", 848)); s.settimeout(60)
while True:
    try: d, a = s.recvfrom(2048); s.sendto(d, a)
    except OSError: break
' &
disown
sleep 0.3
udp_848() {  # udp_848: M sends from 10.1.0.1:848 (inside the scope) to 10.2.0.1:848, gets the echo
    ip netns exec "$M" $PY -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.1.0.1", 848)); s.settimeout(1)
s.sendto(b"isakmp", ("10.2.0.1", 848)); assert s.recv(64) == b"isakmp"
'
}
check_not "without the exemption a key server inside the scope is unreachable (fail-closed)" udp_848
check "re-apply with the key server 10.2.0.1:848 exempt" tool "$M" --own "'dst=10.2.0.1/32 proto=udp sport=848 dport=848'" apply
check "the member reaches the key server inside the scope while fail-closed" udp_848
check "  counted by the member's own traffic rule in classify" rule_counted "$M" classify "member's IKE/GDOI"
check "  its answer by the own-traffic rule inbound" rule_counted "$M" inbound "member's IKE/GDOI"
check_not "other traffic to the key server is still dropped" ping_ok "$M" 10.2.0.1 -I 10.1.0.1
check "re-apply with a valid TEK and the exemption" tool "$M" --tek --own "'dst=10.2.0.1/32 proto=udp sport=848 dport=848'" apply
check "keyed: the member still reaches the key server (not into the carrier)" udp_848
check "re-apply without the exemption" tool "$M" apply

# With a valid TEK: group traffic may only go into the carrier; here the route is the WAN
# (no carrier device in this kernel), so it is still dropped, by the outbound rules.
check "re-apply with a valid TEK" tool "$M" --tek apply
check_not "group traffic not routed into the carrier is still dropped" ping_ok "$H" 10.2.0.1
check "  counted by the group policy (encrypt) rule in classify" rule_counted "$M" classify "GROUP_ID-0001 policies @scope4_1: encrypt"
check "  dropped by fail-closed in outbound" rule_counted "$M" outbound "fail-closed GROUP_ID-0001 policies @scope4_1"
check_not "with a TEK fail-open no longer applies" ping_ok "$H" 10.2.5.1
check "excluded tcp/179 still passes with a TEK" tcp_connect "$H" 10.2.0.1 179

# Removal (gdoictl flush): the member's rules are gone, traffic flows unfiltered again.
check "remove the table" tool "$M" remove
check_not "table gone" tool "$M" exists
check "after removal H reaches the remote scope in clear" ping_ok "$H" 10.2.0.1

finish
