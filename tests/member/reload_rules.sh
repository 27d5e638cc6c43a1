#!/usr/bin/env bash
# SIGHUP with rules changed in place: the member runs with its kernel
# dataplane (nft table gdoi_member; the group is not keyed, so its fail-open rules are live).
# An exclude rule's port and a fail-open rule's prefix change, the rule counts do not; after
# SIGHUP the nft table holds the new port and prefix and none of the old ones.
#
#   reload_rules.sh KEYSERVER_BIN MEMBERD_BIN GDOICTL_BIN
set -euo pipefail
# shellcheck source=tests/member/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
member_test_init member_reload_rules "$@"
member_dataplane_init
ip -n "$NS_M" route add default via "$KS_IP"

G=GROUP_ID-4242
rules() {  # EXCLUDE_PORT FAIL_OPEN_SOURCE
  group_toml "$G" 4242 "[\"$NOBODY_IP\"]" "exclude = [ { protocol = \"tcp\", destination-port = $1 } ]
fail-open = [ { source = \"$2\", destination = \"10.2.0.0/16\" } ]"
}
table() { ip netns exec "$NS_M" nft list table inet gdoi_member; }
# The whole listing first: grep -q on a pipe would SIGPIPE nft (a failure under pipefail).
has_rules() {
  local t
  t=$(table) && grep -q "dport $1" <<<"$t" && grep -q "$2" <<<"$t"
}

member_config "$WORK/member.toml" "$(rules 179 10.1.0.0/16)"
MEMBER_DATAPLANE=1 member_start
if wait_for 10 has_rules 179 10.1.0.0/16; then pass "start: exclude port 179 and fail-open 10.1.0.0/16 in the table"
else fail "start: rules not in the table: $(table 2>&1 | grep -E 'dport|10\.[12]\.' || true)"; fi

member_config "$WORK/member.toml" "$(rules 1179 10.7.0.0/16)"
kill -HUP "$MEMBER_PID"
if wait_for 10 has_rules 1179 10.7.0.0/16; then pass "SIGHUP: exclude port 1179 and fail-open 10.7.0.0/16 in the table"
else fail "SIGHUP: new rules not in the table: $(table 2>&1 | grep -E 'dport|10\.[127]\.' || true)"; fi
listing=$(table)
if grep -qw "dport 179" <<<"$listing"; then fail "SIGHUP: the old exclude port 179 is still in the table"
else pass "SIGHUP: the old exclude port 179 is gone"; fi
if grep -q "10.1.0.0/16" <<<"$listing"; then fail "SIGHUP: the old fail-open prefix 10.1.0.0/16 is still in the table"
else pass "SIGHUP: the old fail-open prefix is gone"; fi
check_grep "the group restarted under its new configuration" "changed in the configuration" "$WORK/member.err"

# Files that hung or crashed the daemon are refused; the running rules stay.
good="$WORK/member.toml.good"
cp -p "$WORK/member.toml" "$good"
deep="k$(printf '.k%.0s' $(seq 40000)) = 1"
printf '%s\n' "$deep" >>"$WORK/member.toml"
if timeout 20 "$MEMBERD" --check -c "$WORK/member.toml" >"$WORK/check.out" 2>&1; then fail "--check accepted a 40,000-part key"
else check_grep "--check: a 40,000-part key refused with file:line" "$WORK/member.toml:$(wc -l <"$WORK/member.toml"):" "$WORK/check.out"; fi
kill -HUP "$MEMBER_PID"
if wait_for 10 grep -q "dotted parts.* — keeping the running configuration" "$WORK/member.err"; then pass "SIGHUP: the 40,000-part key refused"
else fail "SIGHUP: no refusal logged: $(tail -3 "$WORK/member.err")"; fi
rm -f "$WORK/member.toml"
mkfifo -m 600 "$WORK/member.toml"
if timeout 10 "$MEMBERD" --check -c "$WORK/member.toml" >"$WORK/check.out" 2>&1; then fail "--check accepted a FIFO"
else check_grep "--check: a FIFO refused at once" "is not a regular file (a FIFO" "$WORK/check.out"; fi
kill -HUP "$MEMBER_PID"
if wait_for 10 grep -q "not a regular file (a FIFO.* — keeping the running configuration" "$WORK/member.err"; then pass "SIGHUP: the FIFO refused"
else fail "SIGHUP: FIFO not refused: $(tail -3 "$WORK/member.err")"; fi
if kill -0 "$MEMBER_PID" 2>/dev/null; then pass "daemon still running"; else fail "daemon exited"; fi
rm -f "$WORK/member.toml"
cp -p "$good" "$WORK/member.toml"
if ctl show groups >/dev/null; then pass "gdoictl still answered"; else fail "gdoictl got no answer"; fi
if has_rules 1179 10.7.0.0/16; then pass "the running rules stayed"; else fail "the rules changed"; fi
finish
