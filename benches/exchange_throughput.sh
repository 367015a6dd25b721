#!/usr/bin/env bash
# Benchmark (not a test): `mailir parse` and `mailir detect` on big Exchange / Microsoft 365
# exports, against `wc -l` on the same files.
#
#   benches/exchange_throughput.sh [SIZE_MB]        (default 256)
#
# Builds, from the export sample (samples/exchange-exports), one IIS W3C log and one Purview
# audit-log CSV of about SIZE_MB each (the sample's header once, its rows repeated), warms the
# page cache, then times on each: `wc -l` (the floor), `mailir parse --format jsonl >
# /dev/null`, `mailir detect`. Prints MB/s, the ratio to `wc -l`, and peak RSS (GNU time).
# Line and CSV exports are cut into parts of whole records read on two threads (see
# src/parse/exports.rs), so this uses both cores; compare user CPU seconds when the other core
# is busy.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${1:-256}
. benches/common.sh
target=$((SIZE_MB * 1024 * 1024))

grow() { # header lines, body file, output
  local head=$1 body=$2 out=$3
  cp "$head" "$out"
  while [ "$(stat -c %s "$out")" -lt "$target" ]; do cat "$body" >> "$out"; done
}

src=samples/exchange-exports
grep '^#' "$src/exch01/W3SVC1/u_ex260303.log" > "$WORK/iis.head"
grep -v '^#' "$src/exch01/W3SVC1/u_ex260303.log" > "$WORK/iis.body"
for i in $(seq 1 5); do cat "$WORK/iis.body"; done > "$WORK/iis.body5" && mv "$WORK/iis.body5" "$WORK/iis.body"
grow "$WORK/iis.head" "$WORK/iis.body" "$WORK/u_ex.log"
head -n 1 "$src/m365/purview-unified-audit-log.csv" > "$WORK/ual.head"
tail -n +2 "$src/m365/purview-unified-audit-log.csv" > "$WORK/ual.body"
grow "$WORK/ual.head" "$WORK/ual.body" "$WORK/ual.csv"

for f in "$WORK/u_ex.log" "$WORK/ual.csv"; do
  cat "$f" > /dev/null
  bytes=$(stat -c %s "$f")
  printf '\ninput %s: %s bytes (%s lines)\n' "$(basename "$f")" "$bytes" "$(wc -l < "$f")"
  measure "wc -l" wc -l "$f"; base=$(cat "$WORK/last")
  measure "mailir parse --format jsonl" "$MAILIR_BIN" parse "$f"; ratio
  measure "mailir detect" "$MAILIR_BIN" detect "$f"; ratio
done
