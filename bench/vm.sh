#!/usr/bin/env bash
# vm.sh [BUILD_DIR] [--out FILE] — the dataplane benchmarks that need real ESP, in one boot of the
# test VM (tests/vm/vm-run.sh, qemu TCG, Debian's kernel), each next to an anchor:
#   1. registration -> kernel objects: the member's "registered" log line to its last kernel object
#      ("state applied in the kernel", debug), for 1 and 10 TEKs (gdoictl flush + register, so
#      every repetition installs everything), next to `ip -batch` of the same XFRM states and
#      policies (dumped from the member, keys included) in a scratch namespace, with and without
#      the process start, and `nft -f` of the member's nft table; then the same from fail-closed
#      (a changed group setting + SIGHUP: the group's table fail-closed and its carrier in place,
#      so the keyed flip edits the table in place, as on a router that registers);
#   2. rekey: the push's arrival on the member's WAN (capture) to the new outbound SA in the kernel
#      (`ip -ts xfrm monitor`), and to the daemon's "rekeyed" line (CLOCK_MONOTONIC, converted),
#      with the daemon's steps in between, next to `ip -batch` of the same SA changes (the new
#      outbound SA added, the old one deleted; then with the new inbound SA too), with and without
#      the process start, and the ratio;
#   3. TCP lan1 -> lan2 through the group's layout (IPIP carrier + transport ESP + nft rewrite)
#      vs plain tunnel-mode ESP between the same routers with the same cipher, interleaved, then
#      `perf record -a -g` during a transfer in each layout: processes, symbols, packet-path functions;
#      3b. the same transfers with anti-replay-time-window = 60 on both members vs off, interleaved;
#   4. strongSwan's charon: a CHILD_SA's Quick Mode response to "CHILD_SA established" (its SAs and
#      policies installed), the same ESP cipher.
# Prints progress on stderr and the markdown tables on stdout (and to FILE with --out). Root.
# Knobs (environment): BENCH_REG_REPS (15, also the anchors' and charon's), BENCH_REKEYS (10),
# BENCH_TPUT_REPS (5), BENCH_TPUT_BYTES (calibrated to about 4 s per transfer when unset),
# BENCH_PERF (1: profile), BENCH_PERF_SECONDS (4), BENCH_CHARON (1), BENCH_KEEP=DIR (keep the
# VM's logs, dumps and reports). GDOI_VM_TIMEOUT defaults to 1500 here. Not a test: nothing is
# checked beyond what the figures need.
set -Eeuo pipefail
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
SRC=$(readlink -f "$HERE/..")

# ---------------------------------------------------------------------------------------------
# On the host: boot the VM with this script, print what it wrote.
if [ "${1:-}" != --inside ]; then
    BUILD=$SRC/build
    OUTFILE=""
    while [ $# -gt 0 ]; do
        case $1 in
            --out) OUTFILE=${2:?--out FILE}; shift 2 ;;
            -h | --help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
            *) BUILD=$1; shift ;;
        esac
    done
    [ "$(id -u)" -eq 0 ] || { echo "vm.sh: run as root (the VM cache and network namespaces)" >&2; exit 2; }
    BUILD=$(readlink -f "$BUILD")
    for b in tests/keyserver/gdoi-test-keyserver member/gdoi-memberd member/gdoictl; do
        [ -x "$BUILD/$b" ] || { echo "vm.sh: $BUILD/$b missing (build first)" >&2; exit 2; }
    done
    HOST_OUT=$(mktemp -d /tmp/gdoi-bench-vm.XXXXXX)
    trap 'rm -rf "$HOST_OUT"' EXIT
    env=""
    for v in BENCH_REG_REPS BENCH_REKEYS BENCH_TPUT_REPS BENCH_TPUT_BYTES BENCH_PERF BENCH_PERF_SECONDS BENCH_CHARON; do
        [ -z "${!v:-}" ] || env+=" $v=${!v}"
    done
    rc=0
    # The VM's console (progress) goes to stderr: stdout carries only the tables.
    GDOI_VM_TIMEOUT=${GDOI_VM_TIMEOUT:-1500} GDOI_VM_OUT_HOST=$HOST_OUT \
        GDOI_VM_ENV="${GDOI_VM_ENV:-}$env" "$SRC/tests/vm/vm-run.sh" "$0" --inside "$BUILD" >&2 || rc=$?
    # BENCH_KEEP=DIR keeps the logs, dumps and perf reports of the VM
    [ -z "${BENCH_KEEP:-}" ] || { mkdir -p "$BENCH_KEEP"; cp -f "$HOST_OUT"/* "$HOST_OUT"/.[!.]* "$BENCH_KEEP"/ 2>/dev/null || true; }
    if [ -s "$HOST_OUT/vm-bench.md" ]; then
        cat "$HOST_OUT/vm-bench.md"
        [ -z "$OUTFILE" ] || cp "$HOST_OUT/vm-bench.md" "$OUTFILE"
    else
        echo "vm.sh: the VM wrote no figures (exit $rc)" >&2
        [ "$rc" -ne 0 ] || rc=1
    fi
    exit "$rc"
fi

# ---------------------------------------------------------------------------------------------
# Inside the VM.
[ "${GDOI_VM:-}" = 1 ] || { echo "vm.sh --inside: only inside the test VM" >&2; exit 2; }
# shellcheck source=tests/vm/lib/sites.sh
. "$SRC/tests/vm/lib/sites.sh"
BUILD=$(readlink -f "${2:?usage: vm.sh --inside BUILD_DIR}")
member_binaries "$BUILD" vm.sh
REG_REPS=${BENCH_REG_REPS:-15}
REKEYS=${BENCH_REKEYS:-10}
TPUT_REPS=${BENCH_TPUT_REPS:-5}
PERF=${BENCH_PERF:-1}
PY=/usr/bin/python3
W=$(mktemp -d /tmp/gdoi-bench.XXXXXX)
OUT=${GDOI_VM_OUT:-$W}
MD=$OUT/vm-bench.md
GROUP=BENCH
G_OUT=169.254.0.72  # the outbound SA's destination: the carrier peer of slot 0 (ARCHITECTURE.md)
P=bm$$
Q=bp$$  # the plain tunnel-mode pair
export TZ=UTC
FAILS=0
BG=()

log() { echo "vm.sh: $*" >&2; }
cleanup() {
    local pid
    for pid in "${BG[@]}"; do kill "$pid" 2>/dev/null || true; done
    sites_destroy ks scratch ca cb
    P=$Q sites_destroy
    cp -f "$W"/*.log "$W"/*.toml "$W"/*.txt "$W"/*.batch "$W"/*.md "$W"/*.nft "$OUT"/ 2>/dev/null || true
}
trap cleanup EXIT
trap 'log "failed at line $LINENO: $BASH_COMMAND"' ERR

# poll SECONDS CMD... — CMD every 0.1 s until it succeeds (0) or SECONDS pass (1).
poll() { WAIT_STEP=0.1 wait_until "$@"; }
# stats FILE — "n min median max" of the numbers in FILE (one a line), 3 decimals.
stats() {
    [ -s "$1" ] || { echo "0 - - -"; return; }
    sort -g "$1" | awk '{v[NR] = $1} END {
        if (NR == 0) { print "0 - - -"; exit }
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%d %.3f %.3f %.3f\n", NR, v[1], m, v[NR] }'
}
# row WHAT UNIT FILE [ANCHOR] — one line of the figures table.
row() {
    local n mn md mx
    read -r n mn md mx < <(stats "$3")
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$n" "$mn" "$md" "$mx" "$2" "${4:-}" >>"$W/rows.md"
}
# ratio_row WHAT FILE_A FILE_B — the ratio of the medians of two figures, in the median column.
ratio_row() {
    local ma mb
    read -r _ _ ma _ < <(stats "$2")
    read -r _ _ mb _ < <(stats "$3")
    printf '| %s | | | %s | | × | medians |\n' "$1" "$(awk -v a="$ma" -v b="$mb" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "-" }')" >>"$W/rows.md"
}
count() { grep -c "$1" "$2" || true; }
ge() { [ "$(count "$2" "$3")" -ge "$1" ]; }  # ge N PATTERN FILE

# ---- the sites, the key server, the members
sites_create ks scratch
link core c9 172.16.9.1/24 ks eth0 172.16.9.2/24
nsx ks ip route add default via 172.16.9.1
umask 077
echo "bench-pre-shared-key" >"$W/psk"
sysctl -qw kernel.kptr_restrict=0 kernel.perf_event_paranoid=-1 2>/dev/null || true

KS_PID=""
ks_start() {  # ks_start TEKS: the key server with TEKS TEKs (SPIs 0x1001...), activation at once
    local args=() i
    for i in $(seq "$1"); do args+=(--tek "$(printf 'cbc256-sha256:0x%x' $((0x1000 + i)))"); done
    rm -f "$W/ks.ctl"
    # ip netns exec execs the key server: $! is its pid (ks_stop)
    ip netns exec "$P-ks" "$KS_BIN" --listen 172.16.9.2 --psk-any "$W/psk" --group 1 "${args[@]}" --selector 10.0.0.0/8 \
        --gap 0,1 --control "$W/ks.ctl" >>"$W/keyserver.log" 2>&1 &
    KS_PID=$!
    BG+=("$KS_PID")
    poll 30 test -S "$W/ks.ctl" || { log "the key server did not start"; exit 1; }
}
ks_stop() { kill "$KS_PID"; wait "$KS_PID" 2>/dev/null || true; }

for gm in gm1 gm2; do
    wan=172.16.1.2; [ "$gm" = gm2 ] && wan=172.16.2.2
    { printf '[member]\nlocal-address = "%s"\nwan-interface = "wan0"\ncontrol-socket = "%s"\n' "$wan" "$W/$gm.sock"
      group_toml "$GROUP" 1 172.16.9.2; } >"$W/$gm.toml"
done
declare -A MEMBER_PID
member_start() {
    # ip netns exec execs the daemon: $! is its pid (SIGHUP)
    ip netns exec "$P-$1" "$MEMBERD" -c "$W/$1.toml" --log-level debug 2>"$W/$1.log" >/dev/null &
    MEMBER_PID[$1]=$!
    BG+=($!)
}
applied() { count 'state applied in the kernel' "$W/$1.log"; }
ctl() { local gm=$1; shift; "$GDOICTL" -s "$W/$gm.sock" "$@" >/dev/null; }

# xfrm monitor on gm1 from the start (wall-clock timestamps), ready once it saw a probe policy
# (SA and policy events only: a listener for all groups would subscribe to the replay aevents, which
# the kernel then sends every few packets, and make `ip` busy during the throughput runs)
ip netns exec "$P-gm1" ip -ts xfrm monitor SA policy >"$W/gm1-xfrm-monitor.txt" 2>&1 &
MON=$!
BG+=("$MON")
probe_monitor() {
    nsx gm1 ip xfrm policy add src 192.0.2.1/32 dst 192.0.2.2/32 dir out action block priority 65000 2>/dev/null || true
    nsx gm1 ip xfrm policy delete src 192.0.2.1/32 dst 192.0.2.2/32 dir out 2>/dev/null || true
    grep -q 192.0.2.1 "$W/gm1-xfrm-monitor.txt"
}
poll 30 probe_monitor || { log "ip xfrm monitor does not report"; exit 1; }

# ---- 1. registration -> kernel objects
# One flush + register per repetition on gm1; the log gives the times (CLOCK_MONOTONIC).
reg_reps() {  # reg_reps LABEL TEKS
    local i n
    for i in $(seq "$REG_REPS"); do
        n=$(applied gm1)
        ctl gm1 flush
        ctl gm1 register "$GROUP"
        poll 120 ge "$((n + 1))" 'state applied in the kernel' "$W/gm1.log" || { log "$1: repetition $i: no kernel install"; exit 1; }
    done
}
# reg_reps_fail_closed LABEL: a registration from the fail-closed state a registering member is in:
# a changed group setting (gcm-expected-senders, which CBC TEKs ignore) and SIGHUP restart the group
# in the running daemon, which puts the group's table fail-closed and its carrier back before the
# group starts again ("starting": phase 1) and flips the table to keyed once the keys are in. The
# flush + register repetitions above have no table at the flip (flush removed it): they create it.
reg_reps_fail_closed() {
    local i n senders
    for i in $(seq "$REG_REPS"); do
        n=$(applied gm1)
        # Another value than the file holds (a reload without a change restarts nothing).
        senders=3
        ! grep -qx 'gcm-expected-senders = 3' "$W/gm1.toml" || senders=2
        sed -i '/^gcm-expected-senders/d' "$W/gm1.toml"
        echo "gcm-expected-senders = $senders" >>"$W/gm1.toml"
        kill -HUP "${MEMBER_PID[gm1]}"
        poll 120 ge "$((n + 1))" 'state applied in the kernel' "$W/gm1.log" || { log "$1: repetition $i: no kernel install"; exit 1; }
    done
}
# reg_times LABEL: from the gm1 log lines after the mark "$W/$1.mark" (a line number): per
# registration, milliseconds from "registered with" to the dataplane's first step, to its
# "kernel request(s) applied" line (the steps are staged, then go as one XFRM and one rtnetlink
# batch: SAs, policies, carrier MTU, routes), to "nft table ... applied" and to "state applied in
# the kernel"; and from "registration requested" (gdoictl register: phase 1 starts) to "state
# applied in the kernel", the whole registration. Writes $W/$1-{total,prep,batches,nft,full}.txt.
reg_times() {
    tail -n "+$(($(cat "$W/$1.mark") + 1))" "$W/gm1.log" | awk -v out="$W/$1" '
        function ts() { s = $0; sub(/^<[0-9]>\[ */, "", s); sub(/\].*/, "", s); return s + 0 }
        /registration requested|: starting, [0-9]+ key server/ { req = ts(); next }
        /registered with/ { reg = ts(); first = keyed = batch = nft = 0; next }
        !reg { next }
        / install_inbound / && !first { first = ts() }
        /: keyed( group=|$)/ && !keyed { keyed = ts() }
        /kernel request\(s\) applied/ && keyed && !batch { batch = ts() }
        /nft table .* applied/ && batch && !nft { nft = ts() }
        /state applied in the kernel/ {
            t = ts()
            printf "%.3f\n", (t - reg) * 1000 >> (out "-total.txt")
            if (first) printf "%.3f\n", (first - reg) * 1000 >> (out "-prep.txt")
            if (first && batch) printf "%.3f\n", (batch - first) * 1000 >> (out "-batches.txt")
            if (batch && nft) printf "%.3f\n", (nft - batch) * 1000 >> (out "-nft.txt")
            if (req) printf "%.3f\n", (t - req) * 1000 >> (out "-full.txt")
            reg = req = 0
        }'
}
# state_adds DUMP — `ip xfrm state` output as `xfrm state add` lines: one block per "src" line, keys
# as dumped; the anti-replay context is state, not configuration (lifetimes are not shown without
# -s and are left out).
state_adds() {
    awk '
        function flush() { if (b != "") print "xfrm state add " b; b = "" }
        /^src / { flush(); b = $0; next }
        /anti-replay|^\tlifetime|^\t  |lastused|^\tstats|crypto offload/ { next }
        {
            l = $0; sub(/^[ \t]+/, "", l)
            if (l ~ /^(mark|output-mark) /) { split(l, a, /[ \/]/); l = a[1] " " a[2] " mask " a[3] }
            sub(/^extra_flag/, "extra-flag", l)
            b = b " " l
        }
        END { flush() }' "$1"
}
# time_batch NAME FILE [SETUP] — `ip -batch FILE` in the scratch namespace, REG_REPS times, with its
# process start ($W/NAME-anchor.txt), next to `ip -batch` of an empty file ($W/NAME-empty.txt), then
# FILE into one running `ip -batch -` (no process start: $W/NAME-running.txt). Before each run,
# untimed: the scratch namespace's XFRM states and policies flushed, then the lines of SETUP.
time_batch() {
    local name=$1 f=$2 setup=${3:-} i t0 t1 lines setup_lines=()
    : >"$W/$name-empty.batch"
    : >"$W/$name-anchor.txt"
    : >"$W/$name-empty.txt"
    for i in $(seq "$REG_REPS"); do
        nsx scratch ip xfrm state flush
        nsx scratch ip xfrm policy flush
        if [ -n "$setup" ]; then
            ip -n "$P-scratch" -batch "$setup" >"$W/$name-batch-err.txt" 2>&1 || { log "$name: setup failed: $(head -3 "$W/$name-batch-err.txt")"; FAILS=$((FAILS + 1)); return; }
        fi
        t0=$EPOCHREALTIME
        ip -n "$P-scratch" -batch "$f" >"$W/$name-batch-err.txt" 2>&1 || { log "$name: ip -batch failed: $(head -3 "$W/$name-batch-err.txt")"; FAILS=$((FAILS + 1)); break; }
        t1=$EPOCHREALTIME
        echo "($t1 - $t0) * 1000" | bc -l >>"$W/$name-anchor.txt"
        t0=$EPOCHREALTIME
        ip -n "$P-scratch" -batch "$W/$name-empty.batch"
        t1=$EPOCHREALTIME
        echo "($t1 - $t0) * 1000" | bc -l >>"$W/$name-empty.txt"
    done
    # The same batch into one running `ip -batch -`: each run ends with a marker command whose
    # two-line answer is read back.
    mapfile -t lines <"$f"
    [ -z "$setup" ] || mapfile -t setup_lines <"$setup"
    : >"$W/$name-running.txt"
    coproc IPB { stdbuf -oL ip -n "$P-scratch" -force -batch - 2>>"$W/$name-batch-err.txt"; }
    IP_IN=${IPB[1]}
    IP_OUT=${IPB[0]}
    for i in $(seq "$REG_REPS"); do
        printf 'xfrm state flush\nxfrm policy flush\n' >&"$IP_IN"
        [ "${#setup_lines[@]}" -eq 0 ] || printf '%s\n' "${setup_lines[@]}" >&"$IP_IN"
        ip_marker || { log "$name: the running ip does not answer"; break; }
        t0=$EPOCHREALTIME
        printf '%s\n' "${lines[@]}" >&"$IP_IN"
        ip_marker || { log "$name: the running ip does not answer"; break; }
        t1=$EPOCHREALTIME
        echo "($t1 - $t0) * 1000" | bc -l >>"$W/$name-running.txt"
    done
    exec {IP_IN}>&-
    wait "$IPB_PID" || true
}
# anchor LABEL: dump gm1's XFRM states and policies, make them `ip xfrm ... add` lines, and time
# `ip -batch` of them in the scratch namespace (time_batch), and `nft -f` of the member's nft table.
anchor() {
    local f=$W/$1.batch i t0 t1 devs d
    nsx gm1 ip xfrm state >"$W/$1-states.txt"
    nsx gm1 ip xfrm policy >"$W/$1-policies.txt"
    state_adds "$W/$1-states.txt" >"$f"
    # Policies: socket policies (the daemon's own sockets) are not global objects: left out.
    awk '
        function flush() { if (b != "" && !sock) print "xfrm policy add " b; b = ""; sock = 0 }
        /^src / { flush(); b = $0; next }
        /^\tsocket / { sock = 1; next }
        /lifetime|lastused|^\t  [a-z]/ { next }
        {
            l = $0; sub(/^[ \t]+/, "", l)
            if (l ~ /^mark /) { split(l, a, /[ \/]/); l = a[1] " " a[2] " mask " a[3] }
            b = b " " l
        }
        END { flush() }' "$W/$1-policies.txt" >>"$f"
    # the devices the policies name (the carrier) exist in the scratch namespace too
    devs=$(grep -o ' dev [^ ]*' "$f" | awk '{print $2}' | sort -u || true)
    for d in $devs; do nsx scratch ip link show "$d" >/dev/null 2>&1 || nsx scratch ip link add "$d" type dummy; done
    time_batch "$1" "$f"
    # The member's nft table as `nft list` shows it, loaded with `nft -f` (process start included).
    nsx gm1 nft list table inet gdoi_member >"$W/$1.nft"
    NFT_RULES=$(sed -nE 's/.*nft table .* applied: ([0-9]+) rules.*/\1/p' "$W/gm1.log" | tail -n 1)
    : >"$W/$1-nft-anchor.txt"
    for i in $(seq "$REG_REPS"); do
        nsx scratch nft flush ruleset
        t0=$EPOCHREALTIME
        ip netns exec "$P-scratch" nft -f "$W/$1.nft" 2>>"$W/$1-batch-err.txt" || { log "$1: nft -f failed: $(tail -2 "$W/$1-batch-err.txt")"; break; }
        t1=$EPOCHREALTIME
        echo "($t1 - $t0) * 1000" | bc -l >>"$W/$1-nft-anchor.txt"
    done
    nsx scratch nft flush ruleset
    ANCHOR_STATES=$(grep -c '^xfrm state' "$f" || true)
    ANCHOR_POLICIES=$(grep -c '^xfrm policy' "$f" || true)
    local got_s got_p
    got_s=$(nsx scratch ip xfrm state | grep -c '^src' || true)
    got_p=$(nsx scratch ip xfrm policy | grep -c '^src' || true)
    if [ "$got_s" != "$ANCHOR_STATES" ] || [ "$got_p" != "$ANCHOR_POLICIES" ]; then
        log "$1: the scratch namespace holds $got_s states / $got_p policies, the batch has $ANCHOR_STATES / $ANCHOR_POLICIES"
    fi
    nsx scratch ip xfrm state flush
    nsx scratch ip xfrm policy flush
}
ip_marker() {  # a command with a known answer through the running `ip -batch -`, its answer read
    local l
    echo "link show lo" >&"$IP_IN"
    read -r -t 60 l <&"$IP_OUT" && read -r -t 60 l <&"$IP_OUT"
}
registration() {  # registration LABEL TEKS
    log "registration -> kernel objects, $2 TEK(s): $REG_REPS repetitions"
    wc -l <"$W/gm1.log" >"$W/$1.mark"
    reg_reps "$1" "$2"
    reg_times "$1"
    anchor "$1"
    local what="registration → kernel objects, $2 TEK(s)"
    row "$what: \`registered\` → last object (SAs, policies, carrier, routes, nft)" ms "$W/$1-total.txt"
    row "  of which \`registered\` → first SA step (dataplane: local scope, TEK checks)" ms "$W/$1-prep.txt"
    row "  of which the XFRM + rtnetlink batches ($2 inbound SA(s), outbound SA, policies, carrier MTU, routes)" ms "$W/$1-batches.txt"
    row "  of which the nft table" ms "$W/$1-nft.txt"
    row "$what: \`registration requested\` → last object (phase 1, pull, kernel objects; vs charon's Main + Quick Mode below)" ms "$W/$1-full.txt"
    row "anchor: \`ip -batch\` of the same $ANCHOR_STATES XFRM states + $ANCHOR_POLICIES policies (scratch netns, process start included)" ms "$W/$1-anchor.txt"
    row "  \`ip -batch\` of an empty file (process start)" ms "$W/$1-empty.txt"
    row "anchor: the same batch into a running \`ip -batch -\` (no process start)" ms "$W/$1-running.txt"
    row "anchor: the member's nft table (\`nft list\`, $NFT_RULES rules) loaded with \`nft -f\` (process start included)" ms "$W/$1-nft-anchor.txt"
    log "registration from fail-closed (group restarted by a reload), $2 TEK(s): $REG_REPS repetitions"
    wc -l <"$W/gm1.log" >"$W/$1-fc.mark"
    reg_reps_fail_closed "$1-fc"
    reg_times "$1-fc"
    local written
    written=$(sed -nE 's/.*nft table .* applied: [0-9]+ rules \(in place, ([0-9]+) written\).*/\1/p' "$W/gm1.log" | tail -n 1)
    what="registration from fail-closed (group restarted by SIGHUP: table fail-closed, carrier in place), $2 TEK(s)"
    row "$what: \`registered\` → last object" ms "$W/$1-fc-total.txt"
    row "  of which the XFRM + rtnetlink batches" ms "$W/$1-fc-batches.txt"
    row "  of which the nft table (the keyed flip in place${written:+, $written rules written})" ms "$W/$1-fc-nft.txt"
    row "$what: \`starting\` (phase 1) → last object (phase 1, pull, kernel objects; vs charon below)" ms "$W/$1-fc-full.txt"
}

command -v bc >/dev/null || { log "bc missing"; exit 2; }
ks_start 10
member_start gm1
wait_registered gm1 "$GROUP" || { log "gm1 did not register"; exit 1; }
poll 60 ge 1 'state applied in the kernel' "$W/gm1.log" || { log "gm1 installed nothing"; exit 1; }
registration reg10 10
ks_stop
ks_start 1
n=$(applied gm1)
ctl gm1 flush
ctl gm1 register "$GROUP"
poll 120 ge "$((n + 1))" 'state applied in the kernel' "$W/gm1.log" || { log "gm1 did not install the 1-TEK group"; exit 1; }
registration reg1 1

# ---- 2. rekeys: push arrival on gm1's WAN -> new outbound SA (monitor) and "rekeyed" log line
# gm1 alone: on the VM's one vCPU a second member handling the same push ran inside gm1's window
# (its decryption, check and SAs took 17-34 ms of it in half the rekeys). gm2 starts after them.
# CLOCK_REALTIME - CLOCK_MONOTONIC (no NTP in the VM: constant)
OFFSET=$($PY -c 'import time
r1 = time.clock_gettime(time.CLOCK_REALTIME); m = time.clock_gettime(time.CLOCK_MONOTONIC)
r2 = time.clock_gettime(time.CLOCK_REALTIME); print("%.6f" % ((r1 + r2) / 2 - m))')
ip netns exec "$P-gm1" dumpcap -i wan0 -f "udp port 848 and src host 172.16.9.2" -w "$W/push.pcap" 2>"$W/dumpcap.txt" &
CAP=$!
BG+=("$CAP")
poll 60 grep -q "Capturing on" "$W/dumpcap.txt" || { log "dumpcap did not start"; exit 1; }
log "rekeys: $REKEYS"
# The window is the member's: after each rekey command the harness starts no process for 0.5 s
# (no sed, no polls; a read with a timeout on a FIFO nobody writes), so that nothing of its own
# shares the VM's one vCPU with the push's handling.
mkfifo "$W/quiet"
exec {QUIET}<>"$W/quiet"
mark=$(wc -l <"$W/gm1.log")
: >"$W/rekey-spis.txt"
for i in $(seq "$REKEYS"); do
    n=$(count 'rekeyed, SEQ' "$W/gm1.log")
    answer=$("$KS_BIN" --control "$W/ks.ctl" --command rekey)
    spi=""
    [[ $answer =~ \ teks\ (0x[0-9a-f]+) ]] && spi=${BASH_REMATCH[1]}
    echo "$spi" >>"$W/rekey-spis.txt"
    read -r -t 0.5 -u "$QUIET" _ || true
    poll 60 grep -q "spi $spi .*mode transport" "$W/gm1-xfrm-monitor.txt" || { log "rekey $i: no outbound SA $spi"; exit 1; }
    poll 60 ge "$((n + 1))" 'rekeyed, SEQ' "$W/gm1.log"
    # the old TEK's inbound SA goes after the deactivation delay (1 s): one SA each way again
    poll 60 sh -c "[ \$(ip netns exec $P-gm1 ip xfrm state | grep -c '^src') -eq 2 ]"
done
kill "$CAP" "$MON"; wait "$CAP" "$MON" 2>/dev/null || true
tshark -r "$W/push.pcap" -T fields -e frame.time_epoch 2>/dev/null >"$W/push-arrivals.txt"
tail -n "+$((mark + 1))" "$W/gm1.log" | awk -v off="$OFFSET" -v out="$W" '
    function ts() { s = $0; sub(/^<[0-9]>\[ */, "", s); sub(/\].*/, "", s); return s + 0 }
    / octets: processing/ { p = ts(); printf "%.6f\n", p + off >> (out "/push-processing.txt"); next }
    /rekeyed, SEQ/ { t = ts(); printf "%.6f\n", t + off; if (p) printf "%.3f\n", (t - p) * 1000 >> (out "/rekey-process.txt"); p = 0 }' >"$W/rekey-logs.txt"
# the monitor: "[YYYY-MM-DDTHH:MM:SS.usec] src G_IN dst G_OUT" then "proto esp spi S ... mode transport"
awk -v gout="$G_OUT" '
    /^\[/ { split(substr($1, 2, 26), d, /[-T:.\]]/); t = mktime(d[1] " " d[2] " " d[3] " " d[4] " " d[5] " " d[6]) + ("0." d[7]); want = ($0 ~ ("dst " gout " *$")) && $0 !~ /Deleted|Updated|Expired/; next }
    want && /proto esp spi/ { for (i = 1; i <= NF; i++) if ($i == "spi") printf "%s %.6f\n", $(i + 1), t; want = 0 }' \
    "$W/gm1-xfrm-monitor.txt" >"$W/outbound-sas.txt"
: >"$W/rekey-arrival-sa.txt"; : >"$W/rekey-arrival-log.txt"; : >"$W/rekey-log-sa.txt"; : >"$W/rekey-arrival-recv.txt"
i=0
while read -r spi; do
    i=$((i + 1))
    arr=$(sed -n "${i}p" "$W/push-arrivals.txt")
    lg=$(sed -n "${i}p" "$W/rekey-logs.txt")
    sa=$(awk -v s="$spi" '$1 == s {print $2; exit}' "$W/outbound-sas.txt")
    [ -n "$arr" ] && [ -n "$sa" ] && echo "($sa - $arr) * 1000" | bc -l >>"$W/rekey-arrival-sa.txt"
    [ -n "$arr" ] && [ -n "$lg" ] && echo "($lg - $arr) * 1000" | bc -l >>"$W/rekey-arrival-log.txt"
    [ -n "$lg" ] && [ -n "$sa" ] && echo "($sa - $lg) * 1000" | bc -l >>"$W/rekey-log-sa.txt"
    pr=$(sed -n "${i}p" "$W/push-processing.txt" 2>/dev/null || true)
    [ -n "$arr" ] && [ -n "$pr" ] && echo "($pr - $arr) * 1000" | bc -l >>"$W/rekey-arrival-recv.txt"
done <"$W/rekey-spis.txt"
[ "$(wc -l <"$W/push-arrivals.txt")" -eq "$REKEYS" ] || log "rekeys: $(wc -l <"$W/push-arrivals.txt") captured pushes for $REKEYS rekeys"
row "rekey (1 TEK, GAP activation 0): push arrival on the WAN → new outbound SA in the kernel" ms "$W/rekey-arrival-sa.txt" "capture (realtime) → \`ip -ts xfrm monitor\` (realtime)"
row "  push arrival → daemon's \`rekeyed\` line (decrypt, verify, state)" ms "$W/rekey-arrival-log.txt"
row "    of which arrival → the daemon's \`push of N octets: processing\` line (the datagram's way in)" ms "$W/rekey-arrival-recv.txt"
row "    of which \`processing\` → \`rekeyed\` (decrypt, signature check, new state, ACK built)" ms "$W/rekey-process.txt" "member's debug log"
row "  \`rekeyed\` line → new outbound SA (inbound SA, timer, outbound SA)" ms "$W/rekey-log-sa.txt"
# the daemon's own steps after `rekeyed` (debug log, CLOCK_MONOTONIC): the new TEK's inbound SA
# (its step line, its batch applied), then the activation on the timer (its step line, its batch
# of the new outbound SA + the old one's delete applied)
tail -n "+$((mark + 1))" "$W/gm1.log" | awk -v out="$W/rekey" '
    function ts() { s = $0; sub(/^<[0-9]>\[ */, "", s); sub(/\].*/, "", s); return s + 0 }
    /rekeyed, SEQ/ { r = ts(); ib = ibd = ac = 0; next }
    !r { next }
    / install_inbound 0x/ && !ib { ib = ts(); next }
    /kernel request\(s\) applied .*install_inbound/ && ib && !ibd { ibd = ts(); next }
    / activate 0x/ && ibd && !ac { ac = ts(); next }
    /kernel request\(s\) applied .*activate/ && ac {
        printf "%.3f\n", (ibd - r) * 1000 >> (out "-inbound.txt")
        printf "%.3f\n", (ac - ibd) * 1000 >> (out "-timer.txt")
        printf "%.3f\n", (ts() - ac) * 1000 >> (out "-activate.txt")
        r = 0
    }'
row "    of which \`rekeyed\` → the new inbound SA's batch applied" ms "$W/rekey-inbound.txt" "member's debug log"
row "    of which that batch → the activation step (timer, GAP activation 0)" ms "$W/rekey-timer.txt"
row "    of which the activation step → its batch applied (new outbound SA, old outbound SA deleted)" ms "$W/rekey-activate.txt"
# The anchor: `ip -batch` of the same SA changes in the scratch namespace, from the member's own
# SAs after the last rekey (one each way, keys included): the new outbound SA added and an old one
# (the same SA under another SPI, added before each run, untimed) deleted; then with the new
# inbound SA added first too, as the member does within the window above.
nsx gm1 ip xfrm state >"$W/rekey-states.txt"
state_adds "$W/rekey-states.txt" >"$W/rekey-sas.txt"
out_sa=$(grep -m 1 " dst $G_OUT proto esp " "$W/rekey-sas.txt" || true)
in_sa=$(grep -v -m 1 " dst $G_OUT proto esp " "$W/rekey-sas.txt" || true)
if [ -n "$out_sa" ] && [ -n "$in_sa" ]; then
    old_spi=0x7ffffff1
    old_sa=$(sed -E "s/ spi 0x[0-9a-f]+ / spi $old_spi /" <<<"$out_sa")
    # the delete names the SA as the kernel finds it: addresses, protocol, SPI (and mark, if any)
    old_del="xfrm state delete $(grep -oE 'src [^ ]+ dst [^ ]+ proto esp' <<<"$out_sa") spi $old_spi$(grep -oE ' mark [^ ]+ mask [^ ]+' <<<"$out_sa" | head -1 || true)"
    echo "$old_sa" >"$W/rekey-anchor-setup.batch"
    printf '%s\n%s\n' "$out_sa" "$old_del" >"$W/rekey-anchor.batch"
    printf '%s\n%s\n%s\n' "$in_sa" "$out_sa" "$old_del" >"$W/rekey-anchor3.batch"
    time_batch rekey-anchor "$W/rekey-anchor.batch" "$W/rekey-anchor-setup.batch"
    time_batch rekey-anchor3 "$W/rekey-anchor3.batch" "$W/rekey-anchor-setup.batch"
    enc=$(grep -oE "enc [^ ]+ 0x[0-9a-f]+" <<<"$out_sa" | awk '{print $2 ", " (length($3) - 2) * 4 "-bit key"}')
    row "anchor: \`ip -batch\` of the outbound switch (new outbound SA added, old one deleted; ${enc:-?}; scratch netns, process start included)" ms "$W/rekey-anchor-anchor.txt"
    row "anchor: the same 2 requests into a running \`ip -batch -\` (no process start)" ms "$W/rekey-anchor-running.txt"
    row "anchor: \`ip -batch\` of the new inbound SA + the outbound switch (3 requests, process start included)" ms "$W/rekey-anchor3-anchor.txt"
    row "anchor: the same 3 requests into a running \`ip -batch -\`" ms "$W/rekey-anchor3-running.txt"
    ratio_row "ratio: push arrival → new outbound SA / \`ip -batch\` of the 2 SAs (process start included)" "$W/rekey-arrival-sa.txt" "$W/rekey-anchor-anchor.txt"
    ratio_row "ratio: push arrival → new outbound SA / the 2 SAs into a running \`ip -batch -\`" "$W/rekey-arrival-sa.txt" "$W/rekey-anchor-running.txt"
else
    log "rekeys: no SA pair in gm1 after the rekeys: no anchor"
    FAILS=$((FAILS + 1))
fi

# ---- 3. TCP lan1 -> lan2: the group's layout vs plain tunnel-mode ESP
member_start gm2
wait_registered gm2 "$GROUP" || { log "gm2 did not register"; exit 1; }
poll 60 ge 1 'state applied in the kernel' "$W/gm2.log"
log "plain tunnel-mode ESP pair"
P=$Q sites_create
hexkey() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
K1=0x$(hexkey 32); A1=0x$(hexkey 32); K2=0x$(hexkey 32); A2=0x$(hexkey 32)
plain_side() {  # plain_side GM LOCAL REMOTE LOCAL_NET REMOTE_NET: SPIs 0x2001 (gm1 -> gm2), 0x2002
    local gm=$1 l=$2 r=$3 ln=$4 rn=$5 out=0x2001 in=0x2002 ko=$K1 ao=$A1 ki=$K2 ai=$A2
    if [ "$gm" = gm2 ]; then out=0x2002; in=0x2001; ko=$K2; ao=$A2; ki=$K1; ai=$A1; fi
    ip -n "$Q-$gm" xfrm state add src "$l" dst "$r" proto esp spi "$out" reqid 1 mode tunnel \
        auth-trunc 'hmac(sha256)' "$ao" 128 enc 'cbc(aes)' "$ko"
    ip -n "$Q-$gm" xfrm state add src "$r" dst "$l" proto esp spi "$in" reqid 1 mode tunnel \
        auth-trunc 'hmac(sha256)' "$ai" 128 enc 'cbc(aes)' "$ki"
    ip -n "$Q-$gm" xfrm policy add src "$ln" dst "$rn" dir out tmpl src "$l" dst "$r" proto esp reqid 1 mode tunnel
    ip -n "$Q-$gm" xfrm policy add src "$rn" dst "$ln" dir fwd tmpl src "$r" dst "$l" proto esp reqid 1 mode tunnel
    ip -n "$Q-$gm" xfrm policy add src "$rn" dst "$ln" dir in tmpl src "$r" dst "$l" proto esp reqid 1 mode tunnel
}
plain_side gm1 172.16.1.2 172.16.2.2 10.1.0.0/24 10.2.0.0/24
plain_side gm2 172.16.2.2 172.16.1.2 10.2.0.0/24 10.1.0.0/24
for pfx in "$P" "$Q"; do
    poll 60 ip netns exec "$pfx-lan1" ping -c 1 -W 1 -q 10.2.0.10 >/dev/null || { log "$pfx: lan1 -> lan2 does not pass"; exit 1; }
done

# transfer PREFIX BYTES [PROFILE] — one upload lan1 -> lan2 (tcp_bulk.py); prints Mbit/s. With
# PROFILE, `perf record -a -g` for PERF_SECONDS while the transfer runs (after the client's start).
transfer() {
    local pfx=$1 bytes=$2 port=$((5000 + RANDOM % 1000)) line srv client
    ip netns exec "$pfx-lan2" $PY "$SRC/tests/vm/lib/tcp_bulk.py" serve 10.2.0.10 "$port" 1 >>"$W/tcp-server.log" 2>&1 &
    srv=$!
    poll 60 sh -c "ip netns exec $pfx-lan2 ss -Hltn 'sport = :$port' | grep -q LISTEN" || { log "tcp server did not listen"; exit 1; }
    ip netns exec "$pfx-lan1" timeout 300 $PY "$SRC/tests/vm/lib/tcp_bulk.py" send 10.2.0.10 "$port" "$bytes" >"$W/tcp-line.txt" &
    client=$!
    if [ -n "${3:-}" ]; then
        poll 60 sh -c "ip netns exec $pfx-lan1 ss -Htn state established 'dport = :$port' | grep -q ." || { log "no connection"; exit 1; }
        perf record -a -g -F 999 -o "$W/perf-$3.data" -- sleep "$PERF_SECONDS" 2>"$W/perf-$3-record.txt" ||
            log "perf record failed: $(tail -3 "$W/perf-$3-record.txt")"
    fi
    wait "$client"
    wait "$srv" || true
    line=$(cat "$W/tcp-line.txt")
    echo "$pfx $line" >>"$W/tcp-client.txt"
    awk -v b="$bytes" '/ bytes in / { if ($1 != b) exit 1; printf "%.2f\n", b * 8 / $4 / 1e6 }' <<<"$line"
}
log "TCP warm-up and calibration"
transfer "$Q" 1000000 >/dev/null
rate=$(transfer "$P" 1000000)
BYTES=${BENCH_TPUT_BYTES:-$(awk -v r="$rate" 'BEGIN { b = int(r * 1e6 / 8 * 4); if (b < 1000000) b = 1000000; print b }')}
log "TCP: $TPUT_REPS x $BYTES bytes per layout, interleaved"
: >"$W/tput-member.txt"; : >"$W/tput-plain.txt"
for i in $(seq "$TPUT_REPS"); do
    transfer "$P" "$BYTES" >>"$W/tput-member.txt"
    transfer "$Q" "$BYTES" >>"$W/tput-plain.txt"
done
row "TCP lan1 → lan2, group layout (IPIP carrier + transport ESP + nft rewrite), AES-256-CBC/HMAC-SHA-256, $BYTES bytes" Mbit/s "$W/tput-member.txt"
row "anchor: TCP lan1 → lan2, plain tunnel-mode ESP gm1 ↔ gm2, same cipher" Mbit/s "$W/tput-plain.txt"

# ---- 3b. time-based anti-replay (anti-replay-time-window = 60) on vs off, the same transfers
# through the group's layout, interleaved; each run after a SIGHUP that sets it on both members
# (the group re-registers): the receivers' per-SPI nft rule and window set, the senders' counter
# set every second.
ar_ready() {  # ar_ready GM SECONDS: registered with anti-replay-time-window = SECONDS
    [ "$(group_json "$1" groups "$GROUP" .anti_replay_window)" = "$2" ] &&
        [ "$(group_json "$1" groups "$GROUP" .state)" = registered ]
}
anti_replay() {  # anti_replay SECONDS (0: off)
    local gm
    for gm in gm1 gm2; do
        sed -i '/^anti-replay-time-window/d' "$W/$gm.toml"
        echo "anti-replay-time-window = $1" >>"$W/$gm.toml"
        kill -HUP "${MEMBER_PID[$gm]}"
    done
    for gm in gm1 gm2; do poll 90 ar_ready "$gm" "$1" || { log "$gm: anti-replay $1 not in force"; exit 1; }; done
    poll 60 ip netns exec "$P-lan1" ping -c 1 -W 1 -q 10.2.0.10 >/dev/null || { log "no traffic after the reload"; exit 1; }
}
log "TCP: $TPUT_REPS x $BYTES bytes with anti-replay on / off, interleaved"
: >"$W/tput-ar-on.txt"; : >"$W/tput-ar-off.txt"
for i in $(seq "$TPUT_REPS"); do
    anti_replay 60
    transfer "$P" "$BYTES" >>"$W/tput-ar-on.txt"
    anti_replay 0
    transfer "$P" "$BYTES" >>"$W/tput-ar-off.txt"
done
nsx gm2 nft list chain inet gdoi_member esp_inbound >"$W/ar-esp-inbound.txt" 2>&1 || true
row "TCP lan1 → lan2, group layout with anti-replay-time-window = 60 on both members" Mbit/s "$W/tput-ar-on.txt"
row "the same with anti-replay off (interleaved)" Mbit/s "$W/tput-ar-off.txt"
ratio_row "anti-replay on / off (TCP throughput)" "$W/tput-ar-on.txt" "$W/tput-ar-off.txt"

# ---- perf: system-wide with call graphs during a transfer in each layout
PERF_SECONDS=${BENCH_PERF_SECONDS:-4}
PERF_MD=$W/perf.md
: >"$PERF_MD"
if [ "$PERF" = 1 ]; then
    for layout in member plain; do
        pfx=$P; [ "$layout" = plain ] && pfx=$Q
        log "perf record: $layout layout, $PERF_SECONDS s during a $((5 * BYTES))-byte transfer"
        transfer "$pfx" "$((5 * BYTES))" "$layout" >"$W/perf-$layout-rate.txt"
        [ -s "$W/perf-$layout.data" ] || { PERF=0; break; }
        # self: "pct count [k] symbol"; children: "children% self% count [k] symbol"
        perf report -i "$W/perf-$layout.data" --stdio --no-children -n --sort sym -g none --percent-limit 0 \
            2>/dev/null >"$W/perf-$layout-self.txt" || true
        perf report -i "$W/perf-$layout.data" --stdio --children -n --sort sym -g none --percent-limit 0 \
            2>/dev/null >"$W/perf-$layout-children.txt" || true
        perf report -i "$W/perf-$layout.data" --stdio --no-children --sort sym -g graph,0.5,caller --percent-limit 1.5 \
            2>/dev/null >"$W/perf-$layout-callers.txt" || true
        perf report -i "$W/perf-$layout.data" --stdio --no-children -n --sort comm -g none --percent-limit 0 \
            2>/dev/null >"$W/perf-$layout-comm.txt" || true
        perf report -i "$W/perf-$layout.data" --stdio --header-only 2>/dev/null >"$W/perf-$layout-header.txt" || true
    done
fi
# cpu_per_mb LAYOUT — CPU milliseconds per MB of the transfer for one percent of the samples: the
# VM has one vCPU and -a samples idle too, so the samples span the wall time at the transfer's rate.
cpu_per_mb() { awk -v r="$(cat "$W/perf-$1-rate.txt")" 'BEGIN { printf "%.4f", 1000 / (r / 8) / 100 }'; }
if [ "$PERF" = 1 ]; then
    {
        event=$(sed -n 's/.*event : name = \([^,]*\).*/\1/p' "$W/perf-member-header.txt" | head -1)
        echo
        echo "### perf: $PERF_SECONDS s of \`perf record -a -g -F 999\` during a transfer in each layout (event ${event:-?})"
        echo
        echo "ms/MB: milliseconds per MB transferred = share of the samples × 1000 / (MB/s of that transfer); one vCPU, idle"
        echo "included (its own row). No PMU under TCG: perf samples on cpu-clock, so time spent with interrupts off is"
        echo "charged to the point where they are enabled again (\`_raw_spin_unlock_irqrestore\`, softirq exits)."
        for layout in member plain; do
            k=$(cpu_per_mb "$layout")
            total=$(awk '/^ +[0-9.]+%/ { n += $2 } END { print n + 0 }' "$W/perf-$layout-self.txt")
            echo
            echo "**$layout layout**: $total samples, $(cat "$W/perf-$layout-rate.txt") Mbit/s during the profile; top kernel symbols (self)"
            echo
            echo "| % | ms/MB | symbol |"
            echo "| ---: | ---: | --- |"
            awk -v k="$k" '/^ +[0-9.]+%/ && $3 == "[k]" && n++ < 20 {
                p = $1; sub(/%/, "", p); printf "| %s | %.1f | `%s` |\n", p, p * k, $4 }' "$W/perf-$layout-self.txt"
        done
        echo
        echo "**by process** (ms/MB, share; the packet path runs in softirq context inside whichever process is current)"
        echo
        echo "| process | member | plain |"
        echo "| --- | ---: | ---: |"
        for layout in member plain; do
            awk -v k="$(cpu_per_mb "$layout")" '/^ +[0-9.]+%/ { p = $1; sub(/%/, "", p); c = $3; for (i = 4; i <= NF; i++) c = c " " $i; printf "%s\t%.2f\t%.1f\n", c, p, p * k }' \
                "$W/perf-$layout-comm.txt" >"$W/perf-$layout-comms.txt"
        done
        cut -f1 "$W/perf-member-comms.txt" "$W/perf-plain-comms.txt" | sort -u | while IFS= read -r c; do
            m=$(awk -F'\t' -v g="$c" '$1 == g {print $3 " (" $2 "%)"}' "$W/perf-member-comms.txt")
            p=$(awk -F'\t' -v g="$c" '$1 == g {print $3 " (" $2 "%)"}' "$W/perf-plain-comms.txt")
            echo "| \`$c\` | ${m:-0} | ${p:-0} |"
        done
        echo
        echo "**by group of symbols** (self samples; ms/MB, share)"
        echo
        echo "| group | member | plain | member − plain |"
        echo "| --- | ---: | ---: | ---: |"
        for layout in member plain; do
            grep -E '^ +[0-9.]+%' "$W/perf-$layout-self.txt" | awk -v k="$(cpu_per_mb "$layout")" '
                function grp(n, t) {
                    if (t != "[k]") return "user space (python client and server, perf)"
                    if (n ~ /idle|halt|cpuidle|mwait/) return "idle"
                    if (n ~ /^p9_|v9fs|virtio/) return "9p (the host file system: perf, python)"
                    if (n ~ /aes|sha256|crypto|cbc|hmac|xor|gf128|ghash|scatterwalk|skcipher|ahash|shash|authenc/) return "crypto (aes, sha256, authenc)"
                    if (n ~ /^esp|esp4|esp_/) return "esp"
                    if (n ~ /xfrm/) return "xfrm"
                    if (n ~ /nft_|nf_|ipt_|conntrack/) return "netfilter (nft, conntrack)"
                    if (n ~ /ipip|ip_tunnel|iptunnel/) return "ipip carrier"
                    if (n ~ /^tcp|inet_|sk_|sock|skb_copy|copy_user|csum|_copy_|rep_movs/) return "tcp, sockets, copies"
                    if (n ~ /veth|netif|napi|dev_|net_rx|qdisc|xmit|gro|neigh|^ip_|ip4|fib|dst_|rt_|route|__ip/) return "ip, routing, veth, devices"
                    if (n ~ /spin_unlock|softirq|irq/) return "irq-enable points (softirq, locks; cpu-clock lands there)"
                    return "other kernel"
                }
                { p = $1; sub(/%/, "", p); g[grp($4, $3)] += p }
                END { for (x in g) printf "%s\t%.2f\t%.1f\n", x, g[x], g[x] * k }' >"$W/perf-$layout-groups.txt"
        done
        cut -f1 "$W/perf-member-groups.txt" "$W/perf-plain-groups.txt" | sort -u | while IFS= read -r gname; do
            m=$(awk -F'\t' -v g="$gname" '$1 == g {print $3 " (" $2 "%)"}' "$W/perf-member-groups.txt")
            p=$(awk -F'\t' -v g="$gname" '$1 == g {print $3 " (" $2 "%)"}' "$W/perf-plain-groups.txt")
            d=$(awk -v a="${m%% *}" -v b="${p%% *}" 'BEGIN{printf "%+.1f", a - b}')
            echo "| $gname | ${m:-0} | ${p:-0} | $d |"
        done
        echo
        echo "**inclusive cost of the packet path's functions** (children: the function and what it calls; ms/MB)"
        echo
        echo "| function | member | plain | member − plain |"
        echo "| --- | ---: | ---: | ---: |"
        for fn in tcp_sendmsg ip_forward nf_hook_slow nft_do_chain ipip_tunnel_xmit ip_tunnel_xmit xfrm_output \
            esp_output esp_output_tail crypto_authenc_encrypt xfrm_input esp_input crypto_authenc_decrypt \
            xfrm_rcv_cb __xfrm_policy_check xfrm_lookup_with_ifid ip_route_input_slow ip_rcv veth_xmit \
            net_rx_action tcp_v4_rcv; do
            m=$(awk -v f="$fn" -v k="$(cpu_per_mb member)" '$5 == f { p = $1; sub(/%/, "", p); printf "%.1f", p * k; exit }' "$W/perf-member-children.txt")
            p=$(awk -v f="$fn" -v k="$(cpu_per_mb plain)" '$5 == f { p = $1; sub(/%/, "", p); printf "%.1f", p * k; exit }' "$W/perf-plain-children.txt")
            [ -n "$m$p" ] || continue
            echo "| \`$fn\` | ${m:-0} | ${p:-0} | $(awk -v a="${m:-0}" -v b="${p:-0}" 'BEGIN{printf "%+.1f", a - b}') |"
        done
    } >>"$PERF_MD"
else
    printf '\nperf: could not record in the VM (see perf-*-record.txt)\n' >>"$PERF_MD"
fi

# ---- 4. the anchor for "keys known -> SAs and policies installed": a strongSwan CHILD_SA
# (IKEv1 Quick Mode, tunnel mode, the same ESP cipher) between two namespaces: from charon's
# "parsed QUICK_MODE response" (the initiator knows the keys) to "CHILD_SA ... established" (its
# SAs and policies are in the kernel); one terminate + initiate of the CHILD_SA per repetition.
CHARON_BIN=/usr/lib/ipsec/charon
swan() {  # swan DIR ARGS... — swanctl against the charon of DIR
    local d=$1
    shift
    STRONGSWAN_CONF="$d/strongswan.conf" SWANCTL_DIR="$d/swanctl" swanctl "$@" --uri "unix://$d/charon.vici"
}
charon_conf() {  # charon_conf DIR LOCAL REMOTE LOCAL_TS REMOTE_TS
    mkdir -p "$1/swanctl"
    cat >"$1/strongswan.conf" <<CONF
charon {
  load = random nonce openssl aes sha1 sha2 hmac kdf gmp pem pkcs1 pubkey x509 kernel-netlink socket-default vici
  install_routes = no
  install_virtual_ip = no
  plugins {
    vici {
      socket = unix://$1/charon.vici
    }
  }
  filelog {
    bench {
      path = $1/charon.log
      time_format = %s
      time_add_ms = yes
      append = no
      flush_line = yes
      default = 0
      ike = 1
      enc = 1
      knl = 2
    }
  }
  syslog {
  }
}
swanctl {
  load = random nonce openssl pem pkcs1 pubkey x509
}
CONF
    cat >"$1/swanctl/swanctl.conf" <<CONF
connections {
  bench {
    version = 1
    local_addrs = $2
    remote_addrs = $3
    proposals = aes256-sha256-modp2048
    dpd_delay = 0s
    rekey_time = 0s
    reauth_time = 0s
    local {
      auth = psk
      id = $2
    }
    remote {
      auth = psk
      id = $3
    }
    children {
      c {
        local_ts = $4
        remote_ts = $5
        esp_proposals = aes256-sha256
        mode = tunnel
        rekey_time = 0s
        start_action = none
      }
    }
  }
}
secrets {
  ike-bench {
    secret = "bench-charon-psk"
  }
}
CONF
}
charon_run() {  # charon_run NS DIR — charon in $P-NS with a private /run (it writes its pid file there)
    # shellcheck disable=SC2016  # $0 is expanded by the inner sh
    STRONGSWAN_CONF="$2/strongswan.conf" ip netns exec "$P-$1" unshare -m --propagation private \
        sh -c 'mount -t tmpfs -o mode=0755 tmpfs /run && exec "$0"' "$CHARON_BIN" >"$2/charon.out" 2>&1 </dev/null &
    BG+=($!)
    poll 60 swan "$2" --stats >/dev/null 2>&1 || { log "charon in $1 did not start"; return 1; }
    swan "$2" --load-all --noprompt >/dev/null
}
charon_bench() {
    local ca=$W/charon-a cb=$W/charon-b i
    for ns in ca cb; do ip netns add "$P-$ns"; nsx "$ns" ip link set lo up; done
    link ca e0 172.31.0.1/30 cb e0 172.31.0.2/30
    charon_conf "$ca" 172.31.0.1 172.31.0.2 10.31.1.0/24 10.31.2.0/24
    charon_conf "$cb" 172.31.0.2 172.31.0.1 10.31.2.0/24 10.31.1.0/24
    charon_run ca "$ca" && charon_run cb "$cb" || return 1
    swan "$ca" --initiate --child c --ike bench --timeout 120 >/dev/null 2>&1 || { log "charon: no CHILD_SA"; return 1; }
    wc -l <"$ca/charon.log" >"$W/charon.mark"
    for i in $(seq "$REG_REPS"); do
        swan "$ca" --terminate --child c --timeout 60 >/dev/null 2>&1 || true
        swan "$ca" --initiate --child c --ike bench --timeout 120 >/dev/null 2>&1 || { log "charon: repetition $i failed"; return 1; }
    done
    # The whole negotiation too: the IKE_SA goes with the CHILD_SA, so Main Mode runs again.
    for i in $(seq "$REG_REPS"); do
        swan "$ca" --terminate --ike bench --timeout 60 >/dev/null 2>&1 || true
        swan "$ca" --initiate --child c --ike bench --timeout 120 >/dev/null 2>&1 || { log "charon: full repetition $i failed"; return 1; }
    done
    tail -n "+$(($(cat "$W/charon.mark") + 1))" "$ca/charon.log" | awk -v out="$W/charon" '
        /initiating Main Mode IKE_SA/ { m0 = $1 + 0 }
        /generating QUICK_MODE request .* SA / { t0 = $1 + 0; t1 = 0; sad = pol = 0 }
        /parsed QUICK_MODE response/ && t0 { t1 = $1 + 0 }
        /adding SAD entry/ { sad++ }
        /adding policy/ { pol++ }
        /CHILD_SA c[{][0-9]+[}] established/ && t0 && t1 {
            printf "%.3f\n", ($1 - t0) * 1000 >> (out "-qm.txt")
            printf "%.3f\n", ($1 - t1) * 1000 >> (out "-install.txt")
            if (m0) printf "%.3f\n", ($1 - m0) * 1000 >> (out "-full.txt")
            m0 = 0
            print sad, pol > (out "-objects.txt")
            t0 = 0
        }'
    local objs
    objs=$(tail -n 1 "$W/charon-objects.txt" 2>/dev/null || echo "? ?")
    row "anchor: charon (IKEv1 initiator) CHILD_SA: \`parsed QUICK_MODE response\` → \`CHILD_SA established\` (${objs% *} SAs + ${objs#* } policies installed)" ms "$W/charon-install.txt" "charon log, ms resolution"
    row "  charon: first Quick Mode request → \`CHILD_SA established\` (the Quick Mode exchange, no PFS, + install)" ms "$W/charon-qm.txt"
    row "anchor: charon \`initiating Main Mode IKE_SA\` → \`CHILD_SA established\` (Main Mode, Quick Mode, install; against a charon responder)" ms "$W/charon-full.txt"
    cp -f "$ca/charon.log" "$OUT/charon-initiator.log" 2>/dev/null || true
}
if [ "${BENCH_CHARON:-1}" = 1 ] && [ -x "$CHARON_BIN" ]; then
    log "charon: $REG_REPS CHILD_SAs"
    charon_bench || log "charon: no figures"
fi

# ---- the tables
{
    echo "## Dataplane in the test VM (qemu TCG, 1 vCPU, kernel $(uname -r))"
    echo
    echo "| what | n | min | median | max | unit | anchor / clock |"
    echo "| --- | ---: | ---: | ---: | ---: | --- | --- |"
    cat "$W/rows.md"
    echo
    echo "Times from the member's debug log (CLOCK_MONOTONIC); each registration repetition is \`gdoictl flush\` +"
    echo "\`gdoictl register\` on gm1, so it installs everything anew. The anchor replays the member's own XFRM states"
    echo "(keys included, lifetimes left out) and policies; the member also creates the carrier, routes, a rule and the nft table."
    echo "The \"from fail-closed\" rows restart the group instead (a changed setting + SIGHUP): its table stays, fail-closed, and"
    echo "its carrier is prepared, so the keyed flip edits the table in place, and \`starting\` is where its phase 1 begins."
    echo "Rekeys: the new TEK's activation delay is 0 (\`--gap 0,1\`), the old TEK is deleted by the push; the monitor's"
    echo "timestamps are taken when \`ip\` reads the event. TCG on a shared host: spreads are wide, compare the medians of one run."
    cat "$PERF_MD"
} >"$MD"
cat "$MD"
[ "$FAILS" -eq 0 ]
