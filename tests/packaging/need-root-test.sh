#!/usr/bin/env bash
# scripts/lib/need-root.sh, which the README's two commands source first: as root it does
# nothing; from another account it runs the script again through sudo (keeping JOBS and
# CTEST_JOBS), or, without sudo (a fresh Debian), says that root is needed and exits 1.
#   need-root-test.sh SOURCE_DIR   (root: it switches to uid 65534 with setpriv)
set -euo pipefail
src=${1:?source dir}
fail() { echo "FAIL: $*"; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
chmod 755 "$T"
mkdir -m 755 "$T/bin" "$T/bin-sudo"
cp "$src/scripts/lib/need-root.sh" "$T/need-root.sh"
chmod 644 "$T/need-root.sh"
ln -s "$(command -v id)" "$T/bin/id"
ln -s "$(command -v id)" "$T/bin-sudo/id"
# A stand-in sudo that prints what it was asked to run.
printf '#!/bin/sh\necho "sudo $*"\n' >"$T/bin-sudo/sudo"
chmod 755 "$T/bin-sudo/sudo"
bash_bin=$(command -v bash)

# run_as PATH: source the lib as scripts/test.sh with two arguments, as uid 65534.
run_as() {
    setpriv --reuid=65534 --regid=65534 --clear-groups -- env -i PATH="$1" "$bash_bin" -c \
        ". '$T/need-root.sh' scripts/test.sh -R unit; echo continued" 2>&1
}

out=$("$bash_bin" -c ". '$T/need-root.sh' scripts/test.sh; echo continued")
[[ $out == continued ]] || fail "as root: $out"

set +e
out=$(run_as "$T/bin")
rc=$?
set -e
[[ $rc -eq 1 ]] || fail "without root and sudo: exit $rc, want 1 ($out)"
grep -q '^scripts/test.sh needs root .*run it in a root shell' <<<"$out" || fail "without root and sudo: $out"
! grep -q continued <<<"$out" || fail "without root and sudo: the script went on"

out=$(run_as "$T/bin-sudo")
[[ $out == "sudo --preserve-env=JOBS,CTEST_JOBS bash scripts/test.sh -R unit" ]] || fail "with sudo: $out"
echo "need-root: ok (root: no-op; no sudo: refused with the message; sudo: re-run with the arguments)"
