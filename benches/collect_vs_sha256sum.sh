#!/usr/bin/env bash
# Benchmark (not a test): collecting one big mail log vs `sha256sum` and `openssl dgst -sha256`
# of the same file.
#
#   benches/collect_vs_sha256sum.sh [SIZE_MB]        (default 1024)
#
# Builds a root holding only /var/log/mail.log of SIZE_MB made of the sample host's real log
# lines, warms the page cache, then times `sha256sum`, `openssl dgst -sha256` (SHA-NI where the
# CPU has it: the speed of hashing itself) and `mailir collect --root` into a directory, a zip
# and a tar.gz bundle, each archive with the default `--compress fast` and with
# `--compress none` (median of RUNS runs each), and prints each as MB/s and as a ratio to
# openssl in the same run. Peak memory comes from /usr/bin/time when it is installed.
# MAILIR_BIN picks the binary (default: a release build of the lean collector).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${1:-1024}
RUNS=${RUNS:-3}
WORK=$(mktemp -d "${BENCH_DIR:-/tmp}/mailir-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

if [ -z "${MAILIR_BIN:-}" ]; then
  cargo build --release --no-default-features --quiet
  MAILIR_BIN="${CARGO_TARGET_DIR:-target}/release/mailir"
fi

log="$WORK/root/var/log/mail.log"
mkdir -p "$(dirname "$log")"
seed="$WORK/seed.log"
cat samples/compromised-postfix/var/log/mail.log.1 samples/compromised-postfix/var/log/mail.log > "$seed"
target=$((SIZE_MB * 1024 * 1024))
while [ "$(stat -c %s "$log" 2>/dev/null || echo 0)" -lt "$target" ]; do cat "$seed" >> "$log"; done
truncate -s "$target" "$log"
cat "$log" > /dev/null   # warm the page cache: both sides read from memory

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

time_it() { # name, command...
  local name=$1; shift
  local times=()
  for _ in $(seq "$RUNS"); do
    rm -rf "$WORK/out"*
    local t0 t1
    t0=$(now); "$@" > /dev/null 2>&1; t1=$(now)
    times+=("$(echo "$t1 - $t0" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | median
}

peak_kb() { # command... -> max RSS in KiB, if GNU time is there
  if [ -x /usr/bin/time ]; then
    rm -rf "$WORK/out"*
    /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -n 1
  else
    echo "n/a"
  fi
}

base=$(time_it openssl openssl dgst -sha256 "$log")
row() { # name, seconds, peak
  printf '%-36s %9.3f %9.0f %8.2f %12s\n' "$1" "$2" "$(echo "$target / 1000000 / $2" | bc -l)" "$(echo "$2 / $base" | bc -l)" "$3"
}
printf 'input: %s MiB of mail log lines; %s runs each, median wall time\n' "$SIZE_MB" "$RUNS"
printf '%-36s %9s %9s %8s %12s\n' what seconds MB/s ratio peak_rss_kb
row "openssl dgst -sha256" "$base" "$(peak_kb openssl dgst -sha256 "$log")"
t=$(time_it sha256sum sha256sum "$log")
row "sha256sum" "$t" "$(peak_kb sha256sum "$log")"
t=$(time_it cp cp "$log" "$WORK/out.copy")
row "cp (copy, no hash)" "$t" "$(peak_kb cp "$log" "$WORK/out.copy")"
for fmt in dir zip tar.gz zip:none tar.gz:none; do
  ext=${fmt%:none}
  out="$WORK/out"; [ "$ext" = dir ] || out="$WORK/out.$ext"
  cmd=("$MAILIR_BIN" collect --root "$WORK/root" --out "$out")
  [ "$fmt" = "$ext" ] || cmd+=(--compress none)
  t=$(time_it "$fmt" "${cmd[@]}")
  row "mailir collect ($fmt)" "$t" "$(peak_kb "${cmd[@]}")"
done
