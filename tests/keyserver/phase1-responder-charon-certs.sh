#!/usr/bin/env bash
# The test key server's phase-1 RESPONDER with signatures (RFC 2409 §5.1) against strongSwan's
# charon as the INITIATOR (`auth = pubkey`), each in its own namespace joined by a veth: the
# independent proof that gdoi-test-keyserver --cert/--key/--ca verifies a real initiator's
# CERT and SIG_I and that charon accepts its CERT and SIG_R.
#
#   phase1-responder-charon-certs.sh KEYSERVER_BIN
#
# For Main and Aggressive Mode and RSA-2048, ECDSA P-256, P-384 and P-521 keys (both sides of one
# type; charon as member gm1.test identified by its FQDN, the key server by its DN or FQDN):
# charon must log the IKE_SA established, and the key server "phase1 established with ADDR"
# and "member ADDR authenticated as ID_FQDN gm1.test". Negative: a member certificate from a
# CA the key server does not trust must give "untrusted member certificate" on the key server
# and nothing established on either side. The PKI is made here with openssl.
# Environment: KS_KEEP=1 keeps the work directory even when everything passed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LIB=$HERE/../integration/lib
# shellcheck source=tests/integration/lib/netns.sh
. "$LIB/netns.sh"
# shellcheck source=tests/integration/lib/charon.sh
. "$LIB/charon.sh"
# shellcheck source=tests/integration/lib/pki.sh
. "$LIB/pki.sh"
# shellcheck source=tests/integration/lib/report.sh
. "$LIB/report.sh"  # pass, fail, PASSED, FAILED, WORK_DONE_OK (work_cleanup below: KS_KEEP)

INITIATOR_IP=10.249.1.1
KS_IP=10.249.1.2
NS_I=kcci-$$
NS_R=kccr-$$
PROPOSAL=aes128-sha256-modp2048
TIMEOUT=10


# charon_pubkey TYPE GM_CERT MODE — charon (the member) with GM_CERT and gm-TYPE.key as gm1.test.
charon_pubkey() {
  charon_pubkey_load "$IDIR" "$3" "$INITIATOR_IP" "$KS_IP" "$PROPOSAL" "$2" "$PKI/gm-$1.key" "$1" gm1.test \
    "$PKI/good/ca.pem"
}

# ks_run NAME TYPE IDTYPE — a key server on port 500 (charon's IKEv1 port) for one attempt.
ks_run() {
  local name=$1 type=$2 idtype=$3 i
  ip netns exec "$NS_R" "$KEYSERVER" --listen "$KS_IP:500" --proposal "$PROPOSAL" \
    --cert "$PKI/ks-$type.pem" --key "$PKI/ks-$type.key" --ca "$PKI/good/ca.pem" --id-type "$idtype" \
    --log-level info >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null &
  KS_PID=$!
  cleanup_add "kill -TERM $KS_PID 2>/dev/null"
  for ((i = 0; i < 50; i++)); do
    grep -q "listening on" "$WORK/$name.err" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "key server $name did not start:" >&2
  cat "$WORK/$name.err" >&2
  return 1
}

ks_stop() {
  kill -TERM "$KS_PID" 2>/dev/null || true
  wait "$KS_PID" 2>/dev/null || true
}

initiate() {
  _charon_swanctl "$IDIR" --initiate --ike "$CHARON_CONN" --timeout "$TIMEOUT" >"$WORK/$1.initiate" 2>&1
}

show() {
  echo "---- key server $1 ----"; tail -n 20 "$WORK/$1.err" "$WORK/$1.out" 2>/dev/null || true
  echo "---- charon ----"; charon_log_since_mark "$IDIR" | tail -n 25
}

# case_ok MODE TYPE IDTYPE
case_ok() {
  local mode=$1 type=$2 idtype=$3 name="ok-$1-$2-$3" why=""
  ks_run "$name" "$type" "$idtype"
  charon_pubkey "$type" "$PKI/gm-$type.pem" "$mode"
  initiate "$name" || why="swanctl --initiate failed"
  charon_wait_established "$IDIR" 2 || why="${why:+$why, }charon did not log an established IKE_SA"
  sleep 0.3
  ks_stop
  grep -q "^phase1 established with $INITIATOR_IP ($mode, $PROPOSAL)" "$WORK/$name.out" ||
    why="${why:+$why, }the key server did not print 'phase1 established'"
  grep -q "member $INITIATOR_IP authenticated as ID_FQDN gm1.test (" "$WORK/$name.err" ||
    why="${why:+$why, }the key server did not log 'member $INITIATOR_IP authenticated as ID_FQDN gm1.test'"
  charon_terminate_all "$IDIR"
  if [ -z "$why" ]; then pass "$name"; else fail "$name: $why"; show "$name"; fi
}

# case_unknown_ca MODE — the member's certificate is from a CA the key server does not trust.
case_unknown_ca() {
  local mode=$1 name="unknown-ca-$1" why=""
  ks_run "$name" rsa2048 dn
  charon_pubkey rsa2048 "$PKI/gm-other-ca.pem" "$mode"
  initiate "$name" || true
  sleep 1
  ks_stop
  grep -q "failed: untrusted member certificate: member $INITIATOR_IP (ID_FQDN gm1.test): the member's certificate .* is not issued by a CA of our CA file" "$WORK/$name.err" ||
    why="the key server did not log 'untrusted member certificate ... not issued by a CA of our CA file'"
  grep -q "phase1 established" "$WORK/$name.out" && why="${why:+$why, }the key server established"
  grep -q "authenticated as" "$WORK/$name.err" && why="${why:+$why, }the key server logged an authenticated member"
  # In Main Mode charon waits for message 6 and gets AUTHENTICATION-FAILED instead; in
  # Aggressive Mode its message 3 is the last, so only the key server's side is checked.
  if [ "$mode" = main ] && charon_established_since_mark "$IDIR"; then
    why="${why:+$why, }charon established"
  fi
  charon_terminate_all "$IDIR"
  if [ -z "$why" ]; then pass "$name"; else fail "$name: $why"; show "$name"; fi
}

main() {
  [ $# -eq 1 ] || { echo "usage: $0 KEYSERVER_BIN" >&2; exit 2; }
  KEYSERVER=$(readlink -f "$1")
  [ -x "$KEYSERVER" ] || { echo "$KEYSERVER is not executable" >&2; exit 2; }
  netns_require_root
  for tool in swanctl openssl "$CHARON_BIN"; do
    command -v "$tool" >/dev/null || [ -x "$tool" ] || { echo "missing $tool: skipped" >&2; exit 77; }
  done
  WORK=$(mktemp -d /tmp/keyserver-charon-certs.XXXXXX)
  cleanup_add "work_cleanup"
  PKI=$WORK/pki
  mkdir -p "$PKI"
  ca_init good "good CA"
  ca_init other "other CA"
  local t mode
  for t in rsa2048 p256 p384 p521; do
    new_key "$PKI/gm-$t.key" "$t"
    new_key "$PKI/ks-$t.key" "$t"
    issue good "$PKI/gm-$t.pem" "$PKI/gm-$t.key" gm1.test gm1.test "$INITIATOR_IP"
    issue good "$PKI/ks-$t.pem" "$PKI/ks-$t.key" gcks.test gcks.test "$KS_IP"
  done
  issue other "$PKI/gm-other-ca.pem" "$PKI/gm-rsa2048.key" gm1.test gm1.test "$INITIATOR_IP"

  netns_pair_create "$NS_I" "$NS_R" veth-i veth-r "$INITIATOR_IP/24" "$KS_IP/24"
  IDIR=$WORK/charon
  charon_start "$NS_I" "$IDIR" "$INITIATOR_IP" "$KS_IP" unused main "$PROPOSAL"

  for mode in main aggressive; do
    case_ok "$mode" rsa2048 dn
    case_ok "$mode" p256 fqdn
    case_ok "$mode" p384 dn
    case_ok "$mode" p521 fqdn
    case_unknown_ca "$mode"
  done

  echo "keyserver phase1 certificates (charon initiator): $PASSED passed, $FAILED failed (work dir $WORK)"
  [ "$FAILED" -eq 0 ] || return 1
  WORK_DONE_OK=1
}

work_cleanup() {
  if [ "$WORK_DONE_OK" = 1 ] && [ "${KS_KEEP:-0}" != 1 ]; then rm -rf "$WORK"; fi
}

main "$@"
