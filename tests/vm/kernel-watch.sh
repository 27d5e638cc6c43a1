#!/usr/bin/env bash
# kernel-watch.sh BUILD_DIR — the member's watch on the kernel (member/src/daemon_kernel_watch.cpp),
# end to end with real ESP inside the test VM (tests/vm/vm-run.sh). Two members, each in two groups:
#   GCM-GROUP (1, 10.0.0.0/8, AES-GCM TEK 0x1000): gm1 has gcm-expected-senders = 16384, so its
#     outbound GCM SA gets a hard packet limit of 31 and a soft one of 24 (dataplane_tek.h).
#   CBC-GROUP (2, 192.168.0.0/16, AES-CBC/HMAC TEK 0x2000).
# Proves:
#  a. the kernel's soft expire of gm1's newest TEK (packet limit) makes gm1 register again
#     (soft_expires, registrations, the log line naming group and SPI); the hard expire is
#     logged and counted, the group's traffic then stops without leaking in clear until the key
#     server's rekey brings a new TEK;
#  b. CBC-GROUP traffic flowing both ways never triggers the probe; ESP towards gm1 dropped on
#     the core while lan1 keeps sending: gm1 starts the recovery probe ("outbound-only traffic")
#     after 3 quiet checks of 10 s, gm2 (which still receives) does not; traffic flows again
#     once the drop goes;
#  c. ESP for an SPI gm1 does not have (sent raw from the core) raises XfrmInNoStates and
#     starts the recovery probe ("ESP for unknown SPIs").
# No cleartext ICMP on gm1's WAN link during all of it.
#
#   lan1 10.1.0.10 + 192.168.1.10 -- gm1 -- core -- gm2 -- lan2 10.2.0.10 + 192.168.2.10
#                                             |
#                         ks 172.16.9.2 (GCM-GROUP), 172.16.9.3 (CBC-GROUP)
set -euo pipefail
# shellcheck source=tests/vm/lib/sites.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/sites.sh"
BUILD=$(readlink -f "${1:?usage: kernel-watch.sh BUILD_DIR}")
member_binaries "$BUILD" kernel-watch
P="kw$$"
W=$(mktemp -d /tmp/gdoi-kernel-watch.XXXXXX)
OUT="${GDOI_VM_OUT:-$W}"
FAILS=0
GCM="GCM-GROUP"
CBC="CBC-GROUP"
SENDERS=16384 # gcm_packet_limit(16384) = 2^5 - 1 = 31 packets, soft limit 31 - 31/4 = 24

trap sites_finish EXIT
sites_two_groups

umask 077
echo "kernel-watch-pre-shared-key" >"$W/psk"
nsx ks "$KS_BIN" --listen 172.16.9.2 --psk-any "$W/psk" --group 1 --tek gcm128:0x1000 \
    --selector 10.0.0.0/8 --gap 1,3 --control "$W/ks1.ctl" >"$W/ks1.log" 2>&1 &
nsx ks "$KS_BIN" --listen 172.16.9.3 --psk-any "$W/psk" --group 2 --tek cbc128-sha256:0x2000 \
    --selector 192.168.0.0/16 --gap 1,3 --control "$W/ks2.ctl" >"$W/ks2.log" 2>&1 &
for _ in $(seq 100); do [ -S "$W/ks1.ctl" ] && [ -S "$W/ks2.ctl" ] && break; sleep 0.1; done

member_config() {  # member_config NAME WAN_ADDR [GCM-GROUP LINE...]
    local name=$1 wan=$2
    shift 2
    {
        printf '[member]\nlocal-address = "%s"\nwan-interface = "wan0"\ncontrol-socket = "%s"\n' "$wan" "$W/$name.sock"
        group_toml "$GCM" 1 172.16.9.2 "$@"
        group_toml "$CBC" 2 172.16.9.3
    } >"$W/$name.toml"
}
member_config gm1 172.16.1.2 "gcm-expected-senders = $SENDERS"
member_config gm2 172.16.2.2
nsx gm1 "$MEMBERD" -c "$W/gm1.toml" >"$W/gm1.log" 2>&1 &
nsx gm2 "$MEMBERD" -c "$W/gm2.toml" >"$W/gm2.log" 2>&1 &
for gm in gm1 gm2; do
    for g in "$GCM" "$CBC"; do check "$gm registered in $g" wait_registered "$gm" "$g"; done
done
sleep 2 # GAP activation 1 s

# Everything on gm1's WAN link, to the end.
nsx core dumpcap -q -i c1 -w "$W/wan.pcap" >/dev/null 2>&1 &
CAP=$!
# CBC-GROUP traffic both ways all along (b and c rely on it).
ip netns exec "$P-lan1" ping -i 0.5 -W 1 192.168.2.10 >"$W/cbc-ping.log" 2>&1 &
CBC_PING=$!
sleep 1

counter() { group_counter gm1 "$1" "$2"; }   # counter GROUP NAME (on gm1)
at_least() { [ "$(counter "$1" "$2")" -ge "$3" ] 2>/dev/null; }   # at_least GROUP NAME N
log_has() { grep -qF -- "$2" "$W/$1.log"; }  # log_has GM TEXT
received() {  # received NS COUNT DST [PING ARGS...]: the echo replies of COUNT pings
    local ns=$1 count=$2 dst=$3
    shift 3
    nsx "$ns" ping -c "$count" -i 0.1 -W 2 "$@" "$dst" 2>/dev/null | sed -nE 's/.* ([0-9]+) received.*/\1/p' || true
}

echo "== a. GCM packet limit: soft expire -> registration again; hard expire"
check "gm1 warns of the GCM packet limit (31 packets for $SENDERS senders)" \
    log_has gm1 "outbound SA limited to 31 packets for $SENDERS expected senders"
limits=$(nsx gm1 ip -s xfrm state | grep -c 'soft 24(packets), hard 31(packets)' || true)
[ "$limits" -eq 1 ] && ok "gm1: one SA (the outbound GCM SA) with packet limits 24/31" \
    || bad "gm1: $limits SAs with packet limits 24/31"
regs0=$(counter "$GCM" registrations)
n=$(received lan1 28 10.2.0.10)   # 28 outbound packets: past the soft limit, below the hard one
[ "$n" = 28 ] && ok "28 of 28 GCM-GROUP pings answered across the soft limit" || bad "GCM-GROUP pings: '$n' of 28 answered"
check "soft expire counted (soft_expires >= 1)" wait_until 15 at_least "$GCM" soft_expires 1
check "soft expire made gm1 register again (registrations > $regs0)" \
    wait_until 15 at_least "$GCM" registrations $((regs0 + 1))
check "log: the soft expire names group and SPI" \
    log_has gm1 "group $GCM: SA 0x00001000 reached its soft lifetime (packets); no newer TEK: registering again early"
[ "$(counter "$GCM" hard_expires)" = 0 ] && ok "no hard expire yet" || bad "hard expire before the hard limit"
[ "$(group_counter gm2 "$GCM" soft_expires)" = 0 ] && ok "gm2 (100 senders: 524287 packets) had no soft expire" \
    || bad "gm2 counted a soft expire"
n=$(received lan1 6 10.2.0.10)    # packets 29..31 pass, then the kernel removes the SA
echo "  after the hard limit: $n of 6 answered"
check "hard expire counted (hard_expires >= 1)" wait_until 15 at_least "$GCM" hard_expires 1
check "log: the hard expire names SPI and group" \
    log_has gm1 "SA 0x00001000 of group $GCM reached its hard lifetime (packets)"
n=$(received lan1 3 10.2.0.10)
[ "$n" = 0 ] && ok "GCM-GROUP traffic stops without the outbound SA (fail-closed)" \
    || bad "GCM-GROUP traffic still answered after the hard expire ($n of 3)"
"$KS_BIN" --control "$W/ks1.ctl" --command rekey >/dev/null
new_gcm_tek() { local spi; spi=$(sending_spi gm1 "$GCM"); [ -n "$spi" ] && [ "$spi" != 0x00001000 ]; }
check "rekey: gm1 holds a new GCM TEK" wait_until 10 new_gcm_tek
sleep 2 # GAP activation 1 s
n=$(received lan1 3 10.2.0.10)
[ "$n" = 3 ] && ok "GCM-GROUP traffic flows again under the new TEK" || bad "GCM-GROUP after the rekey: '$n' of 3 answered"

echo "== b. outbound-only traffic -> recovery probe"
if log_has gm1 "outbound-only traffic" || log_has gm2 "outbound-only traffic"; then
    bad "two-way traffic triggered the outbound-only probe"
else
    ok "two-way CBC-GROUP traffic did not trigger the probe"
fi
probes0=$(counter "$CBC" recovery_probes)
regs0=$(counter "$CBC" registrations)
nsx core nft add table inet kwdrop '{ chain drop_esp { type filter hook forward priority 0; oifname "c1" meta l4proto esp counter drop; }; }'
t0=$SECONDS
if wait_until 50 log_has gm1 "group $CBC (2): traffic suggests stale keys (outbound-only traffic"; then
    took=$((SECONDS - t0))
    # 3 checks (10 s apart) whose intervals saw no inbound packet: the first of them ends
    # 10 s after the drop at the earliest (one check's interval holds the last replies).
    [ "$took" -ge 25 ] && ok "gm1: outbound-only probe started ${took} s after ESP towards it was dropped" \
        || bad "gm1: outbound-only probe after ${took} s, before 3 quiet checks"
else
    bad "gm1: no outbound-only probe within 50 s of the drop"
fi
check "gm1: the probe registered again (recovery_probes > $probes0)" \
    wait_until 15 at_least "$CBC" recovery_probes $((probes0 + 1))
# The probe counter goes up when the probe starts; its registration (phase 1 + pull) follows.
check "gm1: the probe's registration completed ($CBC registrations > $regs0)" \
    wait_until 20 at_least "$CBC" registrations $((regs0 + 1))
log_has gm2 "outbound-only traffic" && bad "gm2 (receiving) started the probe too" || ok "gm2, still receiving, started no probe"
dropped=$(nsx core nft list table inet kwdrop | sed -nE 's/.*packets ([0-9]+).*/\1/p')
echo "  ESP packets dropped towards gm1: $dropped"
nsx core nft delete table inet kwdrop
n=$(received lan1 3 192.168.2.10)
[ "$n" = 3 ] && ok "CBC-GROUP traffic flows again once the drop is gone" || bad "CBC-GROUP after the drop: '$n' of 3 answered"

echo "== c. ESP for an unknown SPI -> recovery probe"
log_has gm1 "ESP for unknown SPIs" && bad "an unknown-SPI probe before any unknown SPI" || ok "no unknown-SPI probe so far"
no_states() { nsx gm1 awk '$1 == "XfrmInNoStates" { print $2 }' /proc/net/xfrm_stat; }
before=$(no_states)
probes0=$(counter "$GCM" recovery_probes)
# What a member that rekeyed without gm1 would send: ESP 10.2.0.10 > 10.1.0.10, SPI 0xdeadbeef.
nsx core /usr/bin/python3 - <<'PY'
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
src, dst = socket.inet_aton("10.2.0.10"), socket.inet_aton("10.1.0.10")
for seq in range(1, 6):
    esp = struct.pack("!II", 0xDEADBEEF, seq) + bytes(64)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(esp), seq, 0, 64, 50, 0, src, dst)
    s.sendto(ip + esp, ("10.1.0.10", 0))
PY
sleep 0.5
after=$(no_states)
[ "$after" -gt "$before" ] && ok "gm1: XfrmInNoStates $before -> $after" || bad "gm1: XfrmInNoStates stayed $before"
check "gm1: recovery probe for ESP of unknown SPIs" \
    wait_until 15 log_has gm1 "group $GCM (1): traffic suggests stale keys (ESP for unknown SPIs)"
check "gm1: the probe registered again (recovery_probes > $probes0)" \
    wait_until 15 at_least "$GCM" recovery_probes $((probes0 + 1))

n=$(received lan1 3 10.2.0.10)
[ "$n" = 3 ] && ok "GCM-GROUP traffic still flows at the end" || bad "GCM-GROUP at the end: '$n' of 3 answered"
kill "$CBC_PING" "$CAP" 2>/dev/null || true
wait "$CBC_PING" "$CAP" 2>/dev/null || true
spis=$(esp_between "$W/wan.pcap" 10.1.0.10 10.2.0.10)
case $spis in *0x00001000*) ok "GCM-GROUP left as ESP (SPIs $spis)" ;; *) bad "GCM-GROUP ESP SPIs on the WAN: '$spis'" ;; esac
n=$(clear_icmp "$W/wan.pcap")
[ "$n" -eq 0 ] && ok "no cleartext ICMP on gm1's WAN link" || bad "$n cleartext ICMP packets on gm1's WAN link"
echo "\$ gdoictl show stats   (gm1)"
"$GDOICTL" -s "$W/gm1.sock" show stats || true

if [ "$FAILS" -eq 0 ]; then echo "kernel-watch: all steps passed"; else echo "kernel-watch: $FAILS step(s) failed (logs in $OUT)"; fi
[ "$FAILS" -eq 0 ]
