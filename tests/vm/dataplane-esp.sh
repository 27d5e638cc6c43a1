#!/usr/bin/env bash
# dataplane-esp.sh DATAPLANE_DRIVER — member::KernelDataplane in a real ESP kernel (run it in
# the test VM: tests/vm/vm-run.sh tests/vm/dataplane-esp.sh build-dp/tests/dataplane/dataplane-driver;
# ctest vm_dataplane_esp).
#
# Topology, namespaces only, every address private to them:
#   lan1 10.1.0.10 -- 10.1.0.1 gm1 172.16.1.2 -- 172.16.1.1 core 172.16.2.1 -- 172.16.2.2 gm2 10.2.0.1 -- 10.2.0.10 lan2
# core routes 10.1.0.0/24 and 10.2.0.0/24 to the members; the members' default route is core.
# gm1 and gm2 each run dataplane-driver (KernelDataplane) with the same TEKs; the group's
# policy is 10.0.0.0/8 <-> 10.0.0.0/8. dumpcap on core's link to gm1 records the WAN.
# Proves:
#   0. baseline without members: ping works in clear and the capture sees it (the checks can fail);
#   1. fail-closed: after start(), before any TEK, lan traffic is dropped, no cleartext on the core;
#   2. keyed: ping and UDP lan1 <-> lan2 work; on the core only ESP, outer addresses = the inner
#      hosts, SPI = the group SPI; tshark with the TEK key decrypts every packet to the inner one
#      (ESP next header 4); the UDP payload marker never appears on the wire; SA and
#      policy counts per member;
#   3. make-before-break: a rekey (new SPI, GAP activation 2 s) during 600 pings at 10 ms loses
#      none; the capture shows one switch 0x1000 -> 0x2000 per direction; after a Delete of the
#      old TEK its inbound SA goes after the deactivation delay; a second rekey to AES-GCM-128
#      (loses none, outbound SA with the GCM packet limit, carrier MTU 1438 -> 1446);
#   2b. crafted cleartext IPIP from the core to G_IN (inner source outside / inside the group's
#      scope) never reaches lan1 (the carrier bypass);
#   4. SIGKILL of gm1's driver: the nft table stays; with the SAs gone too (as after their hard
#      lifetime) lan traffic is dropped and nothing leaves gm1 in clear; a new run adopts it.
set -euo pipefail
# shellcheck source=tests/vm/lib/sites.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/sites.sh"

DRIVER=$(readlink -f "${1:?usage: dataplane-esp.sh path/to/dataplane-driver}")
[[ -x "$DRIVER" ]] || { echo "dataplane-esp: $DRIVER is not executable (build target dataplane-driver)" >&2; exit 2; }
PY=/usr/bin/python3
P="dp$$"
OUT="${GDOI_VM_OUT:-/tmp}"
W=$(mktemp -d /tmp/dataplane-esp.XXXXXX)
FAILS=0
MARKER="GDOI-MARKER-5e1f0c"
SPI1=0x00001000
SPI2=0x00002000
KEY1=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
INT1=202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f
KEY2=404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f
INT2=606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f
SPI3=0x00003000
KEY3=808182838485868788898a8b8c8d8e8f90919293   # AES-GCM-128 key + 4-byte salt

step() { echo "dataplane-esp: [${SECONDS}s] $*"; }
pass() { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }

cleanup() {
    sites_destroy
    cp -f "$W"/*.pcap "$W"/*.out "$W"/*.err "$OUT"/ 2>/dev/null || true
}
trap cleanup EXIT

# ---- ESP available? ----------------------------------------------------------------------
ip netns add "$P-probe"
if ! ip -n "$P-probe" xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x100 mode tunnel \
    enc 'cbc(aes)' 0x000102030405060708090a0b0c0d0e0f auth-trunc 'hmac(sha256)' \
    0x000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f 128; then
    echo "dataplane-esp: this kernel ($(uname -r)) cannot add ESP states: not the test VM?" >&2
    exit 1
fi
ip netns del "$P-probe"

# ---- topology -------------------------------------------------------------------------------
step "topology"
sites_create

# ---- helpers --------------------------------------------------------------------------------
cat >"$W/pcap.py" <<'EOF'
# pcap.py FILE MARKER: what crossed the wire between the LAN prefixes (10/8 as outer addresses).
import struct, sys
data = open(sys.argv[1], 'rb').read()
marker = sys.argv[2].encode()
magic = struct.unpack('<I', data[:4])[0]
endian = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
off, esp, clear, spis, outer = 24, 0, 0, {}, set()
while off + 16 <= len(data):
    _, _, incl, _ = struct.unpack(endian + 'IIII', data[off:off + 16])
    pkt = data[off + 16:off + 16 + incl]
    off += 16 + incl
    if len(pkt) < 34 or pkt[12:14] != b'\x08\x00':
        continue
    ip = pkt[14:]
    ihl = (ip[0] & 15) * 4
    proto, src, dst = ip[9], ip[12:16], ip[16:20]
    if src[0] != 10 and dst[0] != 10:
        continue
    s = '.'.join(map(str, src)); d = '.'.join(map(str, dst))
    if proto == 50:
        esp += 1
        spi = struct.unpack('>I', ip[ihl:ihl + 4])[0]
        runs = spis.setdefault(s, [])
        if not runs or runs[-1][0] != spi:
            runs.append([spi, 0])
        runs[-1][1] += 1
        outer.add(s + '>' + d)
    else:
        clear += 1
print('esp=%d clear=%d marker=%d' % (esp, clear, 1 if marker in data else 0))
print('outer=' + ','.join(sorted(outer)))
for s, runs in sorted(spis.items()):
    print('spis ' + s + ' ' + ' '.join('0x%08x:%d' % (spi, n) for spi, n in runs))
EOF

CAP_PID=
capture_start() {  # capture_start NAME: dumpcap on core's link to gm1
    CAP="$W/$1.pcap"
    # Not through nsx (a function runs in a subshell): $! must be dumpcap itself.
    ip netns exec "$P-core" dumpcap -q -P -i c1 -w "$CAP" >"$W/$1.dumpcap.log" 2>&1 &
    CAP_PID=$!
    for _ in $(seq 50); do [[ -s "$CAP" ]] && break; sleep 0.1; done
    sleep 0.5
}
capture_stop() {
    sleep 0.3
    # SIGTERM: background jobs of a script ignore SIGINT.
    kill -TERM "$CAP_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$CAP_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$CAP_PID" 2>/dev/null || true
    wait "$CAP_PID" 2>/dev/null || true
    $PY "$W/pcap.py" "$CAP" "$MARKER" >"$CAP.txt"
    sed 's/^/    /' "$CAP.txt"
}
cap_field() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" "$CAP.txt" | head -1; }

udp_listen() {  # udp_listen: lan2 receives UDP on 10.2.0.10:5000 into $W/udp.rx
    : >"$W/udp.rx"
    nsx lan2 $PY -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.2.0.10", 5000)); s.settimeout(30)
f = open(sys.argv[1], "ab")
while True:
    try: d, _ = s.recvfrom(2000)
    except OSError: break
    f.write(d + b"\n"); f.flush()
' "$W/udp.rx" &
    UDP_PID=$!
    sleep 0.5
}
udp_send() {  # five datagrams with the marker from lan1
    nsx lan1 $PY -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(5):
    s.sendto((sys.argv[1] + " %d" % i).encode(), ("10.2.0.10", 5000)); time.sleep(0.05)
' "$MARKER"
    sleep 0.5
}
udp_received() { grep -c "$MARKER" "$W/udp.rx" || true; }

# Drivers: stdin from a FIFO held open on fd 3 (gm1) / 4 (gm2); answers in $W/gmN.out.
start_driver() {  # start_driver gm1|gm2
    local gm=$1
    rm -f "$W/$gm.in"
    mkfifo "$W/$gm.in"
    ip netns exec "$P-$gm" "$DRIVER" --wan wan0 --lan lan0 --exclude tcp:179 <"$W/$gm.in" >>"$W/$gm.out" 2>>"$W/$gm.err" &
    if [[ $gm == gm1 ]]; then GM1_PID=$!; else GM2_PID=$!; fi
    if [[ $gm == gm1 ]]; then exec 3>"$W/$gm.in"; else exec 4>"$W/$gm.in"; fi
    wait_answer "$gm" 1 "started"
}
answers() { grep -E '^(ok|error)' "$W/$1.out" 2>/dev/null | grep -vc '^ok timer' || true; }
wait_answer() {  # wait_answer GM N WHAT: until GM gave N answers; the Nth must be ok
    local gm=$1 n=$2 what=$3
    for _ in $(seq 300); do
        [[ $(answers "$gm") -ge $n ]] && break
        sleep 0.1
    done
    local last
    last=$(grep -E '^(ok|error)' "$W/$gm.out" | grep -v '^ok timer' | sed -n "${n}p")
    if [[ $last == ok* ]]; then pass "$gm: $what ($last)"; else fail "$gm: $what: ${last:-no answer}"; sed 's/^/    /' "$W/$gm.err" | tail -20; fi
}
send() {  # send GM COMMAND...
    local gm=$1; shift
    local n
    n=$(( $(answers "$gm") + 1 ))
    if [[ $gm == gm1 ]]; then echo "$*" >&3; else echo "$*" >&4; fi
    wait_answer "$gm" "$n" "$*"
}
send_both() {  # send_both COMMAND...: to gm2 and gm1 at once (as one push reaches both), then wait
    local n1 n2
    n1=$(( $(answers gm1) + 1 ))
    n2=$(( $(answers gm2) + 1 ))
    echo "$*" >&4
    echo "$*" >&3
    wait_answer gm2 "$n2" "$*"
    wait_answer gm1 "$n1" "$*"
}
count_states() { nsx "$1" ip xfrm state | grep -c '^src' || true; }
count_policies() { nsx "$1" ip xfrm policy | grep -c '^src' || true; }
ping_ok() { nsx lan1 ping -n -q -c "${2:-3}" -i 0.2 -W 1 "$1" >/dev/null 2>&1; }

# ---- 0. baseline: no member, traffic in clear, the capture sees it ---------------------------
step "0. baseline in clear (no dataplane)"
capture_start baseline
if ping_ok 10.2.0.10; then pass "baseline: ping lan1 -> lan2 in clear"; else fail "baseline ping"; fi
capture_stop
[[ $(cap_field clear) -gt 0 ]] && pass "baseline: the capture sees cleartext" || fail "baseline: capture saw no cleartext"

# ---- 1. fail-closed before any TEK ----------------------------------------------------------
step "1. start both members: fail-closed before the TEK"
: >"$W/gm1.out"; : >"$W/gm2.out"
start_driver gm1
start_driver gm2
nsx gm1 nft list table inet gdoi_member >"$W/gm1.nft.start" && pass "gm1: nft table gdoi_member installed" || fail "gm1: no nft table"
udp_listen
capture_start failclosed
if ping_ok 10.2.0.10; then fail "fail-closed: ping passed without a TEK"; else pass "fail-closed: ping lan1 -> lan2 dropped"; fi
udp_send
capture_stop
[[ $(cap_field clear) -eq 0 && $(cap_field esp) -eq 0 ]] && pass "fail-closed: nothing from the LANs on the core" || fail "fail-closed: packets on the core"
[[ $(cap_field marker) -eq 0 ]] && pass "fail-closed: marker not on the wire" || fail "fail-closed: marker on the wire"
[[ $(udp_received) -eq 0 ]] && pass "fail-closed: lan2 received no UDP" || fail "fail-closed: lan2 received UDP"

# ---- 2. keyed ------------------------------------------------------------------------------
step "2. TEK $SPI1 (AES-256-CBC/HMAC-SHA-256) on both members"
send gm2 tek $SPI1 cbc $KEY1 $INT1
send gm1 tek $SPI1 cbc $KEY1 $INT1
capture_start keyed
if ping_ok 10.2.0.10 5; then pass "keyed: ping lan1 -> lan2"; else fail "keyed: ping lan1 -> lan2"; fi
if nsx lan2 ping -n -q -c 3 -i 0.2 -W 1 10.1.0.10 >/dev/null 2>&1; then pass "keyed: ping lan2 -> lan1"; else fail "keyed: ping lan2 -> lan1"; fi
udp_send
capture_stop
[[ $(udp_received) -ge 5 ]] && pass "keyed: lan2 received the 5 UDP datagrams" || fail "keyed: lan2 received $(udp_received) UDP datagrams"
[[ $(cap_field clear) -eq 0 ]] && pass "keyed: no cleartext between the LANs on the core" || fail "keyed: cleartext on the core"
[[ $(cap_field esp) -ge 16 ]] && pass "keyed: ESP on the core ($(cap_field esp) packets)" || fail "keyed: too little ESP"
[[ $(cap_field marker) -eq 0 ]] && pass "keyed: marker never on the wire" || fail "keyed: marker on the wire"
grep -q '^outer=10.1.0.10>10.2.0.10,10.2.0.10>10.1.0.10$' "$CAP.txt" && pass "keyed: outer addresses = inner hosts" ||
    fail "keyed: outer addresses $(grep ^outer "$CAP.txt")"
[[ $(grep -c '^spis .* 0x00001000:[0-9]*$' "$CAP.txt") -eq 2 ]] && pass "keyed: group SPI $SPI1 both ways" || fail "keyed: SPIs"
# tshark with the TEK key: every ESP packet decrypts to an IPIP inner packet (ESP next header 4)
# whose addresses are the outer ones, and the UDP datagrams carried the marker. Only ESP
# frames count (-Y esp): other frames on the link (seen: IPv6 router solicitations) are not
# decryption failures.
SA1="\"IPv4\",\"*\",\"*\",\"$SPI1\",\"AES-CBC [RFC3602]\",\"0x$KEY1\",\"HMAC-SHA-256-128 [RFC4868]\",\"0x$INT1\""
tshark -r "$W/keyed.pcap" -Y esp -o esp.enable_encryption_decode:TRUE -o "uat:esp_sa:$SA1" -T fields -E separator=' ' \
    -e esp.protocol -e ip.src -e ip.dst -e udp.payload >"$W/keyed.decrypted" 2>/dev/null || true
total=$(grep -c . "$W/keyed.decrypted" || true)
good=$(awk '$1 == "0x04" && split($2, s, ",") == 2 && s[1] == s[2] && split($3, d, ",") == 2 && d[1] == d[2]' "$W/keyed.decrypted" | grep -c . || true)
marker_hex=$($PY -c 'import sys; print(sys.argv[1].encode().hex())' "$MARKER")
marked=$(grep -c "$marker_hex" "$W/keyed.decrypted" || true)
[[ $total -gt 0 && $good -eq $total ]] && pass "keyed: tshark decrypts all $total ESP packets to IPIP (next header 4), inner = outer addresses" ||
    fail "keyed: tshark decrypted $good of $total as expected"
[[ $marked -eq 5 ]] && pass "keyed: the 5 marker datagrams are inside the ESP" || fail "keyed: $marked marker datagrams decrypted"
for gm in gm1 gm2; do
    s=$(count_states $gm); p=$(count_policies $gm)
    echo "    $gm: $s XFRM states, $p XFRM policies"
    [[ $s -eq 2 ]] && pass "$gm: 2 SAs (in + out) for one TEK" || fail "$gm: $s SAs"
    nsx "$gm" ip xfrm state >"$W/$gm.xfrm-state.keyed"
    nsx "$gm" ip xfrm policy >"$W/$gm.xfrm-policy.keyed"
done
send gm1 status
sed -n '/^tek\|^remote\|^policy/p' "$W/gm1.out" | tail -8 | sed 's/^/    /'
if nsx lan1 ping -n -q -c 1 -W 1 -M 'do' -s 1410 10.2.0.10 >/dev/null 2>&1; then pass "keyed: 1438-byte DF packet (carrier MTU for AES-CBC/HMAC-SHA-256) crosses"; else fail "keyed: 1438-byte DF packet"; fi

# ---- 2b. cleartext IPIP to G_IN (carrier bypass) ------------------------------------------------
step "2b. crafted cleartext IPIP from the core to G_IN"
nsx core ip route add 169.254.0.71/32 via 172.16.1.2
cat >"$W/ipip.py" <<'EOF'
# ipip.py send INNER_SRC | listen SECONDS: IPIP to G_IN with an inner ICMP echo to lan1's host.
import socket, struct, sys, time
MARK = b"GDOI-IPIP-BYPASS"
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return (~s) & 0xffff
if sys.argv[1] == "send":
    icmp = struct.pack("!BBHHH", 8, 0, 0, 0x4744, 1) + MARK
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    src, dst = socket.inet_aton(sys.argv[2]), socket.inet_aton("10.1.0.10")
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 1, 0, 64, 1, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 4)
    for _ in range(5):
        s.sendto(ip + icmp, ("169.254.0.71", 0)); time.sleep(0.05)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); s.settimeout(0.2)
    end, n = time.time() + float(sys.argv[2]), 0
    while time.time() < end:
        try: d = s.recv(2000)
        except OSError: continue
        n += MARK in d
    print(n)
EOF
nsx lan1 $PY "$W/ipip.py" listen 4 >"$W/ipip.rx" &
IPIP_PID=$!
sleep 1
nsx core $PY "$W/ipip.py" send 192.0.2.66
nsx core $PY "$W/ipip.py" send 10.2.0.66
wait "$IPIP_PID" || true
[[ $(cat "$W/ipip.rx") == 0 ]] && pass "IPIP bypass: no crafted packet reached lan1 (inner sources 192.0.2.66, 10.2.0.66)" ||
    fail "IPIP bypass: $(cat "$W/ipip.rx") crafted packets reached lan1"

# ---- 3. make-before-break rekey ---------------------------------------------------------------
step "3. rekey to $SPI2 (GAP activation 2 s, deactivation 3 s) during 600 pings at 10 ms"
send gm1 gap 2 3
send gm2 gap 2 3
capture_start rekey
nsx lan1 ping -n -q -c 600 -i 0.01 -W 2 10.2.0.10 >"$W/rekey.ping" 2>&1 &
PING_PID=$!
sleep 1
send_both tek $SPI2 cbc $KEY2 $INT2
wait "$PING_PID" || true
capture_stop
sed 's/^/    /' "$W/rekey.ping" | tail -2
received=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$W/rekey.ping")
[[ "$received" == 600 ]] && pass "rekey: 600/600 pings, 0 lost" || fail "rekey: ${received:-?}/600 received"
for src in 10.1.0.10 10.2.0.10; do
    line=$(grep "^spis $src " "$CAP.txt" || true)
    if [[ $line =~ ^spis\ $src\ 0x00001000:[0-9]+\ 0x00002000:[0-9]+$ ]]; then pass "rekey: one SPI switch from $src ($line)"; else fail "rekey: SPIs from $src: $line"; fi
done
[[ $(cap_field clear) -eq 0 ]] && pass "rekey: no cleartext" || fail "rekey: cleartext on the core"
for gm in gm1 gm2; do
    s=$(count_states $gm)
    [[ $s -eq 3 ]] && pass "$gm: 3 SAs after the switch (in $SPI1, in + out $SPI2)" || fail "$gm: $s SAs after the switch"
done
send gm1 delete $SPI1
send gm2 delete $SPI1
sleep 3.5
for gm in gm1 gm2; do
    s=$(count_states $gm)
    [[ $s -eq 2 ]] && pass "$gm: old inbound SA gone after the deactivation delay (2 SAs)" || fail "$gm: $s SAs after the deactivation delay"
done
ping_ok 10.2.0.10 && pass "rekey: traffic flows on $SPI2" || fail "rekey: no traffic on $SPI2"

step "3c. rekey to AES-GCM-128 $SPI3 (GAP 1 s / 1 s) during 1000 pings at 10 ms"
send gm1 gap 1 1
send gm2 gap 1 1
capture_start rekey-gcm
# Pings at 10 ms from before the new TEK until 2 s after both members send with it and the old
# outbound SAs are gone: process starts and the first use of GCM (its modules load) under TCG
# can delay the switch by seconds, so the pings run until it is seen, not for a fixed count.
nsx lan1 ping -n -q -c 6000 -i 0.01 -W 2 10.2.0.10 >"$W/rekey-gcm.ping" 2>&1 &
PING_PID=$!
sleep 0.5
send_both tek $SPI3 gcm $KEY3
gcm_switched() {
    local gm
    for gm in gm1 gm2; do
        nsx $gm ip xfrm state get src 169.254.0.71 dst 169.254.0.72 proto esp spi $SPI3 >/dev/null 2>&1 || return 1
        ! nsx $gm ip xfrm state get src 169.254.0.71 dst 169.254.0.72 proto esp spi $SPI2 >/dev/null 2>&1 || return 1
    done
}
switched=0
for _ in $(seq 300); do gcm_switched && { switched=1; break; }; sleep 0.1; done
[[ $switched == 1 ]] && pass "GCM rekey: both members send with $SPI3, their $SPI2 outbound SAs gone" ||
    fail "GCM rekey: no switch to $SPI3 within 30 s"
sleep 2
kill -INT "$PING_PID" 2>/dev/null || true
wait "$PING_PID" || true
capture_stop
sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$W/rekey-gcm.ping")
received=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$W/rekey-gcm.ping")
[[ -n "$sent" && "$sent" -ge 200 && "$received" == "$sent" ]] && pass "GCM rekey: $received/$sent pings, 0 lost" ||
    fail "GCM rekey: ${received:-?}/${sent:-?} received"
for src in 10.1.0.10 10.2.0.10; do
    line=$(grep "^spis $src " "$CAP.txt" || true)
    if [[ $line =~ ^spis\ $src\ 0x00002000:[0-9]+\ 0x00003000:[0-9]+$ ]]; then pass "GCM rekey: one SPI switch from $src"; else fail "GCM rekey: SPIs from $src: $line"; fi
done
nsx gm1 ip -s xfrm state get src 169.254.0.71 dst 169.254.0.72 proto esp spi $SPI3 >"$W/gm1.gcm-out-sa" 2>&1 || true
grep -q 'hard 524287(packets)' "$W/gm1.gcm-out-sa" && pass "GCM: outbound SA limited to 524287 packets (100 expected senders)" ||
    { fail "GCM: no packet limit on the outbound SA"; sed 's/^/    /' "$W/gm1.gcm-out-sa"; }
nsx gm1 ip link show gdoi0 | grep -q 'mtu 1446' && pass "GCM: carrier MTU 1446" || fail "GCM: carrier MTU $(nsx gm1 ip link show gdoi0 | grep -o 'mtu [0-9]*')"
grep -q 'is AES-GCM shared by the group' "$W/gm1.err" && pass "GCM: warning logged (allow-gcm = warn)" || fail "GCM: no warning"

# ---- 4. SIGKILL leaves fail-closed in place ----------------------------------------------------
step "4. SIGKILL gm1's driver"
kill -9 "$GM1_PID"; wait "$GM1_PID" 2>/dev/null || true
exec 3>&-
nsx gm1 nft list table inet gdoi_member >/dev/null && pass "after SIGKILL: nft table still there" || fail "after SIGKILL: table gone"
ping_ok 10.2.0.10 && pass "after SIGKILL: SAs left in place, traffic still encrypted" || fail "after SIGKILL: ping"
nsx gm1 ip xfrm state flush   # as when the SAs reach their hard lifetime
capture_start killed
if ping_ok 10.2.0.10; then fail "after SIGKILL, no SA: ping passed"; else pass "after SIGKILL, no SA: ping dropped"; fi
: >"$W/udp.rx"
udp_send
capture_stop
[[ $(cap_field clear) -eq 0 ]] && pass "after SIGKILL, no SA: no cleartext on the core" || fail "after SIGKILL: cleartext leaked"
[[ $(cap_field marker) -eq 0 ]] && pass "after SIGKILL, no SA: marker not on the wire" || fail "after SIGKILL: marker leaked"

step "4b. a new run on gm1 adopts the table and installs the current TEK"
start_driver gm1
send gm1 tek $SPI3 gcm $KEY3
capture_start restarted
ping_ok 10.2.0.10 && pass "restart: traffic flows again" || fail "restart: ping"
capture_stop
[[ $(cap_field clear) -eq 0 ]] && pass "restart: no cleartext" || fail "restart: cleartext"
s=$(count_states gm1)
[[ $s -eq 2 ]] && pass "restart: gm1 has 2 SAs" || fail "restart: gm1 has $s SAs"

send gm1 flush
[[ $(count_states gm1) -eq 0 && $(count_policies gm1) -eq 0 ]] && pass "flush: no SA, no policy left" || fail "flush: objects left"
nsx gm1 nft list table inet gdoi_member >/dev/null 2>&1 && fail "flush: table still there" || pass "flush: nft table removed"
nsx gm1 ip link show gdoi0 >/dev/null 2>&1 && fail "flush: carrier still there" || pass "flush: carrier removed"

kill "$UDP_PID" 2>/dev/null || true
send gm2 quit
wait "$GM2_PID" 2>/dev/null || true
step "done"
if [[ $FAILS -ne 0 ]]; then echo "dataplane-esp: $FAILS check(s) failed"; exit 1; fi
echo "dataplane-esp: all checks passed"
