#!/usr/bin/env bash
# Benchmark (not a test): time on the wire of an IKEv1 Main Mode, from the first to the
# sixth message, measured from a capture on the responder's veth so process start and
# teardown never count. Runs N attempts with our initiator and N with a charon initiator
# against the same charon responder (PSK) in namespaces, and prints both medians and their
# ratio.
#
#   bench/phase1-mainmode.sh [INITIATOR_BIN]      (root; BENCH_N=21 attempts each,
#                                                  BENCH_PROPOSAL=aes256-sha256-modp2048)
#
# Without INITIATOR_BIN (or if it is missing) only the charon figure is measured.
# Attempts alternate between the two initiators so drift on the machine hits both alike.
# Our tool sends from port 848 and charon from 500; the capture tells them apart by that.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LIB=$HERE/../tests/integration/lib
# shellcheck source=SCRIPTDIR/../tests/integration/lib/netns.sh
. "$LIB/netns.sh"
# shellcheck source=SCRIPTDIR/../tests/integration/lib/charon.sh
. "$LIB/charon.sh"
# shellcheck source=SCRIPTDIR/../tests/integration/lib/capture.sh
. "$LIB/capture.sh"

N=${BENCH_N:-21}
PROPOSAL=${BENCH_PROPOSAL:-aes256-sha256-modp2048}
INITIATOR_IP=10.248.0.1
RESPONDER_IP=10.248.0.2
NS_I=p1bi-$$
NS_R=p1br-$$
GDOI_PORT=848
CHARON_PORT=500
TIMEOUT=10

# attempt_gdoi / attempt_charon — one Main Mode with each initiator; a failed attempt is
# reported and simply lacks its six messages in the capture.
attempt_gdoi() {
  ip netns exec "$NS_I" "$INITIATOR" --local "$INITIATOR_IP" --server "$RESPONDER_IP" \
    --server-port 500 --local-port "$GDOI_PORT" --mode main --proposal "$PROPOSAL" \
    --psk-file "$WORK/psk" --timeout "$TIMEOUT" >>"$WORK/gdoi.out" 2>&1 ||
    echo "gdoi-phase1 attempt $1 failed (see $WORK/gdoi.out)" >&2
}
attempt_charon() {
  ip netns exec "$NS_I" "$LIB/charon-initiator.sh" --local "$INITIATOR_IP" \
    --server "$RESPONDER_IP" --server-port 500 --local-port "$CHARON_PORT" --mode main \
    --proposal "$PROPOSAL" --psk-file "$WORK/psk" --timeout "$TIMEOUT" \
    >>"$WORK/charon-initiator.out" 2>&1 ||
    echo "charon attempt $1 failed (see $WORK/charon-initiator.out)" >&2
}

# responder_reset — drop the responder's SAs between attempts: an INITIAL-CONTACT that has
# to delete old SAs would otherwise add work inside the measured window.
responder_reset() {
  charon_terminate_all "$RDIR"
}

# wire_times PORT — one line per complete Main Mode whose initiator used UDP port PORT:
# milliseconds from message 1 to message 6 (grouped by initiator cookie; Identity
# Protection is exchange type 2). Retransmissions would skew an attempt; none are expected
# on a veth, and a warning is printed when a cookie has more than 6 messages.
wire_times() {
  local port=$1
  tshark -r "$WORK/bench.pcapng" -Y "isakmp.exchangetype == 2" -T fields \
    -e frame.time_epoch -e isakmp.ispi -e udp.srcport -e udp.dstport 2>/dev/null |
    awk -v port="$port" '
      { n[$2]++
        if (n[$2] == 1) { t1[$2] = $1; iport[$2] = $3; order[++k] = $2 }
        if (n[$2] == 6) { t6[$2] = $1 } }
      END {
        for (i = 1; i <= k; i++) {
          c = order[i]
          if (iport[c] != port) continue
          if (n[c] > 6) printf "warning: %s had %d Main Mode messages (retransmission?)\n", c, n[c] > "/dev/stderr"
          if (n[c] >= 6) printf "%.3f\n", (t6[c] - t1[c]) * 1000
        } }'
}

# median — of the numbers on stdin, one per line ("n/a" if none).
median() {
  sort -n | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "n/a"; exit }
    if (NR % 2) printf "%.2f\n", v[(NR + 1) / 2]
    else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# capture_ready — "Capturing on" comes a little before packets are really recorded, and a
# lost first message would drop an attempt: send probes (to port 848 where nobody listens
# on the responder; they are no Identity Protection messages, so the analysis ignores them)
# until one shows up in the file.
capture_ready() {
  local i
  for ((i = 0; i < 100; i++)); do
    ip netns exec "$NS_I" bash -c "echo probe >/dev/udp/$RESPONDER_IP/848" 2>/dev/null || true
    if [ "$(tshark -r "$WORK/bench.pcapng" 2>/dev/null | wc -l)" -gt 0 ]; then return 0; fi
    sleep 0.1
  done
  echo "tshark recorded none of the probes" >&2
  return 1
}

main() {
  INITIATOR=""
  if [ $# -ge 1 ] && [ -x "$1" ]; then
    INITIATOR=$(readlink -f "$1")
  else
    echo "note: gdoi-phase1 not available (${1:-no INITIATOR_BIN given}): measuring the charon initiator only" >&2
  fi
  netns_require_root
  WORK=$(mktemp -d /tmp/bench-phase1.XXXXXX)
  cleanup_add "[ \"\${BENCH_KEEP:-0}\" = 1 ] || rm -rf '$WORK'"
  RDIR=$WORK/responder
  mkdir -p "$RDIR"
  (umask 077; printf '%s' "bench-psk-$$" >"$WORK/psk")

  netns_pair_create "$NS_I" "$NS_R" veth-i veth-r "$INITIATOR_IP/24" "$RESPONDER_IP/24"
  charon_start "$NS_R" "$RDIR" "$RESPONDER_IP" "$INITIATOR_IP" "bench-psk-$$" main "$PROPOSAL"
  capture_start "$NS_R" veth-r "udp port 500 or udp port 848" "$WORK/bench.pcapng"
  capture_ready

  local i
  for ((i = 1; i <= N; i++)); do
    if [ -n "$INITIATOR" ]; then
      attempt_gdoi "$i"
      responder_reset
    fi
    attempt_charon "$i"
    responder_reset
  done
  sleep 0.3 # let the last packets reach the capture file
  capture_stop

  local gdoi_ms="n/a" charon_ms ratio="n/a" n_gdoi=0 n_charon
  wire_times "$CHARON_PORT" >"$WORK/charon.ms"
  n_charon=$(wc -l <"$WORK/charon.ms")
  charon_ms=$(median <"$WORK/charon.ms")
  if [ -n "$INITIATOR" ]; then
    wire_times "$GDOI_PORT" >"$WORK/gdoi.ms"
    n_gdoi=$(wc -l <"$WORK/gdoi.ms")
    gdoi_ms=$(median <"$WORK/gdoi.ms")
  fi
  if [ "$gdoi_ms" != n/a ] && [ "$charon_ms" != n/a ]; then
    ratio=$(awk -v a="$gdoi_ms" -v b="$charon_ms" 'BEGIN { printf "%.2f", a / b }')
  fi
  echo "complete Main Modes captured: gdoi-phase1 $n_gdoi/$([ -n "$INITIATOR" ] && echo "$N" || echo 0), charon $n_charon/$N"
  [ "$gdoi_ms" != n/a ] && gdoi_ms+=" ms"
  echo "main mode wire time median ($PROPOSAL): gdoi-phase1 $gdoi_ms, charon $charon_ms ms, ratio $ratio"
}

main "$@"
