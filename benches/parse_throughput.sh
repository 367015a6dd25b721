#!/usr/bin/env bash
# Benchmark (not a test): `mailir parse` throughput and memory on a big mixed Postfix/Dovecot log.
#
#   benches/parse_throughput.sh [SIZE_MB]        (default 1024)
#
# Builds one log of SIZE_MB from the sample host's generated logs (samples/tools/
# gen_compromised_postfix.py: normal traffic, brute force, spam, Dovecot logins), warms the page
# cache, then times in one run on the same file: `wc -l` (the floor), `mailir parse --format
# jsonl > /dev/null`, and `pflogsumm` when Debian's package is installed. Prints MB/s, the ratio
# to `wc -l`, and peak RSS (GNU time). MAILIR_BIN picks the binary (default: a release build).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${1:-1024}
. benches/common.sh
seed="$WORK/seed.log"
for f in mail.log.4.gz mail.log.3.gz mail.log.2.gz; do zcat "samples/compromised-postfix/var/log/$f"; done > "$seed"
cat samples/compromised-postfix/var/log/mail.log.1 samples/compromised-postfix/var/log/mail.log >> "$seed"
log="$WORK/mail.log"
target=$((SIZE_MB * 1024 * 1024))
while [ "$(stat -c %s "$log" 2>/dev/null || echo 0)" -lt "$target" ]; do cat "$seed" >> "$log"; done
cat "$log" > /dev/null
bytes=$(stat -c %s "$log")

printf 'input: %s bytes (%s lines)\n' "$bytes" "$(wc -l < "$log")"
measure "wc -l" wc -l "$log"; base=$(cat "$WORK/last")
measure "mailir parse --format jsonl" "$MAILIR_BIN" parse "$log" --year 2026 --timezone Asia/Shanghai; ratio
if command -v pflogsumm >/dev/null; then
  measure "pflogsumm" pflogsumm "$log"; ratio
else
  echo "pflogsumm: not installed (apt-get install pflogsumm)"
fi
