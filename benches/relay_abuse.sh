#!/usr/bin/env bash
# Benchmark (not a test): `mailir detect` on the log of an Internet-facing MX that became an
# open relay and is abused by a spam botnet, beside `wc -l` and `pflogsumm` in the same run.
#
#   benches/relay_abuse.sh [SIZE_MB...]        (default: 2048)
#
# The log is benches/gen_mx_log.py's MX (millions of distinct clients, botnet guessing, three
# incidents) with `--open-relay 0.2`: from a fifth of the output on, a botnet of RELAY_BOTS
# addresses (default 30,000) relays RELAY_PER_DAY messages a day (default 120,000) through the
# server to outside recipients, mixed with the normal traffic. It prints the time, MB/s and peak
# RSS of each command, the findings by rule, and the relay.open findings (how many, how many
# messages and source addresses they hold) against the generator's ground truth: the point is
# that an abused relay gives findings at campaign level (tens, not one per address) in bounded
# memory. MAILIR_BIN picks the binary (default: a release build); files go to BENCH_DIR
# (default /tmp/relaybench), removed at the end unless KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_DIR=${BENCH_DIR:-/tmp/relaybench}
mkdir -p "$BENCH_DIR"
export BENCH_DIR
. benches/common.sh
[ "${KEEP:-0}" = 1 ] && trap - EXIT && echo "files kept in $WORK"
SIZES=("$@")
[ ${#SIZES[@]} -eq 0 ] && SIZES=(2048)
RELAY_BOTS=${RELAY_BOTS:-30000}
RELAY_PER_DAY=${RELAY_PER_DAY:-120000}

echo "mailir: $MAILIR_BIN ($("$MAILIR_BIN" --version 2>/dev/null || echo '?')), $(nproc) cores"
for size in "${SIZES[@]}"; do
  log="$WORK/relay-$size.log"
  echo
  echo "== $size MB, open relay from 20 %, botnet of $RELAY_BOTS addresses =="
  python3 benches/gen_mx_log.py "$size" "$log" --seed 1 --open-relay 0.2 \
    --relay-bots "$RELAY_BOTS" --relay-per-day "$RELAY_PER_DAY" --truth "$WORK/truth.json"
  bytes=$(stat -c %s "$log")
  cat "$log" > /dev/null
  measure "wc -l" wc -l "$log"; base=$(cat "$WORK/last")
  if command -v pflogsumm > /dev/null; then
    measure "pflogsumm" pflogsumm "$log"; ratio
  fi
  OUT="$WORK/findings.json" measure "mailir detect" "$MAILIR_BIN" detect "$log" --timezone Asia/Shanghai
  ratio
  python3 - "$WORK/findings.json" "$WORK/truth.json" <<'EOF'
import collections, json, sys
d = json.load(open(sys.argv[1]))
t = json.load(open(sys.argv[2]))
c = collections.Counter(f["rule"] for f in d["findings"])
print("%d findings: %s" % (sum(c.values()), ", ".join("%s %d" % kv for kv in sorted(c.items()))))
relay = [f for f in d["findings"] if f["rule"] == "relay.open"]
sources = set(ip for f in relay for ip in f["entities"]["ips"])
print("relay.open: %d finding(s), %d message(s), %d distinct source address(es); generated: %d relayed message(s) from a botnet of %d"
      % (len(relay), sum(f["count"] for f in relay), len(sources), t["relayed_messages"],
         next(i["botnet_addresses"] for i in t["incidents"] if i["incident"] == "open_relay")))
print("exfil.forwarding_observed: %d finding(s)" % c.get("exfil.forwarding_observed", 0))
EOF
done
