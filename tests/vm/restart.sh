#!/usr/bin/env bash
# restart.sh BUILD_DIR — restart adoption, inside the real-ESP test VM (tests/vm/vm-run.sh):
# gm1 is killed (SIGKILL, then SIGTERM) and restarted while lan1 pings lan2 every 50 ms and
# the key server is unreachable for a few seconds, so the new registration is late.
# With adoption the pings go on under the previous run's SAs: none lost, ESP only on the WAN.
# Control: without the state file the restart is fail-closed until registered (pings lost,
# still nothing in clear) — proof that the first part measures adoption, not luck.
set -euo pipefail
# shellcheck source=tests/vm/lib/sites.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/sites.sh"
BUILD=$(readlink -f "${1:?usage: restart.sh BUILD_DIR}")
member_binaries "$BUILD" restart
P="rs$$"
W=$(mktemp -d /tmp/gdoi-restart.XXXXXX)
OUT="${GDOI_VM_OUT:-$W}"
FAILS=0
ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }
cleanup() {
    sites_destroy ks
    cp -f "$W"/*.log "$W"/*.pcap "$W"/*.state "$W"/*.txt "$OUT"/ 2>/dev/null || true
}
trap cleanup EXIT

sites_create ks
link core c9 172.16.9.1/24 ks eth0 172.16.9.2/24
nsx ks ip route add default via 172.16.9.1
umask 077
echo "restart-pre-shared-key" >"$W/psk"
nsx ks "$KS_BIN" --listen 172.16.9.2 --psk-any "$W/psk" --group 1 --tek cbc256-sha256:0x1000 \
    --selector 10.0.0.0/8 --gap 1,5 --control "$W/ks.ctl" >"$W/ks.log" 2>&1 &
for gm in gm1 gm2; do
    wan=172.16.1.2; [ "$gm" = gm2 ] && wan=172.16.2.2
    cat >"$W/$gm.toml" <<TOML
[member]
local-address = "$wan"
wan-interface = "wan0"
control-socket = "$W/$gm.sock"

[[group]]
name = "RESTART-GROUP"
id = 1
servers = ["172.16.9.2"]
ike.psk-file = "$W/psk"
lan-interfaces = ["lan0"]
TOML
done

RUN=0
start_gm1() {  # not through nsx: $! must be the daemon itself (signals)
    RUN=$((RUN + 1))
    ip netns exec "$P-gm1" "$MEMBERD" -c "$W/gm1.toml" >"$W/gm1-run$RUN.log" 2>&1 &
    GM1=$!
}
registered() {
    local s=""
    for _ in $(seq 150); do
        s=$("$GDOICTL" -s "$W/$1.sock" show groups --json 2>/dev/null | jq -r '.groups[0].state' 2>/dev/null || true)
        [ "$s" = registered ] && return 0
        sleep 0.2
    done
    return 1
}
start_gm1
nsx gm2 "$MEMBERD" -c "$W/gm2.toml" >"$W/gm2.log" 2>&1 &
registered gm1 && registered gm2 && ok "both members registered" || bad "registration"
sleep 2
[ -s "$W/gm1.state" ] && ok "gm1 saved its adoption state ($(grep -c '^selector' "$W/gm1.state") selector)" \
    || bad "no $W/gm1.state"
nsx lan1 ping -c 3 -i 0.2 -W 2 10.2.0.10 >/dev/null && ok "traffic flows" || bad "no traffic before the restart"

# restart_under_ping HOW: restart gm1 (kill -HOW) with the key server blocked for 3 s while
# lan1 pings lan2 every 50 ms for 8 s; sets SENT, RECEIVED and CLEAR (ICMP on the WAN).
restart_under_ping() {
    nsx core dumpcap -q -i c1 -w "$W/restart-$1-$RUN.pcap" >/dev/null 2>&1 &
    local cap=$!
    sleep 1
    nsx lan1 ping -i 0.05 -w 8 -q 10.2.0.10 >"$W/ping.txt" 2>&1 &
    local ping=$!
    sleep 1
    nsx ks nft add table inet hold '{ chain in { type filter hook input priority 0; udp dport 848 drop; }; }'
    kill -"$1" "$GM1"
    timeout 10 tail --pid="$GM1" -f /dev/null || true
    start_gm1
    # The key server stays unreachable at least 3 s, and until gdoictl has answered (a
    # sanitizer build under TCG may take longer to start): what it says while registering.
    local until=$((SECONDS + 3)) give_up=$((SECONDS + 20))
    : >"$W/detail-$1.txt"
    while [ "$SECONDS" -lt "$give_up" ] && [ ! -s "$W/detail-$1.txt" ]; do
        "$GDOICTL" -s "$W/gm1.sock" show groups --json 2>/dev/null | jq -r '.groups[0].detail // empty' \
            >"$W/detail-$1.txt" 2>/dev/null || true
        sleep 0.1
    done
    while [ "$SECONDS" -lt "$until" ]; do sleep 0.2; done
    nsx ks nft delete table inet hold
    wait "$ping" || true
    kill "$cap"; wait "$cap" 2>/dev/null || true
    SENT=$(sed -nE 's/^([0-9]+) packets transmitted.*/\1/p' "$W/ping.txt")
    RECEIVED=$(sed -nE 's/.* ([0-9]+) received.*/\1/p' "$W/ping.txt")
    SENT=${SENT:-0} RECEIVED=${RECEIVED:-0}
    CLEAR=$(tshark -r "$W/restart-$1-$((RUN - 1)).pcap" -Y 'icmp' 2>/dev/null | wc -l)
}

for how in KILL TERM; do
    if [ "$how" = TERM ]; then
        # A rekey first: the saved state must follow the SPIs (new inbound, new sender).
        "$KS_BIN" --control "$W/ks.ctl" --command rekey >/dev/null
        sleep 3   # GAP activation 1 s
        spi=$("$GDOICTL" -s "$W/gm1.sock" show tek --json | jq -r '.groups[0].teks[-1].spi')
        grep -q "^spis $spi " "$W/gm1.state" && ok "the saved state follows the rekey (sending with $spi)" \
            || bad "the saved state does not name the new TEK $spi: $(grep '^spis' "$W/gm1.state")"
    fi
    restart_under_ping "$how"
    sent=$SENT received=$RECEIVED clear=$CLEAR
    grep -q "traffic still encrypted with the previous run's SAs" "$W/detail-$how.txt" \
        && ok "SIG$how: gdoictl said the adopted SAs carry the traffic while registering" \
        || bad "SIG$how: gdoictl did not show the adopted SAs: $(cat "$W/detail-$how.txt")"
    echo "SIG$how restart: $received of $sent pings answered, $clear cleartext ICMP on the WAN"
    [ "$sent" -ge 100 ] && [ "$received" -eq "$sent" ] && ok "SIG$how: no ping lost across the restart" \
        || bad "SIG$how: $((sent - received)) of $sent pings lost across the restart"
    [ "$clear" -eq 0 ] && ok "SIG$how: nothing in clear on the WAN" || bad "SIG$how: $clear cleartext ICMP on the WAN"
    grep -q "adopted the previous run's SAs" "$W/gm1-run$RUN.log" && ok "SIG$how: run $RUN adopted the SAs" \
        || bad "SIG$how: run $RUN did not adopt"
    registered gm1 && ok "SIG$how: gm1 registered again" || bad "SIG$how: gm1 not registered again"
    states=$(nsx gm1 ip xfrm state | grep -c '^src' || true)
    [ "$states" -eq 2 ] && ok "SIG$how: 2 SAs, as before" || bad "SIG$how: $states SAs after the restart"
    sleep 1
done

# Control: without the state file, the same restart is fail-closed until registered.
rm -f "$W/gm1.state"
restart_under_ping KILL
sent=$SENT received=$RECEIVED clear=$CLEAR
echo "without adoption: $received of $sent pings answered, $clear cleartext ICMP on the WAN"
[ "$received" -lt "$sent" ] && ok "without the state file pings are lost (fail-closed until registered)" \
    || bad "without the state file no ping was lost: the test cannot tell adoption from luck"
[ "$clear" -eq 0 ] && ok "without adoption: nothing in clear on the WAN" || bad "$clear cleartext ICMP without adoption"
registered gm1 && nsx lan1 ping -c 3 -i 0.2 -W 2 10.2.0.10 >/dev/null && ok "traffic flows after the registration" \
    || bad "no traffic after the registration"

if [ "$FAILS" -eq 0 ]; then echo "restart: all steps passed"; else echo "restart: $FAILS step(s) failed (logs in $OUT)"; fi
[ "$FAILS" -eq 0 ]
