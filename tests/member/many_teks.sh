#!/usr/bin/env bash
# A large policy: the key server sends one TEK per policy line, each with its own selector
# (gdoi-test-keyserver --teks N: TEK i protects 10.1.0.0/24 <-> 10.(2+i/256).(i%256).0/24).
# A GDOI message is one UDP datagram (RFC 6407 has no fragmentation of its own; IP fragments
# it), so the most TEKs one registration carries is what fits in 65,507 octets:
#   - AES-256-CBC + HMAC-SHA2-256: message 4 holds 803 KD key packets (81 octets each);
#   - AES-128-CBC + HMAC-SHA2-256: message 4 holds 1,000 (65 octets each);
#   - AES-GCM-128: message 2 holds 1,145 SA TEK payloads (57 octets each);
#   - a push replacing every TEK (Delete, SA, KD, SIG) holds 446 AES-CBC TEKs.
# The member registers with each maximum and `gdoictl show tek --json` must list every TEK
# with its own selector and SPI; then a push replaces 446 TEKs at once. The member runs
# with its kernel dataplane: on a kernel without ESP every install is refused and the group
# stays fail-closed over all the selectors, with the kernel's reason in the group's detail.
#
#   many_teks.sh KEYSERVER_BIN MEMBERD_BIN GDOICTL_BIN
set -euo pipefail
# shellcheck source=tests/member/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
member_test_init member_many_teks "$@"
member_dataplane_init

G=GROUP_ID-4242
# The selector of TEK i, as gdoictl prints it.
selector_of() { echo "10.1.0.0/24 -> 10.$((2 + $1 / 256)).$(($1 % 256)).0/24 proto any"; }
teks_json() { ctl show tek --json | jq -c '[.groups[0].teks[] | {spi, selector}]'; }

# run_case NAME ALG N [FULL] — a key server with N TEKs of ALG (SPIs 0x1000...), the member
# registers; checks what it holds (FULL=full: and that a pull message filled a datagram).
# Leaves both running (stop_case ends them).
run_case() {
  local name=$1 alg=$2 n=$3 full=${4:-}
  ks_start "$name" --group 4242 --tek "$alg:0x1000" --teks "$n" --ack
  member_config "$WORK/member.toml" "$(group_toml "$G" 4242 "[\"$KS_IP\"]")"
  MEMBER_DATAPLANE=1 member_start
  registered_once() { [ "$(group_json "$G" .counters.registrations)" -ge 1 ]; }
  if wait_for 30 registered_once; then pass "$name: registered"; else fail "$name: not registered: $(tail -2 "$WORK/member.err")"; fi
  teks_json >"$WORK/$name.teks.json"
  check "$name: TEKs held" "$n" "$(jq length "$WORK/$name.teks.json")"
  check "$name: distinct selectors" "$n" "$(jq '[.[].selector] | unique | length' "$WORK/$name.teks.json")"
  check "$name: distinct SPIs" "$n" "$(jq '[.[].spi] | unique | length' "$WORK/$name.teks.json")"
  # Every TEK i with SPI 0x1000 + i and selector i, in the key server's order.
  local want got
  want=$(for ((i = 0; i < n; i++)); do printf '0x%08x %s\n' $((0x1000 + i)) "$(selector_of "$i")"; done)
  got=$(jq -r '.[] | .spi + " " + .selector' "$WORK/$name.teks.json")
  if [ "$want" = "$got" ]; then pass "$name: TEK i has SPI 0x1000+i and 10.1.0.0/24 -> 10.(2+i/256).(i%256).0/24"
  else fail "$name: SPIs/selectors differ: $(diff <(echo "$want") <(echo "$got") | sed -n '1,3p' | tr '\n' ' ')"; fi
  # Two keys per TEK in locked memory: small secrets share slabs (gdoi/src/crypto/secure_pool.h).
  # With a locked page per key, 1,000 TEKs took 8 MiB, the default RLIMIT_MEMLOCK.
  local locked
  locked=$(awk '/^VmLck:/ { print $2 }' "/proc/$MEMBER_PID/status")
  if [ "${locked:-99999}" -le 1024 ]; then pass "$name: $n TEKs' keys lock ${locked} KiB (<= 1 MiB)"
  else fail "$name: $n TEKs' keys lock ${locked:-?} KiB, want <= 1024"; fi
  check_grep "$name: key server registered the member" "registered member $MEMBER_IP:848 group 4242 seq 1" "$WORK/$name.out"
  # The largest pull message really was (close to) a full datagram: its plaintext in the pcap.
  if [ "$full" = full ]; then
    local largest
    largest=$(tshark -n -r "$WORK/$name.pull.pcap" -T fields -e udp.length 2>/dev/null | sort -n | tail -1)
    if [ "${largest:-0}" -gt 64000 ]; then pass "$name: largest pull message $largest octets of UDP"
    else fail "$name: largest pull message ${largest:-none} octets, want > 64000"; fi
  fi
  # The kernel: without ESP (or without the TEK's cipher, or a kernel built without IPIP tunnels
  # for the carrier) the install is refused and the group held fail-closed with the kernel's
  # reason; with all of them (the VM) every TEK's SA is installed.
  local detail reason
  detail=$(group_json "$G" .detail)
  reason=$(grep -oE 'kernel has no ESP support|kernel lacks this crypto algorithm|kernel has no IPIP tunnel support' <<<"$detail" || true)
  if [[ "$detail" == "keys not installed ("* ]] && [ -n "$reason" ]; then
    pass "$name: keys not installed, fail-closed: $reason"
    check "$name: group state while fail-closed" registered "$(group_json "$G" .state)"
    local table scope
    table=$(ip netns exec "$NS_M" nft list table inet gdoi_member)
    scope=$(grep -oE '10\.1\.0\.0/24 \. 10\.[0-9]+\.[0-9]+\.0/24' <<<"$table" | sort -u | wc -l)
    check "$name: fail-closed scope holds every selector" "$n" "$scope"
  else
    local sas
    sas=$(ip netns exec "$NS_M" ip xfrm state | grep -c '^src' || true)
    if [ "$sas" -ge "$n" ]; then pass "$name: $sas SAs installed"; else fail "$name: $sas SAs for $n TEKs ($detail)"; fi
  fi
}

# stop_case NAME — the member removes what it installed and stops (no adoption by the next
# case's member: its state file goes too), then the key server stops.
stop_case() {
  ctl flush >/dev/null || fail "$1: gdoictl flush"
  kill -TERM "$MEMBER_PID" "$(cat "$WORK/$1.pid")" 2>/dev/null || true
  wait "$MEMBER_PID" 2>/dev/null || true
  while kill -0 "$(cat "$WORK/$1.pid")" 2>/dev/null; do sleep 0.1; done
  rm -f "$WORK/member.state"
}

command -v tshark >/dev/null || { echo "member_many_teks: needs tshark" >&2; exit 77; }

run_case cbc cbc256-sha256 803 full
stop_case cbc
run_case cbc128 cbc128-sha256 1000 full
stop_case cbc128
run_case gcm gcm128 1145 full
stop_case gcm

# A push replacing all 446 TEKs at once: Delete of 446 SPIs, 446 SA TEKs and key packets.
run_case push cbc256-sha256 446
answer=$(ks_cmd push rekey)
seq_two() { group_seq_is "$G" 2; }
if wait_for 15 seq_two; then pass "push: rekey applied (SEQ 2)"; else fail "push: SEQ $(group_json "$G" .sequence): $(tail -2 "$WORK/member.err")"; fi
acked() { grep -qF "ack received from $MEMBER_IP:848 seq 2" "$WORK/push.out"; }
if wait_for 15 acked; then pass "push: acknowledged"; else fail "push: no ACK for SEQ 2"; fi
teks_json >"$WORK/push.after.json"
# The new SPIs are the ones the key server announced; each keeps its selector.
want=$(sed -n 's/.* teks \(.*\) deleted .*/\1/p' <<<"$answer" | tr ' ' '\n' | sort)
got=$(jq -r '.[].spi' "$WORK/push.after.json" | sort)
check "push: new TEKs held" 446 "$(wc -l <<<"$got")"
if [ -n "$want" ] && [ "$want" = "$got" ]; then pass "push: the member holds exactly the pushed SPIs"
else fail "push: SPIs differ from the key server's answer"; fi
check "push: distinct selectors after the rekey" 446 "$(jq '[.[].selector] | unique | length' "$WORK/push.after.json")"
if [ "$(jq -c '[.[].selector] | sort' "$WORK/push.teks.json")" = "$(jq -c '[.[].selector] | sort' "$WORK/push.after.json")" ]
then pass "push: the new TEKs have the old TEKs' selectors"; else fail "push: selectors changed by the rekey"; fi
size=$(grep -oE 'push sent \(rekey\) seq 2 to [0-9.:]+ \(([0-9]+) bytes\)' "$WORK/push.out" | grep -oE '[0-9]+ bytes' | cut -d' ' -f1)
if [ "${size:-0}" -gt 60000 ] && [ "$size" -le 65507 ]; then pass "push: one datagram of $size octets"
else fail "push: size ${size:-unknown}"; fi
stop_case push
finish
