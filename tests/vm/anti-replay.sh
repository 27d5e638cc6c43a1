#!/usr/bin/env bash
# anti-replay.sh BUILD_DIR — time-based anti-replay of group SAs (issue 15), one boot of the
# real-ESP test VM (tests/vm/vm-run.sh; ctest vm_anti_replay): the test key server and two
# gdoi-memberd in one group with anti-replay-time-window = 60 (member/dataplane/anti_replay.h).
#
#   lan1 10.1.0.10 -- gm1 -- core -- gm2 -- lan2 10.2.0.10      ks 172.16.9.2 behind core
#
# Proves, in this order:
#  1 registered with anti-replay on: the TEK's check rule in esp_inbound (the window in the rule),
#    its counting rule in replay_1, each member's outbound counter stamped with the pseudotime.
#  2 a rekey under 20 pings/s loses nothing (the new SA starts at the pseudotime); gdoictl
#    monitor reports the new TEK installed and the old one retired by the kernel dataplane.
#  3 200 pings/s for 30 s (both ways through both members' checks): none lost.
#  4 a UDP datagram's ESP captured on the core and re-sent at once (within the window): accepted,
#    the datagram arrives twice at lan2 (the documented limit, as Junos').
#  5 restart of gm2 (adoption): the check stays in the kernel and goes on moving; traffic flows.
#    Then gdoictl flush + register: the window moves again from the new keys on.
#  6 clock skew (clock-offset.so preloaded into gm1's daemon, the VM's clock untouched): +30 s
#    (< window) still talks, its counter stamped 30 s ahead; +150 s (> window), its counter
#    stamped 150 s ahead, is dropped at gm2, counted per TEK, and gm2's log says to check NTP;
#    back to the right time, traffic flows again.
#  7 the captured ESP re-sent more than 60 s after the capture: dropped before decryption,
#    counted, the datagram does not arrive again.
#  8 control: gm2 reloaded with anti-replay off (SIGHUP) accepts the same late replay.
set -euo pipefail
# shellcheck source=tests/vm/lib/sites.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/sites.sh"
BUILD=$(readlink -f "${1:?usage: anti-replay.sh BUILD_DIR}")
member_binaries "$BUILD" anti-replay
P="arp$$"
W=$(mktemp -d /tmp/gdoi-anti-replay.XXXXXX)
OUT="${GDOI_VM_OUT:-$W}"
FAILS=0
PY=/usr/bin/python3
GROUP=ANTI-REPLAY
WINDOW=60
H1=10.1.0.10
H2=10.2.0.10
# The wall clock of one daemon put off (tests/vm/clock_offset.cpp).
CLOCK_OFFSET_LIB=$BUILD/tests/vm/clock-offset.so

step() { echo "anti-replay: [${SECONDS}s] $*"; }
trap sites_finish EXIT
[ -r "$CLOCK_OFFSET_LIB" ] || { echo "anti-replay: $CLOCK_OFFSET_LIB missing (build the tests)" >&2; exit 2; }

step "topology, kernel $(uname -r)"
sites_create ks
sites_keyserver
umask 077
echo "anti-replay-pre-shared-key" >"$W/psk"
member_config() { # member_config NAME WAN [WINDOW]
    {
        printf '[member]\nlocal-address = "%s"\nwan-interface = "wan0"\ncontrol-socket = "%s"\n' "$2" "$W/$1.sock"
        group_toml "$GROUP" 1 172.16.9.2 "anti-replay-time-window = ${3:-$WINDOW}"
    } >"$W/$1.toml"
}
member_config gm1 172.16.1.2
member_config gm2 172.16.2.2

# start_member GM [OFFSET] — the daemon in GM's namespace (its wall clock OFFSET seconds off, e.g.
# "+150"); sets PID_<GM>. Not through nsx: $! must be the daemon.
start_member() {
    local env=()
    if [ -n "${2:-}" ]; then
        # Only the wall clock moves (the daemon's timers run on CLOCK_MONOTONIC); ASan accepts the
        # preloaded library ahead of its runtime.
        env=(env LD_PRELOAD="$CLOCK_OFFSET_LIB" GDOI_CLOCK_OFFSET="$2"
            ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0")
    fi
    ip netns exec "$P-$1" "${env[@]}" "$MEMBERD" -c "$W/$1.toml" >>"$W/$1.log" 2>&1 &
    printf -v "PID_$1" %s "$!"
}
stop_member() { # stop_member GM — SIGTERM (the kernel objects stay for the next start)
    local pid_var="PID_$1"
    kill -TERM "${!pid_var}" 2>/dev/null || true
    wait "${!pid_var}" 2>/dev/null || true
}
pings() { sed -nE 's/^([0-9]+) packets transmitted, ([0-9]+) received.*/\1 \2/p' "$1"; }
# replays GM [SPI] — replays dropped by GM (the group's total, or the TEK's).
replays() {
    if [ -n "${2:-}" ]; then group_json "$1" tek $GROUP "[.teks[] | select(.spi == \"$2\") | .replays_dropped][0] // 0"
    else group_counter "$1" $GROUP replays_dropped; fi
}
replays_above() { [ "$(replays "$1" "$SPI")" -gt "$2" ]; } # replays_above GM N (under $SPI)
# oseq_second GM SPI — the second of the 4096-s period the outbound SA's last sequence number
# was stamped with (ip -s xfrm state: "spi 0x00007000(28672) ... mode transport", then
# "anti-replay context: seq 0x0, oseq 0x...,").
oseq_second() {
    local oseq
    oseq=$(nsx "$1" ip -s xfrm state | awk -v spi="$2" '/^src/ { f = 0 } $0 ~ "spi " spi "[( ]" && /mode transport/ { f = 1 }
        f && /oseq/ { for (i = 1; i < NF; i++) if ($i == "oseq") { sub(/,$/, "", $(i + 1)); print $(i + 1) } }' | head -1)
    echo $((oseq >> 20))
}
# stamped_now GM SPI [OFFSET] — the outbound counter is stamped within 2 s of the VM's clock
# (OFFSET seconds ahead of it).
stamped_now() {
    local want got d
    want=$((($(date +%s) + ${3:-0}) % 4096))
    got=$(oseq_second "$1" "$2")
    d=$(((got - want + 4096 + 2048) % 4096 - 2048))
    echo "    $1: outbound SA $2 stamped second $got of the period, the clock${3:+ (+$3 s)} says $want"
    [ "${d#-}" -le 2 ]
}
sends_with() { [ "$(sending_spi "$1" $GROUP)" = "$2" ]; }                 # sends_with GM SPI
window_is() { [ "$(group_json "$1" groups $GROUP .anti_replay_window)" = "$2" ]; } # window_is GM SECONDS
# ping_ok — lan1 reaches lan2 (a few tries: after a restart or reload).
ping_ok() { nsx lan1 ping -n -q -c 1 -W 1 $H2 >/dev/null 2>&1; }
# marker_count — how many datagrams with the replay marker lan2 received.
marker_count() { grep -c "REPLAY-MARK" "$W/lan2-udp.txt" 2>/dev/null || true; }
markers_are() { [ "$(marker_count)" = "$1" ]; }

# ---- 1. registration with anti-replay on -------------------------------------------------------
step "1. key server (TEK 0x00007000, AES-256-CBC/HMAC-SHA-256), members with anti-replay-time-window = $WINDOW"
nsx ks "$KS_BIN" --listen 172.16.9.2:848 --psk-any "$W/psk" --group 1 --tek cbc256-sha256:0x7000 \
    --gap 5,10 --control "$W/ks.ctl" >"$W/ks.log" 2>&1 &
wait_until 60 test -S "$W/ks.ctl" || bad "the key server did not start"
start_member gm1
start_member gm2
for gm in gm1 gm2; do check "$gm registered" wait_registered $gm $GROUP; done
check "traffic flows lan1 -> lan2" wait_until 30 ping_ok
SPI=$(sending_spi gm1 $GROUP)
for gm in gm1 gm2; do
    check "$gm: gdoictl reports the window ($WINDOW s)" test "$(group_json $gm groups $GROUP .anti_replay_window)" = $WINDOW
    check "$gm: esp_inbound drops $SPI outside the window, ahead of the readdressing" \
        bash -c "ip netns exec $P-$gm nft list chain inet gdoi_member esp_inbound | grep -A1 'esp spi $((SPI))' | grep -q 'ESP for own scope'"
    nsx $gm nft list chain inet gdoi_member esp_inbound | grep 'esp sequence' >"$W/$gm-replay-window.txt" || true
    check "$gm: the check rule holds the window and jumps to the counting chain" \
        grep -q "esp sequence .* jump replay_1" "$W/$gm-replay-window.txt"
    check "$gm: chain replay_1 counts and drops per SPI" \
        bash -c "ip netns exec $P-$gm nft list chain inet gdoi_member replay_1 | grep -q 'esp spi $((SPI)) counter'"
    check "$gm: its outbound SA's counter follows the clock" stamped_now $gm "$SPI"
done

# ---- 2. rekey ------------------------------------------------------------------------------------
step "2. a rekey under 20 pings/s (gdoictl monitor --json on gm1)"
# Not through nsx: $! must be gdoictl (SIGINT ends it).
"$GDOICTL" -s "$W/gm1.sock" monitor --json >"$W/gm1-monitor.txt" 2>"$W/gm1-monitor.err" &
MONITOR=$!
# The monitor is subscribed once it reports an event: a registration (same keys) asked for until
# one shows.
monitor_sees() { grep -q "\"event\":\"$1\"" "$W/gm1-monitor.txt"; }
monitor_subscribed() {
    "$GDOICTL" -s "$W/gm1.sock" register $GROUP >/dev/null 2>&1 || true
    wait_until 3 monitor_sees registration-done
}
check "gdoictl monitor on gm1 reports a registration" wait_until 30 monitor_subscribed
check "gm1 registered again" wait_registered gm1 $GROUP
nsx lan1 ping -D -n -i 0.05 -c 400 -W 2 $H2 >"$W/rekey-ping.txt" 2>&1 &
PING=$!
answer=$("$KS_BIN" --control "$W/ks.ctl" --command rekey || true)
echo "    key server: $answer"
NEW=$(awk '{ for (i = 1; i < NF; i++) if ($i == "teks") { print $(i + 1); exit } }' <<<"$answer")
for gm in gm1 gm2; do check "$gm sends with the new TEK $NEW" wait_until 30 sends_with $gm "$NEW"; done
wait "$PING" || true
read -r sent got <<<"$(pings "$W/rekey-ping.txt")"
if [[ ${sent:-0} -ge 380 && ${got:-0} -eq ${sent:-0} ]]; then ok "rekey: $got of $sent pings answered"; else
    bad "rekey: ${got:-0} of ${sent:-0} pings answered"; fi
# monitor_event EVENT SPI: gdoictl monitor reported EVENT for SPI (the real dataplane's TEK events).
monitor_event() { jq -s -e --arg e "$1" --arg s "$2" 'any(.[]; .event == $e and .spi == $s)' "$W/gm1-monitor.txt" >/dev/null; }
check "gdoictl monitor: tek-installed $NEW" wait_until 10 monitor_event tek-installed "$NEW"
check "gdoictl monitor: tek-retired 0x00007000 (after the deactivation delay)" wait_until 20 monitor_event tek-retired 0x00007000
kill -INT "$MONITOR" 2>/dev/null || true
check "gdoictl monitor ends with 0 on SIGINT" wait "$MONITOR"
SPI=$NEW
# The log line of the switch ends with the key=value fields of the group and the SA (gdoi/log.h).
check "gm1's log: 'sending with TEK $NEW' ends with group=$GROUP group_id=1 spi=$NEW" \
    grep -qE "sending with TEK $NEW \(replaces 0x00007000\) group=$GROUP group_id=1 spi=$NEW\$" "$W/gm1.log"
for gm in gm1 gm2; do
    check "$gm: the new SA's counter started at the pseudotime" stamped_now $gm "$SPI"
    check "$gm: no replay dropped so far" test "$(replays $gm)" = 0
done

# ---- 3. 200 pings/s for 30 s, 4. a replay within the window -------------------------------------------
step "3. 200 pings/s for 30 s; 4. one UDP datagram's ESP captured on the core"
nsx lan2 "$PY" "$SITES_LIB/udp_echo.py" serve $H2 7000 "$W/udp.ready" 100 900 >"$W/lan2-udp.txt" 2>&1 &
wait_until 20 test -s "$W/udp.ready" || bad "UDP listener on lan2"
capture_start marker c1
nsx lan1 "$PY" "$SITES_LIB/udp_echo.py" send $H2 7000 REPLAY-MARK 1 >"$W/marker-send.txt"
capture_stop
CAPTURED=$SECONDS
check "the datagram arrived once at lan2 (answered)" test "$(cat "$W/marker-send.txt")" = 1
nsx lan1 ping -n -q -i 0.005 -c 6000 -W 2 $H2 >"$W/flood-ping.txt" 2>&1 &
FLOOD=$!
n=$(nsx core "$PY" "$SITES_LIB/esp_replay.py" "$W/marker.pcap" $H1 $H2)
check "4. the captured ESP (${n} packet) re-sent from the core within the window: lan2 gets the datagram again" \
    wait_until 10 markers_are 2
wait "$FLOOD" || true
read -r sent got <<<"$(pings "$W/flood-ping.txt")"
if [[ ${sent:-0} -eq 6000 && ${got:-0} -eq 6000 ]]; then ok "3. 200 pings/s for 30 s: $got of $sent answered"; else
    bad "3. 200 pings/s for 30 s: ${got:-0} of ${sent:-0} answered"; fi
grep -E 'rtt|packets' "$W/flood-ping.txt" | sed 's/^/    /'
for gm in gm1 gm2; do check "$gm: still no replay dropped" test "$(replays $gm)" = 0; done

# ---- 5. restart (adoption) ------------------------------------------------------------------------
step "5. restart of gm2 (adoption)"
stop_member gm2
check "gm2 stopped: its table keeps the anti-replay rule" \
    bash -c "ip netns exec $P-gm2 nft list chain inet gdoi_member esp_inbound | grep -q 'esp spi $((SPI))'"
start_member gm2
check "gm2 registered again" wait_registered gm2 $GROUP
check "gm2: the anti-replay rule of $SPI is there" \
    bash -c "ip netns exec $P-gm2 nft list chain inet gdoi_member esp_inbound | grep -q 'esp spi $((SPI)) esp sequence'"
before=$(cat "$W/gm2-replay-window.txt")
nsx gm2 nft list chain inet gdoi_member esp_inbound | grep 'esp sequence' >"$W/gm2-replay-window.txt" || true
check "gm2: the window moved on since step 1" test "$before" != "$(cat "$W/gm2-replay-window.txt")"
check "traffic flows after the restart" wait_until 30 ping_ok
check "gm2's counter follows the clock after the restart" wait_until 5 stamped_now gm2 "$SPI"
# gdoictl flush + register: keyed again, the window must move from the new keys on.
window_now() { nsx gm2 nft list chain inet gdoi_member esp_inbound | grep 'esp sequence' || true; }
window_moved() { [ "$(window_now)" != "$1" ]; }
"$GDOICTL" -s "$W/gm2.sock" flush >/dev/null || bad "gdoictl flush on gm2"
"$GDOICTL" -s "$W/gm2.sock" register $GROUP >/dev/null || bad "gdoictl register on gm2"
check "gm2 registered after gdoictl flush" wait_registered gm2 $GROUP
check "gm2's check rule is back after the flush" wait_until 10 bash -c "ip netns exec $P-gm2 nft list chain inet gdoi_member esp_inbound | grep -q 'esp spi $((SPI)) esp sequence'"
w0=$(window_now)
check "gm2's window moves again after the flush (the second ticks)" wait_until 5 window_moved "$w0"
check "traffic flows after the flush" wait_until 30 ping_ok

# ---- 6. clock skew --------------------------------------------------------------------------------
step "6. gm1's clock off by +30 s (< $WINDOW s), then +150 s"
stop_member gm1
start_member gm1 +30
check "gm1 (+30 s) registered" wait_registered gm1 $GROUP
check "+30 s: lan1 -> lan2 still flows" wait_until 20 ping_ok
check "+30 s: gm1's counter is stamped 30 s ahead" wait_until 5 stamped_now gm1 "$SPI" 30
check "+30 s: nothing dropped as a replay at gm2" test "$(replays gm2)" = 0
stop_member gm1
start_member gm1 +150
check "gm1 (+150 s) registered" wait_registered gm1 $GROUP
# The drops below come from the skew, not from a counter left behind while gm1 was down.
check "+150 s: gm1's counter is stamped 150 s ahead" wait_until 5 stamped_now gm1 "$SPI" 150
d0=$(replays gm2 "$SPI")
nsx lan1 ping -n -q -i 0.2 -c 10 -W 1 $H2 >"$W/skew-ping.txt" 2>&1 || true
read -r sent got <<<"$(pings "$W/skew-ping.txt")"
if [[ ${got:-1} -eq 0 ]]; then ok "+150 s: none of $sent pings answered"; else bad "+150 s: $got of $sent pings answered"; fi
d1=$(replays gm2 "$SPI")
if [[ $((d1 - d0)) -ge 10 ]]; then ok "+150 s: gm2 counted $((d1 - d0)) replays under $SPI (gdoictl show stats)"; else
    bad "+150 s: gm2 counted $((d1 - d0)) replays under $SPI"; fi
check "gm2's log tells the operator to check NTP" wait_until 15 grep -q "check NTP on every member" "$W/gm2.log"
grep "check NTP" "$W/gm2.log" | tail -1 | sed 's/^/    gm2 log: /'
"$GDOICTL" -s "$W/gm2.sock" show stats | tee "$W/gm2-stats.txt" | sed 's/^/    /'
stop_member gm1
start_member gm1
check "gm1 back on time: registered" wait_registered gm1 $GROUP
check "gm1 back on time: lan1 -> lan2 flows again" wait_until 20 ping_ok
check "gm1's counter is back at the clock's second" wait_until 5 stamped_now gm1 "$SPI"

# ---- 7. a late replay -----------------------------------------------------------------------------
step "7. the captured ESP re-sent more than $WINDOW s after the capture"
while [ $((SECONDS - CAPTURED)) -le $((WINDOW + 3)) ]; do sleep 1; done
r0=$(replays gm2 "$SPI")
n=$(nsx core "$PY" "$SITES_LIB/esp_replay.py" "$W/marker.pcap" $H1 $H2)
check "the late replay ($n packet, $((SECONDS - CAPTURED)) s after the capture) is counted as dropped at gm2" \
    wait_until 10 replays_above gm2 "$r0"
check "  and the datagram did not arrive again (still 2)" test "$(marker_count)" = 2

# ---- 8. control: anti-replay off --------------------------------------------------------------------
step "8. control: gm2 reloaded with anti-replay off accepts the late replay"
member_config gm2 172.16.2.2 0
kill -HUP "${PID_gm2:?}"
check "gm2 took the new configuration (anti-replay off)" wait_until 60 window_is gm2 0
check "gm2 registered" wait_registered gm2 $GROUP
check "gm2: no anti-replay rule any more" \
    bash -c "! ip netns exec $P-gm2 nft list chain inet gdoi_member esp_inbound | grep -q 'esp sequence'"
check "gm2 sends with the same TEK as before ($SPI)" test "$(sending_spi gm2 $GROUP)" = "$SPI"
n=$(nsx core "$PY" "$SITES_LIB/esp_replay.py" "$W/marker.pcap" $H1 $H2)
check "the same late replay ($((SECONDS - CAPTURED)) s after the capture) reaches lan2 without the check" \
    wait_until 10 markers_are 3

step "done: $FAILS failed"
[ "$FAILS" -eq 0 ]
