#!/usr/bin/env bash
# Builds the Debian package from a CMake build: packaging/build-deb.sh BUILD_DIR OUT_DIR
# Installs into a staging tree (DESTDIR), adds the unit, the commented example config,
# the man pages' sources and the maintainer scripts, then runs dpkg-deb.
set -euo pipefail
build=${1:?build dir}
out=${2:?output dir}
here=$(cd "$(dirname "$0")" && pwd)
version=$(sed -n 's/^project(gdoi-member VERSION \([0-9.]*\).*/\1/p' "$here/../CMakeLists.txt")
arch=$(dpkg --print-architecture)
stage=$(mktemp -d)
chmod 0755 "$stage"
trap 'rm -rf "$stage"' EXIT

DESTDIR="$stage" cmake --install "$build" --prefix /usr >/dev/null
install -D -m 0644 "$here/gdoi-memberd.service" "$stage/lib/systemd/system/gdoi-memberd.service"
install -D -m 0600 "$here/member.toml.example" "$stage/etc/gdoi-member/member.toml"
install -D -m 0644 "$here/member.toml.example" "$stage/usr/share/doc/gdoi-member/member.toml.example"
for example in "$here"/examples/*.nft; do
  install -D -m 0644 "$example" "$stage/usr/share/doc/gdoi-member/examples/$(basename "$example")"
done
for page in "$here"/*.md; do
  [ -e "$page" ] && install -D -m 0644 "$page" "$stage/usr/share/doc/gdoi-member/$(basename "$page")"
done
if [ -e "$here/gdoi-member.toml.5" ]; then
  install -D -m 0644 "$here/gdoi-member.toml.5" "$stage/usr/share/man/man5/gdoi-member.toml.5"
  gzip -9n "$stage/usr/share/man/man5/gdoi-member.toml.5"
fi
mkdir -p "$stage/DEBIAN"
depends="libc6, libssl3, libmnl0, libnftnl11, libsodium23, libtomlplusplus3 | libtomlplusplus3t64, nftables, iproute2"
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@DEPENDS@/$depends/" "$here/debian/control.in" >"$stage/DEBIAN/control"
install -m 0755 "$here/debian/postinst" "$stage/DEBIAN/postinst"
install -m 0644 "$here/debian/conffiles" "$stage/DEBIAN/conffiles"
mkdir -p "$out"
deb="$out/gdoi-member_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$stage" "$deb" >/dev/null
echo "$deb"
