#!/usr/bin/env bash
# Builds the Debian packages with dpkg-buildpackage (debhelper, debian/) from a copy of the
# source tree, so that the tree itself stays untouched (no debian/gdoi-member/, no obj-*/):
#   packaging/build-deb.sh OUT_DIR
# OUT_DIR receives the .deb, the -dbgsym .deb, the .changes, the .buildinfo and build.log; the
# path of gdoi-member_<version>_<arch>.deb is printed. DEB_BUILD_OPTIONS defaults to
# "parallel=<cores>".
# The same as: cd <copy> && dpkg-buildpackage -us -uc -b
set -euo pipefail
out=${1:?output dir}
src=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
copy="$work/gdoi-member"
mkdir "$copy"

# The files of the tree: git's list (tracked and new, not ignored: no build directories) when
# it is a git work tree, else everything but build directories and .git.
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git -C "$src" ls-files -z --cached --others --exclude-standard |
    (cd "$src" && while IFS= read -r -d '' f; do
      if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
    done) |
    tar -C "$src" --null --no-recursion -T - -cf - | tar -C "$copy" -xf -
else
  tar -C "$src" --exclude=./.git --exclude='./build*' --exclude='./obj-*' -cf - . | tar -C "$copy" -xf -
fi

cd "$copy"
dpkg-checkbuilddeps || { echo "build-deb: missing build dependencies (scripts/install-deps.sh installs them)" >&2; exit 1; }
export DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-parallel=$(nproc)}
if ! dpkg-buildpackage -us -uc -b >"$out/build.log" 2>&1; then
  tail -n 40 "$out/build.log" >&2
  echo "build-deb: dpkg-buildpackage failed, log: $out/build.log" >&2
  exit 1
fi
version=$(dpkg-parsechangelog -S Version)
arch=$(dpkg --print-architecture)
changes="$work/gdoi-member_${version}_${arch}.changes"
# Everything the .changes lists (the packages and the .buildinfo), and the .changes itself.
sed -n '/^Files:/,/^[^ ]/s/^ [0-9a-f]\{32\} [0-9]* [^ ]* [^ ]* \(.*\)$/\1/p' "$changes" |
  while IFS= read -r f; do cp "$work/$f" "$out/"; done
cp "$changes" "$out/"
echo "$out/gdoi-member_${version}_${arch}.deb"
