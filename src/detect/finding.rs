//! The finding record (its contract: `docs/detections.md`).
//!
//! A finding names its rule, severity, attack phase and ATT&CK techniques, the time span and
//! count, the entities involved, a one-line summary, and the exact evidence lines.

use serde::Serialize;

use super::catalog::Role;

/// How bad. (Every level is part of the contract; not every one is used by a rule yet.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Context only.
    Info,
    /// Worth a look.
    Low,
    /// Likely malicious.
    Medium,
    /// Malicious.
    High,
    /// Compromise.
    Critical,
}

/// Where in the attack chain. (All five phases are contract; rules for some are to come.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Scans, enumeration.
    Recon,
    /// Brute force, spraying, takeover.
    InitialAccess,
    /// Forwarding rules, pipes, cron.
    Persistence,
    /// Data theft and abuse (spam).
    Exfiltration,
    /// Log tampering.
    Cleanup,
}

/// Where a finding's times come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeSource {
    /// Log events.
    Events,
    /// File modification times recorded at collection (the bundle's manifest).
    RecordedMtime,
    /// File modification times read from the file system the analysis ran on: they may be
    /// those of a copy or a checkout, so they never stretch an attack phase.
    FileMtime,
}

pub use super::entity::Entities;

/// Lines of one evidence file.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    /// Path as in the events' `source.path`.
    pub path: String,
    /// SHA-256 of the file, when known.
    pub sha256: Option<String>,
    /// 1-based line numbers.
    pub lines: Vec<u64>,
}

/// One line of one evidence file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cite {
    /// Path as in the events' `source.path`.
    pub path: String,
    /// 1-based line number.
    pub line: u64,
}

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Stable rule id (`auth.brute_force`).
    pub rule: &'static str,
    /// The hosts whose evidence it rests on ([`crate::parse::input::host_label`]): one for a
    /// host's own finding, several for a finding across hosts (`docs/events.md`, "Hosts").
    pub hosts: Vec<String>,
    /// One-line title.
    pub title: String,
    /// Severity.
    pub severity: Severity,
    /// Attack phase.
    pub phase: Phase,
    /// MITRE ATT&CK technique ids.
    pub attack: Vec<&'static str>,
    /// First evidence time (UTC, RFC 3339).
    pub first_seen: String,
    /// Last evidence time.
    pub last_seen: String,
    /// How many events support it.
    pub count: u64,
    /// Entities.
    pub entities: Entities,
    /// What happened, in one sentence.
    pub summary: String,
    /// The exact lines.
    pub evidence: Vec<Evidence>,
    /// The line that decides the finding, when one does (the login that succeeded after the
    /// failures): quoted with the first and the last ([`crate::detect::quote`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decisive: Option<Cite>,
    /// Playbook step ids.
    pub remediation: Vec<&'static str>,
    /// What the finding means downstream, from the rule's catalogue record
    /// ([`crate::detect::catalog`]): report, timeline and drafts select by these.
    pub roles: &'static [Role],
    /// Where `first_seen` and `last_seen` come from.
    pub time_source: TimeSource,
    /// What the finding says was read, taken or deleted, one record per mailbox (rules with
    /// the role [`Role::MailRead`]): the report's "what was accessed" and the notification
    /// drafts' numbers come from these.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accessed: Vec<Accessed>,
}

/// What one finding says happened to one mailbox's mail: read, downloaded, searched,
/// exported or deleted, from where and when, with the counts the logs gave (a count the logs
/// did not give is `None`, never a guess).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Accessed {
    /// The mailbox (account) whose mail it was.
    pub mailbox: String,
    /// Who did it (the login, or the admin / application), when it is not the mailbox itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Client addresses it came from.
    pub sources: Vec<String>,
    /// How: `imap`, `pop3`, `webmail`, `m365`, `ews`, `export`, `search` ….
    pub how: String,
    /// First and last time (RFC 3339, UTC).
    pub first_seen: String,
    /// Last time.
    pub last_seen: String,
    /// Messages whose content was read or taken (bodies fetched, retrieved, downloaded,
    /// exported, accessed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<u64>,
    /// Bytes of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Messages only listed (headers fetched, not bodies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listed: Option<u64>,
    /// Messages deleted or expunged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<u64>,
    /// Folders named.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub folders: Vec<String>,
    /// Sessions counted.
    pub sessions: u64,
    /// What the account's own history was (the baseline the rule measured against), in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
}

impl Finding {
    /// A finding of rule `rule` with its phase, techniques and roles from the catalogue and
    /// everything else empty: rules fill the rest with struct update syntax
    /// (`Finding { title, severity, .., ..Finding::of("auth.brute_force") }`). A rule missing
    /// from the catalogue (a test's) gets the initial-access phase and no roles.
    pub fn of(rule: &'static str) -> Finding {
        let meta = crate::detect::catalog::meta(rule);
        Finding {
            rule,
            hosts: Vec::new(),
            title: String::new(),
            severity: meta
                .and_then(|m| m.severities.first().copied())
                .unwrap_or(Severity::Medium),
            phase: meta.map_or(Phase::InitialAccess, |m| m.phase),
            attack: meta.map(|m| m.attack.to_vec()).unwrap_or_default(),
            first_seen: String::new(),
            last_seen: String::new(),
            count: 0,
            entities: Entities::default(),
            summary: String::new(),
            evidence: Vec::new(),
            decisive: None,
            remediation: Vec::new(),
            roles: meta.map_or(&[], |m| m.roles),
            time_source: TimeSource::Events,
            accessed: Vec::new(),
        }
    }

    /// Whether the finding has `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// Most evidence lines kept per finding (the count says how many there were).
pub const MAX_EVIDENCE_LINES: usize = 200;

/// Collects evidence lines (file number, line) while a rule runs: one flat vector, grouped by
/// file only when resolved (most sets hold one or two lines).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct EvidenceSet {
    lines: Vec<(u32, u64)>,
}

impl EvidenceSet {
    /// Adds line `line` of file `file` (beyond [`MAX_EVIDENCE_LINES`], lines are counted only).
    pub fn add(&mut self, file: u32, line: u64) {
        if self.lines.len() < MAX_EVIDENCE_LINES {
            // Most sets (one address's hour) hold one line: no room for four on the first.
            if self.lines.is_empty() {
                self.lines.reserve_exact(1);
            }
            self.lines.push((file, line));
        }
    }

    /// Adds every line of another set.
    pub fn extend(&mut self, other: &EvidenceSet) {
        for (f, l) in &other.lines {
            self.add(*f, *l);
        }
    }

    /// Resolves file numbers against the run's file table.
    pub fn resolve(&self, files: &[(String, Option<String>)]) -> Vec<Evidence> {
        let mut sorted = self.lines.clone();
        sorted.sort_unstable();
        sorted.dedup();
        let mut out: Vec<Evidence> = Vec::new();
        let mut current: Option<u32> = None;
        for (f, l) in sorted {
            if current != Some(f) {
                current = Some(f);
                let (path, sha) = files.get(f as usize).cloned().unwrap_or_default();
                out.push(Evidence {
                    path,
                    sha256: sha,
                    lines: Vec::new(),
                });
            }
            if let Some(e) = out.last_mut() {
                e.lines.push(l);
            }
        }
        out
    }
}

/// RFC 3339 text of microseconds since the epoch.
pub fn ts(us: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_micros(us)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        .unwrap_or_default()
}
