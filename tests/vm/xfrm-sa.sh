#!/usr/bin/env bash
# xfrm-sa.sh NETNS_XFRM_BINARY [CATCH ARGS...]
#
# Runs the xfrm/ netns test program inside the test VM (tests/vm/vm-run.sh), whose
# Debian kernel has ESP, IPIP and the crypto modules: all tests, including those
# tagged [esp] (SAs of every algorithm in the table, expire events, the
# GroupDataplane layout, rekey order and IPIP guard), which the build host cannot run.
set -euo pipefail
bin="${1:?usage: xfrm-sa.sh NETNS_XFRM_BINARY [CATCH ARGS...]}"
shift
[[ -x "$bin" ]] || { echo "xfrm-sa: $bin is not executable (build target netns_xfrm)" >&2; exit 2; }

# Fail clearly, not test by test, when this kernel cannot do ESP after all.
ip netns add xfrm-sa-probe
trap 'ip netns del xfrm-sa-probe 2>/dev/null || true' EXIT
if ! ip -n xfrm-sa-probe xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x100 mode tunnel \
    aead 'rfc4106(gcm(aes))' 0x0102030405060708090a0b0c0d0e0f1011121314 128; then
  echo "xfrm-sa: this kernel ($(uname -r)) cannot add ESP states: not the test VM?" >&2
  exit 1
fi
ip netns del xfrm-sa-probe
trap - EXIT

echo "xfrm-sa: kernel $(uname -r)"
out="${GDOI_VM_OUT:-/tmp}"
"$bin" --reporter console --durations yes "$@" 2>&1 | tee "$out/xfrm-sa.log"
exit "${PIPESTATUS[0]}"
