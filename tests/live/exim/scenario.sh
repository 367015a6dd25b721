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
LAB=exim
BASE=${MAILIR_EXIM_ROOT:-/var/cache/mailir/exim-root}
SUITE=bookworm
PACKAGES=(exim4-daemon-heavy dovecot-core dovecot-imapd swaks python3 rsyslog logrotate cron)
REBUILD=${MAILIR_EXIM_REBUILD:-0}
BOOTSTRAP=${MAILIR_EXIM_BOOTSTRAP:-debootstrap}
# Where the scripts and the run's output sit inside the chroot.
INSIDE=/opt/mailir-live
# The address of the outside network the intruder adds to Exim's relay networks (inside.sh's
# RELAY_NET, attack.py's RELAY_NET_IP): put on the namespace's loopback interface.
LO_ADDRS=(198.51.100.7)
# shellcheck source=../lab.sh
. "$live/lab.sh"

up() {
  local rc=0
  lab_up "$1" || rc=$?
  # What the run produced, kept beside the bundle for reading: the logs as the host left
  # them, and the configuration as the intruder left it, as a tree shaped like the host's
  # (Exim's, Dovecot's without its password file, the planted files, the accounts and the
  # zone that say whose home is where and how to read the logs' times), for reading and for
  # tests/fixtures/exim-live (keep-fixtures.sh).
  mkdir -p "$OUT/logs"
  cp -a "$ROOT/var/log/exim4" "$OUT/logs/"
  cp -a "$ROOT/var/log/mail.log" "$OUT/logs/" 2>/dev/null || true
  keep_config etc/exim4 etc/dovecot/dovecot.conf etc/cron.d/exim4-sync home/grace/.forward \
    etc/passwd etc/group etc/timezone etc/mailname etc/hosts
  return "$rc"
}

lab_main up "$@"
