# shellcheck shell=bash
# Sourced by the README's commands: they need root (network namespaces, nftables, qemu, apt-get).
# In a root shell (a fresh Debian has no sudo) they just run; from another account they run
# themselves again through sudo, or say what to do.
# usage: . scripts/lib/need-root.sh "$0" "$@"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    exec sudo --preserve-env=JOBS,CTEST_JOBS bash "$@"
  fi
  echo "$1 needs root (network namespaces, nftables, qemu, apt-get): run it in a root shell (su -)" >&2
  exit 1
fi
