#!/usr/bin/env bash
# The certificates of a running member (issue 17): what gdoictl show servers says about them,
# the warning about our own certificate's expiry, and new CRL contents picked up by SIGHUP
# without restarting the group. PKI made at run time (tests/integration/lib/pki.sh).
#  1 our certificate expires in 10 days: the log warns at start (file, subject, days, what to
#    do); gdoictl shows it (JSON .certificate[0], the text's WARNING line).
#    The metric gdoi_member_certificate_remaining_seconds{owner="member"} counts the same.
#  2 the key server's authenticated identity (ID_FQDN gcks.test) and its certificate's subject
#    and notAfter (equal to what openssl reads from the file) in JSON, text and the metric.
#  3 SIGHUP with unchanged files: nothing reloaded. A CRL listing nothing at start; then the key
#    server's certificate is revoked and the CRL rewritten at the same path, SIGHUP: the group is
#    not restarted (no fail-closed start-over, keys kept), the log says the CA/CRL files changed
#    and that the key server in use is no longer trusted, the group registers again and is
#    refused as revoked; gdoictl shows the reason and no identity for it any more.
#    Its pushes under the KEK it gave are refused (untrusted-server) while the keys stay.
#  4 a second key server whose certificate expires in 20 days: after the registration with it the
#    log warns (whose, subject, days, what follows), and gdoictl shows the warning.
#  5 our certificate renewed at the same path, SIGHUP: no restart of the group; it registers again
#    with the new certificate (the key server authenticates it), gdoictl shows its notAfter.
#
#   cert_ops.sh KEYSERVER_BIN MEMBERD_BIN GDOICTL_BIN
set -euo pipefail
# shellcheck source=tests/member/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib/pki.sh
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib/pki.sh"
member_test_init member_cert_ops "$@"
member_pki_init member_cert_ops

GROUP=CERT-OPS
# Our certificate: valid since yesterday, for 10 days less an hour; the key server's for a year.
since=$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)
issue good "$PKI/gm.pem" "$PKI/gm.key" gm1.test gm1.test "$MEMBER_IP" digitalSignature \
  "$since" "$(date -u -d '+10 days -1 hour' +%Y%m%d%H%M%SZ)"
issue good "$PKI/ks.pem" "$PKI/ks.key" gcks.test gcks.test "$KS_IP" digitalSignature \
  "$since" "$(date -u -d '+365 days' +%Y%m%d%H%M%SZ)"
new_key "$PKI/ks2.key" p256
issue good "$PKI/ks2.pem" "$PKI/ks2.key" gcks2.test gcks2.test "$KS2_IP" digitalSignature \
  "$since" "$(date -u -d '+20 days -1 hour' +%Y%m%d%H%M%SZ)"
chmod 600 "$PKI/gm.key" "$PKI/ks.key" "$PKI/ks2.key"
openssl ca -batch -config "$PKI/good/ca.cnf" -gencrl -out "$PKI/ca.crl" >/dev/null 2>&1
if ! [ -s "$PKI/gm.pem" ] || ! [ -s "$PKI/ks.pem" ] || ! [ -s "$PKI/ca.crl" ]; then
  echo "member_cert_ops: openssl could not make the PKI" >&2
  exit 1
fi

# cert_ops_group SERVER — the group, against SERVER.
cert_ops_group() {
  printf '[[group]]\nname = "%s"\nid = 4200\nservers = ["%s"]\n' "$GROUP" "$1"
  printf 'ike.certificate = "%s"\nike.private-key = "%s"\nike.ca = "%s"\nike.crl = ["%s"]\n' \
    "$PKI/gm.pem" "$PKI/gm.key" "$PKI/good/ca.pem" "$PKI/ca.crl"
  printf 'ike.proposals = ["aes256-sha256-modp2048"]\nlan-interfaces = ["lan0"]\n'
}
member_config "$WORK/member.toml" "$(cert_ops_group "$KS_IP")"
ks_start ks --group 4200 --tek cbc256-sha256:0x42000001 --seq 1 \
  --cert "$PKI/ks.pem" --key "$PKI/ks.key" --ca "$PKI/good/ca.pem" --id-type fqdn
member_start
registered() { group_state_is "$GROUP" registered; }
if wait_for 20 registered; then pass "registered with certificates and a CRL"
else fail "not registered: $(group_json "$GROUP" .detail)"; fi

# ---- 1
check_grep "log: our certificate expires within 30 days" \
  "our certificate 'CN=gm1.test,O=gdoi-test' ($PKI/gm.pem) expires in 9 days" "$WORK/member.err"
check_grep "log: what to do" "renew ike.certificate and reload" "$WORK/member.err"
left=$(group_json "$GROUP" '.certificate[0].seconds_left')
if [ "$left" -gt $((9 * 86400)) ] && [ "$left" -lt $((10 * 86400)) ]; then pass "JSON: our certificate has $left s left"
else fail "JSON: our certificate's seconds_left '$left', want 9..10 days"; fi
check "JSON: our certificate's notAfter" \
  "$(date -u -d "$(openssl x509 -noout -enddate -in "$PKI/gm.pem" | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)" \
  "$(group_json "$GROUP" '.certificate[0].not_after')"
check_grep "JSON: the warning" "expires in 9 days" <(group_json "$GROUP" '.certificate[0].warning')
ctl show servers --group "$GROUP" >"$WORK/servers.txt"
check_grep "text: the warning under the table" "$GROUP: WARNING: our certificate expires in 9 days" "$WORK/servers.txt"

(umask 077 && ctl show stats --format prometheus --output "$WORK/metrics.prom")
m=$(awk -v g="$GROUP" '$1 ~ /^gdoi_member_certificate_remaining_seconds\{/ && index($1, "group=\"" g "\"") && index($1, "owner=\"member\"") {print $2}' "$WORK/metrics.prom")
if [ -n "$m" ] && [ "$m" -gt $((9 * 86400)) ] && [ "$m" -lt $((10 * 86400)) ]; then pass "metric: our certificate's remaining seconds = $m"
else fail "metric gdoi_member_certificate_remaining_seconds{owner=\"member\"}: '$m'"; fi

# ---- 2
check "JSON: the key server's authenticated identity" "ID_FQDN gcks.test" "$(group_json "$GROUP" '.servers[0].identity')"
check "JSON: the key server's certificate" "CN=gcks.test,O=gdoi-test" "$(group_json "$GROUP" '.servers[0].certificate[0].subject')"
ks_end=$(date -u -d "$(openssl x509 -noout -enddate -in "$PKI/ks.pem" | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)
check "JSON: the key server's certificate notAfter" "$ks_end" "$(group_json "$GROUP" '.servers[0].certificate[0].not_after')"
check "JSON: no warning for a key server certificate valid a year" "" "$(group_json "$GROUP" '.servers[0].certificate[0].warning')"
m=$(awk '$1 ~ /^gdoi_member_certificate_remaining_seconds\{/ && index($1, "owner=\"key-server\"") && index($1, "server=\"'"$KS_IP"':848\"") {print $2}' "$WORK/metrics.prom")
if [ -n "$m" ] && [ "$m" -gt $((364 * 86400)) ]; then pass "metric: the key server's certificate's remaining seconds = $m"
else fail "metric gdoi_member_certificate_remaining_seconds{owner=\"key-server\"}: '$m'"; fi
if command -v promtool >/dev/null; then
  if promtool check metrics <"$WORK/metrics.prom" >"$WORK/promtool.out" 2>&1; then pass "promtool check metrics: clean"
  else fail "promtool check metrics: $(cat "$WORK/promtool.out")"; fi
fi
check_grep "text: identity and expiry columns" "ID_FQDN gcks.test  ${ks_end:0:10} (" "$WORK/servers.txt"

# ---- 3
reloads() { grep -c "CA/CRL files changed" "$WORK/member.err" || true; }
kill -HUP "$MEMBER_PID"
wait_for 10 grep -q "configuration reloaded" "$WORK/member.err" || true
check "SIGHUP with unchanged CA/CRL files: nothing reloaded" 0 "$(reloads)"
regs=$(group_json "$GROUP" .counters.registrations)
failures=$(group_json "$GROUP" '.servers[0].failures')
ks_phase1s() { grep -c "authenticated as" "$WORK/$1.err" || true; }
ks_seen=$(ks_phase1s ks)
openssl ca -batch -config "$PKI/good/ca.cnf" -revoke "$PKI/ks.pem" >/dev/null 2>&1
openssl ca -batch -config "$PKI/good/ca.cnf" -gencrl -out "$PKI/ca.crl.new" >/dev/null 2>&1
mv "$PKI/ca.crl.new" "$PKI/ca.crl"
kill -HUP "$MEMBER_PID"
refused() {
  group_json "$GROUP" '.servers[0].last_error' | grep -q "revoked" &&
    [ "$(group_json "$GROUP" '.servers[0].failures')" -gt "$failures" ]
}
if wait_for 30 refused; then pass "new CRL contents at the same path: the key server is refused as revoked"
else fail "after the CRL reload: last_error '$(group_json "$GROUP" '.servers[0].last_error')'"; fi
check "log: the CA/CRL files changed, once" 1 "$(reloads)"
check_grep "log: how many CAs and CRLs" "CA/CRL files changed: 1 CA(s), 1 CRL(s)" "$WORK/member.err"
check_grep "log: the key server in use is no longer trusted" "is no longer trusted under the reloaded CA/CRL files" "$WORK/member.err"
check_grep "log: registering again" "registering again: the key server our keys came from is no longer trusted" "$WORK/member.err"
if [ "$(ks_phase1s ks)" -gt "$ks_seen" ]; then pass "a new phase 1 with the key server ran (and our check refused it)"
else fail "the key server saw no new phase 1 after the CRL reload"; fi
if grep -q "starting over fail-closed" "$WORK/member.err"; then fail "the group was restarted (fail-closed) by the CRL reload"
else pass "the group was not restarted"; fi
check "keys kept while no trusted key server answers" 1 "$(group_json "$GROUP" '.teks | length')"
check "no identity shown for the refused key server" "" "$(group_json "$GROUP" '.servers[0].identity')"
check "no new registration with the revoked key server" "$regs" "$(group_json "$GROUP" .counters.registrations)"
# Its pushes (under the KEK it gave us) are refused from now on.
ks_cmd ks rekey >/dev/null
untrusted_rejected() { [ "$(rejected_count "$GROUP" untrusted-server)" -ge 1 ]; }
if wait_for 10 untrusted_rejected; then
  pass "a push from the revoked key server: refused (untrusted-server)"
else fail "push from the revoked key server: untrusted-server count $(rejected_count "$GROUP" untrusted-server)"; fi
check "no rekey accepted from the revoked key server" 0 "$(group_json "$GROUP" .counters.rekeys_accepted)"

# ---- 4
ks_start ks2 --listen "$KS2_IP" --group 4200 --tek cbc256-sha256:0x42000002 --seq 1 \
  --cert "$PKI/ks2.pem" --key "$PKI/ks2.key" --ca "$PKI/good/ca.pem" --id-type fqdn
member_config "$WORK/member.toml" "$(cert_ops_group "$KS2_IP")"
# The member's key is RSA, the key server's ECDSA: both sides sign with their own key type, so
# the member takes an ECDSA certificate too.
new_key "$PKI/gm2.key" p256
issue good "$PKI/gm2.pem" "$PKI/gm2.key" gm1.test gm1.test "$MEMBER_IP" digitalSignature \
  "$since" "$(date -u -d '+365 days' +%Y%m%d%H%M%SZ)"
chmod 600 "$PKI/gm2.key"
sed -i "s|$PKI/gm.pem|$PKI/gm2.pem|; s|$PKI/gm.key|$PKI/gm2.key|" "$WORK/member.toml"
kill -HUP "$MEMBER_PID"
registered_with_ks2() { registered && [ "$(group_json "$GROUP" '.servers[0].identity')" = "ID_FQDN gcks2.test" ]; }
if wait_for 30 registered_with_ks2; then pass "registered with the second key server (ECDSA P-256)"
else fail "not registered with ks2: $(group_json "$GROUP" .detail)"; fi
check_grep "log: the key server's certificate expires within 30 days" \
  "key server $KS2_IP:848's certificate 'CN=gcks2.test,O=gdoi-test' expires in 19 days" "$WORK/member.err"
check_grep "log: what follows" "the key server's operator must renew it before then" "$WORK/member.err"
check_grep "JSON: the key server certificate's warning" "expires in 19 days" \
  <(group_json "$GROUP" '.servers[0].certificate[0].warning')

# ---- 5
restarts() { grep -c "starting over fail-closed" "$WORK/member.err" || true; }
before_restarts=$(restarts)
regs=$(group_json "$GROUP" .counters.registrations)
ks_seen=$(ks_phase1s ks2)
issue good "$PKI/gm2.renewed.pem" "$PKI/gm2.key" gm1.test gm1.test "$MEMBER_IP" digitalSignature \
  "$since" "$(date -u -d '+400 days' +%Y%m%d%H%M%SZ)"
cp "$PKI/gm2.renewed.pem" "$PKI/gm2.pem"
kill -HUP "$MEMBER_PID"
reregistered() { [ "$(group_json "$GROUP" .counters.registrations)" -gt "$regs" ]; }
if wait_for 30 reregistered; then pass "renewed certificate at the same path, SIGHUP: registered again"
else fail "renewed certificate: registrations $(group_json "$GROUP" .counters.registrations), before $regs"; fi
check "the group was not restarted by the renewal" "$before_restarts" "$(restarts)"
check_grep "log: our certificate file changed" "our certificate file changed ($PKI/gm2.pem)" "$WORK/member.err"
check_grep "log: registering again with it" "registering again: our certificate changed" "$WORK/member.err"
if [ "$(ks_phase1s ks2)" -gt "$ks_seen" ]; then pass "the key server authenticated the member again"
else fail "the key server saw no new phase 1 after the renewal"; fi
check "JSON: the renewed certificate's notAfter" \
  "$(date -u -d "$(openssl x509 -noout -enddate -in "$PKI/gm2.renewed.pem" | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)" \
  "$(group_json "$GROUP" '.certificate[0].not_after')"
finish
