#!/usr/bin/env bash
# The bench suite: every host figure next to its anchor, in one run, as a markdown table with
# the ratios (ours / anchor: below 1 is faster or smaller), the machine's load before and after.
# Benchmarks, not tests: nothing here passes or fails on a figure.
#
#   bench/run.sh [--quick] [--vm] [--out FILE] [BUILD_DIR]     (root; BUILD_DIR default: build)
#
# Figures (each tool interleaves ours with its anchor, so drift hits both alike):
#   policy-apply       compile + apply of the member's nft table vs `nft -f` of the same text,
#                      10 / 1,000 / 10,000 group policies, new and replacing (15 runs each)
#   phase1-mainmode.sh IKEv1 Main Mode wire time, our initiator vs charon's, against one charon
#                      responder, aes256-sha256-modp2048 and aes128-sha1-ecp256 (21 attempts each)
#   member-memory.sh   the daemon's RSS / anon / Pss, idle and after 1,000 rekeys, vs idle charon
#   bench/vm.sh        (--vm) one boot of the real-ESP test VM: registration to the last kernel
#                      object vs ip -batch / nft -f, push to new outbound SA, TCP through the
#                      group layout vs plain tunnel-mode ESP with perf profiles, charon's CHILD_SA;
#                      qemu TCG: figures are relative to the anchors in the same run only
# --quick: few repetitions and small sizes (CI checks that the suite runs, not its figures).
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
QUICK=0
VM=0
OUT=/tmp/gdoi-member-bench.md
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --vm) VM=1 ;;
    --out) OUT=$2; shift ;;
    *) break ;;
  esac
  shift
done
BUILD=$(readlink -f "${1:-$BENCH_DIR/../build}")
if [ "$QUICK" = 1 ]; then
  RUNS=3 SIZES="10 1000" PHASE1_N=3 PROPOSALS="aes128-sha1-ecp256" REKEYS=20
else
  RUNS=15 SIZES="10 1000 10000" PHASE1_N=21 PROPOSALS="aes256-sha256-modp2048 aes128-sha1-ecp256" REKEYS=1000
fi
for bin in bench/policy-apply tests/tools/gdoi-phase1 member/gdoi-memberd member/gdoictl \
  tests/keyserver/gdoi-test-keyserver; do
  [ -x "$BUILD/$bin" ] || { echo "bench: $BUILD/$bin is missing: build the project first (cmake --build $BUILD)" >&2; exit 1; }
done
LOG=$(mktemp /tmp/gdoi-member-bench.XXXXXX)
trap 'rm -f "$LOG"' EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }
LOAD_BEFORE=$(load)
started=$(date +%s)

echo "== policy-apply ($RUNS runs; $SIZES policies)"
# shellcheck disable=SC2086  # SIZES: one word per size
"$BUILD/bench/policy-apply" "$RUNS" $SIZES | tee "$LOG.policy"

PHASE1_ROWS=()
for proposal in $PROPOSALS; do
  echo "== phase-1 Main Mode, $proposal ($PHASE1_N attempts each)"
  BENCH_N=$PHASE1_N BENCH_PROPOSAL=$proposal bash "$BENCH_DIR/phase1-mainmode.sh" "$BUILD/tests/tools/gdoi-phase1" |
    tee "$LOG.phase1"
  PHASE1_ROWS+=("$(sed -n 's/^main mode wire time median (\(.*\)): gdoi-phase1 \([0-9.]*\) ms, charon \([0-9.]*\) ms, ratio \([0-9.]*\)$/| phase-1 Main Mode wire time, \1 | \2 ms | charon initiator \3 ms | \4 |/p' "$LOG.phase1")")
done

echo "== member memory ($REKEYS rekeys)"
bash "$BENCH_DIR/member-memory.sh" "$BUILD/tests/keyserver/gdoi-test-keyserver" "$BUILD/member/gdoi-memberd" \
  "$BUILD/member/gdoictl" "$REKEYS" | tee "$LOG.memory"

if [ "$VM" = 1 ]; then
  echo "== real-ESP VM (bench/vm.sh)"
  bash "$BENCH_DIR/vm.sh" "$BUILD" --out "$LOG.vm"
fi

{
  echo "# gdoi-member bench ($(date -u +%Y-%m-%dT%H:%MZ), $(git -C "$BENCH_DIR" describe --always --dirty 2>/dev/null || echo unknown))"
  echo
  echo "$(nproc) cores; load before $LOAD_BEFORE, after $(load); $(($(date +%s) - started)) s; $([ "$QUICK" = 1 ] && echo "quick mode: figures are not meaningful" || echo "full mode")"
  echo
  echo "## Host figures"
  echo
  echo "| figure | this member | anchor | ratio |"
  echo "|---|---|---|---|"
  awk '$1 ~ /^[0-9]+$/ && NF >= 15 {
      printf "| nft table, %s policies, new: compile + apply | %s + %s ms | nft -f %s ms | %s |\n", $1, $4, $6, $8, $14
      printf "| nft table, %s policies, replace: compile + apply | %s + %s ms | nft -f %s ms | %s |\n", $1, $4, $10, $12, $15
      if (NF >= 20) printf "| nft table, %s policies, keyed flip in place (no TEK, LAN scope -> keyed): apply, %s messages | %s ms | — | — |\n", $1, $20, $18 }' \
    "$LOG.policy"
  printf '%s\n' "${PHASE1_ROWS[@]}"
  awk -F'|' '/gdoi-memberd, registered, idle/ { idle = $3 + 0; ianon = $4 + 0; ipss = $5 + 0 }
      /gdoi-memberd after/ { after = $4 + 0; label = $2 }
      /charon, idle/ { crss = $3 + 0; canon = $4 + 0; cpss = $5 + 0; cthreads = $6 + 0 }
      END {
        printf "| memory idle, 1 group: RSS / anon / Pss | %.1f / %.1f / %.1f MB | idle charon %.1f / %.1f / %.1f MB, %d threads | Pss %.2f |\n", idle, ianon, ipss, crss, canon, cpss, cthreads, ipss / cpss
        gsub(/^ +| +$/, "", label)
        printf "| anon memory, %s | %.1f MB | — | — |\n", label, after }' "$LOG.memory"
  grep -h "^anon growth" "$LOG.memory" | sed 's/^/\n/'
  if [ "$VM" = 1 ]; then
    echo
    echo "## VM figures (qemu TCG; compare with the anchors of the same run only)"
    echo
    cat "$LOG.vm"
  fi
} >"$OUT"
echo
echo "== summary ($OUT)"
cat "$OUT"
