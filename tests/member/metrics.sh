#!/usr/bin/env bash
# Metrics for Prometheus: gdoi-memberd --no-dataplane registers with gdoi-test-keyserver,
# accepts one GROUPKEY-PUSH (acknowledged, RFC 8263) and rejects one forged push (bad
# signature); then `gdoictl show stats --format prometheus --output FILE` must write what
# node-exporter's textfile collector reads: a file promtool accepts (`promtool check
# metrics`, the exposition format and its naming lint), mode 0644, no temporary file left,
# and values that match what the test caused and what `gdoictl show --json` says.
# Without a kernel dataplane no SA exists: no per-SA packet/byte series (the unit test
# prometheus_text_test.cpp covers their rendering).
#
#   metrics.sh KEYSERVER_BIN MEMBERD_BIN GDOICTL_BIN
set -euo pipefail
# shellcheck source=tests/member/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v promtool >/dev/null || { echo "member_metrics: needs promtool (Debian package prometheus)" >&2; exit 77; }
member_test_init member_metrics "$@"

GROUP=GROUP_ID-4242
L="group=\"$GROUP\",group_id=\"4242\""
ks_start ks --group 4242 --tek cbc256-sha256:0x11111111 --selector 10.0.0.0/8 --kek-sig rsa --seq 7 --ack
member_config "$WORK/member.toml" "$(group_toml "$GROUP" 4242 "[\"$KS_IP\"]")"
member_start
if wait_for 20 group_state_is "$GROUP" registered; then pass "registered"; else fail "not registered: $(group_json "$GROUP" .detail)"; fi

# One accepted rekey (SEQ 8), then one forged push: rejected as bad-signature.
ks_cmd ks rekey >/dev/null
if wait_for 10 group_seq_is "$GROUP" 8; then pass "rekey accepted (SEQ 8)"; else fail "rekey not accepted: SEQ $(group_json "$GROUP" .sequence)"; fi
acks_is() { [ "$(group_json "$GROUP" .counters.acks_sent)" = "$1" ]; }
if wait_for 10 acks_is 1; then pass "ACK sent for the rekey"; else fail "acks_sent $(group_json "$GROUP" .counters.acks_sent), want 1"; fi
ks_cmd ks rekey-forged >/dev/null
rejected_is() { [ "$(rejected_count "$GROUP" "$1")" = "$2" ]; }
if wait_for 10 rejected_is bad-signature 1; then pass "forged push rejected (bad-signature)"; else fail "bad-signature count $(rejected_count "$GROUP" bad-signature), want 1"; fi

# The textfile collector's directory; the file is written by gdoictl as root under umask 077:
# its mode must still be 0644 (the collector runs as another user).
OUT_DIR=$WORK/node-exporter
mkdir -p "$OUT_DIR"
F=$OUT_DIR/gdoi_member.prom
echo "stale" >"$F"
old_inode=$(stat -c %i "$F")
if (umask 077 && ctl show stats --format prometheus --output "$F" >"$WORK/ctl.out" 2>"$WORK/ctl.err"); then
  pass "gdoictl show stats --format prometheus --output exits 0"
else
  fail "gdoictl --output failed: $(cat "$WORK/ctl.err")"
fi
check "nothing on stdout with --output" "" "$(cat "$WORK/ctl.out")"
check "file mode" 644 "$(stat -c %a "$F")"
check "files in the textfile directory (no temporary file left)" gdoi_member.prom "$(ls -A "$OUT_DIR")"
if [ "$(stat -c %i "$F")" != "$old_inode" ]; then pass "file replaced by rename (new inode)"; else fail "file rewritten in place (same inode)"; fi
if promtool check metrics <"$F" >"$WORK/promtool.out" 2>&1; then
  pass "promtool check metrics accepts the file"
else
  fail "promtool check metrics: $(head -5 "$WORK/promtool.out")"
fi
ctl show stats --format prometheus >"$WORK/stdout.prom"
steady() { grep -v -e '^gdoi_member_uptime_seconds ' -e '^gdoi_member_[a-z]*_remaining_seconds{' "$1"; }
if diff <(steady "$F") <(steady "$WORK/stdout.prom") >"$WORK/stdout.diff"; then
  pass "stdout and --output carry the same metrics (lifetimes and uptime aside)"
else
  fail "stdout and --output differ: $(head -5 "$WORK/stdout.diff")"
fi

# metric NAME{LABELS} — the value of exactly that series ("" when absent); label values may
# hold spaces: the value is the last field.
metric() { awk -v s="$1" '/^[^#]/ {v = $NF; sub(/ [^ ]*$/, ""); if ($0 == s) print v}' "$F"; }
check "one HELP per family" 0 "$(grep '^# HELP ' "$F" | awk '{print $3}' | sort | uniq -d | wc -l)"
check "one TYPE per family" "$(grep -c '^# HELP ' "$F")" "$(grep -c '^# TYPE ' "$F")"
check "build_info" 1 "$(metric "gdoi_member_build_info{version=\"$(ctl show --json | jq -r .version)\"}")"
check "group_state registered" 1 "$(metric "gdoi_member_group_state{$L,state=\"registered\"}")"
check "group_state registering" 0 "$(metric "gdoi_member_group_state{$L,state=\"registering\"}")"
check "registrations_total" 1 "$(metric "gdoi_member_registrations_total{$L}")"
check "registration_failures_total" 0 "$(metric "gdoi_member_registration_failures_total{$L}")"
check "rekeys_accepted_total" 1 "$(metric "gdoi_member_rekeys_accepted_total{$L}")"
check "acks_sent_total" 1 "$(metric "gdoi_member_acks_sent_total{$L}")"
check "rekeys_rejected_total bad-signature" 1 "$(metric "gdoi_member_rekeys_rejected_total{$L,reason=\"bad-signature\"}")"
# Every reason the daemon knows is a series, zero included, with the JSON's counts.
ctl show --json --group "$GROUP" | jq -r '.groups[0].counters.rekeys_rejected_by_reason[] | "\(.reason) \(.count)"' >"$WORK/reasons.txt"
reasons=0
while read -r reason count; do
  reasons=$((reasons + 1))
  check "rekeys_rejected_total $reason" "$count" "$(metric "gdoi_member_rekeys_rejected_total{$L,reason=\"$reason\"}")"
done <"$WORK/reasons.txt"
if [ "$reasons" -ge 2 ]; then pass "$reasons rejection reasons listed"; else fail "only $reasons rejection reasons in the status"; fi
check "rekeys_rejected_total series" "$reasons" "$(grep -c '^gdoi_member_rekeys_rejected_total{' "$F")"
check "recovery_probes_total" 0 "$(metric "gdoi_member_recovery_probes_total{$L}")"
check "sa_soft_expires_total" 0 "$(metric "gdoi_member_sa_soft_expires_total{$L}")"
check "sa_hard_expires_total" 0 "$(metric "gdoi_member_sa_hard_expires_total{$L}")"

# Lifetimes: every TEK of the status has a positive remaining lifetime series.
spis=$(group_json "$GROUP" '.teks | map(.spi) | join(" ")')
if [ -n "$spis" ]; then pass "TEKs after the rekey: $spis"; else fail "no TEK in the status"; fi
for spi in $spis; do
  role=$(ctl show --json --group "$GROUP" | jq -r --arg s "$spi" '.groups[0].teks[] | select(.spi == $s) | .role')
  v=$(metric "gdoi_member_tek_remaining_seconds{$L,spi=\"$spi\",role=\"$role\"}")
  if [ -n "$v" ] && [ "$v" -gt 0 ]; then pass "tek_remaining_seconds $spi ($role) = $v"; else fail "tek_remaining_seconds $spi ($role): '$v'"; fi
done
check "tek_remaining_seconds series" "$(wc -w <<<"$spis")" "$(grep -c '^gdoi_member_tek_remaining_seconds{' "$F")"
v=$(metric "gdoi_member_kek_remaining_seconds{$L}")
if [ -n "$v" ] && [ "$v" -gt 0 ]; then pass "kek_remaining_seconds = $v"; else fail "kek_remaining_seconds: '$v'"; fi
v=$(metric gdoi_member_uptime_seconds)
if [ -n "$v" ]; then pass "uptime_seconds = $v"; else fail "no uptime_seconds"; fi
# --no-dataplane: no kernel SA, so no SA counter series (nor an empty family).
check "SA packet/byte lines without a kernel dataplane" 0 "$(grep -c '^[^#]*gdoi_member_sa_\(packets\|bytes\)_total' "$F" || true)"
check "show tek JSON: no SA counters without a kernel dataplane" 0 "$(group_json "$GROUP" '.teks | map(.sas | length) | add')"

# A failed write leaves the old file and no temporary file; gdoictl exits 1.
if ctl show stats --format prometheus --output "$OUT_DIR/missing/gdoi_member.prom" 2>"$WORK/ctl.err"; then
  fail "--output into a missing directory succeeded"
else
  check_grep "--output into a missing directory: the error names the file" "$OUT_DIR/missing/gdoi_member.prom" "$WORK/ctl.err"
fi
check "files in the textfile directory after the failed write" gdoi_member.prom "$(ls -A "$OUT_DIR")"
finish
