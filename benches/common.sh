# Shared by the benchmark scripts (sourced, not run): a scratch folder, the binary, and
# `measure NAME COMMAND...` printing seconds, MB/s of $bytes and peak RSS (GNU time).
# Sets WORK (removed on exit) and MAILIR_BIN (default: a fresh release build).
WORK=$(mktemp -d "${BENCH_DIR:-/tmp}/mailir-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
if [ -z "${MAILIR_BIN:-}" ]; then
  cargo build --release --quiet
  MAILIR_BIN="${CARGO_TARGET_DIR:-target}/release/mailir"
fi

measure() { # name, command... ; stdout of the command goes to $OUT (default /dev/null)
  local name=$1; shift
  /usr/bin/time -o "$WORK/time" -f '%e %M' "$@" > "${OUT:-/dev/null}" 2>/dev/null || true
  local out secs kib
  out=$(tail -n 1 "$WORK/time")
  secs=${out% *}
  kib=${out#* }
  [ "$secs" = "0.00" ] && secs=0.01 # GNU time's resolution: keep the ratios finite
  printf '%-34s %8.2f s %9.1f MB/s %10s KiB peak RSS\n' "$name" "$secs" "$(echo "$bytes / 1000000 / $secs" | bc -l)" "$kib"
  echo "$secs" > "$WORK/last"
}

ratio() { # the last measurement against $base (the `wc -l` time)
  printf '%-34s ratio to wc -l: %.1f\n' "" "$(echo "$(cat "$WORK/last") / $base" | bc -l)"
}
