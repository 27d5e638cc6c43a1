#!/usr/bin/env bash
# gdoictl monitor: the daemon's event stream. Two monitors follow the member before the group
# exists (--json --group GROUP, and the text form of every group); SIGHUP adds the group, it
# registers (SEQ 1), one rekey is accepted (SEQ 2) and one forged push rejected. The JSON
# lines must parse with jq and say, in this order: registration-started, registration-done
# (SEQ 1), rekey-accepted (SEQ 2, the key server's new SPIs), rekey-rejected (bad-signature),
# with RFC 3339 UTC millisecond times and no other group. One-shot requests keep working
# meanwhile. SIGINT ends a monitor with 0; the daemon's exit ends one with 1 and a message.
#
#   monitor.sh KEYSERVER_BIN MEMBERD_BIN GDOICTL_BIN
set -euo pipefail
# shellcheck source=tests/member/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
member_test_init member_monitor "$@"

GROUP=GROUP_ID-4243
OTHER=OTHER_GROUP
ks_start ks --group 4243 --tek cbc256-sha256:0x11111111 --selector 10.0.0.0/8 --kek-sig rsa
# OTHER's key server never answers: its events must not reach the --group monitor.
other=$(group_toml "$OTHER" 4244 "[\"$NOBODY_IP\"]")
member_config "$WORK/member.toml" "$other"
member_start

# The monitors, before the group exists (gdoictl itself in the background: the signals go to it).
"$GDOICTL" -s "$WORK/member.sock" monitor --json --group "$GROUP" >"$WORK/mon.json" 2>"$WORK/mon.json.err" &
MON_JSON=$!
cleanup_add "kill -TERM $MON_JSON 2>/dev/null"
"$GDOICTL" -s "$WORK/member.sock" monitor >"$WORK/mon.txt" 2>"$WORK/mon.txt.err" &
MON_TXT=$!
cleanup_add "kill -TERM $MON_TXT 2>/dev/null"
monitors_follow() { [ "$(grep -c 'monitor: a client follows' "$WORK/member.err")" -ge 2 ]; }
if wait_for 10 monitors_follow; then pass "two monitors subscribed"; else fail "monitors not subscribed: $(cat "$WORK/mon.json.err" "$WORK/mon.txt.err")"; fi
check_grep "daemon log: the --group monitor names its group" "follows the events of group $GROUP (not configured now)" "$WORK/member.err"

member_config "$WORK/member.toml" "$other" "$(group_toml "$GROUP" 4243 "[\"$KS_IP\"]")"
kill -HUP "$MEMBER_PID"
if wait_for 20 group_state_is "$GROUP" registered; then pass "registered after SIGHUP"; else fail "not registered"; fi

# has_event EVENT [JQ_CONDITION] — a line of that event (and condition) in the JSON stream.
has_event() { jq -e --arg e "$1" "select(.event == \$e and (${2:-true}))" "$WORK/mon.json" >/dev/null 2>&1; }
if wait_for 10 has_event registration-done '.seq == 1'; then pass "registration-done SEQ 1 streamed"; else fail "no registration-done SEQ 1 line: $(cat "$WORK/mon.json")"; fi

answer=$(ks_cmd ks rekey)
# "rekey seq N teks 0x... deleted 0x..."
want_added=$(sed -n 's/^rekey seq [0-9]* teks \(.*\) deleted .*/\1/p' <<<"$answer")
if wait_for 10 has_event rekey-accepted '.seq == 2'; then pass "rekey-accepted SEQ 2 streamed"; else fail "no rekey-accepted SEQ 2 line: $(tail -3 "$WORK/mon.json")"; fi
ks_cmd ks rekey-forged >/dev/null
if wait_for 10 has_event rekey-rejected; then pass "rekey-rejected streamed"; else fail "no rekey-rejected line: $(tail -3 "$WORK/mon.json")"; fi
check "one-shot show while monitors stream: SEQ" 2 "$(group_json "$GROUP" .sequence)"

# Every line is one JSON object with time, group and event.
lines=$(wc -l <"$WORK/mon.json")
parsed=0
while IFS= read -r line; do
  if jq -e 'type == "object" and (.time | type == "string") and (.group | type == "string") and (.event | type == "string")' <<<"$line" >/dev/null 2>&1; then
    parsed=$((parsed + 1))
  else
    fail "unparseable or incomplete line: $line"
  fi
done <"$WORK/mon.json"
if [ "$lines" -ge 4 ] && [ "$parsed" = "$lines" ]; then pass "$parsed/$lines lines parse with jq"; else fail "$parsed of $lines lines parse"; fi
check "times: RFC 3339 UTC with milliseconds" 0 "$(jq -r '.time' "$WORK/mon.json" | grep -cvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$' || true)"
check "only the monitored group" "$GROUP" "$(jq -r '.group' "$WORK/mon.json" | sort -u | tr '\n' ' ' | sed 's/ $//')"
check "no key material (no field named like a key)" 0 "$(jq -r 'keys[]' "$WORK/mon.json" | grep -ciE 'key|secret|psk' || true)"

# The order: registration started, done (SEQ 1), rekey accepted (SEQ 2), rekey rejected.
order=$(jq -r 'select(.event | test("^(registration|rekey)-")) | [.event, (.seq // "-"), (.reason // "-"), (.server // "-")] | join(" ")' "$WORK/mon.json" | tr '\n' ';')
check "event order" "registration-started - - $KS_IP:848;registration-done 1 - $KS_IP:848;rekey-accepted 2 - $KS_IP:848;rekey-rejected - bad-signature -;" "$order"
check "registration-done: TEK count" 1 "$(jq -r 'select(.event == "registration-done") | .teks' "$WORK/mon.json")"
check "rekey-accepted: SPIs added = the key server's new TEKs" "$want_added" "$(jq -r 'select(.event == "rekey-accepted") | .spis_added | join(" ")' "$WORK/mon.json")"
check "rekey-accepted: SPI removed" "0x11111111" "$(jq -r 'select(.event == "rekey-accepted") | .spis_removed | join(" ")' "$WORK/mon.json")"
check "rekey-rejected: the reason as show stats names it" 1 "$(rejected_count "$GROUP" bad-signature)"

# The text monitor: readable lines, every group.
has_text() { grep -qF -- "$1" "$WORK/mon.txt"; }
if wait_for 5 has_text "$GROUP: rekey rejected (bad-signature)"; then pass "text: rekey rejected line"; else fail "text: no rekey rejected line: $(cat "$WORK/mon.txt")"; fi
check_grep "text: registered line" "$GROUP: registered with $KS_IP:848, SEQ 1, 1 TEK(s)" "$WORK/mon.txt"
check_grep "text: rekey accepted line" "$GROUP: rekey accepted from $KS_IP:848, SEQ 2, TEKs +" "$WORK/mon.txt"

# SIGINT: exit 0. The daemon stops: the other monitor exits 1 and says why.
kill -INT "$MON_JSON"
rc=0
wait "$MON_JSON" || rc=$?
check "monitor exit status on SIGINT" 0 "$rc"
kill -TERM "$MEMBER_PID"
rc=0
wait "$MON_TXT" || rc=$?
check "monitor exit status when the daemon stops" 1 "$rc"
check_grep "monitor says the daemon closed the stream" "closed the monitor stream" "$WORK/mon.txt.err"
finish
