#!/usr/bin/env bash
# demo-vm.sh BUILD_DIR — the README's demo, run inside the real-ESP test VM (tests/vm/vm-run.sh):
# a GDOI key server and two members (gdoi-memberd with the kernel dataplane) in network
# namespaces, traffic between their LANs encrypted with the group's SAs, the original
# addresses on the wire, a rekey pushed by the key server. Exits non-zero if any step fails,
# so it doubles as the end-to-end test `vm_demo`.
#
#   lan1 10.1.0.10 -- gm1 (lan0 10.1.0.1, wan0 172.16.1.2) -- core -- gm2 (wan0 172.16.2.2, lan0 10.2.0.1) -- lan2 10.2.0.10
#                                                               |
#                                                     ks 172.16.9.2 (gdoi-test-keyserver)
set -euo pipefail
# shellcheck source=tests/vm/lib/sites.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../tests/vm/lib/sites.sh"
BUILD=$(readlink -f "${1:?usage: demo-vm.sh BUILD_DIR}")
member_binaries "$BUILD" demo
P="demo$$"
W=$(mktemp -d /tmp/gdoi-demo.XXXXXX)
OUT="${GDOI_VM_OUT:-$W}"
FAILS=0
MARKER="GDOI-DEMO-MARKER"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }
cleanup() {
    sites_destroy ks
    cp -f "$W"/*.log "$W"/*.pcap "$OUT"/ 2>/dev/null || true
}
trap cleanup EXIT

say "topology: two sites, a core router and a key server, in network namespaces"
sites_create ks
link core c9 172.16.9.1/24 ks eth0 172.16.9.2/24
nsx ks ip route add default via 172.16.9.1
echo "lan1 10.1.0.10 - gm1 - core - gm2 - lan2 10.2.0.10; key server 172.16.9.2"

say "key server: group 1, KEK (RSA-signed rekeys), TEK AES-256-CBC/HMAC-SHA-256 for 10.0.0.0/8"
umask 077
echo "demo-pre-shared-key" >"$W/psk"
nsx ks "$KS_BIN" --listen 172.16.9.2 --psk-any "$W/psk" --group 1 --tek cbc256-sha256:0x1000 \
    --selector 10.0.0.0/8 --kek-sig rsa --gap 2,10 --ack --control "$W/ks.ctl" >"$W/keyserver.log" 2>&1 &
for _ in $(seq 100); do [ -S "$W/ks.ctl" ] && break; sleep 0.1; done

member_config() {  # member_config NAME WAN_ADDR
    cat >"$W/$1.toml" <<TOML
[member]
local-address = "$2"
wan-interface = "wan0"
control-socket = "$W/$1.sock"

[[group]]
name = "DEMO-GROUP"
id = 1
servers = ["172.16.9.2"]
ike.mode = "main"
ike.proposals = ["aes256-sha256-modp2048"]
ike.psk-file = "$W/psk"
lan-interfaces = ["lan0"]
exclude = [ { protocol = "tcp", destination-port = 179 } ]
TOML
}
member_config gm1 172.16.1.2
member_config gm2 172.16.2.2

say "fail-closed before any key: lan1 -> lan2 must not leave in clear"
nsx core dumpcap -q -i c1 -w "$W/before.pcap" >/dev/null 2>&1 &
CAP=$!
sleep 1
nsx gm1 "$MEMBERD" -c "$W/gm1.toml" --check
# The member starts fail-closed; the key server is blocked for a moment so the window is visible.
nsx ks nft add table inet hold '{ chain in { type filter hook input priority 0; udp dport 848 drop; }; }'
nsx gm1 "$MEMBERD" -c "$W/gm1.toml" >"$W/gm1.log" 2>&1 &
nsx gm2 "$MEMBERD" -c "$W/gm2.toml" >"$W/gm2.log" 2>&1 &
# The probe starts once both daemons run (their control sockets answer): before that no member
# process exists to hold anything (under ASan in the TCG VM a start takes seconds).
for gm in gm1 gm2; do
    for _ in $(seq 150); do
        "$GDOICTL" -s "$W/$gm.sock" show groups >/dev/null 2>&1 && break
        sleep 0.2
    done
done
sleep 1
if nsx lan1 ping -c 3 -i 0.3 -W 1 -p "$(printf %s "$MARKER" | od -An -tx1 | tr -d ' \n' | cut -c1-32)" 10.2.0.10 >/dev/null 2>&1; then
    bad "ping went through before the group was keyed"
else
    ok "no key yet: lan traffic dropped (fail-closed)"
fi
kill "$CAP"; wait "$CAP" 2>/dev/null || true
clear_before=$(tshark -r "$W/before.pcap" -Y 'icmp && ip.src==10.1.0.10' 2>/dev/null | wc -l)
[ "$clear_before" -eq 0 ] && ok "nothing from lan1 on the WAN in clear" || bad "$clear_before cleartext packets from lan1 on the WAN"
nsx ks nft delete table inet hold

say "registration: both members pull the group's keys"
for gm in gm1 gm2; do
    for _ in $(seq 150); do
        state=$("$GDOICTL" -s "$W/$gm.sock" show groups --json 2>/dev/null | jq -r '.groups[0].state' 2>/dev/null || true)
        [ "$state" = registered ] && break
        sleep 0.2
    done
    [ "$state" = registered ] && ok "$gm registered" || bad "$gm not registered (state '$state')"
done
sleep 1
echo "\$ gdoictl show groups        (on gm1)"
"$GDOICTL" -s "$W/gm1.sock" show groups
echo "\$ gdoictl show tek           (on gm1)"
"$GDOICTL" -s "$W/gm1.sock" show tek

say "traffic lan1 <-> lan2, captured on the core (the WAN)"
nsx core dumpcap -q -i c1 -w "$W/wan.pcap" >/dev/null 2>&1 &
CAP=$!
sleep 1
pattern=$(printf %s "$MARKER" | od -An -tx1 | tr -d ' \n' | cut -c1-32)
if nsx lan1 ping -c 5 -i 0.2 -W 2 -p "$pattern" 10.2.0.10; then ok "lan1 -> lan2 ping"; else bad "lan1 -> lan2 ping"; fi
if nsx lan2 ping -c 3 -i 0.2 -W 2 10.1.0.10 >/dev/null; then ok "lan2 -> lan1 ping"; else bad "lan2 -> lan1 ping"; fi
sleep 0.5
kill "$CAP"; wait "$CAP" 2>/dev/null || true
echo "\$ tshark -r wan.pcap          (what the WAN sees)"
tshark -r "$W/wan.pcap" -Y 'esp || icmp' 2>/dev/null | awk 'NR<=8'
esp=$(tshark -r "$W/wan.pcap" -Y 'esp && ip.src==10.1.0.10 && ip.dst==10.2.0.10' 2>/dev/null | wc -l)
clear=$(tshark -r "$W/wan.pcap" -Y 'icmp && ip.src==10.1.0.10' 2>/dev/null | wc -l)
spi=$(tshark -r "$W/wan.pcap" -Y esp -T fields -e esp.spi 2>/dev/null | sort -u | tr '\n' ' ')
[ "$esp" -ge 5 ] && ok "$esp ESP packets with the original addresses 10.1.0.10 > 10.2.0.10 (SPI $spi)" || bad "only $esp ESP packets with the original addresses"
[ "$clear" -eq 0 ] && ok "no cleartext ICMP on the WAN" || bad "$clear cleartext ICMP packets on the WAN"
grep -q "$MARKER" "$W/wan.pcap" && bad "the payload marker appears on the WAN" || ok "the payload marker never appears on the WAN"

say "kernel state on gm1 (keys masked)"
echo "\$ ip xfrm state"
nsx gm1 ip xfrm state | sed -E 's/(0x[0-9a-f]{16})[0-9a-f]+/\1.../g'
echo "\$ ip xfrm policy"
nsx gm1 ip xfrm policy | awk 'NR<=12'
nstates=$(nsx gm1 ip xfrm state | grep -c '^src')
echo "XFRM states on gm1: $nstates (one inbound + one outbound per TEK, however many hosts)"

say "several hosts per site at once: the kernel objects do not grow"
count_objects() { echo "$(nsx gm1 ip xfrm state | grep -c '^src') states, $(nsx gm1 ip xfrm policy | grep -c '^src') policies"; }
objects_before=$(count_objects)
for i in 11 12 13; do
    nsx lan1 ip addr add "10.1.0.$i/24" dev eth0
    nsx lan2 ip addr add "10.2.0.$i/24" dev eth0
done
pids=()
for i in 10 11 12 13; do
    for j in 10 11 12 13; do
        ip netns exec "$P-lan1" ping -c 2 -i 0.3 -W 3 -I "10.1.0.$i" "10.2.0.$j" >/dev/null 2>&1 &
        pids+=($!)
    done
done
failed_pairs=0
for pid in "${pids[@]}"; do wait "$pid" || failed_pairs=$((failed_pairs + 1)); done
[ "$failed_pairs" -eq 0 ] && ok "16 host pairs (4 x 4 hosts) talked at once" || bad "$failed_pairs of 16 host pairs failed"
objects_after=$(count_objects)
echo "gm1 before: $objects_before; after: $objects_after"
[ "$objects_before" = "$objects_after" ] && ok "XFRM objects on gm1 unchanged by more hosts ($objects_after)" \
    || bad "XFRM objects grew with the hosts: $objects_before -> $objects_after"

say "rekey: the key server pushes a new TEK (GROUPKEY-PUSH, signed, acknowledged)"
"$KS_BIN" --control "$W/ks.ctl" --command rekey
sleep 4   # GAP activation delay 2 s
echo "\$ gdoictl show tek           (on gm1, after the rekey)"
"$GDOICTL" -s "$W/gm1.sock" show tek
newspi=$("$GDOICTL" -s "$W/gm1.sock" show tek --json | jq -r '.groups[0].teks[-1].spi')
seq=$("$GDOICTL" -s "$W/gm1.sock" show groups --json | jq -r '.groups[0].sequence')
[ "$newspi" != "0x00001000" ] && ok "gm1 now uses TEK $newspi, SEQ $seq" || bad "gm1 still on the old TEK"
if nsx lan1 ping -c 3 -i 0.2 -W 2 10.2.0.10 >/dev/null; then ok "traffic flows under the new TEK"; else bad "no traffic after the rekey"; fi
acks=$("$KS_BIN" --control "$W/ks.ctl" --command status | grep -c '^ack\|acks' || true)
echo "\$ key server status"; "$KS_BIN" --control "$W/ks.ctl" --command status

say "result"
if [ "$FAILS" -eq 0 ]; then echo "demo: all steps passed"; else echo "demo: $FAILS step(s) failed (logs in $OUT)"; fi
[ "$FAILS" -eq 0 ]
