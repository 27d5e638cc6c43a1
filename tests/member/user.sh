#!/usr/bin/env bash
# --user (privileges): gdoi-memberd started as root with `--user nobody` and its
# control socket in a directory that does not exist yet. The daemon runs as nobody with
# only CAP_NET_ADMIN and CAP_NET_BIND_SERVICE, the runtime directory it created belongs to
# nobody (so the restart-adoption state can be written there after the switch), and the
# group registers and is shown by gdoictl as usual.
#
#   user.sh KEYSERVER_BIN MEMBERD_BIN GDOICTL_BIN
set -euo pipefail
# shellcheck source=tests/member/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
member_test_init member_user "$@"

GROUP=GROUP_ID-4242
ks_start ks --group 4242 --tek cbc256-sha256:0x11111111
# A runtime directory nobody can reach (the work dir is root's, 0700 or not): made fresh.
RUN=$(mktemp -d /run/gdoi-user-test.XXXXXX)
chmod 755 "$RUN"
cleanup_add "rm -rf $RUN"
member_config "$WORK/member.toml" "$(group_toml "$GROUP" 4242 '["10.248.0.2"]')"
sed -i "s|^control-socket = .*|control-socket = \"$RUN/gm/control.sock\"|" "$WORK/member.toml"
ip netns exec "$NS_M" "$MEMBERD" -c "$WORK/member.toml" --no-dataplane --user nobody \
  >"$WORK/member.out" 2>"$WORK/member.err" </dev/null &
MEMBER_PID=$!
cleanup_add "kill -TERM $MEMBER_PID 2>/dev/null"
uctl() { "$GDOICTL" -s "$RUN/gm/control.sock" "$@"; }
registered() { [ "$(uctl show --json | jq -r '.groups[0].state')" = registered ]; }
if wait_for 20 registered; then pass "registered as --user nobody"; else fail "not registered: $(tail -3 "$WORK/member.err")"; fi
check "daemon's user" "$(id -u nobody)" "$(awk '/^Uid:/ {print $3}' "/proc/$MEMBER_PID/status")"
check "daemon's effective capabilities" 0000000000001400 "$(awk '/^CapEff/ {print $2}' "/proc/$MEMBER_PID/status")"
check "runtime directory handed to nobody" "nobody 750" "$(stat -c '%U %a' "$RUN/gm")"
check "gdoictl shows the TEK" 0x11111111 "$(uctl show tek --json | jq -r '.groups[0].teks[0].spi')"
finish
