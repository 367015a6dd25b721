#!/usr/bin/env bash
# Benchmark (not a test): a fleet of HOSTS mail servers in one case — `detect` over every
# host's logs in one run (`--jobs 1` and `--jobs 2`: hosts judged one at a time or two at
# once), and the partitioned Parquet dataset of their events (`parse --format parquet
# --partition host,day`), beside `wc -l` over the same files in the same run.
#
#   benches/fleet_scale.sh [HOSTS] [MB_PER_HOST]        (defaults 8, 128)
#
# Each host is a folder of logs named after it (mx01, mx02 …: the folder's name is the host,
# docs/events.md "Hosts") holding one mail.log written by benches/gen_mx_log.py with a seed of
# its own (an Internet-facing Postfix + Dovecot MX, its three incidents, a botnet guessing
# passwords), so no two hosts hold the same lines. The page cache is warmed first. Prints
# seconds, MB/s and peak RSS (GNU time) of each run, the findings (and the cross-host ones),
# and the dataset's size per GB of log, beside one Parquet file of the same events. MAILIR_BIN picks the binary (default: a release
# build).
set -euo pipefail
cd "$(dirname "$0")/.."
HOSTS=${1:-8}
MB=${2:-128}
. benches/common.sh
fleet="$WORK/fleet"
files=()
for i in $(seq -w 1 "$HOSTS"); do
  mkdir -p "$fleet/mx$i"
  python3 benches/gen_mx_log.py "$MB" "$fleet/mx$i/mail.log" --seed "$((10#$i))" 2>/dev/null
  files+=("$fleet/mx$i/mail.log")
done
cat "${files[@]}" > /dev/null
bytes=$(cat "${files[@]}" | wc -c)
hosts=()
for i in $(seq -w 1 "$HOSTS"); do hosts+=("$fleet/mx$i"); done
count() { python3 -c 'import json,sys; f=json.load(open(sys.argv[1]))["findings"]; print(len(f), "findings,", sum(r["rule"].startswith("fleet.") for r in f), "across hosts")' "$1"; }

printf 'input: %s hosts, %s bytes (%s lines), %s cores\n' "$HOSTS" "$bytes" "$(cat "${files[@]}" | wc -l)" "$(nproc)"
measure "wc -l (every host's log)" wc -l "${files[@]}"; base=$(cat "$WORK/last")
for jobs in 1 2; do
  OUT="$WORK/findings-$jobs.json" measure "mailir detect --jobs $jobs" "$MAILIR_BIN" detect --jobs "$jobs" "${hosts[@]}"
  ratio
  printf '%-34s %s\n' "" "$(count "$WORK/findings-$jobs.json")"
done
if cmp -s "$WORK/findings-1.json" "$WORK/findings-2.json"; then
  echo "                                   same findings with --jobs 1 and 2"
else
  echo "                                   FINDINGS DIFFER between --jobs 1 and 2"
fi
OUT="$WORK/one.parquet.log" measure "mailir parse --format parquet (1 file)" "$MAILIR_BIN" parse --format parquet --out "$WORK/one.parquet" "${hosts[@]}"
ratio
printf '%-34s %s bytes\n' "" "$(stat -c %s "$WORK/one.parquet")"
rm -f "$WORK/one.parquet"
measure "mailir parse --partition host,day" "$MAILIR_BIN" parse --format parquet --partition host,day --out "$WORK/lake" "${hosts[@]}"
ratio
lake=$(du -sb "$WORK/lake" | cut -f1)
printf '%-34s %s bytes in %s part files under %s host= and %s day= folders: %.1f MB per GB of log (%.1f %% of the log)\n' "" \
  "$lake" "$(find "$WORK/lake" -name '*.parquet' | wc -l)" "$(find "$WORK/lake" -mindepth 1 -maxdepth 1 | wc -l)" \
  "$(find "$WORK/lake" -mindepth 2 -maxdepth 2 | wc -l)" "$(echo "$lake / 1000000 / ($bytes / 1000000000)" | bc -l)" \
  "$(echo "100 * $lake / $bytes" | bc -l)"
measure "mailir detect --partition host" "$MAILIR_BIN" detect --format parquet --partition host --out "$WORK/findings" "${hosts[@]}"
printf '%-34s %s bytes\n' "" "$(du -sb "$WORK/findings" | cut -f1)"
