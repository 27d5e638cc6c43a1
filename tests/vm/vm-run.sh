#!/usr/bin/env bash
# vm-run.sh SCRIPT [ARGS...]
#
# Runs SCRIPT (a host path) as root inside a qemu VM booted from Debian's own kernel, which has
# ESP/AEAD (the build machines' kernel has not), and exits with the script's exit code.
# The VM sees the host's / read-only; see tests/vm/README.md for the environment variables, how
# files go in and out, and the limits.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${GDOI_VM_CACHE:-/var/cache/gdoi-member/vm}"
TIMEOUT="${GDOI_VM_TIMEOUT:-600}"
MEM="${GDOI_VM_MEM:-1536}"
SMP="${GDOI_VM_SMP:-1}"
CPU="${GDOI_VM_CPU:-max}"
START=$SECONDS

die() { echo "vm-run: $*" >&2; exit 125; }
note() { echo "vm-run: $*" >&2; }

# Seconds left of GDOI_VM_TIMEOUT: it bounds download, image building and the VM together.
remaining() {
  local left=$((TIMEOUT - (SECONDS - START)))
  ((left > 0)) || die "timed out after ${TIMEOUT}s (GDOI_VM_TIMEOUT) before the VM started"
  echo "$left"
}

need_tools() {
  local t missing=()
  for t in qemu-system-x86_64 busybox cpio depmod modprobe dpkg-deb apt-get apt-cache flock timeout sha256sum; do
    command -v "$t" >/dev/null || missing+=("$t")
  done
  ((${#missing[@]} == 0)) || die "missing ${missing[*]}: run scripts/install-deps.sh"
  # The initramfs has no libc: it needs the static busybox, not the dynamic one of 'busybox'.
  local ldd_out
  ldd_out="$(ldd "$(command -v busybox)" 2>&1 || true)"
  [[ "$ldd_out" == *"not a dynamic"* ]] ||
    die "$(command -v busybox) is not statically linked: apt-get install busybox-static"
}

# The kernel package: pinned by GDOI_VM_KERNEL_PKG, else the one linux-image-amd64 depends on now.
# Only that one package is downloaded; old ABI versions leave the archive, hence the pin.
resolve_kernel_pkg() {
  if [[ -n "${GDOI_VM_KERNEL_PKG:-}" ]]; then echo "$GDOI_VM_KERNEL_PKG"; return; fi
  local pkg
  pkg="$(apt_kernel_dep)"
  if [[ -z "$pkg" && $(id -u) -eq 0 ]]; then
    note "apt-cache knows no linux-image-amd64: running apt-get update" >&2
    apt-get update -qq >&2 || true
    pkg="$(apt_kernel_dep)"
  fi
  if [[ -z "$pkg" ]]; then
    # Offline but already cached: use the newest kernel we have rather than fail.
    pkg="$(ls -1 "$CACHE/kernels" 2>/dev/null | sort -V | tail -n1 || true)"
    [[ -n "$pkg" ]] && note "apt-cache knows no linux-image-amd64; using cached $pkg" >&2
  fi
  [[ -n "$pkg" ]] || die "cannot resolve the kernel: 'apt-cache depends linux-image-amd64' names no linux-image-6.1.0-N-amd64 (run apt-get update) and nothing is cached in $CACHE; or set GDOI_VM_KERNEL_PKG"
  echo "$pkg"
}

apt_kernel_dep() {
  apt-cache depends linux-image-amd64 2>/dev/null |
    grep -oE 'linux-image-[0-9][^ ]*-amd64' | head -n1 || true
}

# Downloads and extracts the kernel package once into $CACHE/kernels/PKG (with modules.dep made by
# depmod, which the package's postinst would do), then drops the .deb.
ensure_kernel() {
  local pkg="$1" dir="$CACHE/kernels/$1"
  [[ -f "$dir/.complete" ]] && return 0
  note "fetching $pkg into $CACHE (once)"
  local work
  work="$(mktemp -d "$CACHE/.fetch.XXXXXX")"
  # The _apt sandbox user cannot write into root's cache: download as root.
  if ! (cd "$work" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2); then
    rm -rf "$work"
    die "kernel package $pkg not found in the apt cache: run apt-get update, or pin GDOI_VM_KERNEL_PKG to a version apt-cache policy lists"
  fi
  mkdir -p "$work/root"
  dpkg-deb -x "$work"/*.deb "$work/root" || { rm -rf "$work"; die "dpkg-deb -x failed for $pkg"; }
  local kver
  kver="$(ls -1 "$work/root/lib/modules" | head -n1)"
  [[ -n "$kver" && -f "$work/root/boot/vmlinuz-$kver" ]] || { rm -rf "$work"; die "$pkg has no /boot/vmlinuz or /lib/modules"; }
  depmod -b "$work/root" "$kver" || { rm -rf "$work"; die "depmod failed for $pkg"; }
  extract_vmlinux "$work/root/boot/vmlinuz-$kver" "$work/root/boot/vmlinux"
  mkdir -p "$CACHE/kernels"
  rm -rf "$dir" "$work/root/usr/share"
  mv "$work/root" "$dir"
  echo "$kver" > "$dir/.kver"
  touch "$dir/.complete"
  rm -rf "$work"
}

# Under TCG the bzImage's own xz decompression costs seconds of every boot: keep the ELF vmlinux
# inside it, which qemu boots directly (PVH entry, CONFIG_PVH=y in Debian's kernel). Best effort:
# without it vm-run boots the bzImage.
extract_vmlinux() {
  local bz="$1" out="$2" off
  command -v xz >/dev/null || return 0
  off="$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$bz" | head -n1 | cut -d: -f1 || true)"
  [[ -n "$off" ]] || return 0
  tail -c +"$((off + 1))" "$bz" | xz -dc --single-stream > "$out" 2>/dev/null || true
  if [[ "$(head -c4 "$out" | od -An -tx1 | tr -d ' ')" != 7f454c46 ]] ||
    ! grep -q '^CONFIG_PVH=y' "$(dirname "$bz")"/config-*; then
    rm -f "$out"
  fi
}

# Builds (once per kernel and per version of this harness) the busybox initramfs with /init,
# the modprobe wrapper and the virtio/9p modules in dependency order.
ensure_initramfs() {
  local kdir="$1" kver key out
  kver="$(cat "$kdir/.kver")"
  key="$( { cat "$HERE/vm-init.sh" "$HERE/vm-run.sh" "$(command -v busybox)"; echo "$kver"; } | sha256sum | cut -c1-16)"
  out="$CACHE/initramfs/$(basename "$kdir")-$key.cpio"
  if [[ -f "$out" ]]; then touch "$out"; echo "$out"; return; fi
  note "building initramfs for $kver" >&2
  mkdir -p "$CACHE/initramfs"
  local r
  r="$(mktemp -d "$CACHE/.initramfs.XXXXXX")"
  mkdir -p "$r"/{bin,sbin,proc,sys,dev,mnt,ctl,hold,modules}
  cp "$(command -v busybox)" "$r/bin/busybox"
  local a
  for a in sh mount umount insmod chroot mkdir chmod ln poweroff cat echo sleep sync hostname ifconfig; do
    ln -s busybox "$r/bin/$a"
  done
  install -m 0755 "$HERE/vm-init.sh" "$r/init"
  # Kernel request_module() runs this (from the initramfs root, not the chroot); the host's kmod
  # then loads the module from the extracted kernel shared at /run/gdoi-vm-kernel.
  # jitterentropy_rng is refused: its start-up self-test times memory accesses, which takes 5-15 s
  # under TCG, and the kernel's DRBG (stdrng, used for ESP IVs) seeds itself without it.
  cat > "$r/sbin/gdoi-modprobe" <<'EOF'
#!/bin/sh
read -r up _ < /proc/uptime
echo "$up $*" >> /mnt/run/gdoi-vm/modprobe.log
case "$*" in *jitterentropy*) exit 1 ;; esac
exec /bin/chroot /mnt /sbin/modprobe -d /run/gdoi-vm-kernel "$@"
EOF
  chmod 0755 "$r/sbin/gdoi-modprobe"
  # Only modules needed to reach the shares; modprobe resolves modules.dep for their order.
  local m path
  declare -A seen=()
  for m in virtio_pci 9pnet_virtio 9p; do
    while read -r path; do
      [[ -n "${seen[$path]:-}" ]] && continue
      seen[$path]=1
      cp "$path" "$r/modules/"
      basename "$path" >> "$r/modules/order"
    done < <(modprobe -d "$kdir" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" { print $2 }')
  done
  [[ -s "$r/modules/order" ]] || { rm -rf "$r"; die "no virtio/9p modules found in $kdir"; }
  (cd "$r" && find . -print0 | cpio --null -o -H newc --quiet) > "$out.tmp"
  mv "$out.tmp" "$out"
  rm -rf "$r"
  # Other images of this kernel belong to other versions of this harness (another checkout may
  # still use one): drop only those unused for a day.
  find "$CACHE/initramfs" -name "$(basename "$kdir")-*.cpio" ! -path "$out" -mmin +1440 -delete
  echo "$out"
}

# Directories the VM covers with tmpfs; a script or working directory under one of them must be
# re-exposed from the host (vm-init.sh binds it back over the tmpfs).
masked_prefix() {
  case "$1" in
    /tmp | /tmp/* | /var/tmp | /var/tmp/* | /run | /run/* | /var/run/* | /root | /root/*) return 0 ;;
  esac
  return 1
}

# Writes the job the VM runs: the script with a clean environment, its args, in the caller's cwd.
write_job() {
  local ctl="$1" script="$2"
  shift 2
  local cwd="$PWD" keep=()
  masked_prefix "$cwd" && keep+=("$cwd")
  local top
  top="$(git -C "$(dirname "$script")" rev-parse --show-toplevel 2>/dev/null || dirname "$script")"
  masked_prefix "$top" && keep+=("$top")
  local k
  for k in ${GDOI_VM_KEEP:-}; do keep+=("$(realpath -m "$k")"); done
  printf '%s\n' "${keep[@]+"${keep[@]}"}" > "$ctl/keep"

  local envs=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
    LANG=C.UTF-8 GDOI_VM=1 GDOI_VM_OUT=/run/gdoi-vm/out)
  # Sanitizer settings follow a sanitized build's binaries into the VM unless told otherwise.
  local name
  for name in ${GDOI_VM_PASSENV-ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS}; do
    [[ -n "${!name+set}" ]] && envs+=("$name=${!name}")
  done
  local kv
  for kv in ${GDOI_VM_ENV:-}; do
    [[ "$kv" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "GDOI_VM_ENV entry '$kv' is not NAME=VALUE"
    envs+=("$kv")
  done
  local runner=()
  [[ -x "$script" ]] || runner=(/bin/bash)
  {
    echo "# generated by vm-run.sh"
    printf 'cd %q || exit 126\n' "$cwd"
    printf 'exec /usr/bin/env -i'
    printf ' %q' "${envs[@]}" "${runner[@]+"${runner[@]}"}" "$script" "$@"
    printf '\n'
  } > "$ctl/job.sh"
}

# On exit or interruption: stop a still running VM (ctest's timeout) and drop the temp dir.
# shellcheck disable=SC2317  # invoked by trap
cleanup() {
  if [[ -n "${VM_PID:-}" && -f "$TMPD/qemu.pid" ]]; then
    kill "$(cat "$TMPD/qemu.pid")" 2>/dev/null || true
    wait "$VM_PID" 2>/dev/null || true
  fi
  if [[ -n "${TMPD:-}" ]]; then rm -rf "$TMPD"; fi
}

main() {
  (($# >= 1)) || die "usage: vm-run.sh SCRIPT [ARGS...]"
  local script
  script="$(realpath -e "$1" 2>/dev/null)" || die "script $1 not found"
  shift
  need_tools
  mkdir -p "$CACHE" || die "cannot create cache dir $CACHE (set GDOI_VM_CACHE)"

  # One preparer at a time: parallel ctest runs share the cache.
  local pkg kdir initrd lockfd left
  exec {lockfd}>"$CACHE/.lock"
  left="$(remaining)"
  flock -w "$left" "$lockfd" || die "timed out waiting for the cache lock $CACHE/.lock"
  pkg="$(resolve_kernel_pkg)"
  ensure_kernel "$pkg"
  kdir="$CACHE/kernels/$pkg"
  initrd="$(ensure_initramfs "$kdir")"
  # Released before booting so VMs run in parallel: nothing a VM uses is deleted under it (qemu
  # reads the initramfs at start; only day-old images are removed, kernels never).
  exec {lockfd}>&-

  TMPD="$(mktemp -d "${TMPDIR:-/tmp}/gdoi-vm.XXXXXX")"
  trap cleanup EXIT
  trap 'note "interrupted"; exit 130' INT TERM HUP
  mkdir -p "$TMPD/ctl/out"
  chmod 0777 "$TMPD/ctl/out"
  write_job "$TMPD/ctl" "$script" "$@"
  [[ -n "$(cat "$TMPD/ctl/keep")" ]] && note "re-exposing in the VM: $(tr '\n' ' ' < "$TMPD/ctl/keep")"

  local kver attempt rc=""
  kver="$(cat "$kdir/.kver")"
  for attempt in 1 2; do
    boot_vm "$kdir" "$kver" "$initrd" "$pkg"
    rc="$(cat "$TMPD/ctl/rc" 2>/dev/null || true)"
    [[ -z "$rc" ]] && rc="$(sed -n 's/^GDOI-VM-EXIT: \([0-9]*\)$/\1/p' "$TMPD/console.log" | tail -n1)"
    [[ -n "$rc" ]] && break
    ((QRC == 124 || QRC == 137)) && break
    # A TCG guest on a loaded host sometimes dies in early boot (e.g. "IO-APIC + timer doesn't
    # work"). If the script never started, nothing ran yet: boot once more.
    if ((attempt == 1)) && ! grep -q '^gdoi-vm: kernel up' "$TMPD/console.log"; then
      note "the VM died before the script started (qemu exit $QRC): booting once more"
      continue
    fi
    break
  done

  if [[ -n "${GDOI_VM_OUT_HOST:-}" ]]; then
    mkdir -p "$GDOI_VM_OUT_HOST"
    cp -a "$TMPD/ctl/out/." "$GDOI_VM_OUT_HOST/"
    if [[ -f "$TMPD/ctl/modprobe.log" ]]; then cp "$TMPD/ctl/modprobe.log" "$GDOI_VM_OUT_HOST/.modprobe.log"; fi
  fi
  if [[ -z "$rc" ]]; then
    ((QRC == 124 || QRC == 137)) && die "timed out: the VM ran ${TOOK}s, GDOI_VM_TIMEOUT=${TIMEOUT}s"
    grep -q '^GDOI-VM-ERROR' "$TMPD/console.log" && die "VM setup failed (see GDOI-VM-ERROR above)"
    die "the VM stopped without running the script to its end (qemu exit $QRC; boot failure or kernel panic: see the console above)"
  fi
  note "script exited $rc; VM ran ${TOOK}s"
  exit "$rc"
}

# boot_vm KDIR KVER INITRD PKG: one qemu run, console on stdout and in $TMPD/console.log; sets
# QRC (qemu's exit code, 124/137 on timeout) and TOOK (seconds).
boot_vm() {
  local kdir="$1" kver="$2" initrd="$3" pkg="$4" left
  left="$(remaining)"
  local kimage="$kdir/boot/vmlinux"
  [[ -f "$kimage" ]] || kimage="$kdir/boot/vmlinuz-$kver"
  # no_timer_check: the IO-APIC timer check fails when a loaded host starves the TCG vCPU.
  local qemu=(qemu-system-x86_64 -M pc -accel tcg -cpu "$CPU" -m "$MEM" -smp "$SMP"
    -no-reboot -nodefaults -no-user-config -display none -serial stdio
    -pidfile "$TMPD/qemu.pid"
    -kernel "$kimage" -initrd "$initrd"
    -append "console=ttyS0 quiet loglevel=3 panic=-1 no_timer_check rdinit=/init ${GDOI_VM_APPEND:-}"
    -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
    -virtfs "local,path=$TMPD/ctl,mount_tag=gdoictl,security_model=none,multidevs=remap"
    -virtfs "local,path=$kdir,mount_tag=gdoikernel,security_model=none,readonly=on")
  note "booting $pkg (TCG, ${MEM} MiB, $SMP cpu, ${left}s left)"
  local boot=$SECONDS
  QRC=0
  rm -f "$TMPD/qemu.pid"
  # In the background so a TERM from ctest reaches our trap (bash defers traps during a
  # foreground job). sed strips the serial console's CRs and does not buffer.
  (
    set +e
    timeout -k 10 "$left" "${qemu[@]}" < /dev/null 2>&1 | sed -u 's/\r$//' | tee "$TMPD/console.log"
    exit "${PIPESTATUS[0]}"
  ) &
  VM_PID=$!
  wait "$VM_PID" || QRC=$?
  VM_PID=""
  TOOK=$((SECONDS - boot))
}

main "$@"
