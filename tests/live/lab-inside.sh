# Shared by the chroot labs' inside scripts (tests/live/exim/inside.sh,
# tests/live/sendmail/inside.sh), which run inside the Debian chroot and its network
# namespace: the users, Dovecot's IMAP, rsyslog, waiting for a daemon, the log cut. Sourced,
# not run. The caller sets LAB, DOMAIN, USERS (array) and `here` (where attack.py sits).

log() { echo "live-$LAB: $*" >&2; }

# The running process of a pid file (its first line: Sendmail's holds its command line
# too), or nothing.
pid_of() {
  local pid
  pid=$(head -n 1 "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

wait_port() {
  local ip=$1 port=$2
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/$ip/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  log "nothing listens on $ip:$port"
  return 1
}

# The host's names (a short host name, the namespace's own; its FQDN in /etc/hosts, with
# any further lines given) and the users, each with a home.
host_and_users() {
  echo "$DOMAIN" > /etc/mailname
  { printf '127.0.0.1\tlocalhost\n127.0.1.1\tmx.%s mx\n' "$DOMAIN"; printf '%s\n' "$@"; } > /etc/hosts
  local u
  for u in "${USERS[@]}"; do
    id "$u" >/dev/null 2>&1 || useradd -m -s /bin/bash "$u"
  done
}

# Dovecot: IMAP on loopback, users from a password file holding every user's lab password,
# mbox with the INBOX in /var/mail as the MTA's local delivery writes it, logging to syslog's
# mail facility. $1 is the title line's run name; further configuration (a `service auth`
# block for the MTA) comes on stdin.
dovecot_conf() {
  rm -rf /etc/dovecot && mkdir -p /etc/dovecot
  { cat <<EOC
# mailir live test ($1 run): IMAP on loopback, users from a password file.
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = mbox:~/mail:INBOX=/var/mail/%u
mail_privileged_group = mail
log_path = syslog
syslog_facility = mail
hostname = mx.$DOMAIN
postmaster_address = postmaster@$DOMAIN
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n /etc/dovecot/users.passwd
}
userdb {
  driver = passwd
}
EOC
    cat
  } > /etc/dovecot/dovecot.conf
  : > /etc/dovecot/users.passwd
  local u
  for u in "${USERS[@]}"; do
    echo "$u:{PLAIN}$(python3 "$here/attack.py" --password "$u")::::::" >> /etc/dovecot/users.passwd
  done
  chmod 640 /etc/dovecot/users.passwd
  chgrp dovecot /etc/dovecot/users.passwd
}

# rsyslog with Debian's configuration, but without the kernel log (/proc/kmsg is the
# machine's, and reading it takes the messages from the machine's own logger), started.
start_rsyslog() {
  sed -i 's|^module(load="imklog"|#&|' /etc/rsyslog.conf
  rsyslogd </dev/null >/dev/null 2>&1
  for _ in $(seq 50); do [ -S /dev/log ] && break; sleep 0.1; done
}

# The versions every lab shares, for versions.txt.
common_versions() {
  echo "dovecot $(dovecot --version) ($(dpkg-query -W -f '${Version}' dovecot-core))"
  echo "rsyslog $(dpkg-query -W -f '${Version}' rsyslog)"
  echo "swaks $(dpkg-query -W -f '${Version}' swaks)"
  echo "python3 $(python3 -c 'import platform; print(platform.python_version())')"
  echo "logrotate $(dpkg-query -W -f '${Version}' logrotate)"
  echo "debian $(cat /etc/debian_version)"
}

# Removes the lines of the log PATH whose time falls in [FROM, TO) (the first 19 characters:
# Exim's `YYYY-MM-DD HH:MM:SS`, rsyslog's `YYYY-MM-DDTHH:MM:SS`, the log's own local time) the
# way an intruder edits a log: a new file with the same owner and mode moved over it. Exim
# notices the new file and writes on into it; rsyslogd must be told to reopen it (a HUP).
cut_log() {
  local path=$1 from=$2 to=$3
  python3 - "$path" "$from" "$to" <<'EOP'
import sys
path, lo, hi = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode()
lines = open(path, "rb").read().split(b"\n")
keep = [l for l in lines if not (lo <= l[:19] < hi)]
print(len(lines) - len(keep), file=sys.stderr)
open(path + ".new", "wb").write(b"\n".join(keep))
EOP
  chown --reference="$path" "$path.new"
  chmod --reference="$path" "$path.new"
  mv "$path.new" "$path"
}
