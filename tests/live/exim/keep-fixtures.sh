#!/usr/bin/env bash
# Keeps the real logs of an Exim run as a fixture corpus (tests/fixtures/exim-live/), laid out
# like the host's tree: var/log/exim4 (Exim's main log with its rotations, the compressed one
# as logrotate compressed it, the reject log, the panic log when Exim wrote one),
# var/log/mail.log (Dovecot's lines), the configuration as the intruder left it (etc/exim4,
# etc/dovecot/dovecot.conf, etc/cron.d/exim4-sync, home/grace/.forward) with etc/passwd,
# etc/group, etc/timezone, etc/mailname and etc/hosts; beside them the run's truth.json,
# versions.txt and log_selector.txt. Files are copied byte for byte; nothing is trimmed (a
# run's logs are about 200 KB: the script refuses a corpus over 600 KB, which would need
# trimming by hand and saying so in the README).
#
#   tests/live/exim/keep-fixtures.sh OUT [DEST]
#
# OUT is a run's folder ($MAILIR_LIVE_EXIM_OUT, by default live-exim under cargo's test
# scratch folder). The README.md in DEST is written by hand (it says how the corpus was made).
set -euo pipefail
OUT=${1:?the output folder of a run}
DEST=${2:-$(cd "$(dirname "$0")/../.." && pwd)/fixtures/exim-live}
[ -e "$OUT/truth.json" ] && [ -d "$OUT/logs/exim4" ] || { echo "no Exim run in $OUT" >&2; exit 1; }
mkdir -p "$DEST"
rm -rf "$DEST/var" "$DEST/etc" "$DEST/home" "$DEST/truth.json" "$DEST/versions.txt" \
  "$DEST/log_selector.txt"
mkdir -p "$DEST/var/log/exim4"
for f in "$OUT"/logs/exim4/*; do
  # An empty file (a panic log Exim never wrote to) says nothing.
  if [ -s "$f" ]; then cp "$f" "$DEST/var/log/exim4/"; fi
done
cp "$OUT/logs/mail.log" "$DEST/var/log/"
cp "$OUT/truth.json" "$OUT/versions.txt" "$OUT/log_selector.txt" "$DEST/"
cp -r "$OUT/config/." "$DEST/"
chmod -R u+rwX,go+rX "$DEST"
size=$(find "$DEST" -type f -printf '%s\n' | awk '{ s += $1 } END { print int(s / 1024) }')
if [ "$size" -gt 600 ]; then
  echo "the corpus is ${size} KB: trim it by hand (whole lines) and say so in README.md" >&2
  exit 1
fi
echo "kept ${size} KB in $DEST:" >&2
(cd "$DEST" && find . -type f ! -name README.md | sort | while read -r f; do
  case $f in *.gz) n=$(zcat "$f" | wc -l) ;; *) n=$(wc -l < "$f") ;; esac
  printf '  %s  %s bytes, %s lines\n' "$f" "$(stat -c %s "$f")" "$n"
done) >&2
