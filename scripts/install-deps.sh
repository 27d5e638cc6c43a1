#!/usr/bin/env bash
# Installs every Debian 12 package gdoi-member needs to build, test and run its demo.
# Idempotent; needs root (or sudo). Nothing is downloaded outside Debian's archive.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake pkg-config clang libclang-rt-14-dev clang-format
  libssl-dev libmnl-dev libnftnl-dev libsodium-dev catch2 libtomlplusplus-dev nlohmann-json3-dev
  # tests: real peers, decoders and the kernel tools
  strongswan-charon strongswan-swanctl libstrongswan-standard-plugins tshark nftables iptables conntrack iproute2 iputils-ping netcat-openbsd procps jq python3 xz-utils
  # tests: promtool checks the metrics file (member_metrics); Debian ships it in the server's package
  prometheus
  # the Debian package (tests/packaging/deb-test.sh): dpkg-buildpackage with debhelper, the man
  # pages from markdown, lintian, man to render them, systemd-sysusers for the service user
  debhelper dpkg-dev go-md2man lintian man-db groff-base systemd
  # tests: the certificate tests make their PKI with the openssl command (lib/pki.sh)
  openssl
  # tests/vm: a kernel with ESP under qemu
  qemu-system-x86 busybox-static cpio kmod
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Only promtool is wanted: a Prometheus server this script installed does not keep running.
if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now prometheus.service >/dev/null 2>&1 || true
  echo "install-deps: prometheus.service (installed for promtool) stopped and disabled"
fi
echo "install-deps: done"
