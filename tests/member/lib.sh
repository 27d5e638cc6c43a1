# shellcheck shell=bash
# shellcheck disable=SC2034  # variables used by the test scripts that source this file
# Shared setup of the daemon integration tests (tests/member/*.sh). Sourced, not run.
#
# Topology (addresses exist only in this run's namespaces):
#   NS_M (gm-PID): gdoi-memberd --no-dataplane, 10.248.0.1/24 on veth-m
#   NS_K (gk-PID): gdoi-test-keyserver(s), 10.248.0.2/24 (and 10.248.0.3/24) on veth-k
# 10.248.0.2/.1 are also the KEK selector addresses gcks::Group::make puts in the SA KEK.
#
# Every test script: `. lib.sh`, `member_test_init NAME KEYSERVER_BIN MEMBERD_BIN GDOICTL_BIN`,
# then ks_start / member_start / checks, then `finish` (prints "NAME: N passed, M failed").
# MT_KEEP=1 keeps the work directory.

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/integration/lib/netns.sh
. "$HERE/../integration/lib/netns.sh"

MEMBER_IP=10.248.0.1
KS_IP=10.248.0.2
KS2_IP=10.248.0.3
NOBODY_IP=10.248.0.9  # on the link, but no host answers there
PASSED=0
FAILED=0
T0=$(date +%s%N)

pass() { PASSED=$((PASSED + 1)); echo "PASS $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }
# check DESC EXPECTED ACTUAL
check() {
  if [ "$2" = "$3" ]; then pass "$1 = $3"; else fail "$1: expected '$2', got '$3'"; fi
}
# check_grep DESC PATTERN FILE — fixed-string match
check_grep() {
  if grep -qF -- "$2" "$3"; then pass "$1"; else fail "$1: '$2' not in $3"; fi
}

finish() {
  local ms=$((($(date +%s%N) - T0) / 1000000))
  echo "$TEST_NAME: $PASSED passed, $FAILED failed ($((ms / 1000)).$((ms % 1000 / 100)) s)"
  if [ "$FAILED" -ne 0 ] || [ "${MT_KEEP:-0}" = 1 ]; then
    echo "work directory kept: $WORK"
    KEEP_WORK=1
  fi
  [ "$FAILED" -eq 0 ]
}

# member_test_setup NAME KEYSERVER MEMBERD GDOICTL — root and tools checked, WORK created
# (removed at exit unless kept), WORK/psk written; no namespaces (a test with a topology
# of its own builds them, e.g. multicast.sh).
member_test_setup() {
  TEST_NAME=$1 KEYSERVER=$2 MEMBERD=$3 GDOICTL=$4
  netns_require_root
  for tool in jq ip; do
    command -v "$tool" >/dev/null || { echo "$TEST_NAME: needs $tool" >&2; exit 77; }
  done
  WORK=$(mktemp -d "/tmp/gdoi-member-$TEST_NAME.XXXXXX")
  KEEP_WORK=0
  # shellcheck disable=SC2016  # expanded when the cleanup runs (finish() may set KEEP_WORK)
  cleanup_add '[ "$KEEP_WORK" = 1 ] || rm -rf "$WORK"'
  printf '%s' "member-test-psk-$$" >"$WORK/psk"
  chmod 600 "$WORK/psk"
}

# member_test_init NAME KEYSERVER MEMBERD GDOICTL — member_test_setup and the topology above.
member_test_init() {
  member_test_setup "$@"
  NS_M=gm-$$
  NS_K=gk-$$
  netns_pair_create "$NS_M" "$NS_K" veth-m veth-k "$MEMBER_IP/24" "$KS_IP/24"
  ip -n "$NS_K" addr add "$KS2_IP/24" dev veth-k
}

# member_dataplane_init — for a member with its kernel dataplane (MEMBER_DATAPLANE=1): nft
# present (skip: 77) and the LAN interface lan0, 10.1.0.1/24, in NS_M (a veth: no dummy
# module on every kernel).
member_dataplane_init() {
  command -v nft >/dev/null || { echo "$TEST_NAME: needs nft" >&2; exit 77; }
  ip -n "$NS_M" link add lan0 type veth peer name lan0-peer
  ip -n "$NS_M" addr add 10.1.0.1/24 dev lan0
  ip -n "$NS_M" link set lan0 up
}

# ks_start NAME [ARGS...] — a key server in NS_K (listen address in ARGS or KS_IP), with a
# control socket WORK/NAME.ctl, its key log WORK/keylog.csv (shared), pull and push
# plaintexts in WORK/NAME.pull.pcap and WORK/NAME.push.pcap; stdout (events) in WORK/NAME.out, stderr in WORK/NAME.err.
ks_start() {
  local name=$1 i
  shift
  local listen=$KS_IP
  if [ "${1:-}" = --listen ]; then listen=$2; shift 2; fi
  ip netns exec "$NS_K" "$KEYSERVER" --listen "$listen" --psk "$MEMBER_IP=$WORK/psk" \
    --keylog "$WORK/keylog.csv" --control "$WORK/$name.ctl" --push-pcap "$WORK/$name.push.pcap" \
    --pull-pcap "$WORK/$name.pull.pcap" "$@" \
    >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null &
  echo $! >"$WORK/$name.pid"
  cleanup_add "kill -TERM $! 2>/dev/null"
  for ((i = 0; i < 100; i++)); do
    grep -q "listening on" "$WORK/$name.err" 2>/dev/null && [ -S "$WORK/$name.ctl" ] && return 0
    kill -0 "$(cat "$WORK/$name.pid")" 2>/dev/null || break
    sleep 0.1
  done
  echo "key server $name did not start:" >&2
  cat "$WORK/$name.err" >&2
  return 1
}

# ks_cmd NAME COMMAND — a control command; the answer on stdout.
ks_cmd() { "$KEYSERVER" --control "$WORK/$1.ctl" --command "$2"; }

# member_config FILE GROUP_TOML... — the [member] table plus the given [[group]] tables.
# MEMBER_NAME (default member: control socket WORK/NAME.sock) and MEMBER_ADDR (default
# MEMBER_IP) serve tests with several members.
member_config() {
  local file=$1
  shift
  {
    cat <<EOF
[member]
local-address = "${MEMBER_ADDR:-$MEMBER_IP}"
wan-interface = "veth-m"
control-socket = "$WORK/${MEMBER_NAME:-member}.sock"
log-level = "debug"
EOF
    local g
    for g in "$@"; do printf '\n%s\n' "$g"; done
  } >"$file"
  chmod 600 "$file"
}

# group_toml NAME ID SERVERS_TOML [EXTRA] — one [[group]] table.
group_toml() {
  cat <<EOF
[[group]]
name = "$1"
id = $2
servers = $3
ike.psk-file = "$WORK/psk"
ike.proposals = ["aes256-sha256-modp2048"]
ike.doi = ${IKE_DOI:-1}  # 1: tshark 4.0 can decrypt the pull (2 is the default, RFC 6407 §2.1)
lan-interfaces = ["lan0"]
allow-gcm = "accept"
${4:-}
EOF
}

# member_start — gdoi-memberd --no-dataplane in NS_M with WORK/member.toml (MEMBER_NS and
# MEMBER_NAME override both: WORK/NAME.toml, .sock, .out, .err, .pid). MEMBER_DATAPLANE=1: with
# the kernel dataplane (its nft table; this kernel may lack ESP: the groups stay fail-closed).
member_start() {
  local i ns=${MEMBER_NS:-$NS_M} name=${MEMBER_NAME:-member} dataplane=--no-dataplane
  [ "${MEMBER_DATAPLANE:-0}" = 1 ] && dataplane=
  # shellcheck disable=SC2086  # $dataplane: one word or none
  ip netns exec "$ns" "$MEMBERD" -c "$WORK/$name.toml" $dataplane --log-level debug \
    >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null &
  MEMBER_PID=$!
  echo $MEMBER_PID >"$WORK/$name.pid"
  cleanup_add "kill -TERM $MEMBER_PID 2>/dev/null"
  for ((i = 0; i < 100; i++)); do
    [ -S "$WORK/$name.sock" ] && return 0
    kill -0 "$MEMBER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "gdoi-memberd $name did not start:" >&2
  cat "$WORK/$name.err" >&2
  return 1
}

# ctl ARGS... — gdoictl against the member's control socket.
ctl() { "$GDOICTL" -s "$WORK/member.sock" "$@"; }

# wait_for SECONDS CMD... — until CMD succeeds (0) or the time is up (1).
wait_for() {
  local secs=$1 i
  shift
  for ((i = 0; i < secs * 10; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}

# group_json GROUP JQ_EXPR — a field of the group's status.
group_json() { ctl show --json --group "$1" | jq -r ".groups[0]$2"; }

group_state_is() { [ "$(group_json "$1" .state)" = "$2" ]; }
group_seq_is() { [ "$(group_json "$1" .sequence)" = "$2" ]; }
rejected_count() {
  ctl show --json --group "$1" | jq -r --arg r "$2" \
    '[.groups[0].counters.rekeys_rejected_by_reason[] | select(.reason == $r) | .count] | add // 0'
}

# capture_start — tshark on the key server's veth, UDP 848 only (CAPTURE_FILTER narrows it),
# into WORK/wire.pcapng.
capture_start() {
  command -v tshark >/dev/null || { CAPTURE_PID=; return 0; }
  ip netns exec "$NS_K" tshark -q -i veth-k -f "${CAPTURE_FILTER:-udp port 848}" -w "$WORK/wire.pcapng" \
    >"$WORK/tshark.out" 2>"$WORK/tshark.err" &
  CAPTURE_PID=$!
  cleanup_add "kill -INT $CAPTURE_PID 2>/dev/null"
  local i
  for ((i = 0; i < 100; i++)); do
    grep -q "Capturing on" "$WORK/tshark.err" 2>/dev/null && return 0
    sleep 0.1
  done
}
capture_stop() {
  [ -n "${CAPTURE_PID:-}" ] || return 0
  sleep 0.5
  kill -INT "$CAPTURE_PID" 2>/dev/null || true
  wait "$CAPTURE_PID" 2>/dev/null || true
}

# pull_checks LABEL DECODE_TXT HEX — the GROUPKEY-PULL payloads in a decode: HASH, Nonce, ID,
# the GDOI SA (DOI 2, SA KEK first: its "SA Attribute Next Payload" is 15, with the KEK SPI),
# SEQ and KD; and WIRE_GAP's attributes in the bytes: tshark 4.0 dissects only the first
# attribute payload of a GDOI SA (the SA KEK, as IPsec attributes), not the GAP after it.
pull_checks() {
  local label=$1 text=$2 hex=$3
  check_grep "$label: pull HASH payloads" "Payload: Hash (8)" "$text"
  check_grep "$label: pull Nonce payloads" "Payload: Nonce (10)" "$text"
  check_grep "$label: pull ID payload" "Payload: Identification (5)" "$text"
  check_grep "$label: pull GDOI SA payload" "Domain of interpretation: GDOI (2)" "$text"
  check_grep "$label: pull SA KEK first (SA Attribute Next Payload 15)" "SA Attribute Next Payload: 000f" "$text"
  check_grep "$label: pull KEK SPI in the SA KEK" "SPI: $(group_json "$GROUP" '.kek[0].spi')" "$text"
  check_grep "$label: pull SEQ payload" "Payload: Sequence Number (18)" "$text"
  check_grep "$label: pull KD payload" "Payload: Key Download (17)" "$text"
  if [ -n "${WIRE_GAP:-}" ]; then
    # ACTIVATION_TIME_DELAY (1) and DEACTIVATION_TIME_DELAY (2), TV attributes (RFC 6407 §5.6)
    local act=${WIRE_GAP%,*} deact=${WIRE_GAP#*,} want
    want=$(printf '8001%04x8002%04x' "$act" "$deact")
    if grep -q "$want" "$hex"; then pass "$label: GAP attributes $want (activation $act s, deactivation $deact s)"
    else fail "$label: GAP attributes $want not in the pull"; fi
  fi
}

# wire_check [ALLOWED_MALFORMED_FRAMES...] — decode WORK/wire.pcapng with the key log as
# tshark's IKEv1 decryption table; no frame may be "Malformed" or carry an error expert
# info except the listed frame numbers (deliberately truncated pushes). Output of the
# decode in WORK/wire.decoded.txt. Then the key server's plaintext pcaps of the pulls and
# pushes (WORK/ks.pull.pcap, WORK/ks.push.pcap).
wire_check() {
  if ! command -v tshark >/dev/null; then
    fail "wire: tshark not installed"
    return 0
  fi
  local uat=() line
  while IFS= read -r line; do
    [ -n "$line" ] && uat+=(-o "uat:ikev1_decryption_table:$line")
  done <"$WORK/keylog.csv"
  # shellcheck disable=SC2054  # tshark's "-d udp.port==848,isakmp" has a comma by design
  local ts=(tshark -n -r "$WORK/wire.pcapng" -d udp.port==848,isakmp "${uat[@]}")
  "${ts[@]}" -V >"$WORK/wire.decoded.txt" 2>"$WORK/wire.tshark.err" || fail "wire: tshark failed: $(head -3 "$WORK/wire.tshark.err")"
  local frames bad=() f allowed
  frames=$("${ts[@]}" -T fields -e frame.number 2>/dev/null | wc -l)
  if [ "$frames" -gt 0 ]; then pass "wire: $frames frames captured"; else fail "wire: nothing captured"; fi
  while IFS= read -r f; do
    [ -z "$f" ] && continue
    allowed=0
    for a in "$@"; do [ "$a" = "$f" ] && allowed=1; done
    [ "$allowed" = 1 ] || bad+=("$f")
  done < <("${ts[@]}" -Y '_ws.malformed || _ws.expert.severity == "Error"' -T fields -e frame.number 2>/dev/null)
  if [ "${#bad[@]}" -eq 0 ]; then
    pass "wire: no Malformed / Expert Info (Error) frame (deliberately broken: ${*:-none})"
  else
    fail "wire: Malformed or error frames: ${bad[*]} (see $WORK/wire.decoded.txt)"
  fi
  # GROUPKEY-PULL = exchange 32 (tshark 4.0 calls it "Quick Mode"). tshark decrypts it
  # with the key log only when the phase-1 SA payload said DOI 1 (ike.doi = 1); with DOI 2
  # it learns no cipher (README). Either way the key server's plaintext pcap of the pulls
  # (decrypted again with the phase-1 keys) is decoded and checked too.
  local pulls dec
  pulls=$("${ts[@]}" -Y 'isakmp.exchangetype == 32' -T fields -e frame.number 2>/dev/null | wc -l)
  # Decrypted IKEv1 messages show their payloads; every GROUPKEY-PULL message starts with HASH.
  dec=$("${ts[@]}" -Y 'isakmp.exchangetype == 32 && isakmp.typepayload == 8' -T fields -e frame.number 2>/dev/null | wc -l)
  if [ "${IKE_DOI:-1}" = 1 ]; then
    if [ "$pulls" -ge 4 ] && [ "$pulls" = "$dec" ]; then pass "wire: $dec/$pulls GROUPKEY-PULL messages decrypted by tshark"
    else fail "wire: GROUPKEY-PULL messages decrypted by tshark: $dec of $pulls"; fi
    "${ts[@]}" -V -Y 'isakmp.exchangetype == 32' >"$WORK/wire.pull.txt" 2>/dev/null
    "${ts[@]}" -x -Y 'isakmp.exchangetype == 32' 2>/dev/null |
      awk '/^Decrypted IKE/ {d = 1; next} /^[A-Z]/ {d = 0} d' | cut -c7-54 | tr -d ' \n' >"$WORK/wire.pull.hex"
    pull_checks "wire" "$WORK/wire.pull.txt" "$WORK/wire.pull.hex"
  else
    if [ "$pulls" -ge 4 ]; then pass "wire: $pulls GROUPKEY-PULL messages (phase-1 DOI 2: tshark 4.0 cannot decrypt them)"
    else fail "wire: $pulls GROUPKEY-PULL messages, want 4"; fi
  fi
  local pp=(tshark -n -r "$WORK/ks.pull.pcap" -d "udp.port==848,isakmp")
  local n m
  n=$("${pp[@]}" -T fields -e frame.number 2>/dev/null | wc -l)
  m=$("${pp[@]}" -Y '_ws.malformed || _ws.expert.severity == "Error"' -T fields -e frame.number 2>/dev/null | wc -l)
  check "pull plaintext: messages (4 per registration)" "$pulls" "$n"
  check "pull plaintext: Malformed / error frames" 0 "$m"
  "${pp[@]}" -V >"$WORK/pull.decoded.txt" 2>/dev/null
  "${pp[@]}" -x 2>/dev/null | grep -E '^[0-9a-f]{4}  ' | cut -c7-54 | tr -d ' \n' >"$WORK/pull.hex"
  pull_checks "pull plaintext" "$WORK/pull.decoded.txt" "$WORK/pull.hex"
  # The pushes (exchange 33) are encrypted with the KEK, which tshark cannot use: the key
  # server wrote their plaintext into a pcap of its own.
  if [ "$(stat -c %s "$WORK/ks.push.pcap" 2>/dev/null || echo 0)" -gt 24 ]; then  # more than the file header
    # shellcheck disable=SC2054  # the comma belongs to tshark's -d argument
    local pt=(tshark -n -r "$WORK/ks.push.pcap" -d udp.port==848,isakmp)
    "${pt[@]}" -V >"$WORK/push.decoded.txt" 2>&1
    local n m
    n=$("${pt[@]}" -T fields -e frame.number 2>/dev/null | wc -l)
    m=$("${pt[@]}" -Y '_ws.malformed || _ws.expert.severity == "Error"' -T fields -e frame.number 2>/dev/null | wc -l)
    if [ "$n" -gt 0 ]; then pass "push plaintext: $n messages"; else fail "push plaintext: empty"; fi
    check "push plaintext: Malformed / error frames" 0 "$m"
    local p
    for p in "Exchange type: New Group Mode (33)" "Payload: Sequence Number (18)" "Payload: Delete (12)" \
      "Payload: Security Association (1)" "Payload: SA TEK Payload (16)" "Payload: Key Download (17)" \
      "Payload: Signature (9)"; do
      check_grep "push plaintext: $p" "$p" "$WORK/push.decoded.txt"
    done
  fi
}
