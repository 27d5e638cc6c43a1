# shellcheck shell=bash
# The two-site topology of the VM tests and the demo, in network namespaces named "$P-NAME"
# (the caller sets P, unique per run). Sourced, not run.
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
