#!/usr/bin/env bash
# IKEv1 phase 1 with signatures and X.509 certificates (RFC 2409 §5.1, RFC 4754) against
# strongSwan: charon is the responder in one namespace with `auth = pubkey`, the initiator
# under test (gdoi-phase1 --auth ...) in another. The test makes its own CAs, certificates,
# keys and CRL at run time with `openssl ca`.
#
#   phase1-strongswan-certs.sh INITIATOR_BIN
#
# Positive: main and aggressive mode x RSA-2048, RSA-3072, ECDSA P-256, P-384, P-521 x our
# identity ID_DER_ASN1_DN, ID_FQDN, ID_IPV4_ADDR (charon's the same type): the initiator
# exits 0 and charon logs the IKE_SA established. Then: a subject DN pin (--peer-id dn:, as
# ike.peer-id takes it) in both orders of RDNs while charon identifies by ID_FQDN (the pin names
# the certificate, not the ID payload); our certificate from an intermediate CA with our file
# holding leaf + intermediate while charon trusts only the root (we send the intermediate in a
# second CERT payload); charon's certificate from an intermediate CA that charon sends (we trust
# only the root); our CA given as a directory. Negative (each must fail within its bound with
# the operator message grepped here): the key server's certificate from an unknown CA,
# expired, revoked by the CRL, without digitalSignature; a pinned peer identity (FQDN or DN)
# that differs; our private key not the certificate's (charon's signature check fails); our
# intermediate-issued certificate without the intermediate in our file (charon cannot build
# the chain). Everything captured on the initiator's veth must decode without "Malformed".
# Environment: P1_KEEP=1 keeps the work directory; P1_CERT_QUICK=1 runs one key type.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The PSK harness's plugin list plus pkcs8 (keys in PKCS#8) and what X.509 needs.
CHARON_PLUGINS="random nonce openssl aes sha1 sha2 hmac kdf gmp pem pkcs1 pkcs8 pubkey x509 kernel-netlink socket-default vici"
# shellcheck source=SCRIPTDIR/lib/netns.sh
. "$HERE/lib/netns.sh"
# shellcheck source=SCRIPTDIR/lib/charon.sh
. "$HERE/lib/charon.sh"
# shellcheck source=SCRIPTDIR/lib/capture.sh
. "$HERE/lib/capture.sh"
# shellcheck source=SCRIPTDIR/lib/report.sh
. "$HERE/lib/report.sh"
# shellcheck source=SCRIPTDIR/lib/pki.sh
. "$HERE/lib/pki.sh"

INITIATOR_IP=10.248.1.1
RESPONDER_IP=10.248.1.2
NS_I=p1ci-$$
NS_R=p1cr-$$
IF_I=veth-i
IF_R=veth-r
OK_TIMEOUT=10
BAD_TIMEOUT=5
SLACK=3
PROPOSAL=aes128-sha256-modp2048


# ---- PKI (lib/pki.sh: ca_init, new_key, issue)

make_pki() {
  local t
  PKI=$WORK/pki
  mkdir -p "$PKI"
  ca_init good "gdoi test CA"
  ca_init other "some other CA"
  for t in "${KEY_TYPES[@]}"; do
    new_key "$PKI/gm-$t.key" "$t"
    new_key "$PKI/ks-$t.key" "$t"
    issue good "$PKI/gm-$t.pem" "$PKI/gm-$t.key" gm1.test gm1.test "$INITIATOR_IP"
    issue good "$PKI/ks-$t.pem" "$PKI/ks-$t.key" gcks.test gcks.test "$RESPONDER_IP"
  done
  new_key "$PKI/wrong.key" rsa2048
  # An intermediate CA under the root charon and we trust: our certificate and charon's from it.
  ca_init_sub sub "gdoi test sub CA" good
  issue sub "$PKI/gm-sub.pem" "$PKI/gm-rsa2048.key" gm1.test gm1.test "$INITIATOR_IP"
  cat "$PKI/gm-sub.pem" "$PKI/sub/ca.pem" >"$PKI/gm-sub-chain.pem"
  issue sub "$PKI/ks-sub.pem" "$PKI/ks-rsa2048.key" gcks.test gcks.test "$RESPONDER_IP"
  # Our CA as a directory: the root in one file, another CA in a second, a c_rehash-style link.
  mkdir -p "$PKI/cadir"
  chmod 755 "$PKI/cadir"
  cp "$PKI/other/ca.pem" "$PKI/cadir/a-other.pem"
  cp "$PKI/good/ca.pem" "$PKI/cadir/b-good.pem"
  ln -s b-good.pem "$PKI/cadir/$(openssl x509 -noout -hash -in "$PKI/good/ca.pem").0"
  issue other "$PKI/ks-unknown-ca.pem" "$PKI/ks-rsa2048.key" gcks.test gcks.test "$RESPONDER_IP"
  issue good "$PKI/ks-expired.pem" "$PKI/ks-rsa2048.key" gcks.test gcks.test "$RESPONDER_IP" \
    digitalSignature 20200101000000Z 20210101000000Z
  issue good "$PKI/ks-no-ds.pem" "$PKI/ks-rsa2048.key" gcks.test gcks.test "$RESPONDER_IP" keyEncipherment
  issue good "$PKI/ks-revoked.pem" "$PKI/ks-rsa2048.key" gcks.test gcks.test "$RESPONDER_IP"
  openssl ca -batch -config "$PKI/good/ca.cnf" -revoke "$PKI/ks-revoked.pem" >/dev/null 2>&1
  openssl ca -batch -config "$PKI/good/ca.cnf" -gencrl -out "$PKI/good.crl" >/dev/null 2>&1
  if ! [ -s "$PKI/good.crl" ] || ! [ -s "$PKI/ks-expired.pem" ] || ! [ -s "$PKI/ks-no-ds.pem" ] ||
    ! [ -s "$PKI/gm-sub.pem" ] || ! [ -s "$PKI/ks-sub.pem" ]; then
    echo "openssl could not make the test PKI" >&2
    return 1
  fi
}

# ---- charon with certificates

# charon_certs MODE TYPE CERT [LOCAL_ID [CA_FILE...]] — charon answers with CERT (its key
# ks-TYPE.key) and trusts the CA files (default: both root CAs, so that it accepts our
# certificate in every case).
charon_certs() {
  local mode=$1 type=$2 cert=$3 lid=${4:-}
  shift 3
  [ $# -gt 0 ] && shift
  [ $# -gt 0 ] || set -- "$PKI/good/ca.pem" "$PKI/other/ca.pem"
  charon_pubkey_load "$RDIR" "$mode" "$RESPONDER_IP" "$INITIATOR_IP" "$PROPOSAL" "$cert" "$PKI/ks-$type.key" "$type" \
    "$lid" "$@"
}

# run_initiator CASEDIR MODE TIMEOUT ARGS... — sets RC and ELAPSED_MS.
run_initiator() {
  local casedir=$1 mode=$2 tmo=$3 t0
  shift 3
  mkdir -p "$casedir"
  t0=$(now_ms)
  RC=0
  timeout -k 2 $((tmo + SLACK + 5)) ip netns exec "$NS_I" "$INITIATOR" \
    --local "$INITIATOR_IP" --server "$RESPONDER_IP" --server-port 500 --local-port 848 \
    --mode "$mode" --proposal "$PROPOSAL" --timeout "$tmo" --ca "$PKI/good/ca.pem" "$@" \
    >"$casedir/stdout" 2>"$casedir/stderr" </dev/null || RC=$?
  ELAPSED_MS=$(($(now_ms) - t0))
}

show_failure() {
  echo "---- initiator stderr ----"; tail -n 20 "$1/stderr" 2>/dev/null || true
  echo "---- charon log for this attempt ----"; charon_log_since_mark "$RDIR" | tail -n 30
  echo "----"
}

# case_ok MODE TYPE IDTYPE — IDTYPE dn | fqdn | address, for both ends. EXTRA: more initiator
# arguments; GM_CERT / KS_CERT: our / charon's certificate file instead of gm-TYPE.pem /
# ks-TYPE.pem; KS_CAS: charon's CA files instead of both roots.
case_ok() {
  local mode=$1 type=$2 idtype=$3 lid="" why=""
  CASE_N=$((${CASE_N:-0} + 1))
  local casedir="$WORK/cases/$CASE_N-$mode-$type-$idtype"
  case "$idtype" in
    fqdn) lid=gcks.test ;;
    address) lid=$RESPONDER_IP ;;
  esac
  charon_certs "$mode" "$type" "${KS_CERT:-$PKI/ks-$type.pem}" "$lid" "${KS_CAS[@]}"
  run_initiator "$casedir" "$mode" "$OK_TIMEOUT" --auth auto --cert "${GM_CERT:-$PKI/gm-$type.pem}" \
    --key "$PKI/gm-$type.key" --id-type "$idtype" "${EXTRA[@]}"
  [ "$RC" -ne 0 ] && why="initiator exit $RC"
  local grace=2
  [ "$RC" -ne 0 ] && grace=0.3
  charon_wait_established "$RDIR" "$grace" || why="${why:+$why, }charon did not log an established IKE_SA"
  report_case "${why:+$why (${ELAPSED_MS} ms)}" "$casedir" \
    "$mode $type id=$idtype${EXTRA[*]:+ ${EXTRA[*]}}${GM_CERT:+ cert $(basename "$GM_CERT")}${KS_CERT:+ charon $(basename "$KS_CERT")} (${ELAPSED_MS} ms): $(grep -m1 -o 'IKE SA established.*' "$casedir/stderr")" \
    "$mode $type id=$idtype${EXTRA[*]:+ ${EXTRA[*]}}${GM_CERT:+ cert $(basename "$GM_CERT")}${KS_CERT:+ charon $(basename "$KS_CERT")}"
}

# case_bad NAME MODE KS_CERT EXPECT ARGS... — charon presents KS_CERT (RSA-2048 key); the
# initiator must exit non-zero within BAD_TIMEOUT + SLACK with a stderr line matching EXPECT.
case_bad() {
  local name=$1 mode=$2 kscert=$3 expect=$4 why=""
  shift 4
  local casedir="$WORK/cases/bad-$mode-$name"
  charon_certs "$mode" rsa2048 "$kscert" gcks.test
  run_initiator "$casedir" "$mode" "$BAD_TIMEOUT" --auth rsa --cert "$PKI/gm-rsa2048.pem" --id-type fqdn "$@"
  [ "$RC" -eq 0 ] && why="initiator exited 0"
  [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ] && why="${why:+$why, }initiator killed by the outer timeout"
  [ "$ELAPSED_MS" -gt $(((BAD_TIMEOUT + SLACK) * 1000)) ] && why="${why:+$why, }took ${ELAPSED_MS} ms"
  grep -qE "$expect" "$casedir/stderr" || why="${why:+$why, }no stderr line matches /$expect/"
  report_case "$why" "$casedir" \
    "$mode $name (exit $RC, ${ELAPSED_MS} ms): $(grep -m1 -E "$expect" "$casedir/stderr" | cut -c1-300)" "$mode $name"
}

# case_charon_refuses NAME MODE CHARON_LOG CA_FILE ARGS... — charon (trusting CA_FILE, its
# certificate ks-rsa2048.pem) must refuse our SIG_I, logging a line matching CHARON_LOG, and
# establish nothing; ARGS are our certificate and key. In Main Mode the initiator must fail too
# (charon's notification or no message 6) with the certificate hint; in Aggressive Mode
# message 3 is the last one, so the initiator cannot know and only charon's side is checked.
case_charon_refuses() {
  local name=$1 mode=$2 pattern=$3 ca=$4 why=""
  shift 4
  local casedir="$WORK/cases/bad-$mode-$name"
  charon_certs "$mode" rsa2048 "$PKI/ks-rsa2048.pem" gcks.test "$ca"
  run_initiator "$casedir" "$mode" "$BAD_TIMEOUT" --auth rsa --id-type fqdn "$@"
  if [ "$mode" = main ]; then
    [ "$RC" -eq 0 ] && why="initiator exited 0"
    grep -q "did not accept our certificate or signature" "$casedir/stderr" ||
      why="${why:+$why, }no stderr line names our certificate/signature"
  fi
  sleep 0.5
  charon_log_since_mark "$RDIR" | grep -qE "$pattern" || why="${why:+$why, }charon logged no line matching /$pattern/"
  charon_established_since_mark "$RDIR" && why="${why:+$why, }charon established an SA"
  report_case "$why" "$casedir" \
    "$mode $name (exit $RC, ${ELAPSED_MS} ms): charon: $(charon_log_since_mark "$RDIR" | grep -m1 -oE "($pattern).*")" \
    "$mode $name"
}

# case_wrong_key MODE — our SIG_I made with a key that is not our certificate's: charon's
# signature check fails.
case_wrong_key() {
  case_charon_refuses wrong-private-key "$1" "signature validation failed|no trusted RSA public key" \
    "$PKI/good/ca.pem" --cert "$PKI/gm-rsa2048.pem" --key "$PKI/wrong.key" --unchecked-key
}

# case_chain_missing MODE — our certificate is from the intermediate CA, but our file holds it
# alone and charon trusts only the root: charon cannot build the chain.
case_chain_missing() {
  case_charon_refuses chain-missing "$1" "no issuer certificate found|no trusted RSA public key" \
    "$PKI/good/ca.pem" --cert "$PKI/gm-sub.pem" --key "$PKI/gm-rsa2048.key"
}

# charon_logged NAME TEXT — the charon log of the last case holds TEXT.
charon_logged() {
  if charon_log_since_mark "$RDIR" | grep -qF -- "$2"; then pass "$1"; else fail "$1: '$2' not in charon's log"; fi
}

main() {
  [ $# -eq 1 ] || { echo "usage: $0 INITIATOR_BIN" >&2; exit 2; }
  INITIATOR=$(readlink -f "$1")
  [ -x "$INITIATOR" ] || { echo "initiator '$1' is not executable" >&2; exit 2; }
  netns_require_root
  command -v openssl >/dev/null || { echo "SKIP: openssl not installed" >&2; exit 77; }
  local t_start mode t id
  t_start=$(now_ms)
  WORK=$(mktemp -d /tmp/phase1-certs.XXXXXX)
  RDIR=$WORK/responder
  cleanup_add "work_cleanup"
  mkdir -p "$RDIR" "$WORK/cases"
  KEY_TYPES=(rsa2048 rsa3072 p256 p384 p521)
  [ "${P1_CERT_QUICK:-0}" = 1 ] && KEY_TYPES=(rsa2048)
  make_pki
  echo "PKI made ($(($(now_ms) - t_start)) ms)"

  netns_pair_create "$NS_I" "$NS_R" "$IF_I" "$IF_R" "$INITIATOR_IP/24" "$RESPONDER_IP/24"
  # With certificates a message outgrows the MTU: capture the IP fragments too (only the first
  # has a UDP header), so that tshark reassembles and decodes the whole message.
  capture_start "$NS_I" "$IF_I" "udp port 500 or udp port 848 or (ip[6:2] & 0x3fff != 0)" "$WORK/phase1.pcapng"
  charon_start "$NS_R" "$RDIR" "$RESPONDER_IP" "$INITIATOR_IP" unused-psk main "$PROPOSAL"

  EXTRA=()
  GM_CERT=""
  KS_CERT=""
  KS_CAS=()
  for mode in main aggressive; do
    for t in "${KEY_TYPES[@]}"; do
      for id in dn fqdn address; do
        case_ok "$mode" "$t" "$id"
      done
    done
  done
  # A CRL that does not list charon's certificate, and a pin that holds.
  EXTRA=(--crl "$PKI/good.crl" --peer-id fqdn:gcks.test)
  case_ok main rsa2048 fqdn
  # A subject DN pin in both orders; charon identifies by ID_FQDN: the pin names its certificate.
  EXTRA=(--peer-id "dn:CN=gcks.test, O=gdoi-test")
  case_ok main rsa2048 fqdn
  EXTRA=(--peer-id "dn:O = gdoi-test, CN = gcks.test")
  case_ok aggressive rsa2048 fqdn
  EXTRA=(--peer-id "dn:O = gdoi-test, CN = gcks.test")
  case_ok main rsa2048 dn
  # Our CA as a directory (two files and a hash link).
  EXTRA=(--ca "$PKI/cadir")
  case_ok main rsa2048 fqdn
  # Our certificate from the intermediate CA, the file holding leaf + intermediate; charon
  # trusts only the root, so it needs our second CERT payload.
  EXTRA=()
  KS_CAS=("$PKI/good/ca.pem")
  GM_CERT=$PKI/gm-sub-chain.pem
  for mode in main aggressive; do
    case_ok "$mode" rsa2048 fqdn
    charon_logged "$mode: charon took our intermediate CA from the second CERT payload" 'received issuer cert "O=gdoi-test, CN=gdoi test sub CA"'
  done
  GM_CERT=""
  # charon's certificate from the intermediate CA, which charon holds (x509ca/) and sends after
  # its own (isakmp_cert_post.c build_certs: AUTH_RULE_IM_CERT); we trust only the root.
  KS_CAS=("$PKI/good/ca.pem" "$PKI/sub/ca.pem")
  KS_CERT=$PKI/ks-sub.pem
  for mode in main aggressive; do
    case_ok "$mode" rsa2048 fqdn
    charon_logged "$mode: charon sent its intermediate CA" 'sending issuer cert "O=gdoi-test, CN=gdoi test sub CA"'
  done
  KS_CERT=""
  KS_CAS=()

  for mode in main aggressive; do
    case_bad unknown-ca "$mode" "$PKI/ks-unknown-ca.pem" "not issued by a CA of our CA file" --key "$PKI/gm-rsa2048.key"
  done
  case_bad expired main "$PKI/ks-expired.pem" "expired on" --key "$PKI/gm-rsa2048.key"
  case_bad revoked main "$PKI/ks-revoked.pem" "is revoked" --key "$PKI/gm-rsa2048.key" --crl "$PKI/good.crl"
  case_bad no-digital-signature main "$PKI/ks-no-ds.pem" "without digitalSignature" --key "$PKI/gm-rsa2048.key"
  for mode in main aggressive; do
    case_bad identity-mismatch "$mode" "$PKI/ks-rsa2048.pem" "identifies as ID_FQDN gcks.test.*but we expect ID_FQDN other.test" \
      --key "$PKI/gm-rsa2048.key" --peer-id fqdn:other.test
  done
  case_bad dn-mismatch main "$PKI/ks-rsa2048.pem" "but we expect ID_DER_ASN1_DN 'O=gdoi-test,CN=other.test'" \
    --key "$PKI/gm-rsa2048.key" --peer-id "dn:CN=other.test, O=gdoi-test"
  case_wrong_key main
  case_wrong_key aggressive
  case_chain_missing main
  case_chain_missing aggressive

  capture_stop
  # shellcheck disable=SC2054  # tshark's "-d udp.port==848,isakmp" has a comma by design
  if capture_decode_check "$WORK/phase1.pcapng" "$WORK/phase1.decoded.txt" "$IF_I" -d udp.port==848,isakmp; then
    pass "capture: $CAPTURE_PACKETS packets, none malformed"
    # The cleartext messages show our CERTREQ (main mode message 3, aggressive message 1)
    # and charon's CERT and SIG in aggressive message 2 (reassembled from its fragments).
    local p
    for p in "Certificate Request (7)" "Certificate (6)" "Signature (9)"; do
      if grep -qF "Payload: $p" "$WORK/phase1.decoded.txt"; then
        pass "capture: $p payloads decoded"
      else
        fail "capture: no $p payload decoded"
      fi
    done
  fi

  report_summary "phase1 certificates" "$t_start"
}

main "$@"
