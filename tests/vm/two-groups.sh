#!/usr/bin/env bash
# two-groups.sh BUILD_DIR — a member in two groups at once, run inside the real-ESP test VM
# (tests/vm/vm-run.sh): two key servers (group 1 protects 10.0.0.0/8, group 2 protects
# 192.168.0.0/16), two gdoi-memberd each in both groups, one carrier per group.
# Proves: both groups keyed together, each group's traffic leaves as ESP under its own TEK
# with the original addresses, a rekey of one group leaves the other's SAs alone, SIGHUP
# removing a group tears down only its objects, SIGHUP adding it back keys it again.
#
#   lan1 10.1.0.10 + 192.168.1.10 -- gm1 -- core -- gm2 -- lan2 10.2.0.10 + 192.168.2.10
#                                            |
#                        ks 172.16.9.2 (group 1), 172.16.9.3 (group 2)
set -euo pipefail
# shellcheck source=tests/vm/lib/sites.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/sites.sh"
BUILD=$(readlink -f "${1:?usage: two-groups.sh BUILD_DIR}")
member_binaries "$BUILD" two-groups
P="tg$$"
W=$(mktemp -d /tmp/gdoi-two-groups.XXXXXX)
OUT="${GDOI_VM_OUT:-$W}"
FAILS=0

trap sites_finish EXIT
sites_two_groups

umask 077
echo "two-groups-pre-shared-key" >"$W/psk"
nsx ks "$KS_BIN" --listen 172.16.9.2 --psk-any "$W/psk" --group 1 --tek cbc256-sha256:0x1000 \
    --selector 10.0.0.0/8 --gap 2,10 --ack --control "$W/ks1.ctl" >"$W/ks1.log" 2>&1 &
nsx ks "$KS_BIN" --listen 172.16.9.3 --psk-any "$W/psk" --group 2 --tek cbc128-sha256:0x2000 \
    --selector 192.168.0.0/16 --gap 2,10 --ack --control "$W/ks2.ctl" >"$W/ks2.log" 2>&1 &
for _ in $(seq 100); do [ -S "$W/ks1.ctl" ] && [ -S "$W/ks2.ctl" ] && break; sleep 0.1; done

member_config() {  # member_config NAME WAN_ADDR [GROUPS...]: 1 and/or 2
    local name=$1 wan=$2
    shift 2
    {
        printf '[member]\nlocal-address = "%s"\nwan-interface = "wan0"\ncontrol-socket = "%s"\n' "$wan" "$W/$name.sock"
        for g in "$@"; do
            case $g in
                1) group_toml GROUP-ONE 1 172.16.9.2 ;;
                2) group_toml GROUP-TWO 2 172.16.9.3 ;;
                2x) group_toml GROUP-TWO 2 172.16.9.3
                    echo 'exclude = [ { protocol = "tcp", destination-port = 179 } ]' ;;
            esac
        done
    } >"$W/$name.toml"
}
member_config gm1 172.16.1.2 1 2
member_config gm2 172.16.2.2 1 2

# Not through nsx (a function: $! would be its subshell): SIGHUP must reach the daemon.
ip netns exec "$P-gm1" "$MEMBERD" -c "$W/gm1.toml" >"$W/gm1.log" 2>&1 &
GM1=$!
nsx gm2 "$MEMBERD" -c "$W/gm2.toml" >"$W/gm2.log" 2>&1 &

for gm in gm1 gm2; do
    for g in GROUP-ONE GROUP-TWO; do check "$gm registered in $g" wait_registered "$gm" "$g"; done
done
sleep 3   # GAP activation

echo "\$ gdoictl show groups   (gm1)"
"$GDOICTL" -s "$W/gm1.sock" show groups
check "gm1 has one carrier per group (gdoi0, gdoi1)" \
    bash -c "ip netns exec $P-gm1 ip -o link show gdoi0 && ip netns exec $P-gm1 ip -o link show gdoi1" >/dev/null

# Traffic of both groups, captured on the core.
capture_pings() {  # capture_pings PCAP: pings of both groups, both directions
    nsx core dumpcap -q -i c1 -w "$1" >/dev/null 2>&1 &
    local cap=$!
    sleep 1
    check "group 1: lan1 -> lan2 ping" nsx lan1 ping -c 3 -i 0.2 -W 2 10.2.0.10
    check "group 2: lan1 -> lan2 ping" nsx lan1 ping -c 3 -i 0.2 -W 2 192.168.2.10
    check "group 2: lan2 -> lan1 ping" nsx lan2 ping -c 3 -i 0.2 -W 2 -I 192.168.2.10 192.168.1.10
    sleep 0.5
    kill "$cap"; wait "$cap" 2>/dev/null || true
}
capture_pings "$W/both.pcap" >/dev/null
spi1=$(esp_between "$W/both.pcap" 10.1.0.10 10.2.0.10)
spi2=$(esp_between "$W/both.pcap" 192.168.1.10 192.168.2.10)
spi2back=$(esp_between "$W/both.pcap" 192.168.2.10 192.168.1.10)
echo "ESP SPIs on the WAN: group 1 [$spi1], group 2 [$spi2] / back [$spi2back]"
[ "$spi1" = "0x00001000 " ] && ok "group 1 traffic is ESP under its TEK 0x1000, original addresses" \
    || bad "group 1 ESP SPIs: '$spi1'"
[ "$spi2" = "0x00002000 " ] && [ "$spi2back" = "0x00002000 " ] \
    && ok "group 2 traffic is ESP under its TEK 0x2000 both ways, original addresses" \
    || bad "group 2 ESP SPIs: '$spi2' / '$spi2back'"
n=$(clear_icmp "$W/both.pcap")
[ "$n" -eq 0 ] && ok "no cleartext ICMP on the WAN" || bad "$n cleartext ICMP packets on the WAN"
echo "\$ ip xfrm state   (gm1, keys masked)"
nsx gm1 ip xfrm state | sed -E 's/(0x[0-9a-f]{16})[0-9a-f]+/\1.../g' | grep -E '^src|proto|reqid'
states=$(nsx gm1 ip xfrm state | grep -c '^src')
[ "$states" -eq 4 ] && ok "gm1: 4 SAs (in + out per group)" || bad "gm1: $states SAs, expected 4"

# A rekey of group 2 only.
"$KS_BIN" --control "$W/ks2.ctl" --command rekey >/dev/null
sleep 4   # GAP activation 2 s
new2=$(sending_spi gm1 GROUP-TWO)
cur1=$(sending_spi gm1 GROUP-ONE)
[ "$new2" != 0x00002000 ] && [ -n "$new2" ] && ok "group 2 rekeyed to $new2" || bad "group 2 still sends with '$new2'"
[ "$cur1" = 0x00001000 ] && ok "group 1 keeps its TEK 0x00001000" || bad "group 1 TEK changed to '$cur1'"
capture_pings "$W/after-rekey.pcap" >/dev/null
spi2=$(esp_between "$W/after-rekey.pcap" 192.168.1.10 192.168.2.10)
spi1=$(esp_between "$W/after-rekey.pcap" 10.1.0.10 10.2.0.10)
[ "$spi2" = "$new2 " ] && ok "group 2 traffic under the new TEK" || bad "group 2 ESP SPIs after rekey: '$spi2'"
[ "$spi1" = "0x00001000 " ] && ok "group 1 traffic unchanged" || bad "group 1 ESP SPIs after rekey: '$spi1'"

# SIGHUP without group 2: only group 2's carrier and SAs go.
member_config gm1 172.16.1.2 1
kill -HUP "$GM1"
sleep 2
check "after removing group 2: gdoi1 is gone" bash -c "! ip netns exec $P-gm1 ip link show gdoi1 >/dev/null 2>&1"
check "after removing group 2: gdoi0 stays" nsx gm1 ip link show gdoi0
left=$(nsx gm1 ip xfrm state | grep -c '^src' || true)
[ "$left" -eq 2 ] && ok "gm1: group 1's 2 SAs stay" || bad "gm1: $left SAs after removing group 2"
check "group 1 traffic still flows" nsx lan1 ping -c 3 -i 0.2 -W 2 10.2.0.10

# SIGHUP with group 2 again: it registers and its traffic is encrypted again.
member_config gm1 172.16.1.2 1 2
kill -HUP "$GM1"
check "group 2 registered again after SIGHUP" wait_registered gm1 GROUP-TWO
sleep 3
capture_pings "$W/readded.pcap" >/dev/null
spi2=$(esp_between "$W/readded.pcap" 192.168.1.10 192.168.2.10)
[ -n "$spi2" ] && ok "group 2 traffic is ESP again (SPI $spi2)" || bad "group 2 traffic not ESP after re-adding"
n=$(clear_icmp "$W/readded.pcap")
[ "$n" -eq 0 ] && ok "no cleartext ICMP on the WAN" || bad "$n cleartext ICMP packets on the WAN"

# SIGHUP changing group 2 (an exclude rule more) while its traffic flows: the group starts
# over (new registration) and its traffic is never in clear meanwhile; group 1 is untouched.
nsx core dumpcap -q -i c1 -w "$W/changed.pcap" >/dev/null 2>&1 &
cap=$!
sleep 1
nsx lan1 ping -i 0.02 -w 5 -q 192.168.2.10 >/dev/null 2>&1 &
ping=$!
sleep 1
member_config gm1 172.16.1.2 1 2x
kill -HUP "$GM1"
wait "$ping" || true
sleep 0.5
kill "$cap"; wait "$cap" 2>/dev/null || true
n=$(clear_icmp "$W/changed.pcap")
[ "$n" -eq 0 ] && ok "SIGHUP changing group 2 under traffic: nothing in clear on the WAN" \
    || bad "SIGHUP changing group 2: $n cleartext ICMP packets on the WAN"
check "group 2 registered again after the change" wait_registered gm1 GROUP-TWO
[ "$(sending_spi gm1 GROUP-ONE)" = 0x00001000 ] && ok "group 1 kept its TEK across group 2's change" \
    || bad "group 1's TEK changed with group 2's configuration"
sleep 3
check "group 2 traffic flows after the change" nsx lan1 ping -c 3 -i 0.2 -W 2 192.168.2.10

if [ "$FAILS" -eq 0 ]; then echo "two-groups: all steps passed"; else echo "two-groups: $FAILS step(s) failed (logs in $OUT)"; fi
[ "$FAILS" -eq 0 ]
