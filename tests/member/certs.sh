#!/usr/bin/env bash
# gdoi-memberd registers with certificates (issue 17): phase 1 with signatures against the test
# key server, the PKI made at run time with openssl (tests/integration/lib/pki.sh).
#  1 RSA certificates, main mode, identity ID_DER_ASN1_DN: registered, a rekey followed; the key
#    server logs the member's authenticated identity; tshark decodes the phase-1 messages (CERT
#    and SIG among them) without a Malformed mark.
#  2 SIGHUP with ike.peer-id = "other.test": the key server's certificate does not name it: the
#    registration fails, gdoictl show servers and the log say which identity was expected.
#  3 SIGHUP with ike.peer-id = "gcks.test" and ike.id-type = "fqdn", aggressive mode: registered.
#  4 SIGHUP with ike.peer-id = "O=gdoi-test, CN=gcks2.test": refused ("check ike.peer-id"); then
#    "O=gdoi-test, CN=gcks.test" (a subject DN, most significant RDN first as `openssl x509
#    -subject` prints it; the key server identifies by ID_FQDN) and the same reversed, as our logs
#    print it: registered.
#  5 SIGHUP with the member's certificate from an intermediate CA, the file holding it alone: the
#    key server (its --ca the root only) cannot build the chain and refuses us; the member gives
#    the certificate hint. Then the file holding certificate + intermediate (sent as a second CERT
#    payload): registered, and the key server logs the intermediate as the issuer.
#  6 SIGHUP with ike.ca a directory (the root in one file, a c_rehash-style link): registered.
#  7 SIGHUP with a CRL that revokes the key server's certificate: refused as revoked.
#  8 a key server at another address holding a certificate of the same CA that does not name
#    that address (the member's own): without a pin, refused (any member could stand in for the
#    key server otherwise).
#
#   certs.sh KEYSERVER_BIN MEMBERD_BIN GDOICTL_BIN
set -euo pipefail
# shellcheck source=tests/member/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib/pki.sh
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib/pki.sh"
member_test_init member_certs "$@"
member_pki_init member_certs

GROUP=CERT-GROUP
issue good "$PKI/gm.pem" "$PKI/gm.key" gm1.test gm1.test "$MEMBER_IP"
issue good "$PKI/ks.pem" "$PKI/ks.key" gcks.test gcks.test "$KS_IP"
ca_init_sub sub "gdoi member test sub CA" good
issue sub "$PKI/gm-sub.pem" "$PKI/gm.key" gm1.test gm1.test "$MEMBER_IP"
cat "$PKI/gm-sub.pem" "$PKI/sub/ca.pem" >"$PKI/gm-sub-chain.pem"
mkdir -p "$PKI/cadir"
chmod 755 "$PKI/cadir"
cp "$PKI/good/ca.pem" "$PKI/cadir/root.pem"
ln -s root.pem "$PKI/cadir/$(openssl x509 -noout -hash -in "$PKI/good/ca.pem").0"
chmod 600 "$PKI/gm.key" "$PKI/ks.key"
if ! [ -s "$PKI/gm.pem" ] || ! [ -s "$PKI/ks.pem" ] || ! [ -s "$PKI/gm-sub.pem" ]; then echo "member_certs: openssl could not make the PKI" >&2; exit 1; fi

# cert_group [EXTRA_TOML...] — the group with certificates instead of the pre-shared key.
cert_group() {
  printf '[[group]]\nname = "%s"\nid = 4100\nservers = ["%s"]\n' "$GROUP" "${SERVER:-$KS_IP}"
  printf 'ike.certificate = "%s"\nike.private-key = "%s"\nike.ca = "%s"\n' "${GM_CERT:-$PKI/gm.pem}" "$PKI/gm.key" \
    "${CA:-$PKI/good/ca.pem}"
  printf 'ike.proposals = ["aes256-sha256-modp2048"]\nike.doi = 1\nlan-interfaces = ["lan0"]\n'
  printf '%s\n' "$@"
}
registered() { group_state_is "$GROUP" registered; }
# reregistered — registered after a phase 1 the key server logged since mark_auths.
mark_auths() { AUTHS=$(grep -c "authenticated as" "$WORK/ks.err" || true); }
reregistered() { [ "$(grep -c "authenticated as" "$WORK/ks.err" || true)" -gt "$AUTHS" ] && registered; }
# failed_with TEXT — the key server's last error in gdoictl show servers holds TEXT.
failed_with() { group_json "$GROUP" '.servers[0].last_error' | grep -qF -- "$1"; }
reload() { # reload TOML... — new configuration, SIGHUP
  member_config "$WORK/member.toml" "$(cert_group "$@")"
  kill -HUP "$MEMBER_PID"
}

ks_start ks --group 4100 --tek cbc256-sha256:0x41000001 --seq 1 \
  --cert "$PKI/ks.pem" --key "$PKI/ks.key" --ca "$PKI/good/ca.pem" --id-type fqdn
capture_start
member_config "$WORK/member.toml" "$(cert_group)"
member_start

# ---- 1
if wait_for 20 registered; then pass "registered with certificates (RSA, main mode, ID_DER_ASN1_DN)"
else fail "not registered: $(group_json "$GROUP" .detail)"; fi
check_grep "key server: the member authenticated by its certificate" "authenticated as ID_DER_ASN1_DN" "$WORK/ks.err"
check_grep "key server: the member's certificate" "subject 'CN=gm1.test,O=gdoi-test'" "$WORK/ks.err"
ks_cmd ks rekey >/dev/null
if wait_for 10 group_seq_is "$GROUP" 2; then pass "rekey followed (SEQ 2)"; else fail "SEQ $(group_json "$GROUP" .sequence), want 2"; fi
capture_stop
tshark -n -r "$WORK/wire.pcapng" -d udp.port==848,isakmp -V >"$WORK/wire.decoded.txt" 2>/dev/null || true
m=$(tshark -n -r "$WORK/wire.pcapng" -d udp.port==848,isakmp -Y '_ws.malformed || _ws.expert.severity == "Error"' \
  -T fields -e frame.number 2>/dev/null | wc -l)
check "wire: Malformed / error frames" 0 "$m"
check_grep "wire: the member asks for certificates (CERTREQ)" "Certificate Request" "$WORK/wire.decoded.txt"

# ---- 2
reload 'ike.peer-id = "other.test"'
if wait_for 30 failed_with "other.test"; then pass "pin other.test: refused, gdoictl show servers names the expected identity"
else fail "pin other.test: last_error '$(group_json "$GROUP" '.servers[0].last_error')'"; fi
check_grep "log: the pin's failure" "other.test" "$WORK/member.err"
if registered; then fail "registered although the key server is not other.test"; else pass "not registered under the wrong pin"; fi

# ---- 3
reload 'ike.peer-id = "gcks.test"' 'ike.id-type = "fqdn"' 'ike.mode = "aggressive"'
if wait_for 30 registered; then pass "pin gcks.test, ID_FQDN, aggressive mode: registered"
else fail "pin gcks.test: not registered: $(group_json "$GROUP" .detail)"; fi

# ---- 4
reload 'ike.peer-id = "O=gdoi-test, CN=gcks2.test"'
if wait_for 30 failed_with "check ike.peer-id"; then pass "DN pin O=gdoi-test, CN=gcks2.test: refused, check ike.peer-id"
else fail "wrong DN pin: last_error '$(group_json "$GROUP" '.servers[0].last_error')'"; fi
for pin in "O=gdoi-test, CN=gcks.test" "CN=gcks.test, O=gdoi-test"; do
  mark_auths
  reload "ike.peer-id = \"$pin\""
  if wait_for 30 reregistered; then pass "pin $pin (subject DN, either order): registered"
  else fail "DN pin $pin: not registered: $(group_json "$GROUP" .detail) / $(group_json "$GROUP" '.servers[0].last_error')"; fi
done

# ---- 5
GM_CERT=$PKI/gm-sub.pem reload
if wait_for 30 failed_with "did not accept our certificate"; then
  pass "certificate from an intermediate CA without it in the file: refused, the certificate hint given"
else fail "no intermediate: last_error '$(group_json "$GROUP" '.servers[0].last_error')'"; fi
if grep -q "check the pre-shared key" "$WORK/member.err"; then fail "the member gave the pre-shared key hint"
else pass "no pre-shared key hint with certificates"; fi
check_grep "key server: the member's chain does not reach its CA" "untrusted member certificate" "$WORK/ks.err"
mark_auths
GM_CERT=$PKI/gm-sub-chain.pem reload
if wait_for 30 reregistered; then pass "certificate + intermediate CA in the file (two CERT payloads): registered"
else fail "chain: not registered: $(group_json "$GROUP" '.servers[0].last_error')"; fi
check_grep "key server: the member's certificate from the intermediate" "issuer 'CN=gdoi member test sub CA" "$WORK/ks.err"

# ---- 6
mark_auths
CA=$PKI/cadir reload
if wait_for 30 reregistered; then pass "ike.ca a directory: registered"
else fail "CA directory: not registered: $(group_json "$GROUP" '.servers[0].last_error')"; fi

# ---- 7
openssl ca -batch -config "$PKI/good/ca.cnf" -revoke "$PKI/ks.pem" >/dev/null 2>&1
openssl ca -batch -config "$PKI/good/ca.cnf" -gencrl -out "$PKI/good.crl" >/dev/null 2>&1
reload "ike.crl = [\"$PKI/good.crl\"]"
if wait_for 30 failed_with "revoked"; then pass "revoked key server certificate (CRL): refused"
else fail "CRL: last_error '$(group_json "$GROUP" '.servers[0].last_error')'"; fi

# ---- 8
ks_start ks2 --listen "$KS2_IP" --group 4100 --tek cbc256-sha256:0x41000002 --seq 1 \
  --cert "$PKI/gm.pem" --key "$PKI/gm.key" --ca "$PKI/good/ca.pem" --id-type fqdn
SERVER=$KS2_IP reload
if wait_for 30 failed_with "does not name the address we reached it at"; then
  pass "a certificate of our CA without the key server's address (a member's): refused without a pin"
else fail "stand-in key server: last_error '$(group_json "$GROUP" '.servers[0].last_error')'"; fi
if registered; then fail "registered with a stand-in key server"; else pass "not registered with the stand-in"; fi
finish
