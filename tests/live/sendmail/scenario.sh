#!/usr/bin/env bash
# A real Sendmail + Dovecot host under a real attack, for the Sendmail end-to-end test
# (tests/live_sendmail.rs; docs/live-test.md, "The Sendmail run").
#
#   tests/live/sendmail/scenario.sh up OUT     build or reuse the chroot, start the lab, attack it
#   tests/live/sendmail/scenario.sh down OUT   stop the lab's daemons, unmount, remove its namespace
#   tests/live/sendmail/scenario.sh base       only build (or check) the cached chroot
#
# The host is a Debian bookworm chroot made with debootstrap (or mmdebstrap:
# MAILIR_SENDMAIL_BOOTSTRAP=mmdebstrap) holding Debian's sendmail (sendmail-bin, sendmail-cf,
# m4, make), Cyrus SASL (sasl2-bin, libsasl2-modules), dovecot-core, dovecot-imapd, swaks,
# python3, rsyslog, logrotate and cron. It is built once into $MAILIR_SENDMAIL_ROOT (default
# /var/cache/mailir/sendmail-root) and reused while its stamp (suite and packages) matches;
# each run mounts an overlay over it, so the cached tree is never touched. The daemons run
# chrooted into OUT/root in a network namespace of their own (only loopback) with the host
# name `mx`, as in the Exim run (tests/live/lab.sh holds what the two share).
# tests/live/sendmail/inside.sh configures and starts them and runs the attack
# (tests/live/attack.py --mta sendmail) from inside; the truth, the versions and the logs are
# copied to OUT. Nothing outside OUT, the cache and the namespace is changed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
live=$(cd "$here/.." && pwd)
LAB=sendmail
BASE=${MAILIR_SENDMAIL_ROOT:-/var/cache/mailir/sendmail-root}
SUITE=bookworm
PACKAGES=(sendmail-bin sendmail-cf sensible-mda m4 make sasl2-bin libsasl2-modules dovecot-core dovecot-imapd
          swaks python3 rsyslog logrotate cron)
REBUILD=${MAILIR_SENDMAIL_REBUILD:-0}
BOOTSTRAP=${MAILIR_SENDMAIL_BOOTSTRAP:-debootstrap}
INSIDE=/opt/mailir-live
# On the namespace's loopback interface: a host of the outside network the intruder lets
# relay through the access map (inside.sh's RELAY_NET, attack.py's RELAY_NET_IP), and the
# outside hosts the planted smart host and mailertable route name (a sink listens on each).
LO_ADDRS=(198.51.100.7 203.0.113.25 203.0.113.66)
# shellcheck source=../lab.sh
. "$live/lab.sh"

up() {
  local rc=0
  lab_up "$1" || rc=$?
  # The logs as the host left them, and the configuration as the intruder left it (for
  # reading and for tests/fixtures/sendmail-live, keep-fixtures.sh).
  mkdir -p "$OUT/logs"
  local f
  for f in "$ROOT"/var/log/mail.log*; do
    [ -e "$f" ] && cp -a "$f" "$OUT/logs/"
  done
  # The compiled maps too: what sendmail reads, against their text.
  keep_config etc/mail/sendmail.mc etc/mail/sendmail.cf etc/mail/submit.mc etc/mail/access \
    etc/mail/virtusertable etc/mail/mailertable etc/mail/genericstable etc/mail/trusted-users \
    etc/mail/access.db etc/mail/virtusertable.db etc/mail/mailertable.db \
    etc/mail/genericstable.db etc/mail/aliases.db etc/mail/sasl/sasl.m4 \
    etc/mail/local-host-names etc/mail/aliases etc/aliases etc/mail/sasl/Sendmail.conf \
    etc/mail/service.switch-nodns etc/dovecot/dovecot.conf etc/cron.d/sendmail-sync \
    home/grace/.forward etc/passwd etc/group etc/timezone etc/mailname etc/hosts
  return "$rc"
}

lab_main up "$@"
