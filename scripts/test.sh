#!/usr/bin/env bash
# The README's test command: installs what is needed, builds gdoi-member twice
# (gcc, warnings as errors; clang with ASan+UBSan and the libFuzzer targets) and
# runs the whole suite (unit, strongSwan interop, netns, real-ESP VM, bounded fuzz)
# with ctest on the sanitized build. Needs root (namespaces, nftables, qemu).
set -euo pipefail
# shellcheck source=scripts/lib/need-root.sh
. "$(dirname "$0")/lib/need-root.sh" "$0" "$@"
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}

bash scripts/install-deps.sh

echo "== build (gcc, -Werror)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$JOBS"

echo "== build (clang, ASan+UBSan, libFuzzer targets)"
CC=clang CXX=clang++ cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug \
  -DGDOI_SANITIZE=ON -DGDOI_FUZZ=ON >/dev/null
cmake --build build-asan -j"$JOBS"

echo "== tests"
cd build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -j"${CTEST_JOBS:-2}" --timeout 900 "$@"
