#!/usr/bin/env bash
# Builds the Debian package from BUILD_DIR and checks what an operator gets: the daemon,
# the CLI, the systemd unit (Type=notify, only the two capabilities), the configuration as a
# conffile readable by its owner only, and a daemon that validates the shipped example.
#   deb-test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=${1:?source dir}
build=${2:?build dir}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

deb=$(bash "$src/packaging/build-deb.sh" "$build" "$work/out")
listing=$(dpkg-deb -c "$deb")
for f in ./usr/sbin/gdoi-memberd ./usr/sbin/gdoictl ./lib/systemd/system/gdoi-memberd.service \
         ./usr/share/bash-completion/completions/gdoictl \
         ./etc/gdoi-member/member.toml ./usr/share/doc/gdoi-member/member.toml.example; do
  grep -q " $f\$" <<<"$listing" || fail "package lacks $f"
done
grep -E ' \./etc/gdoi-member/member\.toml$' <<<"$listing" | grep -q '^-rw-------' \
  || fail "member.toml must be mode 0600 (it may hold pre-shared keys)"
dpkg-deb -f "$deb" Depends | grep -q libsodium || fail "Depends lacks libsodium"
dpkg-deb -I "$deb" conffiles | grep -qx /etc/gdoi-member/member.toml || fail "member.toml is not a conffile"

dpkg-deb -x "$deb" "$work/root"
unit="$work/root/lib/systemd/system/gdoi-memberd.service"
grep -qx 'Type=notify' "$unit" || fail "unit is not Type=notify"
grep -qx 'CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_BIND_SERVICE' "$unit" || fail "unit capability set"

# The shipped example validates once its key files exist (owner-only, as required).
umask 077
for n in 1 2; do echo "example-psk-$n" >"$work/group$n.psk"; done
sed "s#/etc/gdoi-member/group\([12]\).psk#$work/group\1.psk#" \
  "$work/root/usr/share/doc/gdoi-member/member.toml.example" >"$work/member.toml"
out=$("$work/root/usr/sbin/gdoi-memberd" --check -c "$work/member.toml") || fail "example config rejected: $out"
grep -q "valid" <<<"$out" || fail "unexpected --check output: $out"
# A world-readable key file is refused, naming the fix.
chmod 0644 "$work/group1.psk"
if msg=$("$work/root/usr/sbin/gdoi-memberd" --check -c "$work/member.toml" 2>&1); then
  fail "a world-readable PSK file was accepted"
fi
grep -q "chmod" <<<"$msg" || fail "the error does not say how to fix the key file's mode: $msg"
echo "deb package: 1 passed, 0 failed ($(basename "$deb"))"
