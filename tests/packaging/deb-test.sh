#!/usr/bin/env bash
# Builds the Debian packages with dpkg-buildpackage from a copy of SOURCE_DIR (the tree is not
# written to) and checks what an operator gets: lintian without errors or warnings, the daemon
# and the CLI stripped (symbols in the -dbgsym package), the systemd unit (Type=notify, only the
# two capabilities), the service user from sysusers, the configuration as a conffile readable by
# its owner only, real manual pages that man renders without warnings, the bash completion, the
# nft examples, and a daemon that validates the shipped example.
#   deb-test.sh SOURCE_DIR
# The packages are unpacked with dpkg -x into an empty root (their dependencies are not
# installed there; the Depends line is checked instead), the maintainer scripts are read with
# dpkg-deb -e, and the sysusers file is applied to that root with systemd-sysusers --root.
set -euo pipefail
src=${1:?source dir}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
start=$SECONDS

# What the build could leave in the tree (dh's debian/gdoi-member/, debian/man/, obj-*/), before
# and after: the build must work on its copy only.
tree_state() { git -C "$src" status --porcelain --ignored -- debian packaging 2>/dev/null; ls -d "$src"/obj-* 2>/dev/null || true; }
before=$(tree_state)
# Two jobs: ctest runs this next to other tests (scripts/test.sh: ctest -j2).
deb=$(DEB_BUILD_OPTIONS="parallel=${PACKAGE_JOBS:-2}" nice -n 10 \
        bash "$src/packaging/build-deb.sh" "$work/out") || fail "the package build failed"
[ "$(tree_state)" = "$before" ] || fail "the build wrote into the source tree: $(diff <(echo "$before") <(tree_state))"
build_seconds=$((SECONDS - start))
version=$(sed -n 's/^project(gdoi-member VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] ||
  fail "package version $(dpkg-deb -f "$deb" Version) is not CMakeLists.txt's $version (debian/changelog)"
changes=$(ls "$work"/out/*.changes)
dbgsym=$(ls "$work"/out/gdoi-member-dbgsym_*.deb) || fail "no -dbgsym package"

# lintian on the .changes: the packages and the .buildinfo. Every override says why.
lintian --fail-on error,warning "$changes" >"$work/lintian.txt" 2>"$work/lintian.err" ||
  fail "lintian: $(cat "$work/lintian.txt" "$work/lintian.err")"
grep -E '^[EW]: ' "$work/lintian.txt" && fail "lintian reports errors or warnings"
echo "lintian --fail-on error,warning $(basename "$changes"): $(wc -l <"$work/lintian.txt") lines of output"
cat "$work/lintian.txt"
for overrides in "$src"/debian/*lintian-overrides; do
  [ -e "$overrides" ] || continue
  awk '/^[^#[:space:]]/ && prev !~ /^#/ { print FILENAME ": no reason above: " $0; bad = 1 }
       { prev = $0 } END { exit bad }' "$overrides" || fail "lintian override without a reason comment"
done

listing=$(dpkg-deb -c "$deb")
for f in ./usr/sbin/gdoi-memberd ./usr/sbin/gdoictl ./lib/systemd/system/gdoi-memberd.service \
         ./lib/systemd/system/gdoi-member-metrics.service ./lib/systemd/system/gdoi-member-metrics.timer \
         ./usr/share/bash-completion/completions/gdoictl \
         ./etc/gdoi-member/member.toml ./usr/share/doc/gdoi-member/member.toml.example \
         ./usr/share/doc/gdoi-member/copyright ./usr/share/doc/gdoi-member/changelog.gz \
         ./usr/lib/sysusers.d/gdoi-member.conf \
         ./usr/share/doc/gdoi-member/examples/router-firewall.nft \
         ./usr/share/doc/gdoi-member/examples/router-rpfilter.nft \
         ./usr/share/man/man8/gdoi-memberd.8.gz ./usr/share/man/man8/gdoictl.8.gz \
         ./usr/share/man/man5/gdoi-member.toml.5.gz; do
  grep -q " $f\$" <<<"$listing" || fail "package lacks $f"
done
grep -E ' \./etc/gdoi-member/member\.toml$' <<<"$listing" | grep -q '^-rw-------' \
  || fail "member.toml must be mode 0600 (it may hold pre-shared keys)"
depends=$(dpkg-deb -f "$deb" Depends)
for dep in libsodium libssl3 libmnl libnftnl libtomlplusplus nftables iproute2 systemd-sysusers; do
  grep -q "$dep" <<<"$depends" || fail "Depends lacks $dep: $depends"
done
dpkg-deb -I "$deb" conffiles | grep -qx /etc/gdoi-member/member.toml || fail "member.toml is not a conffile"

# Maintainer scripts: the user from sysusers, member.toml handed to it by a statoverride (kept
# across upgrades), no recursive chown, the service neither enabled nor started before the
# operator configured it.
dpkg-deb -e "$deb" "$work/control"
postinst="$work/control/postinst"
grep -q 'systemd-sysusers .*gdoi-member.conf' "$postinst" || fail "postinst does not create the user (sysusers)"
grep -q 'dpkg-statoverride --update --add gdoi-member gdoi-member 0600 /etc/gdoi-member/member.toml' "$postinst" ||
  fail "postinst does not give member.toml to gdoi-member"
if grep -q 'chown -R' "$work"/control/*; then fail "a maintainer script runs chown -R"; fi
grep -q 'deb-systemd-helper --quiet was-enabled' "$postinst" || fail "postinst lacks the unit's enable-state handling"
if grep -q "deb-systemd-invoke start" "$postinst"; then fail "postinst starts the unconfigured service"; fi

# Stripped binaries; their debug information is in the -dbgsym package.
dpkg-deb -x "$deb" "$work/root"
dpkg-deb -x "$dbgsym" "$work/dbg"
for bin in gdoi-memberd gdoictl; do
  if readelf -S "$work/root/usr/sbin/$bin" | grep -q '\.debug_info'; then fail "$bin is not stripped"; fi
  id=$(readelf -n "$work/root/usr/sbin/$bin" | sed -n 's/.*Build ID: \([0-9a-f]*\)/\1/p')
  [ -f "$work/dbg/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug" ] || fail "no debug symbols for $bin in $(basename "$dbgsym")"
done
cmp -s "$work/root/usr/share/bash-completion/completions/gdoictl" "$src/packaging/bash-completion/gdoictl" ||
  fail "the packaged bash completion differs from packaging/bash-completion/gdoictl"

unit="$work/root/lib/systemd/system/gdoi-memberd.service"
grep -qx 'Type=notify' "$unit" || fail "unit is not Type=notify"
grep -qx 'CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_BIND_SERVICE' "$unit" || fail "unit capability set"
grep -qx 'User=gdoi-member' "$unit" || fail "unit does not run as gdoi-member"

# The sysusers file makes a system user without a login shell or a home, with its group.
mkdir -p "$work/root/etc"
systemd-sysusers --root="$work/root" "$work/root/usr/lib/sysusers.d/gdoi-member.conf" ||
  fail "systemd-sysusers refused the package's sysusers file"
IFS=: read -r _ _ uid gid _ home shell < <(grep '^gdoi-member:' "$work/root/etc/passwd") ||
  fail "sysusers made no gdoi-member user"
if [ "$uid" -ge 1000 ] || [ "$home" != /nonexistent ] || [[ $shell != */nologin ]]; then
  fail "gdoi-member is not a system user without home and login: uid $uid home $home shell $shell"
fi
grep -q "^gdoi-member:x:$gid:" "$work/root/etc/group" || fail "no gdoi-member group with gid $gid"

# Real manual pages: man renders each without a warning, and each has a NAME line that whatis reads (lexgrog).
for page in man8/gdoi-memberd.8.gz man8/gdoictl.8.gz man5/gdoi-member.toml.5.gz; do
  file="$work/root/usr/share/man/$page"
  rendered=$(MANWIDTH=80 man -l --warnings "$file" 2>"$work/man.err") || fail "man -l $page failed: $(cat "$work/man.err")"
  [ ! -s "$work/man.err" ] || fail "man -l $page warns: $(cat "$work/man.err")"
  [ -n "$rendered" ] || fail "man -l $page rendered nothing"
  name=$(basename "$page" .gz); name=${name%.*}
  lexgrog "$file" | grep -qF "\"$name - " || fail "$page has no NAME line for $name (whatis): $(lexgrog "$file")"
done

# The shipped example validates once its key files exist (owner-only, as required).
umask 077
for n in 1 2; do echo "example-psk-$n" >"$work/group$n.psk"; done
sed "s#/etc/gdoi-member/group\([12]\).psk#$work/group\1.psk#" \
  "$work/root/usr/share/doc/gdoi-member/member.toml.example" >"$work/member.toml"
cmp -s "$work/root/usr/share/doc/gdoi-member/member.toml.example" "$work/root/etc/gdoi-member/member.toml" ||
  fail "the conffile is not the documented example"
out=$("$work/root/usr/sbin/gdoi-memberd" --check -c "$work/member.toml") || fail "example config rejected: $out"
grep -q "valid" <<<"$out" || fail "unexpected --check output: $out"
# A world-readable key file is refused, naming the fix.
chmod 0644 "$work/group1.psk"
if msg=$("$work/root/usr/sbin/gdoi-memberd" --check -c "$work/member.toml" 2>&1); then
  fail "a world-readable PSK file was accepted"
fi
grep -q "chmod" <<<"$msg" || fail "the error does not say how to fix the key file's mode: $msg"
echo "deb package: built in ${build_seconds} s, checked in $((SECONDS - start - build_seconds)) s"
echo "deb package: 1 passed, 0 failed ($(basename "$deb"), $(basename "$dbgsym"))"
