# shellcheck shell=bash
# Network-namespace helpers for the integration tests and benchmarks. Sourced, not run.
#
# Every test run gets its own pair of namespaces whose names end in the shell's PID, so two
# ctest runs (or a test and a benchmark) on one machine never collide. The veth ends are
# created directly inside the namespaces, so their names never exist in the host namespace
# and may be the same in every run. Traffic stays inside these namespaces: the addresses
# exist only there.
#
# Cleanup is registered once with `trap ... EXIT INT TERM`; other libraries add their own
# steps with cleanup_add, which run in reverse order (stop daemons before deleting the
# namespaces they live in).

# Steps run by cleanup_run, newest first.
CLEANUP_STEPS=()
CLEANUP_TRAP_SET=0
# Namespaces created by this shell; cleanup deletes exactly these.
NETNS_CREATED=()

# cleanup_add CMD... — register a shell command (one string) to run at exit.
cleanup_add() {
  CLEANUP_STEPS+=("$*")
  if [ "$CLEANUP_TRAP_SET" -eq 0 ]; then
    # EXIT covers normal ends and `set -e` aborts; INT/TERM (ctest timeout) must also
    # leave no namespace behind, then exit with the conventional status.
    trap 'cleanup_run' EXIT
    trap 'cleanup_run; exit 130' INT
    trap 'cleanup_run; exit 143' TERM
    CLEANUP_TRAP_SET=1
  fi
}

# cleanup_run — run every registered step once, newest first, ignoring failures (a
# half-set-up run must still be torn down as far as it got).
cleanup_run() {
  local i
  set +e
  for ((i = ${#CLEANUP_STEPS[@]} - 1; i >= 0; i--)); do
    eval "${CLEANUP_STEPS[$i]}" >/dev/null 2>&1
  done
  CLEANUP_STEPS=()
}

# netns_kill_all NS — end every process still running in NS, by PID (only processes in a
# namespace this run created, hence only ours): TERM first, then KILL after a grace time.
netns_kill_all() {
  local ns=$1 pids i
  pids=$(ip netns pids "$ns" 2>/dev/null || true)
  [ -z "$pids" ] && return 0
  # shellcheck disable=SC2086  # one PID per word
  kill -TERM $pids 2>/dev/null || true
  for ((i = 0; i < 20; i++)); do
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [ -z "$pids" ] && return 0
    sleep 0.1
  done
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null || true
}

# netns_delete NS — kill what runs in NS, then delete it.
netns_delete() {
  local ns=$1
  netns_kill_all "$ns"
  ip netns delete "$ns" 2>/dev/null || true
}

# netns_create NS — create NS (loopback up) and register its deletion.
netns_create() {
  local ns=$1
  ip netns add "$ns"
  NETNS_CREATED+=("$ns")
  cleanup_add "netns_delete '$ns'"
  ip -n "$ns" link set lo up
}

# netns_pair_create NS_A NS_B IF_A IF_B ADDR_A/PLEN ADDR_B/PLEN
# Two namespaces joined by one veth, one address on each end, links up. Waits until the
# addresses are usable (IPv4 has no DAD, but the link must be up before a bind/send).
netns_pair_create() {
  local ns_a=$1 ns_b=$2 if_a=$3 if_b=$4 addr_a=$5 addr_b=$6
  netns_create "$ns_a"
  netns_create "$ns_b"
  ip link add name "$if_a" netns "$ns_a" type veth peer name "$if_b" netns "$ns_b"
  ip -n "$ns_a" addr add "$addr_a" dev "$if_a"
  ip -n "$ns_b" addr add "$addr_b" dev "$if_b"
  ip -n "$ns_a" link set "$if_a" up
  ip -n "$ns_b" link set "$if_b" up
  netns_wait_ping "$ns_a" "${addr_b%/*}" 5
}

# netns_wait_ping NS ADDR SECONDS — wait until ADDR answers from NS (veth carrier up).
netns_wait_ping() {
  local ns=$1 addr=$2 secs=$3 i
  for ((i = 0; i < secs * 10; i++)); do
    if ip netns exec "$ns" ping -c1 -W1 -q "$addr" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "netns: $addr not reachable from $ns after ${secs}s" >&2
  return 1
}

# netns_require_root — the tests need root for namespaces; say so plainly otherwise.
netns_require_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "this test needs root (network namespaces)" >&2
    exit 77
  fi
}
