#!/usr/bin/env bash
# Benchmark (not a test): registration with a large policy. gdoi-test-keyserver --teks N
# (one TEK per policy line, distinct selectors) and gdoi-memberd in namespaces
# (tests/member/lib.sh); for each N: the wire time from the member's first phase-1 datagram to
# the key server's GROUPKEY-PULL message 4 (capture on the key server's veth: process start
# and teardown never count), the daemon's CPU time and RSS once registered, and with the
# kernel dataplane the nft table it built.
#
#   bench/many-teks.sh KEYSERVER_BIN MEMBERD_BIN GDOICTL_BIN   (root; needs tshark, jq, nft)
#
# BENCH_CASES: "ALG:N ..." (blanks or commas between; default: cbc256-sha256 with 1, 100 and 803 TEKs, the most one
# pull message 4 holds; cbc128-sha256 with 1,000 (message 4 again); gcm128 with 1,145, the most
# message 2 holds). BENCH_RUNS: runs per case (default 3; the median is printed).
# BENCH_DATAPLANE=0: --no-dataplane.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/member/lib.sh
. "$HERE/../tests/member/lib.sh"
member_test_init bench_many_teks "$@"
command -v tshark >/dev/null || { echo "bench_many_teks: needs tshark" >&2; exit 77; }
dataplane=${BENCH_DATAPLANE:-1}
[ "$dataplane" = 1 ] && member_dataplane_init
G=GROUP_ID-4242
runs=${BENCH_RUNS:-3}

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

# one_run ALG N — prints "wire_ms cpu_ms rss_kib hwm_kib maps locked_kib nft_elements sas
# policies install_ms"
one_run() {
  local alg=$1 n=$2 name=ks
  ks_start "$name" --group 4242 --tek "$alg:0x1000" --teks "$n"
  # Every IP packet: the fragments after the first of a large datagram carry no UDP header.
  ip netns exec "$NS_K" tshark -q -i veth-k -f ip -w "$WORK/wire.pcapng" >/dev/null 2>"$WORK/tshark.err" &
  CAPTURE_PID=$!
  cleanup_add "kill -INT $CAPTURE_PID 2>/dev/null"
  wait_for 10 grep -q "Capturing on" "$WORK/tshark.err"
  member_config "$WORK/member.toml" "$(group_toml "$G" 4242 "[\"$KS_IP\"]")"
  MEMBER_DATAPLANE=$dataplane member_start
  registered_once() { [ "$(group_json "$G" .counters.registrations)" -ge 1 ]; }
  wait_for 60 registered_once || { echo "not registered: $(tail -2 "$WORK/member.err")" >&2; exit 1; }
  # The dataplane's install: with ESP (the VM) until an SA per TEK and direction is in the
  # kernel (install_ms: registered -> all SAs, 0.1 s polls); without, until it was refused.
  local t_reg install_ms=- sas=- policies=-
  t_reg=$(date +%s%N)
  sa_count() { ip netns exec "$NS_M" ip xfrm state | grep -c '^src' || true; }
  installed_or_refused() {
    [ "$(sa_count)" -ge "$n" ] || [[ "$(group_json "$G" .detail)" == *"keys not installed"* ]]
  }
  if [ "$dataplane" = 1 ]; then
    wait_for 300 installed_or_refused || echo "dataplane: neither installed nor refused" >&2
    [ "$(sa_count)" -ge "$n" ] && install_ms=$((($(date +%s%N) - t_reg) / 1000000))
    sas=$(sa_count)
    policies=$(ip netns exec "$NS_M" ip xfrm policy | grep -c '^src' || true)
  fi
  sleep 0.5
  local held
  held=$(ctl show tek --json | jq '.groups[0].teks | length')
  [ "$held" = "$n" ] || { echo "member holds $held of $n TEKs" >&2; exit 1; }
  local ticks cpu rss hwm maps locked elements=-
  ticks=$(getconf CLK_TCK)
  cpu=$(awk -v t="$ticks" '{print int(($14 + $15) * 1000 / t)}' "/proc/$MEMBER_PID/stat")
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$MEMBER_PID/status")
  hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$MEMBER_PID/status")
  # Key material is in libsodium secure memory: one mapping with guard pages per key, mlock()ed.
  maps=$(wc -l <"/proc/$MEMBER_PID/maps")
  locked=$(awk '/^VmLck/ {print $2}' "/proc/$MEMBER_PID/status")
  if [ "$dataplane" = 1 ]; then
    elements=$(ip netns exec "$NS_M" nft list table inet gdoi_member |
      grep -oE '10\.1\.0\.0/24 \. 10\.[0-9]+\.[0-9]+\.0/24' | sort -u | wc -l)
  fi
  capture_stop
  ctl flush >/dev/null || true
  kill -TERM "$MEMBER_PID" "$(cat "$WORK/$name.pid")" 2>/dev/null || true
  wait "$MEMBER_PID" 2>/dev/null || true
  while kill -0 "$(cat "$WORK/$name.pid")" 2>/dev/null; do sleep 0.1; done
  rm -f "$WORK/member.state"
  # First datagram of the member (phase 1, message 1) to the last GROUPKEY-PULL datagram of
  # the key server (message 4; reassembled from its IP fragments).
  local t0 t1
  t0=$(tshark -n -r "$WORK/wire.pcapng" -Y "ip.src == $MEMBER_IP && udp" -T fields -e frame.time_epoch 2>/dev/null | awk 'NR == 1')
  t1=$(tshark -n -r "$WORK/wire.pcapng" -d udp.port==848,isakmp \
    -Y "ip.src == $KS_IP && isakmp.exchangetype == 32" -T fields -e frame.time_epoch 2>/dev/null | tail -1)
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", (b - a) * 1000}') $cpu $rss $hwm $maps $locked" \
    "$elements $sas $policies $install_ms"
}

fmt='%-14s %6s %8s %7s %8s %8s %6s %8s %8s %6s %6s %10s\n'
# shellcheck disable=SC2059  # the format is this script's own
printf "$fmt" algorithm TEKs wire_ms cpu_ms rss_KiB hwm_KiB maps lck_KiB nft_sel SAs pols install_ms
cases=${BENCH_CASES:-cbc256-sha256:1 cbc256-sha256:100 cbc256-sha256:803 cbc128-sha256:1000 gcm128:1145}
for c in ${cases//,/ }; do
  alg=${c%:*} n=${c#*:}
  : >"$WORK/runs"
  for ((r = 0; r < runs; r++)); do one_run "$alg" "$n" >>"$WORK/runs"; done
  col() { cut -d' ' -f"$1" "$WORK/runs" | median; }
  # shellcheck disable=SC2059
  printf "$fmt" "$alg" "$n" "$(col 1)" "$(col 2)" "$(col 3)" "$(col 4)" "$(col 5)" "$(col 6)" \
    "$(awk 'NR == 1 {print $7}' "$WORK/runs")" "$(awk 'NR == 1 {print $8}' "$WORK/runs")" \
    "$(awk 'NR == 1 {print $9}' "$WORK/runs")" "$(col 10)"
done
finish
