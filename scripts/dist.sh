#!/usr/bin/env bash
# Release binaries for every host a mail server runs on, with their checksums.
#
#   scripts/dist.sh [--out DIR] [lean|full|windows|all]...      (default: all; DIR: dist/)
#
#   mailir-collect-x86_64-linux    lean collector (collect + verify), static musl, x86_64
#   mailir-collect-aarch64-linux   lean collector, static musl, aarch64 (linked by rust-lld)
#   mailir-x86_64-linux            the full analysis binary, static musl, x86_64
#   mailir-collect-x86_64-windows.exe   lean collector for Exchange hosts (mingw-w64)
#
# Each binary is checked after the build: a Linux one must have no program interpreter and no
# shared-library dependency (static), so it runs on any kernel ≥ 3.2 whatever the libc (CentOS 7,
# Debian 9, Alpine). DIR/SHA256SUMS lists them all (`sha256sum -c SHA256SUMS` in DIR checks it)
# and DIR/BUILDINFO says how they were built. What each build needs (rustup targets, Debian's
# musl-tools for the full build's C allocator, gcc-mingw-w64-x86-64 for Windows) is installed
# here when missing; the script is run as root in CI.
set -euo pipefail
cd "$(dirname "$0")/.."

out=dist
want=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    lean|full|windows|all) want+=("$1"); shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "dist: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ ${#want[@]} -gt 0 ] || want=(all)
has() { local w; for w in "${want[@]}"; do [ "$w" = "$1" ] || [ "$w" = all ] && return 0; done; return 1; }

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mailir-target}"
export CARGO_TERM_COLOR=never
mkdir -p "$out"

apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null; }
}
target() {
  rustup target list --installed | grep -qx "$1" || rustup target add "$1"
}

# A static Linux binary: no PT_INTERP, no DT_NEEDED.
check_static() {
  if readelf -lW "$1" | grep -q 'program interpreter' || readelf -dW "$1" | grep -q '(NEEDED)'; then
    echo "dist: $1 is not static:" >&2
    readelf -lW "$1" | grep interpreter >&2 || true
    readelf -dW "$1" | grep NEEDED >&2 || true
    exit 1
  fi
}

# build NAME TARGET FEATURES... : cargo build --release, copy to $out/NAME, check.
build() {
  local name=$1 triple=$2; shift 2
  target "$triple"
  echo "== $name ($triple $*)"
  cargo build --release --locked --target "$triple" "$@"
  local suffix=""
  case "$triple" in *windows*) suffix=.exe ;; esac
  cp "$CARGO_TARGET_DIR/$triple/release/mailir$suffix" "$out/$name"
  case "$triple" in
    *linux*) check_static "$out/$name" ;;
  esac
  echo "$name: $(stat -c %s "$out/$name") bytes, $(file -b "$out/$name" | cut -d, -f1-2)"
}

if has lean; then
  build mailir-collect-x86_64-linux x86_64-unknown-linux-musl --no-default-features
  CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=rust-lld \
    build mailir-collect-aarch64-linux aarch64-unknown-linux-musl --no-default-features
fi
if has full; then
  # mimalloc (the analysis build's allocator) is C: compiled with Debian's musl-gcc.
  command -v musl-gcc >/dev/null || apt_install musl-tools
  CC_x86_64_unknown_linux_musl=musl-gcc build mailir-x86_64-linux x86_64-unknown-linux-musl
fi
if has windows; then
  command -v x86_64-w64-mingw32-gcc >/dev/null || apt_install gcc-mingw-w64-x86-64
  build mailir-collect-x86_64-windows.exe x86_64-pc-windows-gnu --no-default-features
fi

{
  echo "mailir $(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"
  echo "commit $(git rev-parse HEAD 2>/dev/null || echo unknown)"
  rustc --version
  echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -m)"
} > "$out/BUILDINFO"
(cd "$out" && find . -maxdepth 1 -type f -name 'mailir*' -printf '%f\n' | sort | xargs sha256sum > SHA256SUMS)
echo "== $out/SHA256SUMS"
cat "$out/SHA256SUMS"
