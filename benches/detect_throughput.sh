#!/usr/bin/env bash
# Benchmark (not a test): `mailir detect` end to end — parse, every rule, findings — on a big
# continuous log, beside `wc -l` and `pflogsumm` on the same file in the same run.
#
#   benches/detect_throughput.sh [SIZE_MB] [RUNS]        (defaults 1024, 3)
#
# The log is written by benches/gen_continuous_log.py (the sample host's five days repeated,
# each copy five days later, RFC 3339 timestamps: time never jumps back). The page cache is
# warmed first. `detect` runs RUNS times (this kind of machine varies by ±15 % from run to
# run): each run's seconds, MB/s and peak RSS (GNU time), then the median. One more run with
# sealing off (`--set seal_every_hours=0`, everything kept to the end) shows what sealing
# saves; both must give the same findings. MAILIR_BIN picks the binary (default: a release
# build).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${1:-1024}
RUNS=${2:-3}
. benches/common.sh
log="$WORK/mail.log"
python3 benches/gen_continuous_log.py "$SIZE_MB" "$log"
cat "$log" > /dev/null
bytes=$(stat -c %s "$log")
count() { python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["findings"]))' "$1"; }

printf 'input: %s bytes (%s lines), %s cores\n' "$bytes" "$(wc -l < "$log")" "$(nproc)"
measure "wc -l" wc -l "$log"; base=$(cat "$WORK/last")
: > "$WORK/runs"
for i in $(seq "$RUNS"); do
  OUT="$WORK/out" measure "mailir detect (run $i)" "$MAILIR_BIN" detect "$log" --timezone Asia/Shanghai
  cat "$WORK/last" >> "$WORK/runs"
done
sort -n "$WORK/runs" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }' > "$WORK/last"
printf '%-34s %8.2f s %9.1f MB/s\n' "mailir detect (median of $RUNS)" "$(cat "$WORK/last")" \
  "$(echo "$bytes / 1000000 / $(cat "$WORK/last")" | bc -l)"
ratio
printf '%-34s findings: %s\n' "" "$(count "$WORK/out")"
OUT="$WORK/kept" measure "mailir detect, sealing off" "$MAILIR_BIN" detect "$log" --timezone Asia/Shanghai --set seal_every_hours=0
if cmp -s <(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["findings"]))' "$WORK/out") \
          <(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["findings"]))' "$WORK/kept"); then
  echo "                                   same findings with sealing off"
else
  echo "                                   FINDINGS DIFFER with sealing off"
fi
measure "mailir parse > /dev/null" "$MAILIR_BIN" parse "$log" --timezone Asia/Shanghai; ratio
if command -v pflogsumm >/dev/null; then
  measure "pflogsumm" pflogsumm "$log"; ratio
else
  echo "pflogsumm: not installed (apt-get install pflogsumm)"
fi
