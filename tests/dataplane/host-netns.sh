#!/usr/bin/env bash
# host-netns.sh DATAPLANE_DRIVER — KernelDataplane on this host's kernel (no ESP needed), in a
# network namespace: start() installs the fail-closed nft table; a TEK that the kernel cannot
# install (no ESP here) leaves the group fail-closed with an operator-readable error and no
# own XFRM object behind; flush removes everything. On a kernel with ESP, the TEK step is
# skipped (the real-ESP proofs are tests/vm/dataplane-esp.sh).
set -euo pipefail
DRIVER=$(readlink -f "${1:?usage: host-netns.sh path/to/dataplane-driver}")
NS="gdoidp$$"
FAILS=0
pass() { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }
cleanup() { ip netns del "$NS" 2>/dev/null || true; ip netns del "$NS-x" 2>/dev/null || true; }
trap cleanup EXIT

ip netns add "$NS"
ip netns add "$NS-x"
ip link add lan0 netns "$NS" type veth peer name l0 netns "$NS-x"
ip link add wan0 netns "$NS" type veth peer name w0 netns "$NS-x"
ip -n "$NS" addr add 10.1.0.1/24 dev lan0
ip -n "$NS" addr add 172.16.1.2/30 dev wan0
for dev in lo lan0 wan0; do ip -n "$NS" link set "$dev" up; done
ip -n "$NS" route add default via 172.16.1.1

esp=1
ip -n "$NS" xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x100 mode tunnel \
    enc 'cbc(aes)' 0x000102030405060708090a0b0c0d0e0f auth-trunc 'hmac(sha256)' \
    0x000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f 128 2>/dev/null || esp=0
ip -n "$NS" xfrm state flush

run() { ip netns exec "$NS" "$DRIVER" --wan wan0 --lan lan0 --exclude tcp:179 2>&1; }

out=$(printf 'status\nquit\n' | run)
echo "$out" | sed 's/^/    /'
grep -q '^ok started' <<<"$out" && pass "start" || fail "start"
grep -q 'policy fail-closed 10.1.0.0/24 -> any drop' <<<"$out" && pass "before registration: the LAN prefix is fail-closed" ||
    fail "no fail-closed scope"
grep -q 'G_OUT via 172.16.1.1' <<<"$out" && pass "G_OUT routed via the WAN's default gateway" || fail "WAN gateway not found"
ip netns exec "$NS" nft list table inet gdoi_member >/dev/null && pass "nft table left in place by shutdown" || fail "no nft table"

if [[ $esp -eq 0 ]]; then
    out=$(printf 'tek 0x1000 cbc %s %s\nstatus\nquit\n' \
        000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f \
        202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f | run)
    echo "$out" | sed 's/^/    /'
    # The first kernel piece missing says what to load: ESP, or the carrier's IPIP on a kernel
    # built without tunnels (seen on some build machines).
    grep -qE '^error: apply: .*kernel has no (ESP support: load esp4|IPIP tunnel support: load ipip)' <<<"$out" &&
        pass "no ESP: the error says what to do" || fail "no ESP: no operator message"
    grep -q 'fail-closed until the next registration' <<<"$out" && pass "no ESP: the group stays fail-closed" || fail "not fail-closed"
    grep -q 'encrypt (no valid TEK: dropped)' <<<"$out" && pass "no ESP: group policy shown as dropped" || fail "policy status"
    # What stays is member-wide: the exclude rule (tcp:179) as allow policies in dir fwd, both
    # directions and families (member/dataplane/dataplane_exclude.h); none of the group's.
    policies=$(ip -n "$NS" xfrm policy)
    [[ $(grep -c '^src' <<<"$policies" || true) -eq 4 && $(grep -c 'dir fwd priority 500' <<<"$policies" || true) -eq 4 &&
        $(grep -c 'tmpl' <<<"$policies" || true) -eq 0 ]] &&
        pass "no ESP: no XFRM policy of the group left (the 4 exclude allow policies stay)" ||
        { echo "$policies" | sed 's/^/    /'; fail "XFRM policies left"; }
    ip -n "$NS" link show gdoi0 >/dev/null 2>&1 && fail "no ESP: carrier left" || pass "no ESP: no carrier left"
else
    echo "    (this kernel has ESP: the no-ESP checks are skipped)"
fi

out=$(printf 'flush\nquit\n' | run)
grep -q '^ok flush' <<<"$out" && pass "flush" || fail "flush"
ip netns exec "$NS" nft list table inet gdoi_member >/dev/null 2>&1 && fail "flush: table still there" || pass "flush: nft table removed"
[[ $(ip -n "$NS" rule | grep -c 'lookup 18244' || true) -eq 0 ]] && pass "flush: no fwmark rule" || fail "flush: rule left"

if [[ $FAILS -ne 0 ]]; then echo "host-netns: $FAILS check(s) failed"; exit 1; fi
echo "host-netns: all checks passed"
