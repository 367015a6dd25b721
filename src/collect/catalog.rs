//! The mail-aware artifact catalog, kept as data.
//!
//! [`CATALOG`] is one ordered table: the order is the collection order (order of volatility:
//! logs that rotate before configs that do not), and the first entry that matches a path
//! decides its category. Patterns are host paths with glob components: `*` stays inside one
//! component, `**` crosses directories. To collect something new, add a row; to change what
//! counts as a secret, edit [`SECRETS`]; per-user delivery files are [`USER_FILES`], looked up
//! in the home of *every* account in the root's `/etc/passwd` (nologin ones included) and in
//! the virtual mail roots [`VIRTUAL_HOMES`]. Size caps per category are in [`default_cap`].

use crate::evidence::manifest::Category;

/// One catalog row.
#[derive(Debug, Clone, Copy)]
pub struct Artifact {
    /// Host path pattern.
    pub pattern: &'static str,
    /// Category given to what it matches.
    pub category: Category,
}

const fn a(pattern: &'static str, category: Category) -> Artifact {
    Artifact { pattern, category }
}

use Category::*;

/// Every fixed artifact, in collection order. Logs discovered from service configs are
/// inserted after the [`MailLog`] rows; per-user files after the [`Aliases`] rows.
pub const CATALOG: &[Artifact] = &[
    // Mail logs, every rotation (plain, .gz, .xz, .bz2, dateext).
    a("/var/log/mail.*", MailLog),
    a("/var/log/mail/**", MailLog),
    a("/var/log/maillog*", MailLog),
    a("/var/log/mail-*", MailLog),
    a("/var/log/postfix*", MailLog),
    a("/var/log/exim4/**", MailLog),
    a("/var/log/exim/**", MailLog),
    a("/var/log/dovecot*", MailLog),
    a("/var/log/dovecot/**", MailLog),
    a("/var/log/sendmail*", MailLog),
    a("/var/log/courier*", MailLog),
    a("/var/log/zimbra*", MailLog),
    a("/usr/local/psa/var/log/maillog*", MailLog),
    a("/var/qmail/log/**", MailLog),
    a("/var/log/qmail/**", MailLog),
    // Roundcube's own logs (`userlogins`, `errors`): Debian, and RHEL/EPEL's roundcubemail.
    a("/var/log/roundcube/**", MailLog),
    a("/var/log/roundcubemail/**", MailLog),
    // General logs that carry mail, SASL and PAM lines.
    a("/var/log/syslog*", SystemLog),
    a("/var/log/messages*", SystemLog),
    a("/var/log/auth.log*", SystemLog),
    a("/var/log/secure*", SystemLog),
    a("/var/log/daemon.log*", SystemLog),
    a("/var/log/fail2ban.log*", SystemLog),
    a("/var/lib/logrotate/status", SystemLog),
    a("/var/lib/logrotate/logrotate.status", SystemLog),
    a("/var/lib/logrotate.status", SystemLog),
    // Login records.
    a("/var/log/wtmp*", LoginRecords),
    a("/var/log/btmp*", LoginRecords),
    a("/var/log/lastlog", LoginRecords),
    a("/run/utmp", LoginRecords),
    // Binary journal (mail units are also exported as text in volatile/ on a live host).
    a("/var/log/journal/**", Journal),
    a("/run/log/journal/**", Journal),
    // Mail daemon configuration, maps (sources and compiled .db/.lmdb/.cdb), checks, SASL.
    a("/etc/aliases*", Aliases),
    a("/etc/mail/aliases*", Aliases),
    a("/etc/valiases/*", Aliases),
    a("/etc/vfilters/*", Aliases),
    a("/var/qmail/alias/.qmail*", Aliases),
    a("/var/qmail/mailnames/*/*/.qmail*", UserDelivery),
    a("/etc/postfix/**", MailConfig),
    a("/etc/postfix-*/**", MailConfig),
    a("/etc/exim4/**", MailConfig),
    a("/etc/exim/**", MailConfig),
    a("/etc/exim.conf", MailConfig),
    a("/etc/mail/**", MailConfig),
    a("/etc/dovecot/**", MailConfig),
    a("/var/lib/dovecot/sieve/**", MailConfig),
    a("/usr/lib/dovecot/sieve/**", MailConfig),
    a("/etc/courier/**", MailConfig),
    a("/var/qmail/control/*", MailConfig),
    a("/var/qmail/users/*", MailConfig),
    a("/etc/sasl2/**", MailConfig),
    a("/usr/lib/sasl2/*.conf", MailConfig),
    a("/etc/default/saslauthd", MailConfig),
    a("/etc/default/postfix", MailConfig),
    a("/etc/pam.d/smtp*", MailConfig),
    a("/etc/pam.d/dovecot", MailConfig),
    a("/etc/pam.d/imap", MailConfig),
    a("/etc/pam.d/pop*", MailConfig),
    a("/etc/opendkim.conf", MailConfig),
    a("/etc/opendkim/**", MailConfig),
    a("/etc/mailname", MailConfig),
    // Cron and timers (persistence).
    a("/etc/crontab", Cron),
    a("/etc/anacrontab", Cron),
    a("/etc/cron.d/*", Cron),
    a("/etc/cron.hourly/*", Cron),
    a("/etc/cron.daily/*", Cron),
    a("/etc/cron.weekly/*", Cron),
    a("/etc/cron.monthly/*", Cron),
    a("/var/spool/cron/**", Cron),
    a("/etc/systemd/system/*.timer", Cron),
    a("/etc/systemd/system/*.service", Cron),
    // Context for analysis: time, identity, accounts, rotation and syslog routing.
    a("/etc/localtime", Context),
    a("/etc/timezone", Context),
    a("/etc/hostname", Context),
    a("/etc/hosts", Context),
    a("/etc/passwd", Context),
    a("/etc/group", Context),
    a("/etc/os-release", Context),
    a("/etc/machine-id", Context),
    a("/etc/resolv.conf", Context),
    a("/etc/hosts.allow", Context),
    a("/etc/hosts.deny", Context),
    a("/etc/logrotate.conf", Context),
    a("/etc/logrotate.d/*", Context),
    a("/etc/rsyslog.conf", Context),
    a("/etc/rsyslog.d/*", Context),
    a("/etc/syslog-ng/**", Context),
    a("/etc/systemd/journald.conf", Context),
    a("/etc/systemd/journald.conf.d/*", Context),
    a("/etc/fail2ban/jail.conf", Context),
    a("/etc/fail2ban/jail.local", Context),
    a("/etc/fail2ban/jail.d/*", Context),
];

/// Per-user delivery files, relative to a home directory.
pub const USER_FILES: &[&str] = &[
    ".forward",
    ".forward+*",
    ".procmailrc",
    ".mailfilter",
    ".dovecot.sieve",
    ".dovecot.svbin",
    "sieve/**",
    ".sieve/**",
    ".qmail*",
    ".fetchmailrc",
];

/// Roots of virtual mail homes, searched for [`USER_FILES`] at any depth.
pub const VIRTUAL_HOMES: &[&str] = &[
    "/var/vmail",
    "/var/mail/vhosts",
    "/home/vmail",
    "/var/qmail/mailnames",
];

/// Where mailboxes live (listed as metadata; copied only with `--include-mailboxes`).
pub const MAILBOX_ROOTS: &[&str] = &["/var/mail", "/var/spool/mail"];

/// Paths known to hold secrets: collected, but flagged `"secret": true`. Files whose first
/// bytes hold a PEM private key are flagged too, whatever their name.
pub const SECRETS: &[&str] = &[
    "**/sasl_passwd*",
    "**/*.key",
    "**/*privkey*",
    "**/private/**",
    "/etc/postfix*/**/*mysql*",
    "/etc/postfix*/**/*pgsql*",
    "/etc/postfix*/**/*ldap*",
    "/etc/postfix*/**/*sqlite*",
    "/etc/postfix*/**/*memcache*",
    "/etc/dovecot/**/*.conf.ext",
    "/etc/dovecot/**/users",
    "/etc/dovecot/**/passwd*",
    "/etc/dovecot/**/*.passwd",
    "/etc/exim*/passwd*",
    "/etc/exim4/conf.d/**/*sql*",
    "/etc/courier/userdb*",
    "/etc/courier/authmysqlrc",
    "/etc/courier/authpgsqlrc",
    "/etc/courier/authldaprc",
    "/etc/mail/authinfo*",
    "/etc/mail/**/*.pem",
    "/etc/sasl2/sasldb*",
    "/etc/sasldb*",
    "**/.fetchmailrc",
    "/var/qmail/control/*password*",
];

/// Default size cap of a category, in bytes; `--max-file-size` overrides all of them.
/// Logs are taken whole up to 64 GiB (the peers' silent 1 GiB cap is what this avoids);
/// the journal to 16 GiB; anything else is a config or script, where 256 MiB is already
/// far beyond any real one (compiled maps included).
pub fn default_cap(category: Category) -> u64 {
    const GIB: u64 = 1 << 30;
    match category {
        MailLog | SystemLog | LoginRecords => 64 * GIB,
        Journal | EventLog => 16 * GIB,
        Mailbox | Export => 64 * GIB,
        Volatile => 512 << 20,
        MailConfig | Aliases | UserDelivery | Cron | Context | WebRoot => 256 << 20,
    }
}

/// Whether a log file name is a rotation (`.1`, `.2.gz`, `-20260301`, `.old`, compressed)
/// rather than the live file; only rotations can be skipped by `--since`.
pub fn is_rotation(name: &[u8]) -> bool {
    let name = String::from_utf8_lossy(name);
    let stem: &str = &name;
    for ext in [".gz", ".xz", ".bz2", ".zst", ".lz4", ".Z"] {
        if let Some(s) = stem.strip_suffix(ext) {
            return !s.is_empty();
        }
    }
    if stem.ends_with(".old") {
        return true;
    }
    if let Some(pos) = stem.rfind(['.', '-']) {
        let tail = &stem[pos + 1..];
        if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) {
            return pos > 0;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotations_are_recognised() {
        for r in [
            "mail.log.1",
            "mail.log.2.gz",
            "maillog-20260301",
            "maillog-20260301.gz",
            "syslog.7.xz",
            "mail.log.old",
        ] {
            assert!(is_rotation(r.as_bytes()), "{r}");
        }
        for live in ["mail.log", "maillog", "syslog", "mail.err", "mainlog"] {
            assert!(!is_rotation(live.as_bytes()), "{live}");
        }
    }

    #[test]
    fn catalog_patterns_are_absolute_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for a in CATALOG {
            assert!(a.pattern.starts_with('/'), "{}", a.pattern);
            assert!(seen.insert(a.pattern), "duplicate {}", a.pattern);
            assert!(globset::Glob::new(a.pattern).is_ok());
        }
    }
}
