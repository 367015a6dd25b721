#!/usr/bin/env bash
# Keeps the real logs of a chroot lab's run as a fixture corpus (tests/fixtures/LAB-live/),
# laid out like the host's tree: OUT/logs as var/log (the MTA's logs with their rotations, the
# compressed ones as logrotate compressed them; empty files, which say nothing, left out), the
# configuration as the intruder left it (OUT/config), and beside them the run's truth.json,
# versions.txt and, for Exim, log_selector.txt. Files are copied byte for byte; nothing is
# trimmed (the script refuses a corpus over 600 KB, which would need trimming by hand and
# saying so in the README).
#
#   tests/live/keep-fixtures.sh LAB OUT [DEST]      (LAB: exim, sendmail)
#
# OUT is a run's folder ($MAILIR_LIVE_EXIM_OUT, $MAILIR_LIVE_SENDMAIL_OUT). The README.md in
# DEST is written by hand (it says how the corpus was made).
set -euo pipefail
LAB=${1:?exim or sendmail}
OUT=${2:?the output folder of a run}
DEST=${3:-$(cd "$(dirname "$0")/.." && pwd)/fixtures/$LAB-live}
[ -e "$OUT/truth.json" ] && [ -d "$OUT/logs" ] || { echo "no $LAB run in $OUT" >&2; exit 1; }
mkdir -p "$DEST"
rm -rf "$DEST/var" "$DEST/etc" "$DEST/home" "$DEST/truth.json" "$DEST/versions.txt" \
  "$DEST/log_selector.txt"
mkdir -p "$DEST/var/log"
(cd "$OUT/logs" && find . -type f -size +0 -print0) | while IFS= read -r -d '' f; do
  mkdir -p "$DEST/var/log/$(dirname "$f")"
  cp "$OUT/logs/$f" "$DEST/var/log/$f"
done
cp "$OUT/truth.json" "$OUT/versions.txt" "$DEST/"
if [ -e "$OUT/log_selector.txt" ]; then cp "$OUT/log_selector.txt" "$DEST/"; fi
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
