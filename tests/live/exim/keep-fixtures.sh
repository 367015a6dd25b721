#!/usr/bin/env bash
# Keeps the real logs of an Exim run as tests/fixtures/exim-live/ (tests/live/keep-fixtures.sh:
# Exim's logs under var/log/exim4 with their rotations, Dovecot's var/log/mail.log, etc/exim4
# and the other planted files, truth.json, versions.txt, log_selector.txt).
#
#   tests/live/exim/keep-fixtures.sh OUT [DEST]
#
# OUT is a run's folder ($MAILIR_LIVE_EXIM_OUT, by default live-exim under cargo's test
# scratch folder).
exec bash "$(dirname "$0")/../keep-fixtures.sh" exim "$@"
