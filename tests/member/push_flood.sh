#!/usr/bin/env bash
# Replay flood: a captured genuine push is replayed at the member at
# FLOOD_RATE datagrams/s (default 16000) for FLOOD_SECONDS (default 8, bounded: at most
# rate x seconds datagrams, on the test's own veth pair); after FLOOD_REKEY_AT seconds
# (default 3) the key server sends a genuine rekey. The rekey must be applied within
# FLOOD_LIMIT_MS (default 1000) of the key server's command. Prints the figure:
#   push_flood: genuine rekey applied in N ms during a replay flood of R datagrams/s
#
#   push_flood.sh KEYSERVER_BIN MEMBERD_BIN GDOICTL_BIN
set -euo pipefail
# shellcheck source=tests/member/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
member_test_init member_push_flood "$@"
command -v tshark >/dev/null || { echo "member_push_flood: needs tshark (to capture the push)" >&2; exit 77; }
command -v python3 >/dev/null || { echo "member_push_flood: needs python3 (the flood sender)" >&2; exit 77; }
RATE=${FLOOD_RATE:-16000}
SECONDS_=${FLOOD_SECONDS:-8}
REKEY_AT=${FLOOD_REKEY_AT:-3}
LIMIT_MS=${FLOOD_LIMIT_MS:-1000}

G=GROUP_ID-4242
ks_start ks --group 4242 --tek cbc256-sha256:0x11111111 --seq 5
member_config "$WORK/member.toml" "$(group_toml "$G" 4242 "[\"$KS_IP\"]")"
member_start
if wait_for 20 group_state_is "$G" registered; then pass "registered"; else fail "not registered"; fi

# The genuine push to replay, as the wire carries it (encrypted under the KEK).
capture_start
sleep 1  # "Capturing on" comes a moment before the capture does
ks_cmd ks rekey >/dev/null
if wait_for 10 group_seq_is "$G" 6; then pass "rekeyed to SEQ 6"; else fail "SEQ $(group_json "$G" .sequence)"; fi
capture_stop
push=$(tshark -n -r "$WORK/wire.pcapng" -d udp.port==848,isakmp -Y "ip.src == $KS_IP && isakmp.exchangetype == 33" -T fields -e udp.payload \
  2>/dev/null | head -1 | tr -d ':')
if [ -n "$push" ]; then pass "captured the push (${#push} hex digits)"; else fail "no push captured"; finish; exit 1; fi
drops_before=$(ip netns exec "$NS_M" awk '/^Udp:/ {n++; if (n == 2) print $6}' /proc/net/snmp)

ip netns exec "$NS_K" python3 - "$push" "$MEMBER_IP" "$RATE" "$SECONDS_" >"$WORK/flood.out" 2>&1 <<'PY' &
import socket, sys, time
data, dst, rate, secs = bytes.fromhex(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
start, sent, limit = time.monotonic(), 0, int(rate * secs)
while sent < limit:
    due = int((time.monotonic() - start) * rate) + 1
    while sent < min(due, limit):
        try:
            s.sendto(data, (dst, 848))
            sent += 1
        except BlockingIOError:
            break
    if time.monotonic() - start > secs + 2:
        break
    time.sleep(0.001)
print("sent %d datagrams in %.2f s" % (sent, time.monotonic() - start))
PY
FLOOD_PID=$!
cleanup_add "kill $FLOOD_PID 2>/dev/null"
sleep "$REKEY_AT"
t0=$(date +%s%N)
ks_cmd ks rekey >/dev/null
applied_ms=
for ((i = 0; i < 200; i++)); do
  if group_seq_is "$G" 7; then applied_ms=$((($(date +%s%N) - t0) / 1000000)); break; fi
  sleep 0.02
done
wait "$FLOOD_PID" || true
cat "$WORK/flood.out"
drops=$(($(ip netns exec "$NS_M" awk '/^Udp:/ {n++; if (n == 2) print $6}' /proc/net/snmp) - drops_before))
replays=$(rejected_count "$G" replay)
echo "push_flood: genuine rekey applied in ${applied_ms:-never (>4 s)} ms during a replay flood of $RATE datagrams/s" \
  "($(sed -n 's/^sent \([0-9]*\).*/\1/p' "$WORK/flood.out") sent, $replays rejected as replays, $drops receive-buffer drops)"
if [ -n "$applied_ms" ] && [ "$applied_ms" -le "$LIMIT_MS" ]; then pass "rekey applied within $LIMIT_MS ms ($applied_ms ms)"
else fail "rekey not applied within $LIMIT_MS ms (${applied_ms:-never})"; fi
if [ "$replays" -gt 0 ]; then pass "replays rejected: $replays"; else fail "no replay counted"; fi
if kill -0 "$MEMBER_PID" 2>/dev/null; then pass "daemon still running"; else fail "daemon exited"; fi
finish
