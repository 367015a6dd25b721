#!/usr/bin/env bash
# Keeps the real logs of a Sendmail run as tests/fixtures/sendmail-live/
# (tests/live/keep-fixtures.sh: var/log/mail.log with its rotations, Sendmail's and Dovecot's
# lines, the configuration as the intruder left it under etc/ and home/, truth.json,
# versions.txt).
#
#   tests/live/sendmail/keep-fixtures.sh OUT [DEST]
#
# OUT is a run's folder ($MAILIR_LIVE_SENDMAIL_OUT, by default live-sendmail under cargo's
# test scratch folder).
exec bash "$(dirname "$0")/../keep-fixtures.sh" sendmail "$@"
