# shellcheck shell=bash
# The two-site topology of the VM tests and the demo, in network namespaces named "$P-NAME"
# (the caller sets P, unique per run), and the helpers the VM tests share: steps (ok, bad,
# check), member configuration and status (gdoictl --json), capture checks. Sourced, not run.
#
#   lan1 10.1.0.10 -- 10.1.0.1 gm1 172.16.1.2 -- 172.16.1.1 core 172.16.2.1 -- 172.16.2.2 gm2 10.2.0.1 -- 10.2.0.10 lan2
#
# core routes 10.1.0.0/24 and 10.2.0.0/24 to the members (with address preservation ESP
# carries the LAN addresses); the members' default route is core; gm1, core and gm2 forward.

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

# sites_two_groups — sites_create plus a key server namespace ks (172.16.9.2 and 172.16.9.3,
# one per group, behind core's c9 172.16.9.1) and sites_second_networks.
sites_two_groups() {
    sites_create ks
    link core c9 172.16.9.1/24 ks eth0 172.16.9.2/24
    nsx ks ip addr add 172.16.9.3/24 dev eth0
    nsx ks ip route add default via 172.16.9.1
    sites_second_networks
}

# sites_finish — sites_destroy ks, then the logs, captures and configurations of the work
# directory $W go to $OUT (the test's output). For `trap sites_finish EXIT`.
sites_finish() {
    sites_destroy ks
    cp -f "$W"/*.log "$W"/*.pcap "$W"/*.toml "$OUT"/ 2>/dev/null || true
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
# sending_spi GM GROUP — the TEK the member sends with (the last listed).
sending_spi() { group_json "$1" tek "$2" '.teks[-1].spi'; }
# wait_registered GM GROUP — wait up to 30 s for the state "registered".
wait_registered() {
    local s=""
    for _ in $(seq 150); do
        s=$(group_state "$1" "$2")
        [ "$s" = registered ] && return 0
        sleep 0.2
    done
    echo "  $1 $2: state '$s'" >&2
    return 1
}

# ---- Captures (tshark)
# esp_between PCAP SRC DST — the SPIs of the ESP packets SRC > DST, sorted, blank-separated.
esp_between() { tshark -r "$1" -Y "esp && ip.src==$2 && ip.dst==$3" -T fields -e esp.spi 2>/dev/null | sort -u | tr '\n' ' '; }
# clear_icmp PCAP — how many ICMP packets the capture holds in clear.
clear_icmp() { tshark -r "$1" -Y 'icmp' 2>/dev/null | wc -l; }
