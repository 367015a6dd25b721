#!/usr/bin/env bash
# Benchmark (not a test): `mailir detect` end to end — parse, every rule, findings — on a big
# continuous log, beside `wc -l` and `pflogsumm` on the same file in the same run.
#
#   benches/detect_throughput.sh [SIZE_MB]        (default 1024)
#
# The log is written by benches/gen_continuous_log.py (the sample host's five days repeated,
# each copy five days later, RFC 3339 timestamps: time never jumps back). The page cache is
# warmed first. Prints seconds, MB/s, the ratio to `wc -l` and peak RSS (GNU time), and the
# number of findings. MAILIR_BIN picks the binary (default: a release build).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${1:-1024}
. benches/common.sh
log="$WORK/mail.log"
python3 benches/gen_continuous_log.py "$SIZE_MB" "$log"
cat "$log" > /dev/null
bytes=$(stat -c %s "$log")

printf 'input: %s bytes (%s lines), %s cores\n' "$bytes" "$(wc -l < "$log")" "$(nproc)"
measure "wc -l" wc -l "$log"; base=$(cat "$WORK/last")
OUT="$WORK/out" measure "mailir detect" "$MAILIR_BIN" detect "$log" --timezone Asia/Shanghai; ratio
printf '%-30s findings: %s\n' "" "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["findings"]))' "$WORK/out")"
measure "mailir parse > /dev/null" "$MAILIR_BIN" parse "$log" --timezone Asia/Shanghai; ratio
if command -v pflogsumm >/dev/null; then
  measure "pflogsumm" pflogsumm "$log"; ratio
else
  echo "pflogsumm: not installed (apt-get install pflogsumm)"
fi
