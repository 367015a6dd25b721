# Shared by the chroot labs' scenario scripts (tests/live/exim/scenario.sh,
# tests/live/sendmail/scenario.sh): the cached Debian chroot, the run's overlay over it, the
# network namespace, entering it, and taking it all down again. Sourced, not run.
#
# The caller sets, before sourcing:
#   LAB       the lab's name (exim, sendmail): log prefix, netns and overlay names
#   BASE      where the cached chroot lives
#   SUITE     the Debian suite
#   PACKAGES  (array) what apt installs into the chroot
#   REBUILD   1 to rebuild the chroot even when its stamp matches
#   BOOTSTRAP debootstrap or mmdebstrap
#   INSIDE    where the lab's scripts and output sit inside the chroot
#   LO_ADDRS  (array) extra addresses put on the namespace's loopback interface
#   here      the caller's own folder (its inside.sh)
#   live      tests/live (attack.py, sink.py)

log() { echo "live-$LAB: $*" >&2; }

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
     && [ "$REBUILD" != 1 ]; then
    exec 9>&-
    return 0
  fi
  main=${MAILIR_DEBIAN_MIRROR:-$(mirror debian)}
  security=${MAILIR_DEBIAN_SECURITY:-$(mirror debian-security)}
  new="$BASE.new"
  rm -rf "$new"
  export DEBIAN_FRONTEND=noninteractive
  # debootstrap by default (measured for the Exim chroot: 49 s, against 109 s for
  # mmdebstrap). apt installs the tool when missing.
  local tool=$BOOTSTRAP
  case $tool in debootstrap|mmdebstrap) ;; *) log "the bootstrap tool is debootstrap or mmdebstrap"; return 2 ;; esac
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
  NS=$(cat "$OUT/state/netns" 2>/dev/null || echo "mailir-$LAB-$$")
}

# Mounts the run's overlay over the cached chroot, makes the namespace, copies the lab's
# scripts in and runs `inside.sh up` there; the run's truth, versions and so on are copied to
# OUT. Returns inside.sh's exit status.
lab_up() {
  state "$1"
  if [ -e "$OUT/state" ]; then down "$OUT"; fi
  base
  mkdir -p "$OUT/state" "$OUT/upper" "$OUT/work" "$ROOT"
  echo "$NS" > "$OUT/state/netns"
  mount -t overlay "mailir-$LAB" -o "lowerdir=$BASE,upperdir=$OUT/upper,workdir=$OUT/work" "$ROOT"
  echo mounted > "$OUT/state/mounted"
  ip netns add "$NS"
  ip -n "$NS" link set lo up
  local a
  for a in "${LO_ADDRS[@]}"; do
    ip -n "$NS" addr add "$a/32" dev lo
  done
  mkdir -p "$ROOT$INSIDE"
  cp "$live/attack.py" "$live/sink.py" "$live/lab-inside.sh" "$here/inside.sh" "$ROOT$INSIDE/"
  local t0=$SECONDS rc=0
  inns /bin/bash "$INSIDE/inside.sh" up "$INSIDE/out" || rc=$?
  log "inside.sh up took $((SECONDS - t0)) s (exit $rc)"
  cp -a "$ROOT$INSIDE/out/." "$OUT/"
  return "$rc"
}

# Copies the chroot's paths (relative to its root; the absent ones skipped) under OUT/config,
# in a tree shaped like the host's.
keep_config() {
  local f
  for f in "$@"; do
    [ -e "$ROOT/$f" ] || continue
    mkdir -p "$OUT/config/$(dirname "$f")"
    cp -a "$ROOT/$f" "$OUT/config/$(dirname "$f")/"
  done
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

# The command line: up OUT, down OUT, base. `lab_main UP_FUNCTION "$@"`.
lab_main() {
  local upfn=$1
  shift
  case ${1:?up, down or base} in
    up) "$upfn" "${2:?output folder}" ;;
    down) down "${2:?output folder}" ;;
    base) base ;;
    *) echo "unknown command $1" >&2; exit 2 ;;
  esac
}
