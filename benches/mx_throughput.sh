#!/usr/bin/env bash
# Benchmark (not a test): `mailir parse` and `mailir detect` on the log of an Internet-facing MX
# (benches/gen_mx_log.py: millions of distinct client addresses, botnet guessing, three
# incidents), plain and gzip-compressed, beside `wc -l` and `pflogsumm` in the same run.
#
#   benches/mx_throughput.sh [SIZE_MB...]        (default: 1024 3072; 10240 works: ~12 GB of disk)
#
# For each size the log is written once (seed 1) as text and as gzip (level 6, the same
# lines), the page cache is warmed, then each command runs (RUNS times, default 1; the
# median is kept: this kind of machine varies by ±15 % from run to run): seconds, MB/s of the
# *text* size (for the .gz runs too), peak RSS (GNU time), and the time as a multiple of
# `wc -l` and of `pflogsumm` on the same text. Above PFLOGSUMM_MAX_MB (default 3072)
# pflogsumm runs on the first 100 MB only and its time is scaled up linearly to the whole file
# (said in the table).
# MAILIR_BIN picks the binary (default: a release build); files go to BENCH_DIR (default
# /tmp/mxbench), removed at the end unless KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_DIR=${BENCH_DIR:-/tmp/mxbench}
mkdir -p "$BENCH_DIR"
export BENCH_DIR
. benches/common.sh
[ "${KEEP:-0}" = 1 ] && trap - EXIT && echo "files kept in $WORK"
SIZES=("$@")
[ ${#SIZES[@]} -eq 0 ] && SIZES=(1024 3072)
PFLOGSUMM_MAX_MB=${PFLOGSUMM_MAX_MB:-3072}
RUNS=${RUNS:-1}
TZ_ARG=(--timezone Asia/Shanghai)

rss() { tail -n 1 "$WORK/time" | awk '{ print $2 }'; }
best() { # name var command... : RUNS runs, the median's seconds and peak RSS into $var, ${var}_kib
  local name=$1 var=$2 i; shift 2
  : > "$WORK/runs"
  for i in $(seq "$RUNS"); do
    measure "$name (run $i)" "$@"
    echo "$(cat "$WORK/last") $(rss)" >> "$WORK/runs"
  done
  read -r "$var" "${var}_kib" < <(sort -n "$WORK/runs" | awk '{ a[NR] = $0 } END { print a[int((NR + 1) / 2)] }')
}
row() { # name secs kib note
  printf '%-30s %8.2f s %8.1f MB/s %9s KiB %7.1f x wc -l %7.2f x pflogsumm  %s\n' "$1" "$2" \
    "$(echo "$bytes / 1000000 / $2" | bc -l)" "$3" "$(echo "$2 / $base" | bc -l)" \
    "$(echo "$2 / $pfl" | bc -l)" "${4:-}"
}
findings() { python3 - "$1" <<'EOF'
import collections, json, sys
d = json.load(open(sys.argv[1]))
c = collections.Counter(f.get("rule", "?") for f in d["findings"])
print("%d findings: %s" % (sum(c.values()), ", ".join("%s %d" % kv for kv in sorted(c.items()))))
EOF
}

# pflogsumm is Debian's package of the same name (a Perl script): installed when missing and
# this runs as root, else the bench stops and says so.
if ! command -v pflogsumm > /dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q pflogsumm > /dev/null
  else
    echo "pflogsumm is not installed (Debian: apt-get install pflogsumm)" >&2
    exit 1
  fi
fi
echo "mailir: $MAILIR_BIN ($("$MAILIR_BIN" --version 2>/dev/null || echo '?')), $(nproc) cores, $(free -g | awk '/^Mem/ { print $2 }') GB RAM"
for size in "${SIZES[@]}"; do
  log="$WORK/mx-$size.log"
  echo
  echo "== $size MB =="
  start=$(date +%s.%N)
  python3 benches/gen_mx_log.py "$size" "$log" --seed 1 --truth "$WORK/mx-$size.truth.json"
  python3 benches/gen_mx_log.py "$size" "$log.gz" --seed 1 --gzip
  printf 'generated text + gzip in %.0f s\n' "$(echo "$(date +%s.%N) - $start" | bc -l)"
  bytes=$(stat -c %s "$log")
  cat "$log" "$log.gz" > /dev/null
  printf 'input: %s bytes, %s lines; gzip %s bytes\n' "$bytes" "$(wc -l < "$log")" "$(stat -c %s "$log.gz")"

  measure "wc -l" wc -l "$log"; base=$(cat "$WORK/last"); base_kib=$(rss)
  if [ "$size" -le "$PFLOGSUMM_MAX_MB" ]; then
    measure "pflogsumm" pflogsumm "$log"; pfl=$(cat "$WORK/last"); pfl_kib=$(rss)
    pfl_note=""
  else
    head -c 100000000 "$log" > "$WORK/slice.log"
    full=$bytes; bytes=100000000
    measure "pflogsumm (first 100 MB)" pflogsumm "$WORK/slice.log"
    bytes=$full
    pfl=$(echo "$(cat "$WORK/last") * $bytes / 100000000" | bc -l); pfl_kib=$(rss)
    pfl_note="first 100 MB, time scaled to the whole file"
    rm -f "$WORK/slice.log"
  fi
  best "mailir parse" p1 "$MAILIR_BIN" parse "$log" "${TZ_ARG[@]}"
  best "mailir parse .gz" p2 "$MAILIR_BIN" parse "$log.gz" "${TZ_ARG[@]}"
  OUT="$WORK/detect-$size.json" best "mailir detect" d1 "$MAILIR_BIN" detect "$log" "${TZ_ARG[@]}"
  OUT="$WORK/detect-$size.gz.json" best "mailir detect .gz" d2 "$MAILIR_BIN" detect "$log.gz" "${TZ_ARG[@]}"
  echo
  printf '%-30s %10s %13s %13s %15s %19s\n' "$size MB" "time" "rate (text)" "peak RSS" "vs wc -l" "vs pflogsumm"
  row "wc -l" "$base" "$base_kib"
  row "pflogsumm" "$pfl" "$pfl_kib" "$pfl_note"
  row "mailir parse > /dev/null" "$p1" "$p1_kib"
  row "mailir parse .gz > /dev/null" "$p2" "$p2_kib"
  row "mailir detect" "$d1" "$d1_kib"
  row "mailir detect .gz" "$d2" "$d2_kib"
  echo "detect:     $(findings "$WORK/detect-$size.json")"
  echo "detect .gz: $(findings "$WORK/detect-$size.gz.json")"
  [ "${KEEP:-0}" = 1 ] || rm -f "$log" "$log.gz" "$WORK/detect-$size.json" "$WORK/detect-$size.gz.json"
done
