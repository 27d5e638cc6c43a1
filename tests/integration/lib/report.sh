# shellcheck shell=bash
# PASS/FAIL lines, the closing summary and the work directory's cleanup for the integration
# scripts. Sourced, not run. The script sets WORK (its work directory) and RDIR (charon's).

PASSED=0
FAILED=0
WORK_DONE_OK=0

now_ms() { echo $(($(date +%s%N) / 1000000)); }
pass() { PASSED=$((PASSED + 1)); echo "PASS $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }

# report_case WHY CASEDIR PASS_TEXT FAIL_TEXT — PASS with PASS_TEXT when WHY is empty, else
# FAIL with FAIL_TEXT and WHY, then the script's `show_failure CASEDIR`.
report_case() {
  local why=$1 casedir=$2 pass_text=$3 fail_text=$4
  if [ -z "$why" ]; then
    pass "$pass_text"
  else
    fail "$fail_text: $why"
    show_failure "$casedir"
  fi
}

# report_summary TITLE START_MS — the closing line; 1 when anything failed (the work
# directory, with charon's log and the capture, is then kept).
report_summary() {
  local title=$1 t_start=$2
  echo "$title: $PASSED passed, $FAILED failed ($(( ($(now_ms) - t_start) / 1000 )) s; work dir $WORK)"
  if [ "$FAILED" -ne 0 ]; then
    echo "charon log: $RDIR/charon.log; capture: $WORK/phase1.pcapng (kept)"
    return 1
  fi
  WORK_DONE_OK=1
}

# work_cleanup — remove the work directory after a fully passing run (unless P1_KEEP=1);
# keep it, with logs and capture, after anything else.
work_cleanup() {
  if [ "$WORK_DONE_OK" = 1 ] && [ "${P1_KEEP:-0}" != 1 ]; then rm -rf "$WORK"; fi
}
