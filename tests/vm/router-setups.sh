#!/usr/bin/env bash
# router-setups.sh BUILD_DIR — gdoi-member on routers as operators run them, inside
# the real-ESP test VM (tests/vm/vm-run.sh). One boot, one scenario after the other, each on
# fresh two-site namespaces (tests/vm/lib/sites.sh) with one change on the members:
#   masquerade-nft, masquerade-iptables, nat-exemption, snat, firewall (default drop + the
#   recipe packaging/examples/router-firewall.nft), rpfilter-nft (+ router-rpfilter.nft),
#   far-mtu-1400 (and its control with df-bit = "set"), wan-mtu-change (the carrier follows),
#   vlan-wan (gm1's WAN is wan0.100),
#   firewall-without-recipe (the health
#   report names the cause).
# Each keyed scenario checks: traffic both ways, ESP with the original addresses on the core,
# no cleartext ICMP and no payload marker there, a rekey with no ping lost, the group healthy.
# SCENARIOS="a,b" runs only those.
set -euo pipefail
# shellcheck source=tests/vm/lib/sites.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/sites.sh"
BUILD=$(readlink -f "${1:?usage: router-setups.sh BUILD_DIR}")
SRC=$(readlink -f "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../..")
member_binaries "$BUILD" router-setups
W=$(mktemp -d /tmp/gdoi-router.XXXXXX)
OUT="${GDOI_VM_OUT:-$W}"
FAILS=0
P=""
trap '[ -z "$P" ] || sites_finish' EXIT
umask 077
echo "router-setups-pre-shared-key" >"$W/psk"
MARKER=67646f692d6d61726b6572  # "gdoi-marker" as ping's -p pattern

# ---- one scenario's sites, key server and members
up() {  # up NAME [TOML LINE...]: sites, key server, both members' configuration (not started)
    P="r$1$$"; P=${P:0:12}
    S=$1
    shift
    sites_create ks
    link core c9 172.16.9.1/24 ks eth0 172.16.9.2/24
    nsx ks ip route add default via 172.16.9.1
    nsx ks "$KS_BIN" --listen 172.16.9.2 --psk-any "$W/psk" --group 1 --tek cbc256-sha256:0x1000 \
        --selector 10.0.0.0/8 --gap 3,6 --ack --control "$W/$S-ks.ctl" >"$W/$S-ks.log" 2>&1 &
    local gm wan
    for gm in gm1 gm2; do
        wan=172.16.1.2; wanif=${WAN1:-wan0}; [ "$gm" = gm2 ] && wan=172.16.2.2 && wanif=wan0
        { printf '[member]\nlocal-address = "%s"\nwan-interface = "%s"\ncontrol-socket = "%s"\n' "$wan" "$wanif" "$W/$gm.sock"
          group_toml ROUTER-GROUP 1 172.16.9.2 "$@"; } >"$W/$S-$gm.toml"
    done
}
start_members() {
    local gm
    for gm in gm1 gm2; do nsx "$gm" "$MEMBERD" -c "$W/$S-$gm.toml" >"$W/$S-$gm.log" 2>&1 & done
}
down() {
    cp -f "$W/$S-"*.log "$W/$S-"*.pcap "$W/$S-"*.toml "$OUT"/ 2>/dev/null || true
    sites_destroy ks
    rm -f "$W"/gm?.sock "$W"/gm?.state
    P=""
}

capture_start() {  # capture on both core links
    nsx core dumpcap -q -i c1 -i c2 -w "$W/$S-core.pcap" >/dev/null 2>&1 &
    CAP=$!
    sleep 1
}
capture_stop() { sleep 0.5; kill "$CAP"; wait "$CAP" 2>/dev/null || true; }

# keyed_checks: traffic both ways with the marker, ESP with the original addresses, nothing
# readable on the core, a rekey without loss, the group registered and healthy.
keyed_checks() {
    capture_start
    check "$S: lan1 -> lan2" nsx lan1 ping -c 4 -i 0.2 -W 2 -p "$MARKER" -q 10.2.0.10
    check "$S: lan2 -> lan1" nsx lan2 ping -c 4 -i 0.2 -W 2 -p "$MARKER" -q 10.1.0.10
    capture_stop
    local spi1 spi2
    spi1=$(esp_between "$W/$S-core.pcap" 10.1.0.10 10.2.0.10)
    spi2=$(esp_between "$W/$S-core.pcap" 10.2.0.10 10.1.0.10)
    [ -n "$spi1" ] && [ -n "$spi2" ] && ok "$S: ESP with the original addresses both ways (SPI $spi1)" \
        || bad "$S: no ESP 10.1.0.10 <-> 10.2.0.10 on the core ('$spi1' / '$spi2')"
    no_cleartext
    # A rekey under 50 ms pings: make-before-break, nothing lost.
    nsx lan1 ping -i 0.05 -c 130 -W 2 -q 10.2.0.10 >"$W/$S-rekey-ping.txt" 2>&1 &
    local ping=$!
    sleep 1
    "$KS_BIN" --control "$W/$S-ks.ctl" --command rekey >/dev/null
    wait "$ping" || true
    local sent received
    sent=$(sed -nE 's/^([0-9]+) packets transmitted.*/\1/p' "$W/$S-rekey-ping.txt")
    received=$(sed -nE 's/.* ([0-9]+) received.*/\1/p' "$W/$S-rekey-ping.txt")
    [ "${sent:-0}" -ge 60 ] && [ "${received:-0}" -eq "${sent:-0}" ] && ok "$S: rekey, $received of $sent pings answered" \
        || bad "$S: rekey lost pings: ${received:-0} of ${sent:-0} answered"
    # The push reached both members (SEQ 2) and both ACKs (RFC 8263) reached the key server.
    local seq1 seq2 acks
    seq1=$(group_json gm1 groups ROUTER-GROUP .sequence); seq2=$(group_json gm2 groups ROUTER-GROUP .sequence)
    acks=$("$KS_BIN" --control "$W/$S-ks.ctl" --command status 2>/dev/null | sed -n 's/^acks seq 2 //p')
    [ "$seq1" = 2 ] && [ "$seq2" = 2 ] && [ "$acks" = 2/2 ] && ok "$S: the push reached both members (SEQ 2), ACKs $acks" \
        || bad "$S: after the push: SEQ $seq1/$seq2, ACKs '$acks'"
    healthy gm1
    healthy gm2
}
no_cleartext() {
    local clear marker
    clear=$(clear_icmp "$W/$S-core.pcap")
    marker=$(LC_ALL=C grep -c -a "gdoi-marker" "$W/$S-core.pcap" || true)
    [ "$clear" -eq 0 ] && [ "$marker" -eq 0 ] && ok "$S: nothing readable on the core (0 ICMP, 0 marker)" \
        || bad "$S: cleartext on the core: $clear ICMP, $marker packet(s) with the marker"
}
healthy() {  # healthy GM: registered, the health report has nothing to say
    local state health
    state=$(group_state "$1" ROUTER-GROUP)
    health=$(group_json "$1" groups ROUTER-GROUP 'if (.health // "") == "" then "ok" else .health end')
    [ "$state" = registered ] && [ "$health" = ok ] && ok "$S: $1 registered, health ok" \
        || bad "$S: $1 state '$state', health '$health'"
}
registered_both() {
    wait_registered gm1 ROUTER-GROUP && wait_registered gm2 ROUTER-GROUP && ok "$S: both members registered" \
        || bad "$S: registration"
}

# ---- router setups (applied before the members start, as at an operator's boot)
nft_masquerade() {  # nft_masquerade GM [RULE...]: WAN masquerade, RULEs first
    local rules="" r
    for r in "${@:2}"; do rules+="$r; "; done
    nsx "$1" nft add table ip router_nat
    nsx "$1" nft "add chain ip router_nat post { type nat hook postrouting priority srcnat; }"
    [ -z "$rules" ] || for r in "${@:2}"; do nsx "$1" nft "add rule ip router_nat post $r"; done
    nsx "$1" nft add rule ip router_nat post oifname wan0 masquerade
}
firewall() {  # firewall GM FILE: the operator's firewall with the WAN/LAN names of the sites
    nsx "$1" nft -f "$2"
}
firewall_without_recipe() {  # the same firewall without the gdoi-member lines
    # each gdoi-member comment and the rule under it
    awk '/^[ \t]+# gdoi-member:/ {skip=1; next} skip {skip=0; next} {print}' "$SRC/packaging/examples/router-firewall.nft" \
        >"$W/$S-plain-firewall.nft"
    nsx "$1" nft -f "$W/$S-plain-firewall.nft"
}

RAN=0
want() {  # want NAME: run scenario NAME (all, or those in SCENARIOS="a,b")
    [ -z "${SCENARIOS:-}" ] || [[ ",$SCENARIOS," == *",$1,"* ]] || return 1
    RAN=$((RAN + 1))
}

# The recipe in the README is the file the test applies.
while IFS= read -r line; do
    [ -z "$line" ] && continue
    grep -qF -- "$line" "$SRC/README.md" || { bad "README lacks the tested recipe line: $line"; break; }
done <"$SRC/packaging/examples/router-firewall.nft"

if want masquerade-nft; then
    up masquerade-nft
    nft_masquerade gm1; nft_masquerade gm2
    start_members; registered_both; keyed_checks
    # Without our notrack the masqueraded carrier would leave as cleartext IPIP: the guard that
    # matches its destination still keeps it off the WAN (nothing leaks; traffic stops).
    h=$(nsx gm1 nft -a list chain inet gdoi_member notrack_output | sed -nE 's/.*carrier IPIP.*# handle ([0-9]+).*/\1/p' || true)
    nsx gm1 nft delete rule inet gdoi_member notrack_output handle "${h:-0}" || bad "$S: cannot remove the carrier's notrack rule"
    S=masquerade-nft-without-notrack
    capture_start
    nsx lan1 ping -c 3 -i 0.2 -W 1 -p "$MARKER" -q 10.2.0.10 >/dev/null 2>&1 || true
    capture_stop
    no_cleartext
    # (the kernel may already drop the masqueraded carrier when NAT's re-lookup finds no policy;
    # the guard is the last resort behind it)
    post=$(nsx gm1 nft list chain inet gdoi_member postrouting)
    echo "  $S: IPIP-to-peer guard: $(grep -o 'counter packets [0-9]*.*IPIP to a carrier peer' <<<"$post" | cut -d' ' -f1-3)"
    S=masquerade-nft
    down
fi
if want masquerade-iptables; then
    up masquerade-iptables
    nsx gm1 iptables -t nat -A POSTROUTING -o wan0 -j MASQUERADE
    nsx gm2 iptables -t nat -A POSTROUTING -o wan0 -j MASQUERADE
    start_members; registered_both; keyed_checks; down
fi
if want nat-exemption; then
    up nat-exemption
    nft_masquerade gm1 "ip daddr 10.0.0.0/8 return"; nft_masquerade gm2 "ip daddr 10.0.0.0/8 return"
    start_members; registered_both; keyed_checks; down
fi
if want snat; then
    up snat
    for gm in gm1 gm2; do
        wan=172.16.1.2; [ "$gm" = gm2 ] && wan=172.16.2.2
        nsx "$gm" nft add table ip router_nat
        nsx "$gm" nft "add chain ip router_nat post { type nat hook postrouting priority srcnat; }"
        nsx "$gm" nft add rule ip router_nat post oifname wan0 snat to "$wan"
    done
    start_members; registered_both; keyed_checks; down
fi
if want firewall; then
    up firewall
    firewall gm1 "$SRC/packaging/examples/router-firewall.nft"; firewall gm2 "$SRC/packaging/examples/router-firewall.nft"
    # pushes arrive long after the registration's UDP 848 conntrack entry expired
    for gm in gm1 gm2; do nsx "$gm" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=2 net.netfilter.nf_conntrack_udp_timeout_stream=2; done
    start_members; registered_both
    sleep 4
    [ "$(nsx gm1 conntrack -L -p udp --dport 848 2>/dev/null | grep -c 848 || true)" -eq 0 ] \
        && ok "$S: no conntrack entry for UDP 848 left when the push comes" || bad "$S: a UDP 848 conntrack entry is still there"
    keyed_checks
    down
fi
if want rpfilter-nft; then
    up rpfilter-nft
    nsx gm1 nft -f "$SRC/packaging/examples/router-rpfilter.nft"; nsx gm2 nft -f "$SRC/packaging/examples/router-rpfilter.nft"
    start_members; registered_both; keyed_checks; down
fi
if want far-mtu-1400; then
    for df in clear set; do
        up "far-mtu-$df" "df-bit = \"$df\""
        # 1400 bytes on the core's path towards the far site: neither member knows it.
        nsx core ip route replace 10.2.0.0/24 via 172.16.2.2 mtu lock 1400
        start_members; registered_both
        # TCP: 3 MB each way through a 1400-byte path only the core knows about.
        nsx lan2 python3 "$SRC/tests/vm/lib/tcp_bulk.py" serve 10.2.0.10 5001 2 >"$W/$S-tcp-server.log" 2>&1 &
        sleep 1
        capture_start
        big=$(nsx lan1 ping -c 3 -i 0.3 -W 2 -s 1450 -M dont -q 10.2.0.10 2>/dev/null | sed -nE 's/.* ([0-9]+) received.*/\1/p' || true)
        up_ok=0; nsx lan1 timeout 30 python3 "$SRC/tests/vm/lib/tcp_bulk.py" send 10.2.0.10 5001 3000000 >"$W/$S-tcp-up.log" 2>&1 && up_ok=1
        down_ok=0; nsx lan1 timeout 30 python3 "$SRC/tests/vm/lib/tcp_bulk.py" fetch 10.2.0.10 5001 3000000 >"$W/$S-tcp-down.log" 2>&1 && down_ok=1
        capture_stop
        if [ "$df" = clear ]; then
            [ "${big:-0}" -eq 3 ] && ok "$S: 1450-byte pings without DF pass (3/3)" || bad "$S: 1450-byte pings: ${big:-0}/3"
            [ "$up_ok" = 1 ] && ok "$S: TCP 3 MB lan1 -> lan2 ($(cat "$W/$S-tcp-up.log"))" || bad "$S: TCP lan1 -> lan2 stalled"
            [ "$down_ok" = 1 ] && ok "$S: TCP 3 MB lan2 -> lan1 ($(cat "$W/$S-tcp-down.log"))" || bad "$S: TCP lan2 -> lan1 stalled"
            no_cleartext
            outbound=$(nsx gm1 nft list chain inet gdoi_member outbound)
            grep -q "maxseg size set rt mtu counter packets [1-9]" <<<"$outbound" && ok "$S: MSS of the SYNs into the carrier clamped" \
                || bad "$S: no MSS clamp counted: $(grep maxseg <<<"$outbound")"
            healthy gm1
        else
            # Control: with DF set on the ESP the far link black-holes the bulk transfer.
            [ "$up_ok" = 0 ] || [ "$down_ok" = 0 ] && ok "$S (control): with df-bit = set the 1400-byte link black-holes TCP" \
                || bad "$S (control): TCP passed with df-bit = set: the test cannot tell the setting apart"
        fi
        down
    done
fi
if want vlan-wan; then
    # gm1's WAN is a VLAN (wan0.100) on its uplink.
    WAN1=wan0.100 up vlan-wan
    nsx gm1 ip addr del 172.16.1.2/30 dev wan0
    nsx core ip addr del 172.16.1.1/30 dev c1
    nsx gm1 ip link add link wan0 name wan0.100 type vlan id 100
    nsx core ip link add link c1 name c1.100 type vlan id 100
    nsx gm1 ip addr add 172.16.1.2/30 dev wan0.100; nsx gm1 ip link set wan0.100 up
    nsx core ip addr add 172.16.1.1/30 dev c1.100; nsx core ip link set c1.100 up
    nsx gm1 ip route add default via 172.16.1.1
    nsx core ip route add 10.1.0.0/24 via 172.16.1.2
    start_members; registered_both; keyed_checks; down
fi
if want wan-mtu-change; then
    # The WAN's MTU drops while the member runs: the carrier follows within one check (10 s).
    up wan-mtu-change
    start_members; registered_both
    before=$(nsx gm1 ip -j link show gdoi0 | jq '.[0].mtu')
    nsx gm1 ip link set wan0 mtu 1400
    nsx core ip link set c1 mtu 1400
    after=$before
    for _ in $(seq 30); do
        after=$(nsx gm1 ip -j link show gdoi0 | jq '.[0].mtu')
        [ "$after" -lt "$before" ] && break
        sleep 0.5
    done
    [ "$after" -lt "$before" ] && [ "$after" -le 1400 ] && ok "$S: carrier MTU $before -> $after after the WAN went to 1400" \
        || bad "$S: carrier MTU stayed $after (WAN 1400)"
    big=$(nsx lan2 ping -c 3 -i 0.3 -W 2 -s 1450 -M dont -q 10.1.0.10 2>/dev/null | sed -nE 's/.* ([0-9]+) received.*/\1/p' || true)
    [ "${big:-0}" -eq 3 ] && ok "$S: 1450-byte pings lan2 -> lan1 pass (3/3)" || bad "$S: 1450-byte pings: ${big:-0}/3"
    big=$(nsx lan1 ping -c 3 -i 0.3 -W 2 -s 1450 -M dont -q 10.2.0.10 2>/dev/null | sed -nE 's/.* ([0-9]+) received.*/\1/p' || true)
    [ "${big:-0}" -eq 3 ] && ok "$S: 1450-byte pings lan1 -> lan2 pass (3/3)" || bad "$S: 1450-byte pings: ${big:-0}/3"
    grep -q "mtu 1500 -> 1400: the carriers' MTUs follow" "$W/$S-gm1.log" && ok "$S: logged" || bad "$S: no log line"
    down
fi
if want firewall-without-recipe; then
    up firewall-without-recipe
    firewall_without_recipe gm1
    start_members
    # The member registers (it initiates) but its group traffic is dropped by the router.
    wait_registered gm1 ROUTER-GROUP || true
    nsx lan1 ping -c 20 -i 0.5 -W 1 -q 10.2.0.10 >/dev/null 2>&1 &
    nsx lan2 ping -c 20 -i 0.5 -W 1 -q 10.1.0.10 >/dev/null 2>&1 &
    health=""
    for _ in $(seq 120); do
        health=$(group_json gm1 groups ROUTER-GROUP '.health // empty')
        [ -n "$health" ] && break
        sleep 0.5
    done
    [ -n "$health" ] && ok "$S: gdoictl show groups says: $health" || bad "$S: no health warning within 60 s"
    "$GDOICTL" -s "$W/gm1.sock" show groups >"$W/$S-show-groups.txt" 2>&1 || true
    down
fi

[ "$RAN" -gt 0 ] || bad "no scenario named in SCENARIOS=$SCENARIOS"
if [ "$FAILS" -eq 0 ]; then echo "router-setups: all steps passed"; else echo "router-setups: $FAILS step(s) failed (logs in $OUT)"; fi
[ "$FAILS" -eq 0 ]
