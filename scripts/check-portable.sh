#!/usr/bin/env bash
# The lean collectors run where the compromise is: build them with scripts/dist.sh, check they
# are static, and run collect + verify with each on the sample host
#   - natively (x86_64),
#   - inside a chroot whose only userland is Debian 11's glibc 2.31 (taken from Debian's archive
#     with apt's signature checks, unpacked with dpkg -x) — where the ordinary glibc build of
#     this machine does not even start, which is checked too,
#   - the aarch64 one under qemu-user-static.
# The three bundles must hold the same rows with the same hashes. Needs root (chroot, apt).
#
#   scripts/check-portable.sh            (CARGO_TARGET_DIR as .ci/run sets it)
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mailir-target}"
dist="$CARGO_TARGET_DIR/dist"
cache="$CARGO_TARGET_DIR/bullseye-libc6"
work=$(mktemp -d)
cleanup() {
  mountpoint -q "$work/chroot/proc" 2>/dev/null && umount "$work/chroot/proc"
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "check-portable: FAILED: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "needs root (chroot, apt)"
apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null; }
}
for need in qemu-aarch64-static:qemu-user-static jq:jq unzip:unzip readelf:binutils; do
  command -v "${need%%:*}" >/dev/null || apt_install "${need##*:}"
done

scripts/dist.sh --out "$dist" lean
x86="$dist/mailir-collect-x86_64-linux"
arm="$dist/mailir-collect-aarch64-linux"

# Debian 11's libc6, through apt with a private state: the archive's signatures are checked.
if ! ls "$cache"/libc6_2.31-*_amd64.deb >/dev/null 2>&1; then
  mkdir -p "$cache/lists/partial" "$cache/cache/archives/partial"
  echo "deb http://deb.debian.org/debian bullseye main" > "$cache/sources.list"
  apt_opts=(-q -o "Dir::Etc::SourceList=$cache/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$cache/lists" -o "Dir::Cache=$cache/cache"
    -o Dir::State::status=/dev/null -o APT::Architecture=amd64 -o APT::Sandbox::User=root)
  apt-get "${apt_opts[@]}" update >/dev/null
  (cd "$cache" && apt-get "${apt_opts[@]}" download libc6 >/dev/null)
fi
deb=$(ls "$cache"/libc6_2.31-*_amd64.deb | head -n 1)
echo "== $(basename "$deb")"

# The sample host, as the evidence root for every run.
root="$work/chroot/host"
mkdir -p "$work/chroot/out" "$work/chroot/proc" "$work/chroot/tmp"
cp -a samples/compromised-postfix "$root"
dpkg -x "$deb" "$work/chroot"
cp "$x86" "$work/chroot/mailir"

# This machine's ordinary (glibc) build does not start on Debian 11's glibc.
gnu="$CARGO_TARGET_DIR/debug/mailir"
if [ -x "$gnu" ]; then
  ld=$(ls "$work"/chroot/lib/x86_64-linux-gnu/ld-2.*.so | head -n 1)
  if msg=$("$ld" --library-path "$work/chroot/lib/x86_64-linux-gnu" "$gnu" --version 2>&1); then
    echo "note: the glibc build runs on glibc 2.31 too: $msg"
  else
    floor=$(readelf -W --dyn-syms "$gnu" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n 1)
    echo "== as expected, this machine's glibc build (needs $floor) does not start on glibc 2.31: ${msg##*: }"
  fi
fi

collect_verify() { # LABEL BUNDLE COMMAND...
  local label=$1 bundle=$2; shift 2
  echo "== $label: collect + verify"
  "$@" collect --root "${ROOT:-$root}" --out "$bundle" --case PORT-1 --examiner ci >/dev/null 2>"$work/collect.err" \
    || { cat "$work/collect.err" >&2; fail "$label: collect"; }
  "$@" verify "$bundle" >/dev/null || fail "$label: verify"
}
collect_verify "x86_64 static" "$work/x86.zip" "$x86"
mount -t proc proc "$work/chroot/proc"
ROOT=/host collect_verify "x86_64 static in a Debian 11 (glibc 2.31) chroot" /out/old.zip \
  chroot "$work/chroot" /mailir
umount "$work/chroot/proc"
collect_verify "aarch64 static under qemu-user" "$work/arm.zip" qemu-aarch64-static "$arm"
"$x86" verify "$work/arm.zip" >/dev/null || fail "the aarch64 bundle does not verify with the x86_64 collector"

# Same rows, same hashes, whichever binary and host collected.
rows() {
  unzip -p "$1" manifest.jsonl | jq -c '[.source, .outcome, .sha256, .size]' | sort
}
rows "$work/x86.zip" > "$work/x86.rows"
[ "$(wc -l < "$work/x86.rows")" -gt 50 ] || fail "too few rows in the x86_64 bundle"
grep -q '"/var/log/mail.log","collected"' "$work/x86.rows" || fail "mail.log not collected"
for b in chroot/out/old arm; do
  rows "$work/$b.zip" | diff -u "$work/x86.rows" - || fail "$b.zip differs from x86.zip"
done
for b in x86 chroot/out/old arm; do
  sha=$(unzip -p "$work/$b.zip" custody.json | jq -r .collector.sha256)
  echo "   $b.zip: custody collector.sha256 $sha"
done
[ "$(unzip -p "$work/x86.zip" custody.json | jq -r .collector.sha256)" = "$(sha256sum < "$x86" | cut -c1-64)" ] \
  || fail "custody's collector hash is not the binary's"
echo "== portable collectors: ok ($(wc -l < "$work/x86.rows") rows each)"
