#!/usr/bin/env bash
# SIGHUP: a second group (on a second key server) is added to the configuration
# and the daemon reloaded: both groups registered, the first one untouched. The second
# group is removed and the daemon reloaded: the first group still untouched (same SEQ,
# same TEK SPIs, no re-registration counted) and still following rekeys. Every log line about
# a group ends with its key=value fields (group=NAME group_id=N).
#
#   sighup.sh KEYSERVER_BIN MEMBERD_BIN GDOICTL_BIN
set -euo pipefail
# shellcheck source=tests/member/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
member_test_init member_sighup "$@"

G1=GROUP_ID-4242
G2=GROUP_ID-4343
ks_start ks1 --group 4242 --tek cbc256-sha256:0x11111111 --seq 5
ks_start ks2 --listen "$KS2_IP" --group 4343 --tek gcm128:0x33333333 --seq 20
g1=$(group_toml "$G1" 4242 "[\"$KS_IP\"]")
g2=$(group_toml "$G2" 4343 "[\"$KS2_IP\"]")
member_config "$WORK/member.toml" "$g1"
member_start
if wait_for 20 group_state_is "$G1" registered; then pass "$G1 registered"; else fail "$G1 not registered"; fi
ks_cmd ks1 rekey >/dev/null
if wait_for 10 group_seq_is "$G1" 6; then pass "$G1 rekeyed to SEQ 6"; else fail "$G1 SEQ $(group_json "$G1" .sequence)"; fi

snapshot() {  # the parts of G1 a reload must not touch
  ctl show --json --group "$G1" | jq -c '.groups[0] | {id, state, server, sequence,
    kek: [.kek[].spi], teks: [.teks[].spi], registrations: .counters.registrations,
    failures: .counters.registration_failures, accepted: .counters.rekeys_accepted}'
}
before=$(snapshot)
echo "G1 before: $before"

# Add G2, reload.
member_config "$WORK/member.toml" "$g1" "$g2"
kill -HUP "$MEMBER_PID"
if wait_for 20 group_state_is "$G2" registered; then pass "$G2 registered after SIGHUP"; else fail "$G2 not registered: $(ctl show groups 2>&1 | tail -2)"; fi
check "groups after adding" "$G1 $G2" "$(ctl show --json | jq -r '[.groups[].name] | join(" ")')"
check "$G2 SEQ" 20 "$(group_json "$G2" .sequence)"
check "$G2 TEK" 0x33333333 "$(group_json "$G2" '.teks[0].spi')"
check "$G2 server" "$KS2_IP:848" "$(group_json "$G2" .server)"
check "$G1 untouched by adding $G2" "$before" "$(snapshot)"
check_grep "ks2: registered member" "registered member $MEMBER_IP:848 group 4343 seq 20" "$WORK/ks2.out"
check "ks1: one registration only" 1 "$(grep -c 'registered member' "$WORK/ks1.out")"

# Remove G2, reload.
member_config "$WORK/member.toml" "$g1"
kill -HUP "$MEMBER_PID"
gone() { [ "$(ctl show --json | jq -r '.groups | length')" = 1 ]; }
if wait_for 10 gone; then pass "$G2 removed after SIGHUP"; else fail "$G2 still there: $(ctl show --json | jq -r '[.groups[].name] | join(" ")')"; fi
check "remaining group" "$G1" "$(ctl show --json | jq -r '.groups[0].name')"
check "$G1 untouched by removing $G2" "$before" "$(snapshot)"
check "ks1: still one registration" 1 "$(grep -c 'registered member' "$WORK/ks1.out")"
if kill -0 "$MEMBER_PID" 2>/dev/null; then pass "daemon still running"; else fail "daemon exited"; fi
# G1 still follows its key server.
ks_cmd ks1 rekey >/dev/null
if wait_for 10 group_seq_is "$G1" 7; then pass "$G1 rekeyed to SEQ 7 after the reloads"; else fail "$G1 SEQ $(group_json "$G1" .sequence) after a rekey, want 7"; fi
check "$G1 registrations at the end" 1 "$(group_json "$G1" .counters.registrations)"

# Log fields (gdoi/log.h): every line about a group ends with its key=value fields, so that a
# filter on `group=NAME` (journalctl --grep, a log shipper's logfmt parser) finds its whole story
# and nothing of the other group.
LOG="$WORK/member.err"
fields_of() { grep -E "group=$1 group_id=$2( |\$)" "$LOG" || true; }  # fields_of NAME ID
g2_lines=$(fields_of "$G2" 4343)
for story in "group $G2: starting" "phase1 $KS2_IP:848: IKE SA established" "pull $KS2_IP:848 group 4343: registered" \
  "$G2 (4343): registered with $KS2_IP:848" "group $G2: removed from the configuration"; do
  if grep -qF -- "$story" <<<"$g2_lines"; then pass "group=$G2 finds: $story"; else fail "group=$G2 misses: $story"; fi
done
check "group=$G2 finds no line of $G1" 0 "$(grep -cF -- "$G1" <<<"$g2_lines" || true)"
check "group=$G1 finds no line of $G2" 0 "$(fields_of "$G1" 4242 | grep -cF -- "$G2" || true)"
# Lines that name a group in their text (the name, or "group ID" as the exchanges write it)
# without its fields: none.
unfielded=$(grep -E "$G1|$G2|group (4242|4343)" "$LOG" | grep -vE "group=($G1 group_id=4242|$G2 group_id=4343)( |\$)" || true)
check "lines naming a group without its fields" "" "$unfielded"
finish
