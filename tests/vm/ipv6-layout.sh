#!/usr/bin/env bash
# ipv6-layout.sh — the kernel layout of the member's IPv6 dataplane, proved with ip/nft/xfrm
# commands only (no member code), in a real ESP kernel (tests/vm/vm-run.sh tests/vm/ipv6-layout.sh;
# ctest vm_ipv6_layout). The IPv6 twin of the IPv4 "Packet path" of ARCHITECTURE.md.
#
#   lan1 2001:db8:1::10 -- ::1 gm1 2001:db8:ff:1::2 -- ::1 core ::1 -- 2001:db8:ff:2::2 gm2 2001:db8:2::1 -- ::10 lan2
#
# On each member (identical but for the LAN prefixes):
#   carrier gdoi0: ip6tnl mode ip6ip6, local G_IN6 100::47, remote G_OUT6 100::48 (RFC 6666
#     discard-only prefix), encaplimit none (no Tunnel Encapsulation Limit option: the inner
#     header is at octet 40 and the wire format is RFC 4303 tunnel mode), hoplimit 64, tclass and
#     flowlabel inherit (what the kernel's own tunnel mode writes), addrgenmode none, MTU derived
#     from the WAN MTU; G_IN6 on lo; route to G_OUT6 via the WAN gateway, remote LAN via gdoi0.
#   outbound: XFRM out policy 100::47 -> 100::48 proto 41, tmpl transport ESP reqid 1; SA
#     transport 100::47 -> 100::48 SPI 0x1000 (AES-CBC + HMAC-SHA-256-128); nft postrouting
#     copies the inner addresses (@nh,384,128 / @nh,512,128) into the outer header
#     (@nh,64,128 / @nh,192,128) before the transform: ESP leaves as inner src > inner dst.
#   inbound: nft prerouting -300 readdresses ESP from the WAN to the local LAN prefix to
#     100::48 -> 100::47 (notrack); tunnel-mode SA 100::48 -> 100::47 SPI 0x1000, replay
#     window 0, decapsulates; dir fwd policy remote LAN -> local LAN, tmpl tunnel ESP reqid 1,
#     level required.
#   carrier bypass guards: nft input drop of cleartext ip6ip6 to 100::47 from the WAN and an
#     XFRM dir in block policy for proto 41 to 100::47; nft output drop of the carrier's own
#     link-local/multicast traffic (MLD/ND of the ip6tnl device) before it could be readdressed.
#
# Checks: 1 ping and UDP both ways; 2 on the core only ESP between the sites, outer addresses =
# the LAN hosts, SPI = 0x1000, the UDP marker never in clear; 3 tshark with the SA keys decrypts
# every ESP packet to the inner IPv6 packet (ESP next header 41, inner = outer addresses, outer
# flow label/traffic class = inner, outer hop limit 64) with the marker; 4 crafted cleartext
# ip6ip6 from the core to 100::47 reaches gm2's WAN but not lan2 (each guard alone holds), and
# does reach lan2 with both guards removed (control); 5 ND on both WAN links stays resolved;
# MTU: 1280-byte and carrier-MTU inner packets pass, one octet more gets ICMPv6 Packet Too Big
# from gm1 with the carrier MTU, and lan1 records that path MTU.
#
# Mutations (GDOI_VM_ENV="V6_MUTATION=..."): no-guard (no bypass guards: check 4 must fail);
# encaplimit (ip6tnl's default Tunnel Encapsulation Limit option: next header 60, the rewrite
# does not match, the carrier guard drops everything); encaplimit-open (the same without the
# carrier guard: what would leave); addrgen (a link-local address on the carrier).
set -euo pipefail
# shellcheck source=tests/vm/lib/sites.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/sites.sh"

PY=/usr/bin/python3
P="v6l$$"
OUT="${GDOI_VM_OUT:-/tmp}"
W=$(mktemp -d /tmp/ipv6-layout.XXXXXX)
FAILS=0
MUTATION="${V6_MUTATION:-}"
MARKER="GDOI-V6-MARKER-7c3a91"
SPI=0x00001000
KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
INT=202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f
G_IN=100::47
G_OUT=100::48
H1=2001:db8:1::10
H2=2001:db8:2::10
SPOOF=2001:db8:99::1
WAN_MTU=1500
# AES-CBC (IV 16, block 16) + HMAC-SHA-256-128 (ICV 16): the ESP packet is 40 (outer IPv6) +
# 8 (SPI, sequence) + 16 (IV) + pad(inner + 2, 16) + 16 (ICV) <= WAN MTU:
# padded <= (1500 - 80) rounded down to 16 = 1408, inner <= 1408 - 2 = 1406.
CARRIER_MTU=$(((WAN_MTU - 40 - 8 - 16 - 16) / 16 * 16 - 2))

step() { echo "ipv6-layout: [${SECONDS}s] $*"; }

cleanup() {
    sites_destroy
    cp -f "$W"/*.pcap "$W"/*.txt "$W"/*.log "$OUT"/ 2>/dev/null || true
}
trap cleanup EXIT

# ---- ESP for IPv6 available? ------------------------------------------------------------------
esp6_available ipv6-layout
step "kernel $(uname -r), mutation '${MUTATION:-none}', carrier MTU $CARRIER_MTU for WAN MTU $WAN_MTU"

# ---- topology -----------------------------------------------------------------------------------
# link6 NS1 IF1 ADDR1 NS2 IF2 ADDR2: a veth, addressed (no DAD) and up.
link6() {
    ip link add "$2" netns "$P-$1" type veth peer name "$5" netns "$P-$4"
    ip -n "$P-$1" addr add "$3" dev "$2" nodad
    ip -n "$P-$4" addr add "$6" dev "$5" nodad
    ip -n "$P-$1" link set "$2" up
    ip -n "$P-$4" link set "$5" up
}

step "topology"
for ns in lan1 gm1 core gm2 lan2; do
    ip netns add "$P-$ns"
    ip -n "$P-$ns" link set lo up
    # Before the devices exist (they copy "default"): no DAD on link-local addresses either,
    # no router advertisements taken; the routers forward.
    fwd=0
    [[ $ns == gm1 || $ns == core || $ns == gm2 ]] && fwd=1
    nsx "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
        net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.all.forwarding=$fwd
done
link6 lan1 eth0 $H1/64 gm1 lan0 2001:db8:1::1/64
link6 gm1 wan0 2001:db8:ff:1::2/64 core c1 2001:db8:ff:1::1/64
link6 core c2 2001:db8:ff:2::1/64 gm2 wan0 2001:db8:ff:2::2/64
link6 gm2 lan0 2001:db8:2::1/64 lan2 eth0 $H2/64
ip -n "$P-lan1" -6 route add default via 2001:db8:1::1
ip -n "$P-lan2" -6 route add default via 2001:db8:2::1
ip -n "$P-gm1" -6 route add default via 2001:db8:ff:1::1
ip -n "$P-gm2" -6 route add default via 2001:db8:ff:2::1
ip -n "$P-core" -6 route add 2001:db8:1::/64 via 2001:db8:ff:1::2
ip -n "$P-core" -6 route add 2001:db8:2::/64 via 2001:db8:ff:2::2

# ---- the member layout ------------------------------------------------------------------------
# member GM LOCAL_PREFIX REMOTE_PREFIX WAN_GATEWAY
member() {
    local gm=$1 local_prefix=$2 remote_prefix=$3 gw=$4 n="$P-$1" encap=(encaplimit none)
    [[ $MUTATION == encaplimit* ]] && encap=()
    # G_IN6 first: ip6tnl computes its xmit/rcv capability from the local address at creation.
    ip -n "$n" -6 addr add $G_IN/128 dev lo nodad
    ip -n "$n" link add gdoi0 type ip6tnl mode ip6ip6 local $G_IN remote $G_OUT "${encap[@]}" \
        hoplimit 64 tclass inherit flowlabel inherit
    # No link-local address on the carrier: no DAD, and less of its own ND/MLD into the carrier.
    [[ $MUTATION == addrgen ]] || ip -n "$n" link set gdoi0 addrgenmode none
    ip -n "$n" link set gdoi0 mtu "$CARRIER_MTU" up
    ip -n "$n" -6 route add $G_OUT/128 via "$gw" dev wan0
    # SAs: the group SA, the same on every member; both directions use SPI 0x1000.
    ip -n "$n" xfrm state add src $G_IN dst $G_OUT proto esp spi $SPI reqid 1 mode transport \
        enc 'cbc(aes)' "0x$KEY" auth-trunc 'hmac(sha256)' "0x$INT" 128
    ip -n "$n" xfrm state add src $G_OUT dst $G_IN proto esp spi $SPI reqid 1 mode tunnel replay-window 0 \
        enc 'cbc(aes)' "0x$KEY" auth-trunc 'hmac(sha256)' "0x$INT" 128
    ip -6 -n "$n" xfrm policy add src $G_IN/128 dst $G_OUT/128 proto 41 dir out priority 1000 \
        tmpl proto esp reqid 1 mode transport level required
    if [[ $MUTATION != no-guard ]]; then
        ip -6 -n "$n" xfrm policy add src ::/0 dst $G_IN/128 proto 41 dir in priority 10 action block
    fi
    ip -6 -n "$n" xfrm policy add src "$remote_prefix" dst "$local_prefix" dir fwd priority 1000 \
        tmpl proto esp reqid 1 mode tunnel level required
    local guard="iifname \"wan0\" ip6 daddr $G_IN ip6 nexthdr ipv6 meta secpath missing counter name bypass_drop drop"
    [[ $MUTATION == no-guard ]] && guard="# no guard (mutation)"
    local carrier_guard="ip6 saddr $G_IN ip6 daddr $G_OUT counter name carrier_guard drop comment \"carrier without SA: never leaves in clear\""
    [[ $MUTATION == encaplimit-open ]] && carrier_guard="# no carrier guard (mutation)"
    nsx "$gm" nft -f - <<EOF
table inet v6layout {
  counter bypass_drop {}
  counter carrier_own {}
  counter rewritten {}
  counter readdressed {}
  counter carrier_guard {}
  counter carrier_dstopt {}
  chain esp_inbound {
    type filter hook prerouting priority -300; policy accept;
    iifname "wan0" ip6 nexthdr esp ip6 daddr $local_prefix ip6 saddr set $G_OUT ip6 daddr set $G_IN counter name readdressed notrack
  }
  chain notrack_output {
    type filter hook output priority -300; policy accept;
    ip6 saddr $G_IN ip6 nexthdr ipv6 notrack
    ip6 saddr $local_prefix ip6 nexthdr esp notrack
  }
  chain carrier_own {
    type filter hook output priority 0; policy accept;
    oifname "gdoi0" ip6 saddr { ::, fe80::/10 } counter name carrier_own drop
    oifname "gdoi0" ip6 daddr ff00::/8 counter name carrier_own drop
  }
  chain input {
    type filter hook input priority 0; policy accept;
    $guard
  }
  chain postrouting {
    type filter hook postrouting priority 300; policy accept;
    ip6 saddr $G_IN ip6 daddr $G_OUT ip6 nexthdr 60 counter name carrier_dstopt
    ip6 saddr $G_IN ip6 daddr $G_OUT ip6 nexthdr ipv6 rt ipsec exists ip6 saddr set @nh,384,128 ip6 daddr set @nh,512,128 counter name rewritten accept
    $carrier_guard
  }
}
EOF
    ip -n "$n" -6 route add "$remote_prefix" dev gdoi0
}

step "members: ip6tnl carrier, SAs, policies, nft"
member gm1 2001:db8:1::/64 2001:db8:2::/64 2001:db8:ff:1::1
member gm2 2001:db8:2::/64 2001:db8:1::/64 2001:db8:ff:2::1
for gm in gm1 gm2; do
    ip -n "$P-$gm" -d link show gdoi0 >"$W/$gm-carrier.txt"
done
sed 's/^/    /' "$W/gm1-carrier.txt"

# ---- 1. traffic both ways, captured on the core -------------------------------------------------
step "1. ping and UDP both ways (capture on core c1)"
READY="$W/udp.ready"
nsx lan2 $PY "$SITES_LIB/udp_echo.py" serve $H2 5000 "$READY" 5 >"$W/udp-server.txt" 2>&1 &
UDP_PID=$!
capture_start traffic
check "ping lan1 -> lan2" nsx lan1 ping -6 -n -q -c 3 -i 0.2 -W 2 $H2
check "ping lan2 -> lan1" nsx lan2 ping -6 -n -q -c 3 -i 0.2 -W 2 $H1
check "ping lan1 -> lan2 with traffic class 0xb8 (DSCP EF)" nsx lan1 ping -6 -n -q -c 3 -i 0.2 -W 2 -Q 0xb8 $H2
wait_until 30 test -s "$READY" || bad "UDP server on lan2 did not start"
replies=$(nsx lan1 $PY "$SITES_LIB/udp_echo.py" send $H2 5000 "$MARKER" 5 || echo 0)
wait "$UDP_PID" || true
received=$(grep -c "^$H1 $MARKER" "$W/udp-server.txt" || true)
capture_stop
if [[ $received -eq 5 ]]; then ok "UDP lan1 -> lan2: 5 of 5 datagrams"; else bad "UDP lan1 -> lan2: $received of 5 datagrams"; fi
if [[ $replies -eq 5 ]]; then ok "UDP lan2 -> lan1: 5 of 5 replies"; else bad "UDP lan2 -> lan1: $replies of 5 replies"; fi

# ---- 2. the wire: ESP only, address preservation, the group SPI, no marker in clear ------------
step "2. the capture on the core"
# One pass over the capture (tshark is slow under TCG): ESP flows by outer addresses and SPI, and
# anything else that names a site's LAN prefix or the carrier prefix.
tshark -r "$CAP" -T fields -E separator=/t -e frame.number -e ipv6.src -e ipv6.dst -e ipv6.nxt -e esp.spi \
    -e ipv6.hlim -e ipv6.flow -e ipv6.tclass -e _ws.col.Info >"$W/traffic-frames.txt" 2>/dev/null || true
sed -n '1,8p' "$W/traffic-frames.txt" | sed 's/^/    /'
awk -F'\t' '$4 == 50 { print $2, $3, $5 }' "$W/traffic-frames.txt" | sort | uniq -c >"$W/traffic-esp-flows.txt"
sed 's/^/    esp flow: /' "$W/traffic-esp-flows.txt"
esp_fwd=$(awk -v s=$H1 -v d=$H2 -v spi=$SPI '$2 == s && $3 == d && $4 == spi { print $1 }' "$W/traffic-esp-flows.txt")
esp_rev=$(awk -v s=$H2 -v d=$H1 -v spi=$SPI '$2 == s && $3 == d && $4 == spi { print $1 }' "$W/traffic-esp-flows.txt")
esp_flows=$(grep -c . "$W/traffic-esp-flows.txt" || true)
if [[ ${esp_fwd:-0} -ge 14 && ${esp_rev:-0} -ge 14 && $esp_flows -eq 2 ]]; then
    ok "only ESP flows $H1 > $H2 (${esp_fwd}) and $H2 > $H1 (${esp_rev}), SPI $SPI (address preservation)"
else
    bad "ESP flows on the core: $(tr '\n' ';' <"$W/traffic-esp-flows.txt")"
fi
clear=$(awk -F'\t' '$4 != 50 && ($2 "," $3) ~ /(^|,)(2001:db8:[12]::|100::)/' "$W/traffic-frames.txt" | grep -c . || true)
if [[ $clear -eq 0 ]]; then ok "nothing but ESP between the sites"; else bad "$clear non-ESP packets between the sites"; fi
in_clear=$(grep -c -a "$MARKER" "$CAP" || true)
if [[ $in_clear -eq 0 ]]; then ok "the UDP marker is not in the capture in clear"; else bad "the UDP marker appears $in_clear times in clear"; fi

# ---- 3. decrypted with the SA keys --------------------------------------------------------------
step "3. tshark with the SA keys"
SA="\"IPv6\",\"*\",\"*\",\"$SPI\",\"AES-CBC [RFC3602]\",\"0x$KEY\",\"HMAC-SHA-256-128 [RFC4868]\",\"0x$INT\""
tshark -r "$CAP" -Y esp -o esp.enable_encryption_decode:TRUE -o "uat:esp_sa:$SA" -T fields -E separator=/t \
    -e esp.protocol -e ipv6.src -e ipv6.dst -e ipv6.hlim -e ipv6.flow -e ipv6.tclass -e icmpv6.type -e udp.payload \
    >"$W/traffic-decrypted.txt" 2>/dev/null || true
sed -n '1,4p' "$W/traffic-decrypted.txt" | sed 's/^/    /'
total=$(grep -c . "$W/traffic-decrypted.txt" || true)
# Fields with two values are "outer,inner".
good=$(awk -F'\t' '$1 == "0x29" && split($2, s, ",") == 2 && s[1] == s[2] && split($3, d, ",") == 2 && d[1] == d[2]' \
    "$W/traffic-decrypted.txt" | grep -c . || true)
if [[ $total -gt 0 && $good -eq $total ]]; then
    ok "all $total ESP packets decrypt to IPv6 (ESP next header 41), inner = outer addresses"
else
    bad "$good of $total ESP packets decrypt to IPv6 with inner = outer addresses"
fi
# Outer hop limit 64 as sent; gm2's packets crossed core (63) before the capture on c1.
hdr=$(awk -F'\t' -v h1=$H1 'split($2, s, ",") == 2 && split($4, h, ",") == 2 && h[1] == (s[1] == h1 ? 64 : 63) && split($5, f, ",") == 2 && f[1] == f[2] && f[1] !~ /^0x0*$/ &&
    split($6, t, ",") == 2 && t[1] == t[2]' "$W/traffic-decrypted.txt" | grep -c . || true)
if [[ $total -gt 0 && $hdr -eq $total ]]; then
    ok "outer hop limit 64 (as sent), outer flow label (non-zero) and traffic class = inner, in all $total"
else
    bad "outer header fields as tunnel mode in $hdr of $total"
fi
ef=$(awk -F'\t' '$7 == 128 && split($6, t, ",") == 2 && t[1] ~ /b8$/ && t[1] == t[2]' "$W/traffic-decrypted.txt" | grep -c . || true)
ef_any=$(awk -F'\t' '$7 == 128 && $6 ~ /b8/' "$W/traffic-decrypted.txt" | grep -c . || true)
if [[ $ef -ge 3 ]]; then ok "traffic class 0xb8 copied to the outer header ($ef echo requests)"; else
    bad "traffic class 0xb8: $ef echo requests with outer = inner = 0xb8 ($ef_any with 0xb8 somewhere)"; fi
marker_hex=$($PY -c 'import sys; print(sys.argv[1].encode().hex())' "$MARKER")
marked=$(grep -c "$marker_hex" "$W/traffic-decrypted.txt" || true)
if [[ $marked -ge 10 ]]; then ok "the marker is inside the ESP ($marked datagrams both ways)"; else
    bad "$marked decrypted datagrams carry the marker (expected 10)"; fi

# ---- 5. ND on the WAN ---------------------------------------------------------------------------
step "5. neighbour discovery on the WAN with the nft tables loaded"
for x in "gm1 2001:db8:ff:1::1 wan0" "gm2 2001:db8:ff:2::1 wan0" "core 2001:db8:ff:1::2 c1" "core 2001:db8:ff:2::2 c2"; do
    read -r ns addr dev <<<"$x"
    st=$(nd_state "$ns" "$addr" "$dev")
    case $st in
        REACHABLE | STALE | DELAY | PROBE) ok "ND: $ns sees $addr $st" ;;
        *) bad "ND: $ns sees $addr '${st:-none}'" ;;
    esac
done
# ND traffic must resolve while ESP flows: force a fresh resolution of core on gm1 and ping again.
ip -n "$P-gm1" -6 neigh flush dev wan0
check "ping lan1 -> lan2 after flushing gm1's WAN neighbours" nsx lan1 ping -6 -n -q -c 2 -i 0.2 -W 2 $H2
st=$(nd_state gm1 2001:db8:ff:1::1 wan0)
case $st in
    REACHABLE | STALE | DELAY | PROBE) ok "ND: gm1 re-resolved core ($st)" ;;
    *) bad "ND: gm1 re-resolving core: '${st:-none}'" ;;
esac

# ---- MTU ----------------------------------------------------------------------------------------
step "MTU: carrier $CARRIER_MTU"
check "1280-byte inner packet lan1 -> lan2" nsx lan1 ping -6 -n -q -c 1 -W 2 -M 'do' -s $((1280 - 48)) $H2
check "$CARRIER_MTU-byte inner packet lan1 -> lan2 (the carrier MTU)" \
    nsx lan1 ping -6 -n -q -c 1 -W 2 -M 'do' -s $((CARRIER_MTU - 48)) $H2
tb_before=$(nsx gm1 cat /proc/net/snmp6 | awk '$1 == "Icmp6OutPktTooBigs" { print $2 }')
nsx lan1 ping -6 -n -c 2 -i 0.3 -W 2 -M 'do' -s $((CARRIER_MTU - 47)) $H2 >"$W/ping-toobig.txt" 2>&1 || true
sed 's/^/    /' "$W/ping-toobig.txt"
tb_after=$(nsx gm1 cat /proc/net/snmp6 | awk '$1 == "Icmp6OutPktTooBigs" { print $2 }')
if [[ $((tb_after - tb_before)) -ge 1 ]]; then ok "gm1 sent ICMPv6 Packet Too Big for a $((CARRIER_MTU + 1))-byte packet"; else
    bad "gm1 sent no Packet Too Big ($tb_before -> $tb_after)"; fi
route=$(ip -n "$P-lan1" -6 route get $H2)
echo "    lan1: $route"
if [[ $route == *"mtu $CARRIER_MTU "* || $route == *"mtu $CARRIER_MTU" ]]; then ok "lan1 learned path MTU $CARRIER_MTU"; else
    bad "lan1 has no path MTU $CARRIER_MTU"; fi

# ---- 4. carrier bypass --------------------------------------------------------------------------
step "4. crafted cleartext ip6ip6 from the core to $G_IN (inner $SPOOF > $H2)"
bypass_setup gm2 2001:db8:ff:2::2 lan2
xfrm_blocked() { nsx gm2 cat /proc/net/xfrm_stat | awk '$1 == "XfrmInPolBlock" { print $2 }'; }
if [[ $MUTATION == no-guard ]]; then
    blk0=$(xfrm_blocked)
    bypass_round gm2 lan2 $H2 "no guards (mutation)" $SPOOF
    if [[ $WIRE -ge 5 && $LAN -eq 0 ]]; then ok "bypass closed"; else bad "bypass open: $LAN of $WIRE crafted packets reached lan2"; fi
else
    blk0=$(xfrm_blocked)
    drop0=$(nft_counter gm2 inet v6layout bypass_drop)
    bypass_round gm2 lan2 $H2 "both guards" $SPOOF
    drop1=$(nft_counter gm2 inet v6layout bypass_drop)
    if [[ $WIRE -ge 5 && $LAN -eq 0 && $((drop1 - drop0)) -ge 5 ]]; then
        ok "bypass closed by the nft input rule ($((drop1 - drop0)) dropped, $WIRE on gm2's WAN, 0 on lan2)"
    else
        bad "both guards: $WIRE on gm2's WAN, $LAN on lan2, nft dropped $((drop1 - drop0))"
    fi
    nsx gm2 nft flush chain inet v6layout input
    bypass_round gm2 lan2 $H2 "XFRM block policy only" $SPOOF
    blk1=$(xfrm_blocked)
    if [[ $WIRE -ge 5 && $LAN -eq 0 && $((blk1 - blk0)) -ge 5 ]]; then
        ok "bypass closed by the XFRM block policy alone (XfrmInPolBlock +$((blk1 - blk0)))"
    else
        bad "block policy only: $WIRE on gm2's WAN, $LAN on lan2, XfrmInPolBlock +$((blk1 - blk0))"
    fi
    ip -6 -n "$P-gm2" xfrm policy delete src ::/0 dst $G_IN/128 proto 41 dir in
    bypass_round gm2 lan2 $H2 control $SPOOF
    if [[ $WIRE -ge 5 && $LAN -ge 1 ]]; then ok "control without guards: $LAN crafted packets reach lan2 (the check can fail)"; else
        bad "control without guards: $LAN of $WIRE reached lan2: the check is blind"; fi
fi

# ---- state for the report -----------------------------------------------------------------------
for gm in gm1 gm2; do
    {
        ip -n "$P-$gm" -s xfrm state
        ip -n "$P-$gm" xfrm policy
        nsx "$gm" nft list ruleset
        ip -n "$P-$gm" -6 route
        ip -n "$P-$gm" -6 neigh
        ip -n "$P-$gm" -s -d link show gdoi0
        nsx "$gm" cat /proc/net/xfrm_stat
    } >"$W/$gm-state.txt" 2>&1 || true
done
for c in carrier_own carrier_dstopt rewritten carrier_guard readdressed; do
    printf '    gm1 nft counter %s: %s packets\n' $c "$(nft_counter gm1 inet v6layout $c)"
done

step "done: $FAILS failed"
[[ $FAILS -eq 0 ]]
