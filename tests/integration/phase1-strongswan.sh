#!/usr/bin/env bash
# IKEv1 phase 1 against strongSwan: charon is the responder in one namespace, the
# initiator under test runs in another, joined by a veth with addresses that exist only
# there. For each mode and proposal charon is configured with exactly that proposal and the
# initiator must finish phase 1 (exit 0) while charon logs the SA as established; a wrong
# PSK must fail cleanly in each mode. All IKE traffic is captured on the initiator's veth
# and must decode without a "Malformed" mark.
#
#   phase1-strongswan.sh INITIATOR_BIN
#
# INITIATOR_BIN takes the gdoi-phase1 command line. lib/charon-initiator.sh takes the same
# one and proves the harness with charon on both sides.
# Environment: P1_MODES="main aggressive" and P1_PROPOSALS="..." narrow the matrix;
# P1_FAMILY=6 runs it over IPv6 (unique local addresses, identities ID_IPV6_ADDR);
# P1_KEEP=1 keeps the work directory even when everything passed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/lib/netns.sh
. "$HERE/lib/netns.sh"
# shellcheck source=SCRIPTDIR/lib/charon.sh
. "$HERE/lib/charon.sh"
# shellcheck source=SCRIPTDIR/lib/capture.sh
. "$HERE/lib/capture.sh"
# shellcheck source=SCRIPTDIR/lib/report.sh
. "$HERE/lib/report.sh"

INITIATOR_IP=10.248.0.1
RESPONDER_IP=10.248.0.2
PLEN=24
if [ "${P1_FAMILY:-4}" = 6 ]; then
  INITIATOR_IP=fd00:248::1
  RESPONDER_IP=fd00:248::2
  PLEN=64
fi
NS_I=p1i-$$
NS_R=p1r-$$
IF_I=veth-i
IF_R=veth-r
PSK_GOOD="gdoi-test-psk-$$-correct"
PSK_WRONG="gdoi-test-psk-$$-wrong"
# Bounded time given to the initiator per attempt; a wrong PSK must end within it.
OK_TIMEOUT=10
BAD_TIMEOUT=5
# Extra grace for process start/stop around the initiator's own bound.
SLACK=3

# matrix_proposals — 29 proposals: every cipher x hash x DH group below.
matrix_proposals() {
  local enc hash dh
  for enc in aes128 aes256 3des; do
    for hash in sha1 sha256 sha384; do
      for dh in modp2048 ecp256 ecp384; do
        echo "$enc-$hash-$dh"
      done
    done
  done
  echo aes128-sha1-modp1536
  echo aes256-sha512-modp4096
}

# show_failure CASEDIR — what a developer needs to see: the tool's output and charon's log
# for this attempt only.
show_failure() {
  local casedir=$1
  echo "---- initiator stdout ----"; tail -n 20 "$casedir/stdout" 2>/dev/null || true
  echo "---- initiator stderr ----"; tail -n 30 "$casedir/stderr" 2>/dev/null || true
  echo "---- charon (responder) log for this attempt ----"
  charon_log_since_mark "$RDIR" | tail -n 40
  echo "----"
}

# run_initiator CASEDIR MODE PSKFILE TIMEOUT PROPOSAL... — run the tool in the initiator
# namespace; sets RC and ELAPSED_MS. An outer `timeout` catches a tool that ignores its own.
run_initiator() {
  local casedir=$1 mode=$2 pskfile=$3 tmo=$4
  shift 4
  local args=() p t0
  for p in "$@"; do args+=(--proposal "$p"); done
  mkdir -p "$casedir"
  t0=$(now_ms)
  RC=0
  timeout -k 2 $((tmo + SLACK + 5)) ip netns exec "$NS_I" "$INITIATOR" \
    --local "$INITIATOR_IP" --server "$RESPONDER_IP" --server-port 500 --local-port 848 \
    --mode "$mode" "${args[@]}" --psk-file "$pskfile" --timeout "$tmo" \
    >"$casedir/stdout" 2>"$casedir/stderr" </dev/null || RC=$?
  ELAPSED_MS=$(($(now_ms) - t0))
}

# case_ok MODE RESPONDER_PROPOSAL [OFFERED...] — phase 1 must complete.
case_ok() {
  local mode=$1 rprop=$2
  shift 2
  local offered=("$@")
  [ ${#offered[@]} -eq 0 ] && offered=("$rprop")
  local name="$mode ${offered[*]// /,}"
  [ ${#offered[@]} -gt 1 ] && name="$mode offer ${offered[*]} -> responder $rprop"
  local casedir="$WORK/cases/$mode-$rprop"
  [ ${#offered[@]} -gt 1 ] && casedir+="-multi"
  charon_configure "$RDIR" "$RESPONDER_IP" "$INITIATOR_IP" "$PSK_GOOD" "$mode" "$rprop"
  run_initiator "$casedir" "$mode" "$WORK/psk-good" "$OK_TIMEOUT" "${offered[@]}"
  local why=""
  if [ "$RC" -ne 0 ]; then
    why="initiator exit $RC"
  fi
  # In Aggressive Mode charon establishes on the third message, which the initiator may
  # send just before exiting: give the responder a moment.
  # (Shorter when the initiator already failed: only the report needs it then.)
  local grace=2
  [ "$RC" -ne 0 ] && grace=0.3
  if ! charon_wait_established "$RDIR" "$grace"; then
    why="${why:+$why, }charon did not log an established IKE_SA"
  fi
  report_case "${why:+$why (${ELAPSED_MS} ms)}" "$casedir" "$name (${ELAPSED_MS} ms)" "$name"
}

# case_wrong_psk MODE — charon has the right PSK, the initiator a wrong one: the initiator
# must exit non-zero within its bound, name the PSK as the likely cause, and charon must
# not have established anything.
case_wrong_psk() {
  local mode=$1 prop=aes128-sha1-modp2048
  local casedir="$WORK/cases/$mode-wrong-psk" why=""
  charon_configure "$RDIR" "$RESPONDER_IP" "$INITIATOR_IP" "$PSK_GOOD" "$mode" "$prop"
  run_initiator "$casedir" "$mode" "$WORK/psk-wrong" "$BAD_TIMEOUT" "$prop"
  [ "$RC" -eq 0 ] && why="initiator exited 0 with a wrong PSK"
  [ "$ELAPSED_MS" -gt $(((BAD_TIMEOUT + SLACK) * 1000)) ] &&
    why="${why:+$why, }took ${ELAPSED_MS} ms, bound ${BAD_TIMEOUT}s"
  grep -qiE "pre-shared key|PSK" "$casedir/stderr" ||
    why="${why:+$why, }no stderr line names the pre-shared key/PSK"
  # Charon could only establish if the initiator's HASH verified; look for a while anyway.
  sleep 0.5
  charon_established_since_mark "$RDIR" && why="${why:+$why, }charon established an SA"
  report_case "$why" "$casedir" \
    "$mode wrong-psk (exit $RC, ${ELAPSED_MS} ms): $(grep -iE -m1 'pre-shared key|PSK' "$casedir/stderr")" \
    "$mode wrong-psk"
}

# capture_check — stop tshark and fail if any packet decodes as malformed (port 848 is
# decoded as ISAKMP too: that is GDOI's port and our source port).
capture_check() {
  capture_stop
  # shellcheck disable=SC2054  # tshark's "-d udp.port==848,isakmp" has a comma by design
  if capture_decode_check "$WORK/phase1.pcapng" "$WORK/phase1.decoded.txt" "$IF_I" -d udp.port==848,isakmp; then
    pass "capture: $CAPTURE_PACKETS packets, none malformed"
  fi
}

main() {
  [ $# -eq 1 ] || { echo "usage: $0 INITIATOR_BIN" >&2; exit 2; }
  INITIATOR=$(readlink -f "$1")
  [ -x "$INITIATOR" ] || { echo "initiator '$1' is not executable" >&2; exit 2; }
  netns_require_root
  local t_start mode prop
  t_start=$(now_ms)
  WORK=$(mktemp -d /tmp/phase1-strongswan.XXXXXX)
  RDIR=$WORK/responder
  # Registered first so it runs last, after charon and the namespaces are gone.
  cleanup_add "work_cleanup"
  mkdir -p "$RDIR" "$WORK/cases"
  (umask 077; printf '%s' "$PSK_GOOD" >"$WORK/psk-good"; printf '%s' "$PSK_WRONG" >"$WORK/psk-wrong")

  netns_pair_create "$NS_I" "$NS_R" "$IF_I" "$IF_R" "$INITIATOR_IP/$PLEN" "$RESPONDER_IP/$PLEN"
  # tshark on the initiator's veth.
  capture_start "$NS_I" "$IF_I" "udp port 500 or udp port 848" "$WORK/phase1.pcapng"
  # One responder for the whole matrix; each case reloads its connection (about 20 ms
  # instead of about 100 ms for a fresh charon).
  charon_start "$NS_R" "$RDIR" "$RESPONDER_IP" "$INITIATOR_IP" "$PSK_GOOD" main aes128-sha1-modp2048

  local modes proposals
  read -ra modes <<<"${P1_MODES:-main aggressive}"
  if [ -n "${P1_PROPOSALS:-}" ]; then
    read -ra proposals <<<"$P1_PROPOSALS"
  else
    mapfile -t proposals < <(matrix_proposals)
  fi
  for mode in "${modes[@]}"; do
    for prop in "${proposals[@]}"; do
      case_ok "$mode" "$prop"
    done
  done
  # Several proposals in one SA: the responder picks the one it has.
  case_ok main aes256-sha256-ecp384 aes128-sha1-modp2048 3des-sha384-ecp256 aes256-sha256-ecp384
  for mode in "${modes[@]}"; do
    case_wrong_psk "$mode"
  done
  capture_check
  if [ "${P1_FAMILY:-4}" = 6 ]; then
    if grep -qF "ID_IPV6_ADDR: $INITIATOR_IP" "$WORK/phase1.decoded.txt"; then
      pass "capture: UDP over IPv6, the initiator's identity is ID_IPV6_ADDR"
    else
      fail "capture: no ID_IPV6_ADDR $INITIATOR_IP in the decode"
    fi
  fi

  report_summary "phase1 matrix" "$t_start"
}

main "$@"
