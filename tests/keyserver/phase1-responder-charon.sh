#!/usr/bin/env bash
# The test key server's phase-1 RESPONDER against real initiators: strongSwan's
# charon (tests/integration/lib/charon-initiator.sh) and our own gdoi-phase1 probe, each
# in its own namespace, gdoi-test-keyserver in another, joined by a veth with addresses
# that exist only there.
#
#   phase1-responder-charon.sh KEYSERVER_BIN GDOI_PHASE1_BIN
#
# For main and aggressive mode and a few proposals the initiator must exit 0 and the key
# server must log "phase1 established with ADDR (MODE, PROPOSAL)" with exactly that
# proposal; with several proposals offered it must choose the first acceptable one; an
# unacceptable offer must end in NO-PROPOSAL-CHOSEN and a wrong PSK must fail on both
# sides. charon speaks IKEv1 on port 500 only (elsewhere it frames with the NAT-T marker),
# so that key server listens on 500; the gdoi-phase1 cases use a second key server on the
# GDOI port 848. Everything is captured on the key server's veth and must decode in tshark
# (with the key servers' key logs as its IKEv1 decryption table) without "Malformed".
# Environment: KS_MODES="main aggressive", KS_PROPOSALS="..." narrow the matrix;
# KS_KEEP=1 keeps the work directory even when everything passed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LIB=$HERE/../integration/lib
# shellcheck source=tests/integration/lib/netns.sh
. "$LIB/netns.sh"
# shellcheck source=tests/integration/lib/capture.sh
. "$LIB/capture.sh"

INITIATOR_IP=10.249.0.1
KS_IP=10.249.0.2
NS_I=ksi-$$
NS_R=ksr-$$
IF_I=veth-i
IF_R=veth-r
PSK_GOOD="ks-test-psk-$$-correct"
PSK_WRONG="ks-test-psk-$$-wrong"
OK_TIMEOUT=10
BAD_TIMEOUT=5
SLACK=5

# Proposals the key servers accept: the cases below offer them one at a time.
DEFAULT_PROPOSALS="aes128-sha1-modp2048 aes256-sha256-ecp256 3des-sha384-modp1536 aes256-sha512-ecp384 aes128-sha256-modp3072"
# Never accepted: the NO-PROPOSAL-CHOSEN case offers it.
REFUSED=aes192-sha1-modp2048

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "PASS $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# new_casedir NAME — WORK/cases/N (N counts up), with NAME written into it.
new_casedir() {
  local n
  n=$(find "$WORK/cases" -mindepth 1 -maxdepth 1 | wc -l)
  mkdir -p "$WORK/cases/$n"
  echo "$1" >"$WORK/cases/$n/name"
  echo "$WORK/cases/$n"
}

# ks_start NAME PORT [ARGS...] — a key server in NS_R; its stdout/stderr in WORK/NAME.*
ks_start() {
  local name=$1 port=$2 i p
  shift 2
  local args=()
  for p in "${KS_ACCEPT[@]}"; do args+=(--proposal "$p"); done
  ip netns exec "$NS_R" "$KEYSERVER" --listen "$KS_IP:$port" --psk "$INITIATOR_IP=$WORK/psk-good" \
    "${args[@]}" --keylog "$WORK/keylog.csv" --log-level info "$@" \
    >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null &
  echo $! >"$WORK/$name.pid"
  cleanup_add "kill -TERM $! 2>/dev/null"
  for ((i = 0; i < 50; i++)); do
    grep -q "listening on" "$WORK/$name.err" 2>/dev/null && return 0
    kill -0 "$(cat "$WORK/$name.pid")" 2>/dev/null || break
    sleep 0.1
  done
  echo "key server $name did not start:" >&2
  cat "$WORK/$name.err" >&2
  return 1
}

# established_count NAME MODE PROPOSAL — lines the key server printed for this outcome.
established_count() {
  grep -cF "phase1 established with $INITIATOR_IP ($2, $3)" "$WORK/$1.out" 2>/dev/null || true
}

# run_initiator KIND CASEDIR MODE PSKFILE TIMEOUT PROPOSAL... — KIND charon or gdoi; sets RC.
run_initiator() {
  local kind=$1 casedir=$2 mode=$3 pskfile=$4 tmo=$5
  shift 5
  local args=() p bin port
  for p in "$@"; do args+=(--proposal "$p"); done
  mkdir -p "$casedir"
  case "$kind" in
    charon)
      bin=$CHARON_INITIATOR port=500
      args+=(--local-port 500 --keep-dir "$casedir/charon") ;;
    gdoi) bin=$PHASE1 port=848 args+=(--local-port 848) ;;
    # The IPsec DOI in the phase-1 SA (RFC 3547 §2.1.1 wants GDOI's, 2): tshark only
    # learns the cipher from a DOI-1 SA, so only these exchanges decrypt in the capture.
    gdoi-doi1) bin=$PHASE1 port=848 args+=(--local-port 848 --doi 1) ;;
  esac
  RC=0
  timeout -k 2 $((tmo + SLACK)) ip netns exec "$NS_I" "$bin" \
    --local "$INITIATOR_IP" --server "$KS_IP" --server-port "$port" \
    --mode "$mode" "${args[@]}" --psk-file "$pskfile" --timeout "$tmo" \
    >"$casedir/stdout" 2>"$casedir/stderr" </dev/null || RC=$?
}

show_failure() {
  local casedir=$1 ks=$2
  echo "---- initiator stdout/stderr ----"
  tail -n 20 "$casedir/stdout" "$casedir/stderr" 2>/dev/null || true
  if [ -f "$casedir/charon/charon.log" ]; then
    echo "---- charon (initiator) log ----"
    tail -n 40 "$casedir/charon/charon.log"
  fi
  echo "---- key server $ks (last lines) ----"
  tail -n 15 "$WORK/$ks.err" "$WORK/$ks.out" 2>/dev/null || true
  echo "----"
}

# case_ok KIND MODE EXPECTED OFFERED... — phase 1 must complete with EXPECTED chosen.
case_ok() {
  local kind=$1 mode=$2 expected=$3
  shift 3
  # Short case directories: charon's vici socket path lives below them (sun_path limit).
  local ks=ks-${kind%%-*} name="$kind $mode offer $*" casedir before why=""
  casedir=$(new_casedir "$name")
  before=$(established_count "$ks" "$mode" "$expected")
  run_initiator "$kind" "$casedir" "$mode" "$WORK/psk-good" "$OK_TIMEOUT" "$@"
  [ "$RC" -ne 0 ] && why="initiator exit $RC"
  # Aggressive mode completes on the third message, sent as the initiator finishes.
  local i
  for ((i = 0; i < 20; i++)); do
    [ "$(established_count "$ks" "$mode" "$expected")" -gt "$before" ] && break
    sleep 0.1
  done
  [ "$(established_count "$ks" "$mode" "$expected")" -gt "$before" ] ||
    why="${why:+$why, }key server did not log 'phase1 established with $INITIATOR_IP ($mode, $expected)'"
  if [ -z "$why" ]; then
    pass "$name -> $expected"
  else
    fail "$name: $why"
    show_failure "$casedir" "$ks"
  fi
}

# case_no_proposal KIND MODE — an offer the key server refuses: NO-PROPOSAL-CHOSEN.
case_no_proposal() {
  local kind=$1 mode=$2 casedir why=""
  casedir=$(new_casedir "$kind $mode no-proposal")
  local ks=ks-$kind before
  before=$(grep -c "no acceptable proposal" "$WORK/$ks.err" || true)
  run_initiator "$kind" "$casedir" "$mode" "$WORK/psk-good" "$BAD_TIMEOUT" "$REFUSED"
  [ "$RC" -eq 0 ] && why="initiator exited 0"
  grep -qiE "no.proposal.chosen|no proposal chosen" "$casedir/stderr" ||
    why="${why:+$why, }initiator did not report NO-PROPOSAL-CHOSEN"
  [ "$(grep -c "no acceptable proposal" "$WORK/$ks.err" || true)" -gt "$before" ] ||
    why="${why:+$why, }key server did not log the refusal"
  if [ -z "$why" ]; then
    pass "$kind $mode no-proposal-chosen: $(grep -iE -m1 'no.proposal.chosen|no proposal chosen' "$casedir/stderr")"
  else
    fail "$kind $mode no-proposal-chosen: $why"
    show_failure "$casedir" "$ks"
  fi
}

# case_wrong_psk KIND MODE — the initiator has a wrong PSK: both sides fail, nothing is
# established. Main mode: the key server's HASH_I check fails (it logs that and answers
# AUTHENTICATION-FAILED); aggressive mode: the initiator's HASH_R check fails.
case_wrong_psk() {
  local kind=$1 mode=$2 prop=aes128-sha1-modp2048 casedir why=""
  casedir=$(new_casedir "$kind $mode wrong-psk")
  local ks=ks-$kind est_before auth_before
  est_before=$(grep -c "phase1 established" "$WORK/$ks.out" || true)
  auth_before=$(grep -c "HASH_I mismatch\|does not decrypt" "$WORK/$ks.err" || true)
  run_initiator "$kind" "$casedir" "$mode" "$WORK/psk-wrong" "$BAD_TIMEOUT" "$prop"
  [ "$RC" -eq 0 ] && why="initiator exited 0 with a wrong PSK"
  grep -qiE "pre-shared key|PSK|authentication failed" "$casedir/stderr" ||
    why="${why:+$why, }initiator does not name the PSK"
  sleep 0.3
  [ "$(grep -c "phase1 established" "$WORK/$ks.out" || true)" -eq "$est_before" ] ||
    why="${why:+$why, }key server established an SA"
  if [ "$mode" = main ] && [ "$(grep -c "HASH_I mismatch\|does not decrypt" "$WORK/$ks.err" || true)" -le "$auth_before" ]; then
    why="${why:+$why, }key server did not log the failed HASH_I check"
  fi
  if [ -z "$why" ]; then
    pass "$kind $mode wrong-psk (exit $RC): $(grep -iE -m1 'pre-shared key|PSK|authentication' "$casedir/stderr")"
  else
    fail "$kind $mode wrong-psk: $why"
    show_failure "$casedir" "$ks"
  fi
}

# case_once — a key server with --once exits 0 after its first SA.
case_once() {
  local casedir="$WORK/cases/once" why="" i
  ks_start ks-once 849 --once
  mkdir -p "$casedir"
  RC=0
  timeout -k 2 $((OK_TIMEOUT + SLACK)) ip netns exec "$NS_I" "$PHASE1" --local "$INITIATOR_IP" --server "$KS_IP" \
    --server-port 849 --local-port 849 --mode main --proposal aes128-sha1-modp2048 \
    --psk-file "$WORK/psk-good" --timeout "$OK_TIMEOUT" >"$casedir/stdout" 2>"$casedir/stderr" || RC=$?
  [ "$RC" -ne 0 ] && why="initiator exit $RC"
  local pid ks_rc=running
  pid=$(cat "$WORK/ks-once.pid")
  for ((i = 0; i < 30; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      ks_rc=0
      wait "$pid" || ks_rc=$?
      break
    fi
    sleep 0.1
  done
  [ "$ks_rc" = 0 ] || why="${why:+$why, }key server --once: $ks_rc"
  if [ -z "$why" ]; then pass "--once: key server exited 0 after the first SA"; else
    fail "--once: $why"; show_failure "$casedir" ks-once; fi
}

# capture_check — stop tshark; the capture must decode without "Malformed", with the key
# logs as tshark's IKEv1 decryption table (so the encrypted messages are decoded and checked
# too) and without it.
capture_check() {
  sleep 0.5
  capture_stop
  local uat=() decrypted cookie key keys=0
  while IFS=, read -r cookie key; do
    [ -z "$cookie" ] && continue
    uat+=(-o "uat:ikev1_decryption_table:$cookie,$key")
    keys=$((keys + 1))
  done <"$WORK/keylog.csv"
  # shellcheck disable=SC2054  # tshark's "-d udp.port==848,isakmp" has a comma by design
  if capture_decode_check "$WORK/keyserver.pcapng" "$WORK/keyserver.decoded.txt" "$IF_R" \
    -d udp.port==848,isakmp -d udp.port==849,isakmp "${uat[@]}"; then
    # An encrypted message tshark could decrypt shows its payloads under "Encrypted Data".
    decrypted=$(awk '/^    Encrypted Data \(/ { getline; if ($1 == "Payload:") n++ } END { print n + 0 }' \
      "$WORK/keyserver.decoded.txt")
    if [ "$decrypted" -eq 0 ]; then
      fail "capture: tshark decrypted nothing with the key log ($keys keys)"
    else
      pass "capture: $CAPTURE_PACKETS packets, none malformed; $decrypted encrypted messages decrypted with the key log ($keys keys)"
    fi
  fi
  # The -d option alone must also decode cleanly (what the issue names).
  if tshark -r "$WORK/keyserver.pcapng" -d udp.port==848,isakmp -V 2>&1 | grep -q "Malformed"; then
    fail "capture: 'Malformed' without the decryption table"
  fi
}

main() {
  [ $# -eq 2 ] || { echo "usage: $0 KEYSERVER_BIN GDOI_PHASE1_BIN" >&2; exit 2; }
  KEYSERVER=$(readlink -f "$1")
  PHASE1=$(readlink -f "$2")
  CHARON_INITIATOR=$LIB/charon-initiator.sh
  if ! [ -x "$KEYSERVER" ] || ! [ -x "$PHASE1" ]; then echo "binaries not executable" >&2; exit 2; fi
  netns_require_root
  for tool in tshark swanctl "${CHARON_BIN:-/usr/lib/ipsec/charon}"; do
    command -v "$tool" >/dev/null || [ -x "$tool" ] || { echo "missing $tool: skipped" >&2; exit 77; }
  done
  local t_start mode prop modes proposals
  t_start=$(now_ms)
  WORK=$(mktemp -d /tmp/keyserver-phase1.XXXXXX)
  cleanup_add "work_cleanup"
  mkdir -p "$WORK/cases"
  (umask 077; printf '%s' "$PSK_GOOD" >"$WORK/psk-good"; printf '%s' "$PSK_WRONG" >"$WORK/psk-wrong"
   : >"$WORK/keylog.csv")
  read -r -a modes <<<"${KS_MODES:-main aggressive}"
  read -r -a proposals <<<"${KS_PROPOSALS:-$DEFAULT_PROPOSALS}"
  KS_ACCEPT=("${proposals[@]}")

  netns_pair_create "$NS_I" "$NS_R" "$IF_I" "$IF_R" "$INITIATOR_IP/24" "$KS_IP/24"
  # tshark on the key server's veth.
  capture_start "$NS_R" "$IF_R" "udp port 500 or udp port 848 or udp port 849" "$WORK/keyserver.pcapng"
  ks_start ks-charon 500
  ks_start ks-gdoi 848

  for kind in charon gdoi; do
    for mode in "${modes[@]}"; do
      for prop in "${proposals[@]}"; do
        case_ok "$kind" "$mode" "$prop" "$prop"
      done
    done
    # Several transforms offered: the first acceptable one in the initiator's order wins
    # (aggressive mode: one DH group for all).
    case_ok "$kind" main "${proposals[1]}" "$REFUSED" "${proposals[1]}" "${proposals[0]}"
    case_ok "$kind" aggressive aes128-sha1-modp2048 "$REFUSED" aes128-sha1-modp2048
    for mode in "${modes[@]}"; do
      case_no_proposal "$kind" "$mode"
      case_wrong_psk "$kind" "$mode"
    done
  done
  for mode in "${modes[@]}"; do
    case_ok gdoi-doi1 "$mode" "${proposals[0]}" "${proposals[0]}"
  done
  case_once
  capture_check

  echo "keyserver phase1: $PASSED passed, $FAILED failed ($(( ($(now_ms) - t_start) / 1000 )) s; work dir $WORK)"
  if [ "$FAILED" -ne 0 ]; then
    echo "key server logs: $WORK/ks-*.err; capture: $WORK/keyserver.pcapng (kept)"
    return 1
  fi
  WORK_DONE_OK=1
}

WORK_DONE_OK=0
work_cleanup() {
  if [ "$WORK_DONE_OK" = 1 ] && [ "${KS_KEEP:-0}" != 1 ]; then rm -rf "$WORK"; fi
}

main "$@"
