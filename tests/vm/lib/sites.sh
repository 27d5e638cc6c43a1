# shellcheck shell=bash
# The two-site topology of the VM tests and the demo, in network namespaces named "$P-NAME"
# (the caller sets P, unique per run), and the helpers the VM tests share: steps (ok, bad,
# check), member configuration and status (gdoictl --json), capture checks. Sourced, not run.
#
#   lan1 10.1.0.10 -- 10.1.0.1 gm1 172.16.1.2 -- 172.16.1.1 core 172.16.2.1 -- 172.16.2.2 gm2 10.2.0.1 -- 10.2.0.10 lan2
#
# core routes 10.1.0.0/24 and 10.2.0.0/24 to the members (with address preservation ESP
# carries the LAN addresses); the members' default route is core; gm1, core and gm2 forward.
# With SITES_IPV6=1 the sites are dual-stack (sites_ipv6):
#
#   lan1 2001:db8:1::10 -- ::1 gm1 3fff:0:1::2 -- ::1 core ::1 -- 3fff:0:2::2 gm2 2001:db8:2::1 -- ::10 lan2
#
# the WAN links in 3fff::/20 (RFC 9637, documentation), outside any 2001:db8:: group policy.

# The python helpers next to this file (udp_echo.py, ip6ip6_send.py, tcp_bulk.py).
# shellcheck disable=SC2034  # for the scripts that source this file
SITES_LIB=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")

# nsx NS CMD... — run CMD in namespace $P-NS.
nsx() { local ns=$1; shift; ip netns exec "$P-$ns" "$@"; }

# link NS1 IF1 ADDR1 NS2 IF2 ADDR2 — a veth from IF1 in $P-NS1 to IF2 in $P-NS2, addressed and up.
link() {
    ip link add "$2" netns "$P-$1" type veth peer name "$5" netns "$P-$4"
    nsx "$1" ip addr add "$3" dev "$2"
    nsx "$4" ip addr add "$6" dev "$5"
    nsx "$1" ip link set "$2" up
    nsx "$4" ip link set "$5" up
}

# sites_create [NS...] — the namespaces lan1 gm1 core gm2 lan2 and any NS given (loopback up
# in each), the links, routes and forwarding above. Further links to the extra namespaces
# are the caller's.
sites_create() {
    local ns
    for ns in lan1 gm1 core gm2 lan2 "$@"; do
        ip netns add "$P-$ns"
        nsx "$ns" ip link set lo up
        # IPv6, before the devices exist (they copy "default"): no DAD, not even of link-local
        # addresses (a tentative address is not used), no router advertisements taken.
        [ "${SITES_IPV6:-}" != 1 ] || nsx "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
            net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
    done
    link lan1 eth0 10.1.0.10/24 gm1 lan0 10.1.0.1/24
    link gm1 wan0 172.16.1.2/30 core c1 172.16.1.1/30
    link core c2 172.16.2.1/30 gm2 wan0 172.16.2.2/30
    link gm2 lan0 10.2.0.1/24 lan2 eth0 10.2.0.10/24
    nsx lan1 ip route add default via 10.1.0.1
    nsx lan2 ip route add default via 10.2.0.1
    nsx gm1 ip route add default via 172.16.1.1
    nsx gm2 ip route add default via 172.16.2.1
    nsx core ip route add 10.1.0.0/24 via 172.16.1.2
    nsx core ip route add 10.2.0.0/24 via 172.16.2.2
    for ns in gm1 core gm2; do nsx "$ns" sysctl -qw net.ipv4.ip_forward=1; done
    [ "${SITES_IPV6:-}" != 1 ] || sites_ipv6
}

# sites_ipv6 — the IPv6 addresses, routes and forwarding of the drawing above, on the links of
# sites_create (which calls it with SITES_IPV6=1).
sites_ipv6() {
    local ns
    nsx lan1 ip -6 addr add 2001:db8:1::10/64 dev eth0
    nsx gm1 ip -6 addr add 2001:db8:1::1/64 dev lan0
    nsx gm1 ip -6 addr add 3fff:0:1::2/64 dev wan0
    nsx core ip -6 addr add 3fff:0:1::1/64 dev c1
    nsx core ip -6 addr add 3fff:0:2::1/64 dev c2
    nsx gm2 ip -6 addr add 3fff:0:2::2/64 dev wan0
    nsx gm2 ip -6 addr add 2001:db8:2::1/64 dev lan0
    nsx lan2 ip -6 addr add 2001:db8:2::10/64 dev eth0
    nsx lan1 ip -6 route add default via 2001:db8:1::1
    nsx lan2 ip -6 route add default via 2001:db8:2::1
    nsx gm1 ip -6 route add default via 3fff:0:1::1
    nsx gm2 ip -6 route add default via 3fff:0:2::1
    nsx core ip -6 route add 2001:db8:1::/64 via 3fff:0:1::2
    nsx core ip -6 route add 2001:db8:2::/64 via 3fff:0:2::2
    for ns in gm1 core gm2; do nsx "$ns" sysctl -qw net.ipv6.conf.all.forwarding=1; done
}

# sites_destroy [NS...] — kill whatever runs in the namespaces of sites_create (and the NS
# given) and delete them; quiet about the ones that do not exist.
sites_destroy() {
    local ns
    for ns in lan1 gm1 core gm2 lan2 "$@"; do
        ip netns pids "$P-$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
        ip netns del "$P-$ns" 2>/dev/null || true
    done
}

# member_binaries BUILD_DIR WHO — set KS_BIN, MEMBERD and GDOICTL from the build directory;
# exit 2 naming WHO when one is missing.
member_binaries() {
    KS_BIN=$1/tests/keyserver/gdoi-test-keyserver
    MEMBERD=$1/member/gdoi-memberd
    GDOICTL=$1/member/gdoictl
    local b
    for b in "$KS_BIN" "$MEMBERD" "$GDOICTL"; do [ -x "$b" ] || { echo "$2: $b missing (build first)" >&2; exit 2; }; done
}

# ---- Steps of a test: ok/bad print one line each; bad counts in FAILS (the caller sets it to 0).
ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }
# check WHAT CMD... — ok WHAT when CMD succeeds, else bad WHAT.
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
# wait_until SECONDS CMD... — run CMD every WAIT_STEP seconds (0.5) until it succeeds (0) or
# SECONDS pass (1).
wait_until() {
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        [ "$SECONDS" -lt "$end" ] || return 1
        sleep "${WAIT_STEP:-0.5}"
    done
}

# sites_keyserver — the key server namespace ks (created by `sites_create ks`) behind core's c9
# 172.16.9.1: ks 172.16.9.2; with SITES_IPV6=1 also 3fff:0:9::2 behind 3fff:0:9::1.
sites_keyserver() {
    link core c9 172.16.9.1/24 ks eth0 172.16.9.2/24
    nsx ks ip route add default via 172.16.9.1
    if [ "${SITES_IPV6:-}" = 1 ]; then
        nsx core ip -6 addr add 3fff:0:9::1/64 dev c9
        nsx ks ip -6 addr add 3fff:0:9::2/64 dev eth0
        nsx ks ip -6 route add default via 3fff:0:9::1
    fi
}

# sites_two_groups — sites_create plus a key server namespace ks (172.16.9.2 and 172.16.9.3,
# one per group, behind core's c9 172.16.9.1) and sites_second_networks.
sites_two_groups() {
    sites_create ks
    sites_keyserver
    nsx ks ip addr add 172.16.9.3/24 dev eth0
    sites_second_networks
}

# sites_finish — sites_destroy ks, then the logs, captures, configurations and texts of the work
# directory $W go to $OUT (the test's output). For `trap sites_finish EXIT`.
sites_finish() {
    sites_destroy ks
    cp -f "$W"/*.log "$W"/*.pcap "$W"/*.toml "$W"/*.txt "$OUT"/ 2>/dev/null || true
}

# sites_second_networks — a second network per site on the same LAN links (for a second group):
# lan1 192.168.1.10 -- gm1 192.168.1.1, gm2 192.168.2.1 -- lan2 192.168.2.10, routed by core.
sites_second_networks() {
    nsx gm1 ip addr add 192.168.1.1/24 dev lan0
    nsx lan1 ip addr add 192.168.1.10/24 dev eth0
    nsx lan1 ip route add 192.168.0.0/16 via 192.168.1.1
    nsx gm2 ip addr add 192.168.2.1/24 dev lan0
    nsx lan2 ip addr add 192.168.2.10/24 dev eth0
    nsx lan2 ip route add 192.168.0.0/16 via 192.168.2.1
    nsx core ip route add 192.168.1.0/24 via 172.16.1.2
    nsx core ip route add 192.168.2.0/24 via 172.16.2.2
}

# ---- Members: gdoi-memberd NAME runs with the control socket $W/NAME.sock and the PSK file
# $W/psk (W and GDOICTL set by the caller).

# group_toml NAME ID SERVER [LINE...] — a [[group]] table (LAN lan0) with extra TOML lines.
group_toml() {
    printf '\n[[group]]\nname = "%s"\nid = %s\nservers = ["%s"]\n' "$1" "$2" "$3"
    printf 'ike.proposals = ["aes256-sha256-modp2048"]\nike.psk-file = "%s"\nlan-interfaces = ["lan0"]\n' "$W/psk"
    shift 3
    [ $# -eq 0 ] || printf '%s\n' "$@"
}

# group_json GM VIEW GROUP FILTER — jq FILTER on group GROUP of `gdoictl show VIEW --json` on GM
# (empty when the daemon does not answer).
group_json() {
    "$GDOICTL" -s "$W/$1.sock" show "$2" --json 2>/dev/null |
        jq -r --arg g "$3" ".groups[] | select(.name == \$g) | $4" 2>/dev/null || true
}
group_state() { group_json "$1" groups "$2" .state; }  # group_state GM GROUP
# group_counter GM GROUP NAME — a counter of `gdoictl show stats --json` (registrations, ...).
group_counter() { group_json "$1" stats "$2" ".counters.$3"; }
# sending_spi GM GROUP [4|6] — the TEK the member sends with (the last listed; of the family
# given, by its selector, for a dual-stack group).
sending_spi() {
    local of='.teks'
    case ${3:-} in
        4) of='[.teks[] | select(.selector | test(":") | not)]' ;;
        6) of='[.teks[] | select(.selector | test(":"))]' ;;
    esac
    group_json "$1" tek "$2" "${of}[-1].spi"
}
# wait_registered GM GROUP — wait for the state "registered": 150 queries 0.2 s apart (30 s plus
# what the queries take: under TCG that can be as much again).
wait_registered() {
    local s=""
    for _ in $(seq 150); do
        s=$(group_state "$1" "$2")
        [ "$s" = registered ] && return 0
        sleep 0.2
    done
    echo "  $1 $2: state '$s'; the end of its log:" >&2
    tail -n 8 "$W/$1.log" 2>/dev/null | sed 's/^/    | /' >&2 || true
    return 1
}

# ---- Captures (tshark)
# esp_between PCAP SRC DST — the SPIs of the ESP packets SRC > DST, sorted, blank-separated.
esp_between() { tshark -r "$1" -Y "esp && ip.src==$2 && ip.dst==$3" -T fields -e esp.spi 2>/dev/null | sort -u | tr '\n' ' '; }
# clear_icmp PCAP — how many ICMP packets the capture holds in clear.
clear_icmp() { tshark -r "$1" -Y 'icmp' 2>/dev/null | wc -l; }

# capture_start NAME [IF] — dumpcap on core's IF (c1, the link to gm1) into $W/NAME.pcap
# (CAP), returning once the capture runs; capture_stop ends it.
capture_start() {
    CAP="$W/$1.pcap"
    # Not through nsx (a function runs in a subshell): $! must be dumpcap itself.
    ip netns exec "$P-core" dumpcap -q -P -i "${2:-c1}" -w "$CAP" >"$W/$1.dumpcap.log" 2>&1 &
    CAP_PID=$!
    wait_until 30 test -s "$CAP" || { echo "dumpcap did not start" >&2; cat "$W/$1.dumpcap.log" >&2; exit 1; }
}
capture_stop() {
    # dumpcap gets the kernel's packets in blocks (TPACKET_V3, handed over when full or after
    # dumpcap's 250 ms read timeout), and SIGTERM ends it without reading the rest: the last
    # packets before the stop were missing once under load. Wait until the file has not grown for
    # longer than that timeout (polled, at most 6 s), then end it. SIGTERM: background jobs
    # ignore SIGINT.
    local size=-1 now
    for _ in $(seq 10); do
        now=$(stat -c %s "$CAP" 2>/dev/null || echo 0)
        [[ $now -eq $size ]] && break
        size=$now
        sleep 0.6
    done
    kill -TERM "$CAP_PID" 2>/dev/null || true
    wait "$CAP_PID" 2>/dev/null || true
}

# ---- Kernel state
# nft_counter NS FAMILY TABLE NAME — the packets of a named nft counter.
nft_counter() {
    nsx "$1" nft list counter "$2" "$3" "$4" | awk '/packets/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}
# nft_counter_ge NS FAMILY TABLE NAME N — the counter has reached N.
nft_counter_ge() { [[ $(nft_counter "$1" "$2" "$3" "$4") -ge $5 ]]; }
# nd_state NS ADDR DEV — the IPv6 neighbour state of ADDR on DEV (REACHABLE, STALE, FAILED...).
nd_state() { ip -n "$P-$1" -6 neigh show "$2" dev "$3" | awk '{ print $NF }'; }
# nd_resolved NS ADDR DEV — ADDR is resolved: REACHABLE, STALE, DELAY or PROBE.
nd_resolved() {
    case $(nd_state "$@") in
        REACHABLE | STALE | DELAY | PROBE) return 0 ;;
        *) return 1 ;;
    esac
}
# esp6_available WHO — exit 1 naming WHO unless this kernel takes IPv6 ESP states (the test VM).
esp6_available() {
    ip netns add "$P-probe"
    if ! ip -n "$P-probe" xfrm state add src 2001:db8::1 dst 2001:db8::2 proto esp spi 0x100 mode tunnel \
        enc 'cbc(aes)' 0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f \
        auth-trunc 'hmac(sha256)' 0x202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f 128; then
        ip netns del "$P-probe"
        echo "$1: this kernel ($(uname -r)) cannot add IPv6 ESP states: not the test VM?" >&2
        exit 1
    fi
    ip netns del "$P-probe"
}

# ---- Carrier bypass (IPv6): cleartext ip6ip6 crafted on core (ip6ip6_send.py), outer G_OUT6
# 100::48 > G_IN6 100::47, the inner packet a UDP datagram to port 9999.
# bypass_setup GM GM_WAN LAN — core holds 100::48 and routes 100::47 to GM's WAN address GM_WAN;
# counters ip6ip6_in (table netdev wire on GM's wan0 ingress: the crafted packets arriving) and
# crafted (table inet obs in LAN's prerouting: those that got through to the LAN).
bypass_setup() {
    nsx core ip -6 addr add 100::48/128 dev lo nodad
    nsx core ip -6 route add 100::47/128 via "$2"
    nsx "$1" nft -f - <<EOF
table netdev wire {
  counter ip6ip6_in {}
  chain ingress { type filter hook ingress device "wan0" priority 0; ip6 nexthdr ipv6 ip6 daddr 100::47 counter name ip6ip6_in; }
}
EOF
    nsx "$3" nft -f - <<EOF
table inet obs {
  counter crafted {}
  chain pre { type filter hook prerouting priority -400; udp dport 9999 counter name crafted; }
}
EOF
}
# bypass_round GM LAN DST NAME INNER_SRC... — 5 crafted packets per INNER_SRC to DST (a host on
# LAN), waiting for them on GM's WAN (and for NAME "control", on LAN); sets WIRE (arrived on GM's
# WAN) and LAN (reached LAN) for this round, and prints them.
bypass_round() {
    local gm=$1 lan=$2 dst=$3 name=$4 wire0 lan0 src
    shift 4
    wire0=$(nft_counter "$gm" netdev wire ip6ip6_in)
    lan0=$(nft_counter "$lan" inet obs crafted)
    for src in "$@"; do nsx core python3 "$SITES_LIB/ip6ip6_send.py" 100::48 100::47 "$src" "$dst" GDOI-BYPASS 5; done
    wait_until 10 nft_counter_ge "$gm" netdev wire ip6ip6_in $((wire0 + 5 * $#)) || true
    WIRE=$(($(nft_counter "$gm" netdev wire ip6ip6_in) - wire0))
    [[ $name != control ]] || wait_until 10 nft_counter_ge "$lan" inet obs crafted $((lan0 + 5 * $#)) || true
    LAN=$(($(nft_counter "$lan" inet obs crafted) - lan0))
    echo "    $name: $WIRE crafted packets on $gm's WAN, $LAN on $lan"
}
