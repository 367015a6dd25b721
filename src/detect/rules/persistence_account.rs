//! `persistence.account` — a way into the host through an account: a second UID 0, a
//! duplicate UID, a service account given a login shell or a password, an account that is not
//! an administrator by convention given sudo or an administrators' group, an account created or
//! changed inside the incident window.
//!
//! **Why**: attackers who reach a shell on a mail server keep it with an account of their own
//! (`useradd -o -u 0 sysadm`, a shell and password for `www-data` or `backup`) that survives a
//! password reset of the mail accounts and the removal of every mail-side backdoor.
//! **How**: `/etc/passwd` (UID 0 besides `root`, UIDs held twice, accounts below UID 1000 or
//! known service names with a real shell), the collector's shadow metadata
//! (`derived:/etc/shadow`: a service account with a usable password, any login account with an
//! empty one; a password changed inside [`crate::detect::host::Window`] only supports another
//! reason — users, package installs and the response itself change passwords every day —),
//! `/etc/group`
//! (service accounts in `sudo`/`wheel`/`root`/`adm`), `/etc/sudoers` and `sudoers.d/*` (`ALL`
//! or `NOPASSWD: ALL` for a service account, a group other than the stock administrators'
//! or everyone), and the account changes logged by `useradd`/`usermod`/`passwd`/`chpasswd`/
//! `gpasswd`/`userdel` (`account_change` events gathered by [`Changes`] in the shared state,
//! handed to the host by the engine): inside the window any change counts; outside it only a
//! new or re-numbered UID 0 (even of an account deleted since), and a service account added
//! to an administrators' group. One finding per account, citing its passwd line and every line that
//! adds to it. **Severity**: critical for a second UID 0; high for a duplicate UID, a service
//! account with a shell, a password or administrator rights, and a privileged change inside
//! the window; medium for other changes inside the window and privileged changes logged
//! outside it. **ATT&CK**: T1136.001 (Create Account: Local Account), T1098 (Account
//! Manipulation). **False positives**: Debian's `postgres` (login shell by packaging), `sync`
//! / `halt` / `shutdown` are quiet; old Debian releases gave `/bin/sh` to the base system
//! accounts (medium, named as such); a provisioning system that creates service accounts
//! with shells, cloud images' `NOPASSWD` rule for their first user (a human account: quiet).

use std::collections::BTreeMap;

use super::super::host::{Cites, ConfigRule, Host};
use crate::detect::entity::{EntityKind, EntityRole};
use crate::detect::fact::Fact;
use crate::detect::finding::{ts, Evidence, Finding, Severity, TimeSource};
use crate::events::detail::Detail;
use crate::events::record::Kind;
use crate::hostconf::accounts::{
    groups, last_change_us, passwd, shadow_accounts, sudoers, PasswdEntry, Password, ADMIN_GROUPS,
};

/// The rule.
pub struct Account;

const RULE: &str = "persistence.account";
const DAY_US: i64 = 86_400_000_000;
/// Most account changes kept from the logs (a host logs a few a month; a flood is cut).
pub const MAX_CHANGES: usize = 10_000;

/// One logged account change, as the shared state keeps it (file by number).
#[derive(Debug, Clone)]
struct Kept {
    ts_us: i64,
    file: u32,
    line: u64,
    account: Option<String>,
    actor: Option<String>,
    detail: Detail,
}

/// The account changes of the logs, gathered once by the engine ([`super::Shared`]), at most
/// [`MAX_CHANGES`] (the rest counted).
#[derive(Debug, Default)]
pub struct Changes {
    kept: Vec<Kept>,
    /// Changes beyond the cap.
    pub dropped: u64,
}

impl Changes {
    /// Sees one fact.
    pub fn observe(&mut self, f: &Fact) {
        if f.kind != Kind::AccountChange {
            return;
        }
        if self.kept.len() >= MAX_CHANGES {
            self.dropped += 1;
            return;
        }
        self.kept.push(Kept {
            ts_us: f.ts_us,
            file: f.file,
            line: f.line,
            account: f.mailbox().map(str::to_string),
            actor: f.actor().map(str::to_string),
            detail: f.detail().and_then(Detail::from_text).unwrap_or_default(),
        });
    }

    /// The changes with their files named (the run's file table).
    pub fn resolve(&self, files: &super::Files) -> Vec<LoggedChange> {
        self.kept
            .iter()
            .map(|k| {
                let (path, sha256) = files.get(k.file as usize).cloned().unwrap_or_default();
                LoggedChange {
                    ts_us: k.ts_us,
                    path,
                    sha256,
                    line: k.line,
                    account: k.account.clone(),
                    actor: k.actor.clone(),
                    detail: k.detail.clone(),
                }
            })
            .collect()
    }
}

/// One logged account change with its evidence line ([`Host::account_changes`]).
#[derive(Debug, Clone)]
pub struct LoggedChange {
    /// When (UTC microseconds).
    pub ts_us: i64,
    /// The log file (as events name it).
    pub path: String,
    /// Its SHA-256, when known.
    pub sha256: Option<String>,
    /// 1-based line.
    pub line: u64,
    /// The account changed.
    pub account: Option<String>,
    /// Who changed it, when logged.
    pub actor: Option<String>,
    /// What changed (`op`, `action`, `params`).
    pub detail: Detail,
}

impl LoggedChange {
    fn param(&self, k: &str) -> &str {
        self.detail.params.get(k).map_or("", String::as_str)
    }

    fn action(&self) -> &str {
        self.detail.action.as_deref().unwrap_or("")
    }

    /// Why the change gives root's powers or an administrator's, if it does.
    fn privileged(&self) -> Option<String> {
        match self.action() {
            "new_group" if self.param("gid") == "0" => {
                Some("group created with GID 0 (root's group)".into())
            }
            "new_user" if self.param("uid") == "0" => {
                Some("created with UID 0 (root's powers)".into())
            }
            "change_uid" if self.param("to") == "0" => {
                Some("UID changed to 0 (root's powers)".into())
            }
            "add_to_group" if ADMIN_GROUPS.contains(&self.param("group")) => Some(format!(
                "added to the administrators' group {}",
                self.param("group")
            )),
            _ => None,
        }
    }

    /// Readable: `2026-03-02T03:10:00Z useradd new_user (uid=0, home=/root)`.
    fn describe(&self) -> String {
        let params: Vec<String> = self
            .detail
            .params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let by = self
            .actor
            .as_deref()
            .map(|a| format!(" by {a}"))
            .unwrap_or_default();
        format!(
            "{} {} {}{}{}",
            ts(self.ts_us),
            self.detail.op.as_deref().unwrap_or("?"),
            self.action(),
            if params.is_empty() {
                String::new()
            } else {
                format!(" ({})", params.join(", "))
            },
            by
        )
    }
}

/// Accounts that log in by packaging (Debian's `postgres` gets `/bin/bash`).
const LOGIN_BY_PACKAGING: &[&str] = &["postgres"];
/// The base accounts of Debian's base-passwd, which releases before Debian 7 gave `/bin/sh`.
const DEBIAN_BASE: &[&str] = &[
    "daemon", "bin", "sys", "games", "man", "lp", "mail", "news", "uucp", "proxy", "www-data",
    "backup", "list", "irc", "gnats", "nobody", "libuuid",
];
/// Service accounts by name, whatever their UID.
const SERVICE_NAMES: &[&str] = &[
    "nobody",
    "www-data",
    "apache",
    "nginx",
    "httpd",
    "mail",
    "postfix",
    "dovecot",
    "dovenull",
    "exim",
    "Debian-exim",
    "smmsp",
    "vmail",
    "backup",
    "mysql",
    "redis",
    "nagios",
    "ftp",
    "sshd",
    "daemon",
    "bin",
    "sys",
    "named",
    "bind",
    "list",
];

/// Whether a shell lets the account log in.
fn login_shell(shell: &str) -> bool {
    let prog = shell.rsplit('/').next().unwrap_or(shell);
    !shell.is_empty()
        && !matches!(
            prog,
            "nologin" | "false" | "true" | "sync" | "halt" | "shutdown" | "git-shell"
        )
}

/// Whether an account is a system or service account: below UID 1000 (except a 500–999
/// account with a home under `/home`, a human account of an old Red Hat), or a service name.
fn is_service(e: &PasswdEntry) -> bool {
    if e.uid == 0 {
        return false;
    }
    SERVICE_NAMES.contains(&e.name.as_str())
        || e.uid == 65534
        || (e.uid < 1000 && !(e.uid >= 500 && e.home.starts_with("/home/")))
}

/// What the rule found about one account.
#[derive(Default)]
struct Case {
    reasons: Vec<(Severity, String)>,
    cites: Option<Cites>,
    logged: Vec<LoggedChange>,
    backdoor: bool,
}

impl Case {
    fn add(&mut self, host: &Host, severity: Severity, why: String, path: &str, line: Option<u64>) {
        self.reasons.push((severity, why));
        self.cite(host, path, line);
    }

    fn cite(&mut self, host: &Host, path: &str, line: Option<u64>) {
        match &mut self.cites {
            Some(c) => {
                c.add(&host.conf, path, line);
            }
            None => self.cites = Some(Cites::one(&host.conf, path, line)),
        }
    }

    fn severity(&self) -> Option<Severity> {
        let top = self.reasons.iter().map(|(s, _)| *s).max()?;
        // Supporting reasons ([`SUPPORTING`]: a password changed inside the window, which
        // users, package installs and the response itself do every day) never make a
        // finding alone.
        if top < Severity::Medium {
            return None;
        }
        // A change inside the window on top of another reason is more than either alone.
        let weighty = self
            .reasons
            .iter()
            .filter(|(s, _)| *s >= Severity::Medium)
            .count();
        let supported = self.reasons.iter().any(|(s, _)| *s == SUPPORTING);
        let several = (weighty > 1 || supported) && top < Severity::High;
        Some(if several { Severity::High } else { top })
    }
}

/// The weight of a reason that only supports others (never a finding on its own).
const SUPPORTING: Severity = Severity::Low;

fn in_window(host: &Host, us: i64) -> bool {
    host.window
        .is_some_and(|w| chrono::DateTime::from_timestamp_micros(us).is_some_and(|t| w.contains(t)))
}

/// Whether any moment of day `day_us` (UTC midnight) is inside the window.
fn day_in_window(host: &Host, day_us: i64) -> bool {
    host.window
        .is_some_and(|w| day_us <= w.end_us && day_us + DAY_US > w.start_us)
}

impl ConfigRule for Account {
    fn check(&self, host: &Host) -> Vec<Finding> {
        let accounts = host
            .conf
            .get("/etc/passwd")
            .map(|f| passwd(&f.text()))
            .unwrap_or_default();
        let by_name: BTreeMap<&str, &PasswdEntry> =
            accounts.iter().map(|e| (e.name.as_str(), e)).collect();
        let mut cases: BTreeMap<String, Case> = BTreeMap::new();
        // passwd: UID 0, duplicate UIDs, service accounts with a shell.
        let mut by_uid: BTreeMap<u32, Vec<&PasswdEntry>> = BTreeMap::new();
        for e in &accounts {
            by_uid.entry(e.uid).or_default().push(e);
        }
        for e in &accounts {
            let c = cases.entry(e.name.clone()).or_default();
            if e.uid == 0 && e.name != "root" {
                c.backdoor = true;
                c.add(
                    host,
                    Severity::Critical,
                    format!(
                        "a second account with UID 0 (root's powers), shell {}",
                        e.shell
                    ),
                    "/etc/passwd",
                    Some(e.line),
                );
            } else if e.uid != 0 {
                let twins: Vec<&&PasswdEntry> =
                    by_uid[&e.uid].iter().filter(|o| o.name != e.name).collect();
                if !twins.is_empty() {
                    let names: Vec<&str> = twins.iter().map(|t| t.name.as_str()).collect();
                    c.add(
                        host,
                        Severity::High,
                        format!("shares UID {} with {}", e.uid, names.join(", ")),
                        "/etc/passwd",
                        Some(e.line),
                    );
                    for t in twins {
                        c.cite(host, "/etc/passwd", Some(t.line));
                    }
                }
            }
            if is_service(e)
                && login_shell(&e.shell)
                && !LOGIN_BY_PACKAGING.contains(&e.name.as_str())
            {
                if e.shell == "/bin/sh" && DEBIAN_BASE.contains(&e.name.as_str()) {
                    c.add(
                        host,
                        Severity::Medium,
                        "service account with the login shell /bin/sh (what Debian releases before 7 gave its base accounts; check the release the host was installed with)".to_string(),
                        "/etc/passwd",
                        Some(e.line),
                    );
                } else {
                    c.backdoor = true;
                    c.add(
                        host,
                        Severity::High,
                        format!(
                            "service account (UID {}) given the login shell {}",
                            e.uid, e.shell
                        ),
                        "/etc/passwd",
                        Some(e.line),
                    );
                }
            }
            if e.password.is_empty() && login_shell(&e.shell) {
                c.add(
                    host,
                    Severity::High,
                    "no password at all in /etc/passwd: logs in without one".into(),
                    "/etc/passwd",
                    Some(e.line),
                );
            }
        }

        // Shadow metadata.
        let shadow_key = "derived:/etc/shadow";
        if let Some(f) = host.conf.get(shadow_key) {
            for (line, s) in shadow_accounts(&f.data) {
                let Some(e) = by_name.get(s.account.as_str()) else {
                    continue;
                };
                let c = cases.entry(s.account.clone()).or_default();
                if s.password == Password::Set && is_service(e) {
                    c.backdoor = true;
                    c.add(
                        host,
                        Severity::High,
                        format!(
                            "service account with a usable password ({})",
                            s.scheme.as_deref().unwrap_or("hash")
                        ),
                        shadow_key,
                        Some(line),
                    );
                }
                if s.password == Password::Empty && login_shell(&e.shell) {
                    c.add(
                        host,
                        Severity::High,
                        "empty password in /etc/shadow: logs in without one".into(),
                        shadow_key,
                        Some(line),
                    );
                }
                if let Some(day) = last_change_us(&s).filter(|d| day_in_window(host, *d)) {
                    c.add(
                        host,
                        SUPPORTING,
                        format!(
                            "password last changed on {}, inside the incident window",
                            s.last_change.clone().unwrap_or_else(|| ts(day))
                        ),
                        shadow_key,
                        Some(line),
                    );
                }
            }
        }

        // Administrators' groups.
        if let Some(f) = host.conf.get("/etc/group") {
            let gs = groups(&f.text());
            for g in gs
                .iter()
                .filter(|g| ADMIN_GROUPS.contains(&g.name.as_str()))
            {
                let mut members: Vec<&str> = g.members.iter().map(String::as_str).collect();
                // Primary membership counts for accounts that can log in: Red Hat's `sync`,
                // `shutdown`, `halt` and `operator` have GID 0 and no shell.
                members.extend(
                    accounts
                        .iter()
                        .filter(|e| e.gid == g.gid && e.uid != 0 && login_shell(&e.shell))
                        .map(|e| e.name.as_str()),
                );
                for m in members {
                    let Some(e) = by_name.get(m) else {
                        continue;
                    };
                    // Ubuntu's `syslog` reads the logs as a member of `adm`; old Red Hat
                    // releases listed `adm` and `daemon` there.
                    if g.name == "adm" && matches!(m, "syslog" | "adm" | "daemon") {
                        continue;
                    }
                    if !is_service(e) {
                        // An administrator's membership is routine; for an account flagged
                        // already (a second UID 0) it is part of the evidence.
                        if let Some(c) = cases.get_mut(m).filter(|c| !c.reasons.is_empty()) {
                            c.add(
                                host,
                                Severity::Low,
                                format!("member of the administrators' group {}", g.name),
                                "/etc/group",
                                Some(g.line),
                            );
                        }
                        continue;
                    }
                    let sev = if g.name == "adm" {
                        Severity::Medium
                    } else {
                        Severity::High
                    };
                    let c = cases.entry(m.to_string()).or_default();
                    c.add(
                        host,
                        sev,
                        format!("service account in the administrators' group {}", g.name),
                        "/etc/group",
                        Some(g.line),
                    );
                    c.cite(host, "/etc/passwd", Some(e.line));
                }
            }
        }

        // sudoers.
        let sudo_files: Vec<(&str, &crate::hostconf::ConfFile)> = host
            .conf
            .get("/etc/sudoers")
            .map(|f| ("/etc/sudoers", f))
            .into_iter()
            .chain(host.conf.under("/etc/sudoers.d/"))
            .collect();
        for (path, f) in sudo_files {
            for r in sudoers(&f.text()) {
                if !r.all_commands {
                    continue;
                }
                let grant = if r.nopasswd {
                    "every command as root without a password (NOPASSWD: ALL)"
                } else {
                    "every command as root (ALL)"
                };
                for who in &r.who {
                    let who = who.trim_start_matches('!');
                    let (key, sev, why) = if who == "ALL" {
                        (
                            "ALL".to_string(),
                            Severity::High,
                            format!("sudoers gives every account {grant}"),
                        )
                    } else if let Some(g) = who.strip_prefix('%') {
                        if matches!(g, "sudo" | "wheel" | "admin" | "root") {
                            continue;
                        }
                        (
                            format!("%{g}"),
                            if r.nopasswd {
                                Severity::High
                            } else {
                                Severity::Medium
                            },
                            format!("sudoers gives the group {g} {grant}"),
                        )
                    } else if who == "root"
                        || who.chars().all(|c| c.is_ascii_uppercase() || c == '_')
                    {
                        continue; // root itself; a User_Alias
                    } else {
                        match by_name.get(who) {
                            Some(e) if is_service(e) => (
                                who.to_string(),
                                Severity::High,
                                format!("sudoers gives the service account {grant}"),
                            ),
                            Some(_) => continue,
                            None if who.starts_with('#') => continue,
                            None => (
                                who.to_string(),
                                Severity::Medium,
                                format!("sudoers gives {grant} to an account not in /etc/passwd"),
                            ),
                        }
                    };
                    let c = cases.entry(key).or_default();
                    if sev >= Severity::High && !who.starts_with('%') && who != "ALL" {
                        c.backdoor = true;
                    }
                    c.add(host, sev, why, path, Some(r.line));
                    if let Some(e) = by_name.get(who) {
                        c.cite(host, "/etc/passwd", Some(e.line));
                    }
                }
            }
        }

        // Logged changes.
        for ch in &host.account_changes {
            // Group changes name no account: only a group with GID 0 (root's group) counts.
            let Some(name) = ch.account.clone().or_else(|| {
                (ch.param("gid") == "0" && !ch.param("group").is_empty())
                    .then(|| format!("group {}", ch.param("group")))
            }) else {
                continue;
            };
            let inside = in_window(host, ch.ts_us);
            let present = by_name.get(name.as_str());
            let service = present.is_some_and(|e| is_service(e));
            let privileged = ch.privileged();
            let flagged = cases.get(&name).is_some_and(|c| !c.reasons.is_empty());
            let why = match (&privileged, inside) {
                (Some(p), true) => {
                    Some((Severity::High, format!("{p}, inside the incident window")))
                }
                (None, true) => Some((
                    Severity::Medium,
                    format!("changed inside the incident window ({})", ch.action()),
                )),
                // Outside the window: a UID 0 always (even deleted since); an administrators'
                // group only for a service account (a human administrator's, or one of an
                // account deleted since, is routine churn).
                (Some(p), false) if ch.action() != "add_to_group" || service => {
                    Some((Severity::Medium, format!("logged: {p}")))
                }
                _ => None,
            };
            let c = cases.entry(name.clone()).or_default();
            if let Some((sev, w)) = why {
                c.reasons.push((sev, w));
                if inside && ch.action() == "new_user" {
                    c.backdoor = true;
                }
            } else if !flagged {
                continue;
            }
            if let Some(e) = present {
                c.cite(host, "/etc/passwd", Some(e.line));
            }
            c.logged.push(ch.clone());
        }

        let mut out = Vec::new();
        for (name, c) in cases {
            let Some(sev) = c.severity() else {
                continue;
            };
            let mut reasons: Vec<&(Severity, String)> =
                c.reasons.iter().filter(|(_, w)| !w.is_empty()).collect();
            reasons.sort_by_key(|r| std::cmp::Reverse(r.0));
            let Some((_, first)) = reasons.first() else {
                continue;
            };
            let (title, summary) = titles(
                &name,
                first,
                &reasons,
                &c.logged,
                by_name.contains_key(name.as_str()),
            );
            let mut f = match &c.cites {
                Some(cites) => cites.finding(RULE, sev, vec!["T1136.001", "T1098"], title, summary),
                None => {
                    Cites::default().finding(RULE, sev, vec!["T1136.001", "T1098"], title, summary)
                }
            };
            add_logged(&mut f, &c.logged);
            if !name.starts_with('%') && !name.starts_with("group ") && name != "ALL" {
                if c.backdoor {
                    f.entities
                        .tag(EntityKind::User, &name, EntityRole::BackdoorAccount);
                } else {
                    f.entities.users.push(name.clone());
                }
            }
            out.push(f);
        }
        out
    }
}

fn titles(
    name: &str,
    first: &str,
    reasons: &[&(Severity, String)],
    logged: &[LoggedChange],
    present: bool,
) -> (String, String) {
    let who = if name.starts_with('%') || name.starts_with("group ") || name == "ALL" {
        name.to_string()
    } else {
        format!("Account {name}")
    };
    let title = format!("{who}: {first}");
    let mut s: Vec<String> = reasons.iter().map(|(_, w)| w.clone()).collect();
    if !logged.is_empty() {
        let l: Vec<String> = logged.iter().take(8).map(|c| c.describe()).collect();
        s.push(format!("logged changes: {}", l.join("; ")));
    }
    if !present && !name.starts_with('%') && !name.starts_with("group ") && name != "ALL" {
        s.push("not in /etc/passwd now (deleted since, or the file was not collected)".into());
    } else if !name.starts_with('%') && !name.starts_with("group ") && name != "ALL" {
        s.push("lock it, look for its keys, cron jobs and processes, then remove it".into());
    }
    (title, format!("{name}: {}", s.join("; ")))
}

/// Adds the log lines of the changes as evidence, and their times.
fn add_logged(f: &mut Finding, logged: &[LoggedChange]) {
    if logged.is_empty() {
        return;
    }
    let only_logs = f.evidence.is_empty();
    for ch in logged {
        match f.evidence.iter_mut().find(|e| e.path == ch.path) {
            Some(e) => {
                if !e.lines.contains(&ch.line) {
                    e.lines.push(ch.line);
                    e.lines.sort_unstable();
                }
            }
            None => f.evidence.push(Evidence {
                path: ch.path.clone(),
                sha256: ch.sha256.clone(),
                lines: vec![ch.line],
            }),
        }
        f.count += 1;
    }
    let first = logged.iter().map(|c| c.ts_us).min().unwrap_or(0);
    let last = logged.iter().map(|c| c.ts_us).max().unwrap_or(0);
    if only_logs || f.first_seen.is_empty() {
        f.first_seen = ts(first);
        f.last_seen = ts(last);
        f.time_source = TimeSource::Events;
    } else {
        if ts(first) < f.first_seen {
            f.first_seen = ts(first);
        }
        if ts(last) > f.last_seen {
            f.last_seen = ts(last);
        }
    }
}

#[cfg(test)]
mod tests;
