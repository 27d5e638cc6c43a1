#!/usr/bin/env bash
# The README's first command: installs what is needed, builds gdoi-member and runs the demo.
# Today's demo: the member's IKEv1 phase 1 (the start of every GDOI registration) against
# strongSwan's charon as key-server stand-in, in two network namespaces, main and aggressive
# mode, with the exchange decoded by tshark. Needs root (namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target gdoi-phase1 >/dev/null
echo "== phase 1 against strongSwan charon (main + aggressive mode, a few proposals)"
P1_MODES="main aggressive" P1_PROPOSALS="aes256-sha256-modp2048 aes128-sha1-ecp256" P1_KEEP=1 \
  bash tests/integration/phase1-strongswan.sh build/tests/tools/gdoi-phase1 | tee /tmp/gdoi-demo.log
work=$(sed -n 's/.*work dir \(.*\))$/\1/p' /tmp/gdoi-demo.log | tail -1)
pcap=$(ls "$work"/*.pcap 2>/dev/null | head -1 || true)
if [ -n "$pcap" ]; then
  echo "== the first Main Mode on the wire, as tshark decodes it ($pcap)"
  tshark -r "$pcap" -d udp.port==848,isakmp -c 6 2>/dev/null
fi
