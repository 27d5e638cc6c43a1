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

# Load what the tests use up front rather than relying on on-demand autoloading
# alone: an autoload that fails once (seen: xfrm_user, "Protocol not supported")
# or a crypto module still in its self-test when XFRM probes it (seen:
# cbc(des3_ede), "Requested CRYPT algorithm not found") fails a test for no
# reason of ours.
if [[ "${GDOI_VM:-}" == 1 && -d /run/gdoi-vm-kernel ]]; then
  for m in xfrm_user esp4 esp6 ipip ip6_tunnel veth nf_tables authenc echainiv seqiv gcm ghash_generic ctr aes_generic \
           cbc des3_ede-x86_64 des_generic sha1_generic sha256_generic sha512_generic hmac; do
    modprobe -q -d /run/gdoi-vm-kernel "$m" 2>/dev/null || true
  done
fi

# Fail clearly, not test by test, when this kernel cannot do ESP after all.
probe_esp() {
  ip netns add xfrm-sa-probe
  local ok=0
  ip -n xfrm-sa-probe xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x100 mode tunnel \
    aead 'rfc4106(gcm(aes))' 0x0102030405060708090a0b0c0d0e0f1011121314 128 || ok=1
  ip netns del xfrm-sa-probe
  return "$ok"
}
if ! probe_esp && ! { sleep 1; probe_esp; }; then
  echo "xfrm-sa: this kernel ($(uname -r)) cannot add ESP states: not the test VM?" >&2
  exit 1
fi

echo "xfrm-sa: kernel $(uname -r)"
out="${GDOI_VM_OUT:-/tmp}"
"$bin" --reporter console --durations yes "$@" 2>&1 | tee "$out/xfrm-sa.log"
exit "${PIPESTATUS[0]}"
