#!/bin/sh
# /init of the tests/vm initramfs (busybox sh; vm-run.sh copies this file into the image).
# Loads virtio + 9p, mounts the host's / read-only at /mnt with fresh tmpfs/proc/sys/dev over it,
# the control share (job, exit code, results) at /run/gdoi-vm and the extracted Debian kernel at
# /run/gdoi-vm-kernel (for modprobe), chroots into /mnt to run the job and powers off.
# Everything it prints goes to the serial console, which vm-run.sh shows on its stdout.
export PATH=/bin:/sbin

CTL=/mnt/run/gdoi-vm

# Any setup failure must end the VM at once (no shell, no panic loop): vm-run.sh then reports
# that the script never ran, with this message in the console output above it.
fail() {
  echo "GDOI-VM-ERROR: $*"
  sync
  poweroff -f
  sleep 5
}

mount -t proc proc /proc || fail "mount /proc"
mount -t sysfs sysfs /sys || fail "mount /sys"
mount -t devtmpfs devtmpfs /dev || fail "mount /dev"
# Keep kernel chatter (e.g. module taint notes) off the console the test output shares.
echo 1 > /proc/sys/kernel/printk

# Modules, in dependency order (resolved on the host from modules.dep when building the image).
while read -r ko; do
  insmod "/modules/$ko" || fail "insmod $ko"
done < /modules/order

# 9p over virtio: msize above the 8 KiB default makes reading host binaries much faster.
P9="trans=virtio,version=9p2000.L,msize=262144"
mount -t 9p -o "$P9,ro,cache=loose" hostroot /mnt || fail "mount host / (9p tag hostroot)"
mount -t 9p -o "$P9,cache=none" gdoictl /ctl || fail "mount control share (9p tag gdoictl)"

# Paths the job needs that lie under a directory we are about to cover with tmpfs (a checkout in
# /tmp, say): bind them aside now and move them back on top of the tmpfs afterwards.
n=0
if [ -f /ctl/keep ]; then
  while read -r p; do
    [ -n "$p" ] || continue
    n=$((n + 1))
    mkdir -p "/hold/$n"
    mount -o bind "/mnt$p" "/hold/$n" || fail "bind $p"
  done < /ctl/keep
fi

# The host's / is read-only: give the job private writable /tmp, /run (ip netns needs /run/netns),
# /var/tmp and /root ($HOME), plus its own proc, sys and dev.
for d in /tmp /var/tmp /run /root; do
  mount -t tmpfs -o mode=1777 tmpfs "/mnt$d" || fail "tmpfs on $d"
done
chmod 700 /mnt/root
mount -t proc proc /mnt/proc || fail "mount /mnt/proc"
mount -t sysfs sysfs /mnt/sys || fail "mount /mnt/sys"
mount -t devtmpfs devtmpfs /mnt/dev || fail "mount /mnt/dev"
mkdir -p /mnt/dev/pts /mnt/dev/shm
# What udev would add and bash needs (process substitution uses /dev/fd).
ln -sf /proc/self/fd /mnt/dev/fd
ln -sf /proc/self/fd/0 /mnt/dev/stdin
ln -sf /proc/self/fd/1 /mnt/dev/stdout
ln -sf /proc/self/fd/2 /mnt/dev/stderr
mount -t devpts devpts /mnt/dev/pts
mount -t tmpfs -o mode=1777 tmpfs /mnt/dev/shm
mount -t bpf bpf /mnt/sys/fs/bpf 2>/dev/null

n=0
if [ -f /ctl/keep ]; then
  while read -r p; do
    [ -n "$p" ] || continue
    n=$((n + 1))
    mkdir -p "/mnt$p"
    mount -o move "/hold/$n" "/mnt$p" || fail "move $p back"
  done < /ctl/keep
fi

mkdir -p "$CTL" /mnt/run/gdoi-vm-kernel
mount -o move /ctl "$CTL" || fail "move control share"
mount -t 9p -o "$P9,ro,cache=loose" gdoikernel /mnt/run/gdoi-vm-kernel || fail "mount kernel share"

# Module autoload (esp4, xfrm_user, crypto, veth, nf_tables, ...): the kernel runs this wrapper,
# which uses the host's kmod on the extracted kernel's modules.
echo /sbin/gdoi-modprobe > /proc/sys/kernel/modprobe

hostname gdoi-vm
ifconfig lo 127.0.0.1 up

read -r up _ < /proc/uptime
echo "gdoi-vm: kernel up ${up}s, running the script"
chroot /mnt /bin/bash /run/gdoi-vm/job.sh
rc=$?
echo "$rc" > "$CTL/rc"
sync
echo "GDOI-VM-EXIT: $rc"
echo 0 > /proc/sys/kernel/printk   # no "reboot: Power down" after the marker
poweroff -f
sleep 5
