#!/usr/bin/env bash
# A real Exim 4 + Dovecot host under a real attack, for the Exim end-to-end test
# (tests/live_exim.rs; docs/live-test.md, "The Exim run").
#
#   tests/live/exim/scenario.sh up OUT     build or reuse the chroot, start the lab, attack it
#   tests/live/exim/scenario.sh down OUT   stop the lab's daemons, unmount, remove its namespace
#   tests/live/exim/scenario.sh base       only build (or check) the cached chroot
#
# The host is a Debian bookworm chroot made with debootstrap (or mmdebstrap:
# MAILIR_EXIM_BOOTSTRAP=mmdebstrap) holding exim4-daemon-heavy, dovecot-core, dovecot-imapd, swaks, python3,
# rsyslog, logrotate and cron. It is built once into $MAILIR_EXIM_ROOT (default
# /var/cache/mailir/exim-root) and reused while its stamp (suite and packages) matches; each run
# mounts an overlay over it (OUT/upper holds what the run changed, OUT/root is the host's
# root), so the cached tree is never touched. The lab's daemons run chrooted into OUT/root,
# in a network namespace of their own (only a loopback interface: their own 127.0.0.1, no
# way out, no clash with a Postfix or Dovecot on the machine) and a UTS namespace whose host
# name is `mx`. tests/live/exim/inside.sh configures and starts them and runs the attack
# (tests/live/attack.py --mta exim) from inside; the attack's ground truth, the versions and
# Exim's and Dovecot's logs are copied to OUT. `down` stops the daemons by the pids they
# wrote (and any process left whose root is this run's chroot), unmounts the overlay and
# deletes the namespace. Nothing outside OUT, the cache and the namespace is changed; apt
# installs debootstrap (or mmdebstrap) on the machine when it is missing (it stays installed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
live=$(cd "$here/.." && pwd)
cmd=${1:?up, down or base}
BASE=${MAILIR_EXIM_ROOT:-/var/cache/mailir/exim-root}
SUITE=bookworm
PACKAGES=(exim4-daemon-heavy dovecot-core dovecot-imapd swaks python3 rsyslog logrotate cron)
# The address of the outside network the intruder adds to Exim's relay networks (inside.sh's
# RELAY_NET, attack.py's RELAY_NET_IP): put on the namespace's loopback interface.
RELAY_NET_IP=198.51.100.7
# Where the scripts and the run's output sit inside the chroot.
INSIDE=/opt/mailir-live

log() { echo "live-exim: $*" >&2; }

# The Debian mirror this machine's apt uses (its sources' first .../debian and
# .../debian-security), unless MAILIR_DEBIAN_MIRROR / MAILIR_DEBIAN_SECURITY say otherwise.
mirror() {
  local kind=$1 url
  url=$(grep -rhoE "https?://[^ ]*/$kind/?( |$)" /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
        | head -n 1 | tr -d ' ') || true
  echo "${url:-http://deb.debian.org/$kind}"
}

# The cached chroot: built when absent or made for another suite or package list.
base() {
  local stamp="suite=$SUITE packages=${PACKAGES[*]}" t0=$SECONDS main security new
  mkdir -p "$(dirname "$BASE")"
  exec 9>"$BASE.lock"
  flock 9
  if [ -e "$BASE/.mailir-base" ] && [ "$(cat "$BASE/.mailir-base")" = "$stamp" ] \
     && [ "${MAILIR_EXIM_REBUILD:-0}" != 1 ]; then
    exec 9>&-
    return 0
  fi
  main=${MAILIR_DEBIAN_MIRROR:-$(mirror debian)}
  security=${MAILIR_DEBIAN_SECURITY:-$(mirror debian-security)}
  new="$BASE.new"
  rm -rf "$new"
  export DEBIAN_FRONTEND=noninteractive
  # debootstrap by default (measured: 49 s for this chroot, against 109 s for mmdebstrap);
  # MAILIR_EXIM_BOOTSTRAP=mmdebstrap uses mmdebstrap. apt installs the tool when missing.
  local tool=${MAILIR_EXIM_BOOTSTRAP:-debootstrap}
  case $tool in debootstrap|mmdebstrap) ;; *) log "MAILIR_EXIM_BOOTSTRAP: debootstrap or mmdebstrap"; return 2 ;; esac
  if ! command -v "$tool" >/dev/null; then
    log "installing $tool"
    apt-get install -y -q "$tool" >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null && apt-get install -y -q "$tool" >/dev/null; }
  fi
  log "building the $SUITE chroot in $BASE with $tool from $main (once; reused while ${PACKAGES[*]} stay the same)"
  if [ "$tool" = mmdebstrap ]; then
    # mmdebstrap keeps daemons from starting while it installs (policy-rc.d).
    mmdebstrap --mode=root --variant=minbase --include="$(IFS=,; echo "${PACKAGES[*]}")" \
      "$SUITE" "$new" "deb $main $SUITE main" "deb $main $SUITE-updates main" \
      "deb $security $SUITE-security main" >&2
  else
    debootstrap --variant=minbase "$SUITE" "$new" "$main" >&2
    printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s %s-security main\n' \
      "$main" "$SUITE" "$main" "$SUITE" "$security" "$SUITE" > "$new/etc/apt/sources.list"
    # No daemon may start while the packages install: it would run on this machine.
    printf '#!/bin/sh\nexit 101\n' > "$new/usr/sbin/policy-rc.d"
    chmod 755 "$new/usr/sbin/policy-rc.d"
    unshare --mount -- sh -c 'mount -t proc proc "$1/proc" && chroot "$1" sh -c "apt-get update -q && apt-get upgrade -y -q && apt-get install -y -q --no-install-recommends $2 && apt-get clean"' \
      _ "$new" "${PACKAGES[*]}" >&2
    rm -f "$new/usr/sbin/policy-rc.d"
    rm -rf "$new"/var/lib/apt/lists/*
  fi
  echo "$stamp" > "$new/.mailir-base"
  rm -rf "$BASE"
  mv "$new" "$BASE"
  log "chroot built in $((SECONDS - t0)) s ($(du -sh "$BASE" | cut -f1))"
  echo "$((SECONDS - t0))" > "$BASE.build-seconds"
  exec 9>&-
}

# Runs a command chrooted into the run's root, in the lab's network namespace, with the host
# name `mx` and a /proc of its own mount namespace (gone when its last process ends).
inns() {
  ip netns exec "$NS" unshare --uts -- sh -c \
    'hostname mx && mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' "$ROOT" "$@"
}

state() {
  OUT=$(mkdir -p "${1:?output folder}" && cd "$1" && pwd)
  ROOT="$OUT/root"
  NS=$(cat "$OUT/state/netns" 2>/dev/null || echo "mailir-exim-$$")
}

up() {
  state "$1"
  if [ -e "$OUT/state" ]; then down "$OUT"; fi
  base
  mkdir -p "$OUT/state" "$OUT/upper" "$OUT/work" "$ROOT"
  echo "$NS" > "$OUT/state/netns"
  mount -t overlay mailir-exim -o "lowerdir=$BASE,upperdir=$OUT/upper,workdir=$OUT/work" "$ROOT"
  echo mounted > "$OUT/state/mounted"
  ip netns add "$NS"
  ip -n "$NS" link set lo up
  ip -n "$NS" addr add "$RELAY_NET_IP/32" dev lo
  mkdir -p "$ROOT$INSIDE"
  cp "$live/attack.py" "$here/inside.sh" "$here/sink.py" "$ROOT$INSIDE/"
  local t0=$SECONDS rc=0
  inns /bin/bash "$INSIDE/inside.sh" up "$INSIDE/out" || rc=$?
  log "inside.sh up took $((SECONDS - t0)) s (exit $rc)"
  # What the run produced, kept beside the bundle for reading: the ground truth, the
  # versions, and the logs as the host left them.
  cp -a "$ROOT$INSIDE/out/." "$OUT/"
  mkdir -p "$OUT/logs"
  cp -a "$ROOT/var/log/exim4" "$OUT/logs/"
  cp -a "$ROOT/var/log/mail.log" "$OUT/logs/" 2>/dev/null || true
  # The configuration as the intruder left it, as a tree shaped like the host's (Exim's,
  # Dovecot's without its password file, the planted files, the accounts and the zone that
  # say whose home is where and how to read the logs' times), for reading and for
  # tests/fixtures/exim-live (keep-fixtures.sh).
  local f
  for f in etc/exim4 etc/dovecot/dovecot.conf etc/cron.d/exim4-sync home/grace/.forward \
           etc/passwd etc/group etc/timezone etc/mailname etc/hosts; do
    [ -e "$ROOT/$f" ] || continue
    mkdir -p "$OUT/config/$(dirname "$f")"
    cp -a "$ROOT/$f" "$OUT/config/$(dirname "$f")/"
  done
  return "$rc"
}

# The pids of processes whose root directory is this run's chroot: the lab's, and only them.
lab_pids() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$ROOT" ] && echo "${p#/proc/}"
  done
  return 0
}

down() {
  state "$1"
  [ -e "$OUT/state" ] || return 0
  log "stopping the lab ($NS)"
  local pids
  if [ -e "$OUT/state/mounted" ] && ip netns list | grep -qw "$NS"; then
    inns /bin/bash "$INSIDE/inside.sh" stop "$INSIDE/out" || true
  fi
  for _ in $(seq 50); do
    pids=$(lab_pids)
    [ -z "$pids" ] && break
    sleep 0.1
  done
  pids=$(lab_pids)
  if [ -n "$pids" ]; then
    log "killing what is left in the chroot: $(echo $pids)"
    # shellcheck disable=SC2086
    kill -9 $pids 2>/dev/null || true
    sleep 0.5
  fi
  if [ -e "$OUT/state/mounted" ]; then
    umount "$ROOT" 2>/dev/null || { sleep 1; umount "$ROOT"; } || umount -l "$ROOT" || true
    rm -f "$OUT/state/mounted"
  fi
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$OUT/state" "$OUT/work"
}

case $cmd in
  up) up "${2:?output folder}" ;;
  down) down "${2:?output folder}" ;;
  base) base ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
