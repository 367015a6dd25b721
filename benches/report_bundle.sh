#!/usr/bin/env bash
# Benchmark (not a test): what `report` costs on a bundle beyond `detect`, now that it verifies
# the bundle (every entry re-hashed, the archive hashed against its sidecar) on another thread
# while detection runs.
#
#   benches/report_bundle.sh [SIZE_MB] [FORMAT]        (defaults 1024, zip; FORMAT zip|tar.gz)
#
# A root holding only /var/log/mail.log of SIZE_MB (benches/gen_continuous_log.py) is
# collected into a bundle; then, in the same run: `mailir verify`, `mailir detect` and
# `mailir report` on that bundle, each with seconds, MB/s and peak RSS, and report's time as a
# ratio to detect's. MAILIR_BIN picks the binary (default: a release build).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${1:-1024}
FORMAT=${2:-zip}
. benches/common.sh
log="$WORK/root/var/log/mail.log"
mkdir -p "$(dirname "$log")"
python3 benches/gen_continuous_log.py "$SIZE_MB" "$log"
bundle="$WORK/b.$FORMAT"
"$MAILIR_BIN" collect --root "$WORK/root" --out "$bundle" > /dev/null 2>&1
rm -rf "$WORK/root"
cat "$bundle" > /dev/null
bytes=$(stat -c %s "$bundle")
printf 'bundle: %s bytes (%s), %s cores\n' "$bytes" "$FORMAT" "$(nproc)"
measure "mailir verify" "$MAILIR_BIN" verify "$bundle"
measure "mailir detect" "$MAILIR_BIN" detect "$bundle"; base=$(cat "$WORK/last")
measure "mailir report (verifies too)" "$MAILIR_BIN" report "$bundle" --out "$WORK/report"
printf '%-34s ratio to detect: %.2f\n' "" "$(echo "$(cat "$WORK/last") / $base" | bc -l)"
grep -o 'verification: [a-z]*' "$WORK/report/report.md" | head -1
