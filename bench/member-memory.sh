#!/usr/bin/env bash
# Benchmark (not a test): the daemon's memory with one group, registered and idle, then after
# REKEYS GROUPKEY-PUSH rekeys (each acknowledged, RFC 8263), next to an idle charon with one
# phase-1 peer configured: RSS, private anonymous memory (RssAnon), Pss and threads, from
# /proc/PID/status and smaps_rollup. The member runs with its kernel dataplane; on a host
# without ESP its TEKs are refused and the group stays fail-closed (the rekey path up to the
# kernel runs all the same).
#
#   bench/member-memory.sh KEYSERVER_BIN MEMBERD_BIN GDOICTL_BIN [REKEYS]   (root; default 1000)
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../tests/member/lib.sh
. "$BENCH_DIR/../tests/member/lib.sh"
# shellcheck source=SCRIPTDIR/../tests/integration/lib/charon.sh
. "$BENCH_DIR/../tests/integration/lib/charon.sh"
REKEYS=${4:-1000}
member_test_init bench_memory "$1" "$2" "$3"

# memory PID — "rss_kB anon_kB pss_kB threads"
memory() {
  local rss anon threads pss
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$1/status")
  anon=$(awk '/^RssAnon:/ {print $2}' "/proc/$1/status")
  threads=$(awk '/^Threads:/ {print $2}' "/proc/$1/status")
  pss=$(awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup")
  echo "$rss $anon $pss $threads"
}
row() {  # LABEL "rss anon pss threads"
  awk -v label="$1" -v m="$2" 'BEGIN { split(m, v, " ")
    printf "| %-40s | %6.1f | %6.1f | %6.1f | %3d |\n", label, v[1] / 1024, v[2] / 1024, v[3] / 1024, v[4] }'
}

GROUP=GROUP_ID-4242
ip -n "$NS_M" link add lan0 type veth peer name lan0-peer
ip -n "$NS_M" addr add 10.1.0.1/24 dev lan0
ip -n "$NS_M" link set lan0 up
ks_start ks --group 4242 --tek cbc256-sha256:0x11111111 --selector 10.0.0.0/8 --gap 0,1 --seq 1 --ack \
  --ack-period 3
member_config "$WORK/member.toml" "$(group_toml "$GROUP" 4242 '["10.248.0.2"]')"
sed -i 's/^log-level = "debug"/log-level = "info"/' "$WORK/member.toml"
MEMBER_DATAPLANE=1 member_start
wait_for 30 group_state_is "$GROUP" registered || { echo "member did not register" >&2; exit 1; }
sleep 2
IDLE=$(memory "$MEMBER_PID")

mkdir -p "$WORK/charon"
charon_start "$NS_K" "$WORK/charon" "$KS2_IP" "$MEMBER_IP" "bench-psk-$$" main aes256-sha256-modp2048 500
sleep 2
CHARON=$(memory "$(cat "$WORK/charon/charon.pid")")

seq=1
AFTER100=
for ((i = 1; i <= REKEYS; i++)); do
  ks_cmd ks rekey >/dev/null
  seq=$((seq + 1))
  # One push at a time: the next rekey only once the member took this one.
  wait_for 10 group_seq_is "$GROUP" "$seq" || { echo "rekey $i: member at SEQ $(group_json "$GROUP" .sequence)" >&2; exit 1; }
  if [ "$i" = 100 ]; then sleep 2; AFTER100=$(memory "$MEMBER_PID"); fi
done
sleep 2
AFTER=$(memory "$MEMBER_PID")

echo "member-memory: one group, $REKEYS rekeys ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo "| process | RSS MB | anon MB | Pss MB | threads |"
echo "|---|---|---|---|---|"
row "gdoi-memberd, registered, idle" "$IDLE"
[ -n "$AFTER100" ] && row "gdoi-memberd after 100 rekeys" "$AFTER100"
row "gdoi-memberd after $REKEYS rekeys" "$AFTER"
row "charon, idle, one peer" "$CHARON"
read -r _ a0 _ _ <<<"$IDLE"
read -r _ a1 _ _ <<<"$AFTER"
echo "anon (RssAnon) idle $a0 kB${AFTER100:+, after 100 rekeys $(awk '{print $2}' <<<"$AFTER100") kB}, after $REKEYS rekeys $a1 kB"
echo "anon growth over $REKEYS rekeys: $((a1 - a0)) kB; rekeys accepted $(group_json "$GROUP" .counters.rekeys_accepted), ACKs sent $(group_json "$GROUP" .counters.acks_sent)"
