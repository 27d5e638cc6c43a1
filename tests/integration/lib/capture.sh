# shellcheck shell=bash
# tshark captures for the integration tests: capture on one namespace's veth, then decode
# the file and fail on any "Malformed" mark. Sourced, not run, after netns.sh (for
# cleanup_add), by scripts that define `fail MESSAGE...` (it counts and prints a failure).

# capture_start NS IFACE FILTER PCAP — tshark in namespace NS on IFACE with capture filter
# FILTER, writing PCAP (its own output in PCAP.tshark.out); returns once tshark really
# captures, 1 (with its output on stderr) if it did not start. Sets TSHARK_PID.
capture_start() {
  local ns=$1 ifname=$2 filter=$3 pcap=$4 i
  ip netns exec "$ns" tshark -i "$ifname" -f "$filter" -w "$pcap" -q >"$pcap.tshark.out" 2>&1 </dev/null &
  TSHARK_PID=$!
  cleanup_add "kill -INT $TSHARK_PID 2>/dev/null"
  for ((i = 0; i < 100; i++)); do
    grep -q "Capturing on" "$pcap.tshark.out" 2>/dev/null && return 0
    kill -0 "$TSHARK_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "tshark did not start:" >&2
  cat "$pcap.tshark.out" >&2
  return 1
}

# capture_stop — stop the tshark of capture_start and wait until it has written its file.
capture_stop() {
  kill -INT "$TSHARK_PID" 2>/dev/null || true
  wait "$TSHARK_PID" 2>/dev/null || true
}

# capture_decode_check PCAP DECODED IFACE TSHARK_OPTION... — decode PCAP with tshark and the
# given options (e.g. -d udp.port==848,isakmp), the full decode (-V) into DECODED. Fails
# (and returns 1) when nothing was captured or any packet carries a "Malformed" mark, then
# listing the malformed frames; otherwise returns 0 with the packet count in
# CAPTURE_PACKETS, for the caller's own checks and pass line.
capture_decode_check() {
  local pcap=$1 decoded=$2 ifname=$3 n malformed
  shift 3
  local tshark=(tshark -r "$pcap" "$@")
  n=$("${tshark[@]}" 2>/dev/null | wc -l || true)
  "${tshark[@]}" -V >"$decoded" 2>&1 || true
  malformed=$(grep -c "Malformed" "$decoded" || true)
  CAPTURE_PACKETS=$n
  if [ "$n" -eq 0 ]; then
    fail "capture: no packets captured on $ifname"
    return 1
  fi
  if [ "$malformed" -ne 0 ]; then
    fail "capture: $malformed 'Malformed' marks in $n packets (see $decoded)"
    echo "malformed frames (see the decode for details):"
    "${tshark[@]}" -Y _ws.malformed 2>/dev/null | head -20
    return 1
  fi
}
