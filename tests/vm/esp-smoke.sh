#!/usr/bin/env bash
# esp-smoke.sh: proves the kernel it runs on does ESP (meant for tests/vm/vm-run.sh; the build
# machines' own kernel has no ESP and this script fails there, saying so).
#
# Two namespaces joined by a veth (10.200.0.1 <-> 10.200.0.2), hand-made XFRM states and policies
# in both directions, then ping across:
#   1. cbc(aes) + hmac(sha256), transport mode;
#   2. rfc4106(gcm(aes)) AEAD, tunnel mode.
# Proof that ESP was used, for each case: an nft netdev/ingress counter on each veth end sees the
# ESP packets and no cleartext ICMP on the wire, and the SAs' `ip -s xfrm state` packet counters
# grew on both ends. A baseline ping without XFRM first shows that the wire counters do see
# cleartext, so the check cannot pass by counting nothing.
set -euo pipefail

NA=gdoi-smoke-a
NB=gdoi-smoke-b
A=10.200.0.1
B=10.200.0.2
COUNT=5
OUT="${GDOI_VM_OUT:-}"

fail() { echo "esp-smoke: FAIL: $*" >&2; exit 1; }
step() { echo "esp-smoke: [${SECONDS}s] $*"; }
# Every process costs under TCG (and more on a loaded host): ip -n and nsenter --net avoid the
# extra fork, mount namespace and sysfs remount of `ip netns exec`.
ina() { nsenter --net="/run/netns/$NA" "$@"; }
inb() { nsenter --net="/run/netns/$NB" "$@"; }
ipa() { ip -n "$NA" "$@"; }
ipb() { ip -n "$NB" "$@"; }

cleanup() { ip netns del "$NA" 2>/dev/null || true; ip netns del "$NB" 2>/dev/null || true; }

setup_netns() {
  cleanup
  ip netns add "$NA"
  ip netns add "$NB"
  ip link add va netns "$NA" type veth peer name vb netns "$NB"
  ipa addr add "$A/24" dev va
  ipb addr add "$B/24" dev vb
  ipa link set lo up
  ipb link set lo up
  ipa link set va up
  ipb link set vb up
}

# What each end receives from the wire, counted before XFRM sees it (netdev ingress hook).
# Tunnel-mode XFRM re-injects the decrypted inner packet on the same device, so it passes this
# hook a second time, then with a secpath: clear ICMP counts only packets without one.
setup_wire_counters() {
  local ns dev
  for ns in "$NA" "$NB"; do
    dev=va
    [[ "$ns" == "$NB" ]] && dev=vb
    nsenter --net="/run/netns/$ns" nft -f - <<EOF
table netdev wire {
  counter wire_esp {}
  counter wire_icmp {}
  chain ingress {
    type filter hook ingress device $dev priority 0;
    ip protocol esp counter name wire_esp
    ip protocol icmp meta secpath missing counter name wire_icmp
  }
}
EOF
  done
}

reset_wire_counters() {
  ina nft reset counters table netdev wire >/dev/null
  inb nft reset counters table netdev wire >/dev/null
}

# wire_counts NS: "ESP ICMP", the packets the two wire counters of NS saw.
wire_counts() {
  nsenter --net="/run/netns/$1" nft list table netdev wire | awk '
    /counter wire_esp /  { c = "esp" }
    /counter wire_icmp / { c = "icmp" }
    /packets/ && c != "" { v[c] = $2; c = "" }
    END { print v["esp"] + 0, v["icmp"] + 0 }'
}

# sa_counts NS: "PACKETS_0x1001 PACKETS_0x1002", the SAs' packet counters ("lifetime current").
sa_counts() {
  ip -n "$1" -s xfrm state | awk '
    $1 == "proto" && $2 == "esp" { spi = $4; sub(/\(.*/, "", spi) }
    /lifetime current:/ { getline; gsub(/[(),]/, " "); n[spi] = $3 }
    END { print n["0x00001001"] + 0, n["0x00001002"] + 0 }'
}

ping_across() {
  ina ping -c "$COUNT" -i 0.2 -W 3 -q "$B" >/dev/null || fail "$1: ping $A -> $B failed"
}

flush_xfrm() {
  local ns
  for ns in "$NA" "$NB"; do
    ip -n "$ns" xfrm policy flush
    ip -n "$ns" xfrm state flush
  done
}

# add_sa_pair MODE ALGO...: the same two SAs (a->b spi 0x1001, b->a spi 0x1002) in both
# namespaces, and out/in policies on each end that require them.
add_sa_pair() {
  local mode="$1"
  shift
  local ns
  for ns in "$NA" "$NB"; do
    ip -n "$ns" xfrm state add src "$A" dst "$B" proto esp spi 0x1001 reqid 1 mode "$mode" "$@" \
      || fail "ip xfrm state add proto esp ($*) failed: this kernel has no ESP/that algorithm (run me under tests/vm/vm-run.sh)"
    ip -n "$ns" xfrm state add src "$B" dst "$A" proto esp spi 0x1002 reqid 2 mode "$mode" "$@"
  done
  ipa xfrm policy add src "$A/32" dst "$B/32" dir out tmpl src "$A" dst "$B" proto esp reqid 1 mode "$mode"
  ipa xfrm policy add src "$B/32" dst "$A/32" dir in tmpl src "$B" dst "$A" proto esp reqid 2 mode "$mode"
  ipb xfrm policy add src "$B/32" dst "$A/32" dir out tmpl src "$B" dst "$A" proto esp reqid 2 mode "$mode"
  ipb xfrm policy add src "$A/32" dst "$B/32" dir in tmpl src "$A" dst "$B" proto esp reqid 1 mode "$mode"
}

# check_esp_used CASE: every echo and reply crossed the wire as ESP, none as clear ICMP, and the
# SAs on both ends counted them.
check_esp_used() {
  local name="$1" ns esp icmp sa1 sa2 summary=""
  for ns in "$NA" "$NB"; do
    read -r esp icmp < <(wire_counts "$ns")
    ((icmp == 0)) || fail "$name: $icmp cleartext ICMP packets reached $ns from the wire"
    ((esp >= COUNT)) || fail "$name: only $esp ESP packets reached $ns from the wire (expected >= $COUNT)"
    read -r sa1 sa2 < <(sa_counts "$ns")
    ((sa1 >= COUNT && sa2 >= COUNT)) ||
      fail "$name: the SAs in $ns counted $sa1 (spi 0x1001) and $sa2 (spi 0x1002) packets (expected >= $COUNT each)"
    summary+=" $ns: $esp ESP, 0 clear ICMP in from the wire, SAs $sa1/$sa2 packets;"
  done
  step "$name: OK ($summary )"
}

main() {
  [[ $(id -u) -eq 0 ]] || fail "needs root (run it with tests/vm/vm-run.sh)"
  step "kernel $(uname -r)"
  trap cleanup EXIT
  setup_netns
  setup_wire_counters

  # Baseline: without XFRM the wire counters must see the pings in clear.
  ping_across baseline
  local esp clear
  read -r esp clear < <(wire_counts "$NB")
  ((clear >= COUNT)) || fail "baseline: the wire counter saw $clear clear ICMP packets, expected >= $COUNT: the check is blind"
  step "baseline without XFRM: $clear clear ICMP packets seen on the wire (the counters work)"

  reset_wire_counters
  add_sa_pair transport \
    enc 'cbc(aes)' 0x000102030405060708090a0b0c0d0e0f \
    auth-trunc 'hmac(sha256)' 0x101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f 128
  ping_across "cbc(aes)+hmac(sha256) transport"
  check_esp_used "cbc(aes)+hmac(sha256) transport"
  [[ -n "$OUT" ]] && ipa -s xfrm state > "$OUT/esp-smoke-cbc-states.txt"
  flush_xfrm

  reset_wire_counters
  add_sa_pair tunnel \
    aead 'rfc4106(gcm(aes))' 0x303132333435363738393a3b3c3d3e3f40414243 128
  ping_across "rfc4106(gcm(aes)) tunnel"
  check_esp_used "rfc4106(gcm(aes)) tunnel"
  [[ -n "$OUT" ]] && ipa -s xfrm state > "$OUT/esp-smoke-gcm-states.txt"
  flush_xfrm

  step "PASS: ESP (cbc+hmac and AEAD GCM) works on this kernel"
}

main "$@"
