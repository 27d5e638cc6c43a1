# Shared helpers for tests/nft: namespaces with unique names, the hosts — member — peer
# topology, and assertions. Every address is private and exists only inside these namespaces.
set -euo pipefail

TOOL=${1:?usage: $0 path/to/policy_tool}
PY=/usr/bin/python3
PREFIX="gdoinft$$"
FAILS=0

cleanup() {  # every namespace this run created (new_ns runs in $(...) subshells: list by name)
    local ns
    for ns in $(ip netns list | awk '{print $1}' | grep "^$PREFIX-" || true); do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || true
    done
}
trap cleanup EXIT

new_ns() {  # new_ns NAME -> creates $PREFIX-NAME
    local ns="$PREFIX-$1"
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    echo "$ns"
}

pass() { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }
check() {  # check "description" command...
    local what=$1; shift
    if "$@" >/dev/null 2>&1; then pass "$what"; else fail "$what"; fi
}
check_not() {
    local what=$1; shift
    if "$@" >/dev/null 2>&1; then fail "$what"; else pass "$what"; fi
}
finish() {
    if [ "$FAILS" -ne 0 ]; then echo "$FAILS check(s) failed"; exit 1; fi
    echo "all checks passed"
}

# Packets of the rule whose comment starts with $3 in chain $2 of namespace $1.
rule_packets() {
    ip netns exec "$1" nft -j list chain inet gdoi_member "$2" |
        jq -r --arg c "$3" '[.nftables[] | select(.rule) | .rule | select((.comment // "") | startswith($c))
            | .expr[] | select(.counter) | .counter.packets] | add // 0'
}
rule_counted() {  # rule_counted NS CHAIN COMMENT-PREFIX: the rule saw at least one packet
    [ "$(rule_packets "$@")" -gt 0 ]
}

# Packets of the set element whose comment starts with $3 in set $2 (scope sets count per element).
element_packets() {
    ip netns exec "$1" nft -j list set inet gdoi_member "$2" |
        jq -r --arg c "$3" '[.nftables[] | select(.set) | .set.elem[]? | .elem | select(type == "object")
            | select((.comment // "") | startswith($c)) | .counter.packets] | add // 0'
}
element_counted() { [ "$(element_packets "$@")" -gt 0 ]; }

ping_ok() {  # ping_ok NS DST [ping args]
    local ns=$1 dst=$2; shift 2
    ip netns exec "$ns" ping -n -q -c 2 -i 0.2 -W 1 "$@" "$dst"
}

# TCP: a listener in NS on ADDR:PORT that accepts connections for a while.
tcp_listen() {
    ip netns exec "$1" $PY -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(16); s.settimeout(60)
while True:
    try: c, _ = s.accept(); c.close()
    except OSError: break
' "$2" "$3" &
    disown  # killed with its namespace at exit, without a job-control message
    sleep 0.3
}
tcp_connect() {  # tcp_connect NS DST PORT [SRC]
    ip netns exec "$1" $PY -c '
import socket, sys
s = socket.socket(); s.settimeout(1.5)
if len(sys.argv) > 3: s.bind((sys.argv[3], 0))
s.connect((sys.argv[1], int(sys.argv[2])))
' "$2" "$3" ${4:-}
}

# hosts — member — peer: H (10.1.0.10 on lan0) and H2 (10.1.1.10 on lan1), M (lan0 10.1.0.1,
# lan1 10.1.1.1, wan0 172.31.255.1/30), P (wan0 172.31.255.2/30, the remote site 10.2.0.1 and
# 10.2.5.1 on lo). M routes the remote scope to the WAN (this kernel has no ESP/IPIP: nothing
# is encrypted here, the tests prove the rules) and clear-marked traffic by an fwmark rule to
# table 100, which, like a real WAN table, holds only a default route via the WAN.
setup_topology() {
    H=$(new_ns h); H2=$(new_ns h2); M=$(new_ns m); P=$(new_ns p)
    ip link add lan0 netns "$M" type veth peer name eth0 netns "$H"
    ip link add lan1 netns "$M" type veth peer name eth0 netns "$H2"
    ip -n "$H2" addr add 10.1.1.10/24 dev eth0; ip -n "$H2" link set eth0 up
    ip -n "$H2" route add default via 10.1.1.1
    ip -n "$M" addr add 10.1.1.1/24 dev lan1; ip -n "$M" link set lan1 up
    ip link add wan0 netns "$M" type veth peer name wan0 netns "$P"
    ip -n "$H" addr add 10.1.0.10/24 dev eth0; ip -n "$H" link set eth0 up
    ip -n "$H" route add default via 10.1.0.1
    ip -n "$M" addr add 10.1.0.1/24 dev lan0; ip -n "$M" link set lan0 up
    ip -n "$M" addr add 172.31.255.1/30 dev wan0; ip -n "$M" link set wan0 up
    ip -n "$M" addr add 192.0.0.1/32 dev lo    # G_IN
    ip -n "$M" route add 10.2.0.0/16 via 172.31.255.2
    ip -n "$M" route add 192.0.0.2/32 via 172.31.255.2   # G_OUT
    ip -n "$M" route add default via 172.31.255.2 table 100
    ip -n "$M" rule add fwmark 0x10 table 100 priority 100
    ip netns exec "$M" sysctl -qw net.ipv4.ip_forward=1
    ip -n "$P" addr add 172.31.255.2/30 dev wan0; ip -n "$P" link set wan0 up
    ip -n "$P" addr add 10.2.0.1/32 dev lo; ip -n "$P" addr add 10.2.5.1/32 dev lo
    ip -n "$P" route add 10.1.0.0/16 via 172.31.255.1
    ip -n "$P" route add 192.0.0.1/32 via 172.31.255.1
}

# IPv6 only: H -- lan0 M wan0 -- P, every address in 2001:db8::/32 (a group scope may cover the
# links themselves), the member forwarding.
#   M: wan0 2001:db8:ffff::1/64 -- P: wan0 2001:db8:ffff::2/64     M: lan0 2001:db8:1::1/64 -- H
setup_v6_topology() {
    H=$(new_ns h); M=$(new_ns m); P=$(new_ns p)
    ip link add lan0 netns "$M" type veth peer name eth0 netns "$H"
    ip link add wan0 netns "$M" type veth peer name wan0 netns "$P"
    ip -n "$M" addr add 2001:db8:1::1/64 dev lan0 nodad
    ip -n "$H" addr add 2001:db8:1::10/64 dev eth0 nodad
    ip -n "$M" addr add 2001:db8:ffff::1/64 dev wan0 nodad
    ip -n "$P" addr add 2001:db8:ffff::2/64 dev wan0 nodad
    local x
    for x in "$M lan0" "$H eth0" "$M wan0" "$P wan0"; do
        set -- $x
        ip -n "$1" link set "$2" up
    done
    ip netns exec "$M" sysctl -qw net.ipv6.conf.all.forwarding=1
}

# The member's rules for the tests: group 1 protects 10.1/16 <-> 10.2/16, excludes BGP, may
# fail open for ICMP to 10.2.5.0/24. Extra arguments (e.g. --tek) are appended to the group.
member_args() {
    echo --wan wan0 --lan lan0 --lan lan1 --mark 0x10 --local 10.1.0.0/16 --g-in 192.0.0.1 --g-out 192.0.0.2 \
        --group 1 --name GROUP_ID-0001 \
        --policy "'src=10.1.0.0/16 dst=10.2.0.0/16'" \
        --exclude "'proto=tcp dport=179'" \
        --fail-open "'src=10.1.0.0/16 dst=10.2.5.0/24 proto=icmp'" "$@"
}
tool() {  # tool NS args... (member_args included)
    local ns=$1; shift
    eval ip netns exec "$ns" "$TOOL" "$(member_args)" "$@"
}
