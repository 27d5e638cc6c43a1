#!/usr/bin/env bash
# ipv6-dataplane.sh BUILD_DIR — the IPv6 dataplane with the daemon (issue 14), one boot of the
# real-ESP test VM (tests/vm/vm-run.sh; ctest vm_ipv6_dataplane): the test key server and two
# gdoi-memberd in one dual-stack group, a TEK for 10.0.0.0/8 and one for 2001:db8::/32, the key
# server reached over IPv6 (the members' local-address is their IPv6 WAN address).
#
#   lan1 10.1.0.10 2001:db8:1::10 -- gm1 3fff:0:1::2 -- core -- 3fff:0:2::2 gm2 -- lan2 10.2.0.10 2001:db8:2::10
#                                                        |                        (+ 2001:db8:2::20 fail-open)
#                                              ks 3fff:0:9::2 (gdoi-test-keyserver)
#
# Proves, in this order:
#  1 before registration (members up, key server not running): IPv6 (and IPv4) between the sites
#    dropped, nothing in clear on the core; a fail-open IPv6 destination passes in clear; gm1
#    resolves its WAN neighbour (ND passes the member's table).
#  2 registered: the kernel objects per member (SAs, policies, table 18244, devices) recorded;
#    ping6 and UDP both ways, IPv4 too: on the core only ESP, outer = inner addresses, each
#    family under its own TEK's SPI; tshark with the SAs' keys decrypts every ESP packet to the
#    inner packet (next header 41 / 4) holding the UDP marker; the marker never in clear; the
#    fail-open destination is now encrypted; tcp/179 (exclude) crosses in clear.
#  3 cleartext IPv6-in-IPv6 from the core to G_IN6 100::47 never reaches lan1.
#  4 one rekey replacing both TEKs under 20 pings/s per family: none lost, each family's ESP moves
#    from its old SPI to the new one the key server announced, the old SAs leave.
#  5 SIGKILL of gm1 under IPv6 traffic: ESP or nothing on the core, never clear; ND still works.
#  5b gm1 restarted with the key server unreachable: both carriers' SAs adopted (IPv4 and IPv6
#    pings all answered, ESP under the adopted SPIs, nothing in clear); registered again once the
#    key server is back, still with the same TEKs. Then SIGKILL again (for 6).
#  6 control for 3 (gm1 dead, its guards removed by hand): the same crafted packets reach lan1.
set -euo pipefail
# shellcheck source=tests/vm/lib/sites.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/sites.sh"
BUILD=$(readlink -f "${1:?usage: ipv6-dataplane.sh BUILD_DIR}")
member_binaries "$BUILD" ipv6-dataplane
P="v6d$$"
W=$(mktemp -d /tmp/gdoi-ipv6-dataplane.XXXXXX)
OUT="${GDOI_VM_OUT:-$W}"
FAILS=0
SITES_IPV6=1 # dual-stack sites (lib/sites.sh)
PY=/usr/bin/python3
GROUP=DUAL-STACK
SPI4=0x00004000
SPI6=0x00006000
H1=2001:db8:1::10
H2=2001:db8:2::10
OPEN2=2001:db8:2::20 # lan2's fail-open host
V4_1=10.1.0.10
V4_2=10.2.0.10
CORE1=3fff:0:1::1 # core on gm1's WAN
GM1_WAN=3fff:0:1::2
KS6=3fff:0:9::2
G_IN6=100::47
SPOOF=3fff:0:99::1 # outside every scope: no XFRM policy of the group is about it
MARKER="GDOI-V6-DP-MARK!" # 16 octets: a whole ping -p pattern
PATTERN=$(printf %s "$MARKER" | od -An -tx1 | tr -d ' \n')

step() { echo "ipv6-dataplane: [${SECONDS}s] $*"; }
trap sites_finish EXIT

esp6_available ipv6-dataplane
step "topology (dual-stack sites, key server over IPv6), kernel $(uname -r)"
sites_create ks
sites_keyserver
nsx lan2 ip -6 addr add $OPEN2/64 dev eth0

umask 077
echo "ipv6-dataplane-pre-shared-key" >"$W/psk"
member_config() { # member_config NAME WAN6
    {
        printf '[member]\nlocal-address = "%s"\nwan-interface = "wan0"\ncontrol-socket = "%s"\n' "$2" "$W/$1.sock"
        group_toml "$GROUP" 1 "$KS6" \
            'exclude = [ { protocol = "tcp", destination-port = 179 }, { protocol = "tcp", source-port = 179 } ]' \
            "fail-open = [ { destination = \"$OPEN2/128\" } ]"
    } >"$W/$1.toml"
}
member_config gm1 $GM1_WAN
member_config gm2 3fff:0:2::2

# ---- helpers ------------------------------------------------------------------------------------
# frames PCAP — the packets between the sites' hosts (IPv4 and IPv6), one line each, tab-separated:
# SRC DST PROTO ESP-SPI TCP-SPORT TCP-DPORT.
frames() {
    tshark -r "$1" -T fields -E separator=/t -e ip.src -e ip.dst -e ip.proto -e ipv6.src -e ipv6.dst \
        -e ipv6.nxt -e esp.spi -e tcp.srcport -e tcp.dstport 2>/dev/null |
        awk -F'\t' -v OFS='\t' '{ s = $1 != "" ? $1 : $4; d = $2 != "" ? $2 : $5; p = $3 != "" ? $3 : $6
            site = "^(10\\.[12]\\.0\\.|2001:db8:[12]::)"
            if (s ~ site && d ~ site) print s, d, p, $7, $8, $9 }' || true
}
# esp_flows FRAMES — "COUNT SRC DST SPI" per ESP flow.
esp_flows() { awk -F'\t' '$3 == 50 { print $1, $2, $4 }' "$1" | sort | uniq -c; }
# flow_count FLOWS SRC DST SPI — the packets of one ESP flow (0 when absent).
flow_count() { awk -v s="$2" -v d="$3" -v spi="$4" '$2 == s && $3 == d && $4 == spi { n = $1 } END { print n + 0 }' "$1"; }
# in_clear FRAMES — packets between the sites that are not ESP, but for tcp/179 (excluded).
in_clear() { awk -F'\t' '$3 != 50 && !($3 == 6 && ($5 == 179 || $6 == 179))' "$1" | grep -c . || true; }
# marker_in PCAP — how often the payload marker appears in clear in the capture.
marker_in() { grep -c -a "$MARKER" "$1" || true; }
member_up() { # member_up GM: the daemon answers and its nft table is in the kernel
    "$GDOICTL" -s "$W/$1.sock" show groups >/dev/null 2>&1 && nsx "$1" nft list table inet gdoi_member >/dev/null 2>&1
}
pings() { # pings FILE: "TRANSMITTED RECEIVED" of a ping summary
    sed -nE 's/^([0-9]+) packets transmitted, ([0-9]+) received.*/\1 \2/p' "$1"
}
# sa_keys GM SPI — "ENC AUTH": the keys of the member's SA with SPI (AES-CBC + HMAC-SHA-256).
sa_keys() {
    ip -n "$P-$1" xfrm state | awk -v spi="$2" '/^src/ { f = 0 } $0 ~ "spi " spi " " { f = 1 }
        f && $1 == "enc" { e = $3 } f && $1 == "auth-trunc" { a = $3 } END { print e, a }'
}
# objects GM [FILE] — the member's kernel objects for the group: a summary on stdout, the listing
# in FILE ($W/GM-objects.txt).
objects() {
    local f=${2:-$W/$1-objects.txt}
    {
        set +e # a subshell (the redirection's): report what there is
        echo "== ip xfrm state (keys masked)"
        nsx "$1" ip xfrm state | sed -E 's/(0x[0-9a-f]{8})[0-9a-f]{8,}/\1.../g'
        echo "== ip xfrm policy"
        nsx "$1" ip xfrm policy
        echo "== ip -6 route show table 18244"
        nsx "$1" ip -6 route show table 18244
        echo "== ip -4 route show table 18244"
        nsx "$1" ip -4 route show table 18244
        echo "== rules"
        nsx "$1" ip -4 rule
        nsx "$1" ip -6 rule
        echo "== devices"
        nsx "$1" ip -d link show
    } >"$f" 2>&1
    local pol
    pol=$(nsx "$1" ip xfrm policy | awk '$1 == "dir" { n[$2 ($3 == "action" ? " " $4 : "")]++ }
        END { for (d in n) { printf "%s%s %d", sep, d, n[d]; sep = ", " } }' || true)
    echo "    $1: $(grep -c '^src' <(nsx "$1" ip xfrm state) || true) XFRM states;" \
        "$(grep -c '^src' <(nsx "$1" ip xfrm policy) || true) XFRM policies ($pol);" \
        "devices $(nsx "$1" ip -o link show | awk -F': ' '$2 ~ /^gdoi/ { sub(/@.*/, "", $2); printf "%s ", $2 }')"
    echo "    $1: table 18244: $(grep -c 'dev gdoi0v6' <(nsx "$1" ip -6 route show table 18244 2>/dev/null) || true) IPv6 routes" \
        "into gdoi0v6, $(grep -c 'dev gdoi0 ' <(nsx "$1" ip -4 route show table 18244 2>/dev/null) || true) IPv4 routes into gdoi0;" \
        "fwmark rules: $(grep -c 'lookup 18244' <(nsx "$1" ip -4 rule) || true) IPv4, $(grep -c 'lookup 18244' <(nsx "$1" ip -6 rule) || true) IPv6"
}

# ---- 1. before registration ---------------------------------------------------------------------
step "1. members started, key server not running: fail-closed, fail-open, ND"
# Not through nsx (a function: $! would be its subshell): SIGKILL must reach the daemon.
ip netns exec "$P-gm1" "$MEMBERD" -c "$W/gm1.toml" >"$W/gm1.log" 2>&1 &
GM1=$!
nsx gm2 "$MEMBERD" -c "$W/gm2.toml" >"$W/gm2.log" 2>&1 &
for gm in gm1 gm2; do check "$gm: daemon up, its nft table loaded" wait_until 60 member_up $gm; done
[ "$(group_state gm1 $GROUP)" != registered ] || bad "gm1 registered without a key server"
capture_start before
if nsx lan1 ping -6 -n -q -c 3 -i 0.2 -W 1 -p "$PATTERN" $H2 >/dev/null 2>&1; then
    bad "fail-closed: ping6 lan1 -> lan2 went through before registration"
else ok "fail-closed: ping6 lan1 -> lan2 dropped before registration"; fi
if nsx lan1 ping -4 -n -q -c 2 -i 0.2 -W 1 -p "$PATTERN" $V4_2 >/dev/null 2>&1; then
    bad "fail-closed: ping lan1 -> lan2 (IPv4) went through before registration"
else ok "fail-closed: ping lan1 -> lan2 (IPv4) dropped before registration"; fi
check "fail-open: ping6 lan1 -> $OPEN2 passes before registration" nsx lan1 ping -6 -n -q -c 3 -i 0.2 -W 2 $OPEN2
# ND with the member's table loaded: gm1 resolves core again (its own IKE retransmissions to the
# key server and a ping of core need it), and core learns gm1.
ip -n "$P-gm1" -6 neigh flush dev wan0
nsx gm1 ping -6 -n -q -c 1 -W 2 $CORE1 >/dev/null 2>&1 || true
if wait_until 15 nd_resolved gm1 $CORE1 wan0; then ok "ND while fail-closed: gm1 sees core $CORE1 $(nd_state gm1 $CORE1 wan0)"
else bad "ND while fail-closed: gm1 sees core $CORE1 '$(nd_state gm1 $CORE1 wan0)'"; fi
if wait_until 5 nd_resolved core $GM1_WAN c1; then ok "ND while fail-closed: core sees gm1 $(nd_state core $GM1_WAN c1)"
else bad "ND while fail-closed: core sees gm1 '$(nd_state core $GM1_WAN c1)'"; fi
capture_stop
frames "$CAP" >"$W/before-frames.txt"
n=$(awk -F'\t' -v o=$OPEN2 '$3 != 50 && $2 != o && $1 != o' "$W/before-frames.txt" | grep -c . || true)
esp=$(awk -F'\t' '$3 == 50' "$W/before-frames.txt" | grep -c . || true)
if [[ $n -eq 0 && $esp -eq 0 ]]; then ok "fail-closed: nothing between the sites on the core (but the fail-open host)"
else bad "fail-closed: $n cleartext and $esp ESP packets between the sites on the core"; fi
if [[ $(marker_in "$CAP") -eq 0 ]]; then ok "fail-closed: the marker never on the core"; else
    bad "fail-closed: the marker on the core"; fi
n=$(awk -F'\t' -v a=$H1 -v o=$OPEN2 '$1 == a && $2 == o && $3 == 58' "$W/before-frames.txt" | grep -c . || true)
if [[ $n -ge 3 ]]; then ok "fail-open: $n ICMPv6 packets $H1 > $OPEN2 in clear on the core"; else
    bad "fail-open: $n ICMPv6 packets $H1 > $OPEN2 in clear on the core (expected >= 3)"; fi

# ---- 2. registered --------------------------------------------------------------------------------
step "2. key server on [$KS6]:848: TEK $SPI4 for 10.0.0.0/8, TEK $SPI6 for 2001:db8::/32"
# ACTIVATION_TIME_DELAY 5 s: the delay must cover the spread of the push's arrival at the members
# (RFC 6407 §5.6). In this VM (one TCG vCPU, sanitized daemons) one member took the push 1.7 s
# after the other once, and with 2 s it started sending under the new SPI before the other held it.
nsx ks "$KS_BIN" --listen "[$KS6]:848" --psk-any "$W/psk" --group 1 \
    --tek cbc256-sha256:$SPI4 --selector 10.0.0.0/8 --tek cbc256-sha256:$SPI6 --selector 2001:db8::/32 \
    --gap 5,10 --ack --control "$W/ks.ctl" >"$W/ks.log" 2>&1 &
wait_until 60 test -S "$W/ks.ctl" || bad "the key server did not start"
# The members gave up on the silent key server (15 s per attempt) and wait to retry (10 s, then
# 20 s, ...): ask them to register now.
for gm in gm1 gm2; do "$GDOICTL" -s "$W/$gm.sock" register $GROUP >/dev/null || bad "gdoictl register on $gm"; done
for gm in gm1 gm2; do check "$gm registered in $GROUP (key server over IPv6)" wait_registered $gm $GROUP; done
check "traffic flows lan1 -> lan2 over IPv6" wait_until 30 nsx lan1 ping -6 -n -q -c 1 -W 1 $H2
check "traffic flows lan1 -> lan2 over IPv4" wait_until 30 nsx lan1 ping -4 -n -q -c 1 -W 1 $V4_2
"$GDOICTL" -s "$W/gm1.sock" show tek | tee "$W/gm1-tek.txt"
for gm in gm1 gm2; do
    objects $gm
    s=$(nsx $gm ip xfrm state | grep -c '^src' || true)
    if [[ $s -eq 4 ]]; then ok "$gm: 4 SAs (in + out per TEK, one TEK per family)"; else
        bad "$gm: $s SAs, expected 4"; fi
    check "$gm: carriers gdoi0 (IPv4) and gdoi0v6 (IPv6)" \
        bash -c "ip -n $P-$gm link show gdoi0 >/dev/null && ip -n $P-$gm link show gdoi0v6 >/dev/null"
    check "$gm: carrier gdoi0v6 is ip6ip6" bash -c "ip -n $P-$gm -d link show gdoi0v6 | grep -q 'ip6tnl ip6ip6'"
    check "$gm: IPv6 remote prefixes routed into gdoi0v6 in table 18244" \
        bash -c "ip -n $P-$gm -6 route show table 18244 | grep -q 'dev gdoi0v6'"
    check "$gm: the IPv6 fwmark rule to table 18244" bash -c "ip -n $P-$gm -6 rule | grep -q 'lookup 18244'"
done

step "2. ping6, UDP and IPv4 both ways, exclude tcp/179 (capture on core c1)"
READY="$W/udp.ready"
nsx lan2 $PY "$SITES_LIB/udp_echo.py" serve $H2 5000 "$READY" 5 >"$W/udp-server.txt" 2>&1 &
UDP_PID=$!
# ip netns exec execs: $! is the server itself (killed below, it waits 120 s for a client).
ip netns exec "$P-lan2" $PY "$SITES_LIB/tcp_bulk.py" serve $H2 179 1 >"$W/tcp179-server6.txt" 2>&1 &
TCP6_PID=$!
ip netns exec "$P-lan2" $PY "$SITES_LIB/tcp_bulk.py" serve $V4_2 179 1 >"$W/tcp179-server4.txt" 2>&1 &
TCP4_PID=$!
capture_start keyed
check "ping6 lan1 -> lan2" nsx lan1 ping -6 -n -q -c 5 -i 0.2 -W 2 -p "$PATTERN" $H2
check "ping6 lan2 -> lan1" nsx lan2 ping -6 -n -q -c 3 -i 0.2 -W 2 -p "$PATTERN" $H1
check "ping lan1 -> lan2 (IPv4, same group)" nsx lan1 ping -4 -n -q -c 3 -i 0.2 -W 2 -p "$PATTERN" $V4_2
check "ping lan2 -> lan1 (IPv4, same group)" nsx lan2 ping -4 -n -q -c 3 -i 0.2 -W 2 -p "$PATTERN" $V4_1
check "ping6 lan1 -> $OPEN2 (the fail-open host, keyed now)" nsx lan1 ping -6 -n -q -c 3 -i 0.2 -W 2 $OPEN2
wait_until 30 test -s "$READY" || bad "UDP server on lan2 did not start"
replies=$(nsx lan1 $PY "$SITES_LIB/udp_echo.py" send $H2 5000 "$MARKER" 5 || echo 0)
wait "$UDP_PID" || true
received=$(grep -c "^$H1 $MARKER" "$W/udp-server.txt" || true)
if [[ $received -eq 5 ]]; then ok "UDP lan1 -> lan2 over IPv6: 5 of 5 datagrams"; else
    bad "UDP lan1 -> lan2: $received of 5 datagrams"; fi
if [[ $replies -eq 5 ]]; then ok "UDP lan2 -> lan1 over IPv6: 5 of 5 replies"; else
    bad "UDP lan2 -> lan1: $replies of 5 replies"; fi
listening() { [[ $(nsx lan2 ss -Hltn 'sport = :179' | grep -c .) -eq 2 ]]; }
wait_until 30 listening || bad "TCP servers on lan2 port 179 did not start"
xfrm_stat() { nsx "$1" cat /proc/net/xfrm_stat | awk '$2 != 0 { printf "%s %s ", $1, $2 }'; }
echo "    gm2 XFRM errors before tcp/179: $(xfrm_stat gm2)"
check "tcp/179 lan1 -> lan2 over IPv6 (excluded)" nsx lan1 timeout 15 $PY "$SITES_LIB/tcp_bulk.py" send $H2 179 20000
check "tcp/179 lan1 -> lan2 over IPv4 (excluded)" nsx lan1 timeout 15 $PY "$SITES_LIB/tcp_bulk.py" send $V4_2 179 20000
echo "    gm2 XFRM errors after tcp/179: $(xfrm_stat gm2)"
kill "$TCP6_PID" "$TCP4_PID" 2>/dev/null || true
wait "$TCP6_PID" "$TCP4_PID" 2>/dev/null || true
capture_stop

frames "$CAP" >"$W/keyed-frames.txt"
esp_flows "$W/keyed-frames.txt" >"$W/keyed-esp-flows.txt"
sed 's/^/    esp flow: /' "$W/keyed-esp-flows.txt"
flows_ok=1
for f in "$H1 $H2 $SPI6" "$H2 $H1 $SPI6" "$H1 $OPEN2 $SPI6" "$OPEN2 $H1 $SPI6" "$V4_1 $V4_2 $SPI4" "$V4_2 $V4_1 $SPI4"; do
    read -r s d spi <<<"$f"
    [[ $(flow_count "$W/keyed-esp-flows.txt" "$s" "$d" "$spi") -ge 3 ]] || { flows_ok=0; echo "    missing ESP flow $f" >&2; }
done
nflows=$(grep -c . "$W/keyed-esp-flows.txt" || true)
if [[ $flows_ok -eq 1 && $nflows -eq 6 ]]; then
    ok "only ESP between the hosts, outer = the hosts' addresses, IPv6 under $SPI6, IPv4 under $SPI4"
else bad "ESP flows on the core: $(tr '\n' ';' <"$W/keyed-esp-flows.txt")"; fi
n=$(in_clear "$W/keyed-frames.txt")
if [[ $n -eq 0 ]]; then ok "nothing but ESP between the sites (but tcp/179)"; else
    bad "$n packets between the sites in clear"; fi
if [[ $(marker_in "$CAP") -eq 0 ]]; then ok "the marker is not in the capture in clear"; else
    bad "the marker appears in clear"; fi
tcp179() { # tcp179 SRC DST: the TCP packets of port 179 SRC > DST in the keyed capture (in clear)
    awk -F'\t' -v a="$1" -v b="$2" '$1 == a && $2 == b && $3 == 6 && ($5 == 179 || $6 == 179)' "$W/keyed-frames.txt" | grep -c . || true
}
for pair in "$H1 $H2" "$V4_1 $V4_2"; do
    read -r a b <<<"$pair"
    there=$(tcp179 "$a" "$b")
    back=$(tcp179 "$b" "$a")
    if [[ $there -ge 3 && $back -ge 2 ]]; then ok "exclude: tcp/179 in clear on the core, $a > $b $there, back $back"; else
        bad "exclude: tcp/179 in clear on the core, $a > $b $there, back $back (expected >= 3 and >= 2)"; fi
done

step "2. tshark with the keys of gm1's SAs"
read -r enc4 int4 <<<"$(sa_keys gm1 $SPI4)"
read -r enc6 int6 <<<"$(sa_keys gm1 $SPI6)"
SA4="\"IPv4\",\"*\",\"*\",\"$SPI4\",\"AES-CBC [RFC3602]\",\"$enc4\",\"HMAC-SHA-256-128 [RFC4868]\",\"$int4\""
SA6="\"IPv6\",\"*\",\"*\",\"$SPI6\",\"AES-CBC [RFC3602]\",\"$enc6\",\"HMAC-SHA-256-128 [RFC4868]\",\"$int6\""
tshark -r "$CAP" -Y esp -o esp.enable_encryption_decode:TRUE -o "uat:esp_sa:$SA4" -o "uat:esp_sa:$SA6" \
    -T fields -E separator=/t -e esp.protocol -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst -e udp.payload \
    >"$W/keyed-decrypted.txt" 2>/dev/null || true
sed -n '1,4p' "$W/keyed-decrypted.txt" | sed 's/^/    /'
total=$(grep -c . "$W/keyed-decrypted.txt" || true)
# Fields with two values are "outer,inner".
good6=$(awk -F'\t' '$1 == "0x29" && split($4, s, ",") == 2 && s[1] == s[2] && split($5, d, ",") == 2 && d[1] == d[2]' \
    "$W/keyed-decrypted.txt" | grep -c . || true)
good4=$(awk -F'\t' '$1 == "0x04" && split($2, s, ",") == 2 && s[1] == s[2] && split($3, d, ",") == 2 && d[1] == d[2]' \
    "$W/keyed-decrypted.txt" | grep -c . || true)
if [[ $total -gt 0 && $good6 -gt 0 && $good4 -gt 0 && $((good6 + good4)) -eq $total ]]; then
    ok "all $total ESP packets decrypt: $good6 to IPv6 (next header 41), $good4 to IPv4 (next header 4), inner = outer"
else
    bad "of $total ESP packets $good6 decrypt to IPv6 and $good4 to IPv4 with inner = outer addresses"
fi
marker_hex=$($PY -c 'import sys; print(sys.argv[1].encode().hex())' "$MARKER")
marked=$(grep -c "$marker_hex" "$W/keyed-decrypted.txt" || true)
if [[ $marked -ge 10 ]]; then ok "the UDP marker is inside the ESP ($marked datagrams both ways)"; else
    bad "$marked decrypted datagrams carry the marker (expected 10)"; fi

# ---- 3. carrier bypass ---------------------------------------------------------------------------
step "3. crafted cleartext IPv6-in-IPv6 from the core to $G_IN6 (inner > $H1)"
bypass_setup gm1 $GM1_WAN lan1
bypass_round gm1 lan1 $H1 "daemon's guards" $SPOOF $H2
if [[ $WIRE -ge 10 && $LAN -eq 0 ]]; then ok "carrier bypass closed: $WIRE crafted packets on gm1's WAN, none on lan1"; else
    bad "carrier bypass: $WIRE crafted packets on gm1's WAN, $LAN reached lan1"; fi

# ---- 4. dual-stack rekey under traffic -------------------------------------------------------------
step "4. one rekey (both TEKs) under 20 pings/s per family"
capture_start rekey
xfrm_counter() { nsx "$1" cat /proc/net/xfrm_stat | awk -v n="$2" '$1 == n { print $2 }'; }
nostates1=$(xfrm_counter gm1 XfrmInNoStates)
nostates2=$(xfrm_counter gm2 XfrmInNoStates)
read -r uptime0 _ </proc/uptime
epoch0=$(date +%s.%N)
# -D: each reply with its time, to place a loss against the daemons' logs (seconds since boot).
nsx lan1 ping -6 -D -n -i 0.05 -c 640 -W 2 -p "$PATTERN" $H2 >"$W/rekey-ping6.txt" 2>&1 &
PING6=$!
nsx lan1 ping -4 -D -n -i 0.05 -c 640 -W 2 -p "$PATTERN" $V4_2 >"$W/rekey-ping4.txt" 2>&1 &
PING4=$!
answer=$("$KS_BIN" --control "$W/ks.ctl" --command rekey || true)
echo "    key server: $answer"
# "rekey seq 2 teks NEW4 NEW6 deleted OLD4 OLD6": the TEKs in the order given (IPv4, IPv6).
read -r new4 new6 <<<"$(awk '{ for (i = 1; i < NF; i++) if ($i == "teks") { print $(i + 1), $(i + 2); exit } }' <<<"$answer")"
rekeyed() { [[ $(sending_spi "$1" $GROUP 4) == "$new4" && $(sending_spi "$1" $GROUP 6) == "$new6" ]]; }
for gm in gm1 gm2; do
    if wait_until 30 rekeyed $gm; then ok "$gm sends IPv4 with $new4 and IPv6 with $new6 (the new TEKs)"
    else bad "$gm sends IPv4 with '$(sending_spi $gm $GROUP 4)', IPv6 with '$(sending_spi $gm $GROUP 6)' (new: $new4, $new6)"; fi
done
wait "$PING6" || true
wait "$PING4" || true
capture_stop
for fam in 6 4; do
    read -r sent got <<<"$(pings "$W/rekey-ping$fam.txt")"
    if [[ ${sent:-0} -ge 600 && ${got:-0} -eq ${sent:-0} ]]; then ok "rekey, IPv$fam: $got of $sent pings answered"; else
        bad "rekey, IPv$fam: ${got:-0} of ${sent:-0} pings answered"
        # The lost ones, placed in seconds since boot (the daemons' log time) after the last answer before them.
        awk -v sent="${sent:-0}" -v off="$(echo "$epoch0 - $uptime0" | bc)" '/icmp_seq=/ {
                t = substr($1, 2, length($1) - 2); split($0, q, "icmp_seq="); split(q[2], r, " "); got[r[1] + 0] = t - off }
            END { for (i = 1; i <= sent; i++) if (!(i in got)) { printf "%s%d (after %.2f)", sep, i, last; sep = ", " } else last = got[i]; print "" }' \
            "$W/rekey-ping$fam.txt" | sed "s/^/      IPv$fam lost icmp_seq: /"
    fi
done
echo "    XfrmInNoStates (ESP for SPIs without an SA) during the rekey: gm1 +$(($(xfrm_counter gm1 XfrmInNoStates) - nostates1))," \
    "gm2 +$(($(xfrm_counter gm2 XfrmInNoStates) - nostates2))"
for gm in gm1 gm2; do
    echo "    $gm log: $(sed -nE 's/^<[0-9]>\[ *([0-9.]+)\] (.*(rekeyed, SEQ 2|replaces|unknown SPIs|recovery probe).*)/\1 \2/p' "$W/$gm.log" | tr '\n' ';')"
done
frames "$CAP" >"$W/rekey-frames.txt"
esp_flows "$W/rekey-frames.txt" >"$W/rekey-esp-flows.txt"
sed 's/^/    esp flow: /' "$W/rekey-esp-flows.txt"
for f in "$H1 $H2 $SPI6 $new6" "$H2 $H1 $SPI6 $new6" "$V4_1 $V4_2 $SPI4 $new4" "$V4_2 $V4_1 $SPI4 $new4"; do
    read -r s d old new <<<"$f"
    o=$(flow_count "$W/rekey-esp-flows.txt" "$s" "$d" "$old")
    n=$(flow_count "$W/rekey-esp-flows.txt" "$s" "$d" "$new")
    others=$(awk -v s="$s" -v d="$d" -v a="$old" -v b="$new" '$2 == s && $3 == d && $4 != a && $4 != b' "$W/rekey-esp-flows.txt" | grep -c . || true)
    if [[ $o -ge 5 && $n -ge 100 && $others -eq 0 ]]; then ok "$s > $d: ESP under $old ($o), then $new ($n)"; else
        bad "$s > $d: $o packets under $old, $n under $new, $others other flows"; fi
done
n=$(in_clear "$W/rekey-frames.txt")
if [[ $n -eq 0 ]]; then ok "rekey: nothing between the sites in clear"; else
    bad "rekey: $n packets between the sites in clear"; fi
if [[ $(marker_in "$CAP") -eq 0 ]]; then ok "rekey: the marker never in clear"; else
    bad "rekey: the marker in clear"; fi
four_sas() { [[ $(nsx gm1 ip xfrm state | grep -c '^src' || true) -eq 4 ]]; }
check "gm1: the old TEKs' SAs leave after the deactivation delay (4 SAs again)" wait_until 30 four_sas
objects gm1 "$W/gm1-objects-after-rekey.txt"

# ---- 5. SIGKILL of gm1 ---------------------------------------------------------------------------
step "5. SIGKILL of gm1 under IPv6 traffic"
capture_start killed
nsx lan1 ping -6 -n -q -i 0.1 -c 30 -W 1 -p "$PATTERN" $H2 >"$W/killed-ping6.txt" 2>&1 &
KPING=$!
kill -KILL "$GM1"
wait "$GM1" 2>/dev/null || true
wait "$KPING" || true
ip -n "$P-gm1" -6 neigh flush dev wan0
nsx gm1 ping -6 -n -q -c 1 -W 2 $CORE1 >/dev/null 2>&1 || true
nsx lan1 ping -6 -n -q -c 2 -i 0.2 -W 1 -p "$PATTERN" $H2 >/dev/null 2>&1 || true
if wait_until 15 nd_resolved gm1 $CORE1 wan0; then ok "ND after SIGKILL: gm1 sees core $CORE1 $(nd_state gm1 $CORE1 wan0)"
else bad "ND after SIGKILL: gm1 sees core $CORE1 '$(nd_state gm1 $CORE1 wan0)'"; fi
capture_stop
read -r sent got <<<"$(pings "$W/killed-ping6.txt")"
frames "$CAP" >"$W/killed-frames.txt"
esp=$(awk -F'\t' '$3 == 50' "$W/killed-frames.txt" | grep -c . || true)
n=$(in_clear "$W/killed-frames.txt")
echo "    after SIGKILL: ${got:-0} of ${sent:-0} pings answered (the kernel keeps the SAs), $esp ESP packets on the core"
if [[ $n -eq 0 ]]; then ok "after SIGKILL: nothing between the sites in clear"; else
    bad "after SIGKILL: $n packets between the sites in clear"; fi
if [[ $(marker_in "$CAP") -eq 0 ]]; then ok "after SIGKILL: the marker never in clear"; else
    bad "after SIGKILL: the marker in clear"; fi

# ---- 5b. restart adoption of both carriers ---------------------------------------------------------
# The key server unreachable (the core drops IKE/GDOI; a link set down would take the IPv6
# addresses with it): only the adopted SAs can carry the traffic after the restart.
step "5b. gm1 restarted with the key server unreachable: both carriers' SAs adopted"
nsx core nft -f - <<'NFT'
table inet ks_unreachable {
    chain forward { type filter hook forward priority 0; policy accept; udp dport 848 drop; udp sport 848 drop; }
}
NFT
ip netns exec "$P-gm1" "$MEMBERD" -c "$W/gm1.toml" >>"$W/gm1.log" 2>&1 &
GM1=$!
check "gm1 restarted: daemon up, its nft table loaded" wait_until 60 member_up gm1
for pair in "$new4 gdoi0" "$new6 gdoi0v6"; do
    read -r spi carrier <<<"$pair"
    check "gm1 adopted the previous run's SAs sending with $spi on $carrier" \
        grep -qE "adopted the previous run's SAs \(sending with $spi, carrier $carrier\).* spi=$spi\$" "$W/gm1.log"
done
[ "$(group_state gm1 $GROUP)" != registered ] || bad "gm1 registered although the key server is unreachable"
capture_start adopted
nsx lan1 ping -6 -n -q -i 0.1 -c 20 -W 1 -p "$PATTERN" $H2 >"$W/adopted-ping6.txt" 2>&1 || true
nsx lan1 ping -4 -n -q -i 0.1 -c 20 -W 1 -p "$PATTERN" $V4_2 >"$W/adopted-ping4.txt" 2>&1 || true
capture_stop
for f in ping6 ping4; do
    read -r sent got <<<"$(pings "$W/adopted-$f.txt")"
    if [[ ${sent:-0} -ge 20 && ${got:-0} -eq ${sent:-0} ]]; then ok "adopted, key server unreachable: $f $got of $sent answered"
    else bad "adopted, key server unreachable: $f ${got:-0} of ${sent:-0} answered"; fi
done
frames "$CAP" >"$W/adopted-frames.txt"
# gm1's own ESP (the requests: outer source = lan1's host, address preservation) under each
# adopted SPI; gm2's replies use the same group SPIs.
for pair in "$new4 $V4_1" "$new6 $H1"; do
    read -r spi src <<<"$pair"
    n=$(awk -F'\t' -v s="$spi" -v a="$src" '$3 == 50 && $4 == s && $1 == a' "$W/adopted-frames.txt" | grep -c . || true)
    if [[ $n -ge 20 ]]; then ok "adopted: gm1 sent $n ESP packets under $spi"; else bad "adopted: gm1 sent $n ESP packets under $spi"; fi
done
n=$(in_clear "$W/adopted-frames.txt")
if [[ $n -eq 0 ]]; then ok "adopted: nothing between the sites in clear"; else bad "adopted: $n packets between the sites in clear"; fi
nsx core nft delete table inet ks_unreachable
"$GDOICTL" -s "$W/gm1.sock" register $GROUP >/dev/null || bad "gdoictl register on gm1"
check "gm1 registered again once the key server is back" wait_registered gm1 $GROUP
check "gm1 still sends IPv4 with $new4 and IPv6 with $new6" rekeyed gm1
kill -KILL "$GM1"
wait "$GM1" 2>/dev/null || true

# ---- 6. control for 3 ------------------------------------------------------------------------------
step "6. control: gm1's bypass guards removed by hand (the daemon is dead)"
nsx gm1 nft -a list table inet gdoi_member >"$W/gm1-nft-after-kill.txt" 2>&1 || true
ip -n "$P-gm1" -6 xfrm policy deleteall dir in action block || true
awk '/^\tchain / { c = $2 } /100::47/ && /ipv6|41/ && /drop/ { print c, $NF }' "$W/gm1-nft-after-kill.txt" |
    while read -r chain handle; do nsx gm1 nft delete rule inet gdoi_member "$chain" handle "$handle" || true; done
bypass_round gm1 lan1 $H1 control $SPOOF
if [[ $WIRE -ge 5 && $LAN -ge 1 ]]; then ok "control without the guards: $LAN crafted packets reach lan1 (check 3 can fail)"; else
    bad "control without the guards: $LAN of $WIRE reached lan1: check 3 is blind"; fi

for gm in gm1 gm2; do
    echo "    $gm log: warnings and errors"
    grep -iE 'error|warn|refus|fail' "$W/$gm.log" | head -20 | sed 's/^/      /' || true
done
if [ "$FAILS" -eq 0 ]; then echo "ipv6-dataplane: all steps passed"; else echo "ipv6-dataplane: $FAILS step(s) failed (logs in $OUT)"; fi
[ "$FAILS" -eq 0 ]
