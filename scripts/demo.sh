#!/usr/bin/env bash
# The README's first command: installs what is needed, builds gdoi-member and runs the demo:
# a GDOI key server and two members (gdoi-memberd) with their LANs in network namespaces, inside
# a VM booted from Debian's kernel (the build machines' kernel has no ESP; tests/vm/vm-run.sh).
# Shows fail-closed before keys, registration, `gdoictl show groups/tek`, ESP on the WAN with the
# original addresses, `ip xfrm state` (keys masked) and a rekey pushed by the key server.
# Needs root (namespaces, qemu). First run downloads Debian's kernel package (~70 MB) once.
set -euo pipefail
# shellcheck source=scripts/lib/need-root.sh
. "$(dirname "$0")/lib/need-root.sh" "$0" "$@"
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
echo "== building (first time: a few minutes)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target gdoi-memberd gdoictl gdoi-test-keyserver >/dev/null
echo "== booting the demo VM"
exec tests/vm/vm-run.sh scripts/demo-vm.sh "$PWD/build"
