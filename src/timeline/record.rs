//! The timeline record (contract: `docs/timeline.md`): findings placed
//! at their first time, and the start and end of each attack phase with its summary.
//!
//! To add a kind of row, give it a [`Kind`] and build it (here, or in its own module as
//! [`super::context`] does for events); every export renders every kind.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::detect::catalog::Role;
use crate::detect::finding::{Finding, Phase, Severity, TimeSource};

/// What a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A phase begins (sorted first among rows of one time).
    PhaseStart,
    /// A log event around the findings (see [`super::context`]).
    Event,
    /// A finding, at its first time.
    Finding,
    /// A phase ends.
    PhaseEnd,
}

/// Where a row's evidence is.
#[derive(Debug, Clone, Serialize)]
pub struct Source {
    /// Path as in events (`var/log/mail.log`, `files/etc/postfix/main.cf`).
    pub path: String,
    /// 1-based line, when the evidence is a line.
    pub line: Option<u64>,
    /// SHA-256 from the bundle manifest.
    pub sha256: Option<String>,
}

/// One timeline row.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// UTC, RFC 3339.
    pub ts: String,
    /// Microseconds since the epoch (not in the contract's JSON; exports use it).
    #[serde(skip)]
    pub ts_us: i64,
    /// Attack phase.
    pub phase: Option<Phase>,
    /// Row kind.
    #[serde(rename = "type")]
    pub kind: Kind,
    /// Rule of a finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<&'static str>,
    /// Severity of a finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// What the row says.
    pub message: String,
    /// The hosts whose evidence it is: an event's host, a finding's hosts, the hosts of a
    /// phase's findings (`docs/events.md`, "Hosts").
    pub hosts: Vec<String>,
    /// Addresses involved.
    pub ips: Vec<String>,
    /// Accounts involved.
    pub users: Vec<String>,
    /// ATT&CK techniques.
    pub attack: Vec<&'static str>,
    /// Events behind a finding, findings in a phase.
    pub count: u64,
    /// The first evidence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

/// The phase's name as the contract spells it.
pub fn phase_name(p: Phase) -> &'static str {
    match p {
        Phase::Recon => "recon",
        Phase::InitialAccess => "initial_access",
        Phase::Persistence => "persistence",
        Phase::Exfiltration => "exfiltration",
        Phase::Cleanup => "cleanup",
    }
}

/// The severity's name as the contract spells it.
pub fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
        Severity::Critical => "critical",
    }
}

fn micros(ts: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(ts)
        .ok()
        .map(|t| t.with_timezone(&Utc).timestamp_micros())
}

/// RFC 3339 UTC text of microseconds since the epoch.
pub fn rfc3339(us: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(us)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        .unwrap_or_default()
}

/// The finding's row.
fn of_finding(f: &Finding) -> Option<Record> {
    let ts_us = micros(&f.first_seen)?;
    let source = f.evidence.first().map(|e| Source {
        path: e.path.clone(),
        line: e.lines.first().copied(),
        sha256: e.sha256.clone(),
    });
    Some(Record {
        ts: rfc3339(ts_us),
        ts_us,
        phase: Some(f.phase),
        kind: Kind::Finding,
        rule: Some(f.rule),
        severity: Some(f.severity),
        message: format!("{}: {}", f.title, f.summary),
        hosts: f.hosts.clone(),
        ips: f.entities.ips.clone(),
        users: f.entities.users.clone(),
        attack: f.attack.clone(),
        count: f.count,
        source,
    })
}

/// The rows of `findings`: one per finding at its first time, and each phase's start (its
/// first finding's first time) and end (its last finding's last time), with a summary of the
/// phase: how many findings, the span, the rules, the addresses and accounts. Sorted by time;
/// at one time a phase starts before its findings and ends after them, phases in chain order.
pub fn records(findings: &[Finding]) -> Vec<Record> {
    let mut rows: Vec<Record> = findings.iter().filter_map(of_finding).collect();
    for phase in [
        Phase::Recon,
        Phase::InitialAccess,
        Phase::Persistence,
        Phase::Exfiltration,
        Phase::Cleanup,
    ] {
        let of: Vec<&Finding> = findings.iter().filter(|f| f.phase == phase).collect();
        // Hardening weaknesses (posture) carry their file's mtime, not a time of the
        // attack, and a file time read from the analysed copy (not recorded at collection) may
        // be a checkout's: listed, but not what a phase's span is made of.
        let times: Vec<(i64, i64)> = of
            .iter()
            .filter(|f| !f.has(Role::Posture) && f.time_source != TimeSource::FileMtime)
            .filter_map(|f| Some((micros(&f.first_seen)?, micros(&f.last_seen)?)))
            .collect();
        let (Some(first), Some(last)) = (
            times.iter().map(|t| t.0).min(),
            times.iter().map(|t| t.0.max(t.1)).max(),
        ) else {
            continue;
        };
        let rules: BTreeSet<&str> = of.iter().map(|f| f.rule).collect();
        let ips: BTreeSet<&String> = of.iter().flat_map(|f| &f.entities.ips).collect();
        let users: BTreeSet<&String> = of.iter().flat_map(|f| &f.entities.users).collect();
        let hosts: BTreeSet<&String> = of.iter().flat_map(|f| &f.hosts).collect();
        let worst = of.iter().map(|f| f.severity).max();
        let summary = format!(
            "{}: {} finding(s) from {} to {} ({})",
            phase_name(phase),
            of.len(),
            rfc3339(first),
            rfc3339(last),
            rules.into_iter().collect::<Vec<_>>().join(", ")
        );
        for (kind, at, verb) in [
            (Kind::PhaseStart, first, "begins"),
            (Kind::PhaseEnd, last, "ends"),
        ] {
            rows.push(Record {
                ts: rfc3339(at),
                ts_us: at,
                phase: Some(phase),
                kind,
                rule: None,
                severity: worst,
                message: format!("Phase {} {verb}. {summary}", phase_name(phase)),
                hosts: hosts.iter().map(|s| s.to_string()).collect(),
                ips: ips.iter().map(|s| s.to_string()).collect(),
                users: users.iter().map(|s| s.to_string()).collect(),
                attack: Vec::new(),
                count: of.len() as u64,
                source: None,
            });
        }
    }
    sort(&mut rows);
    rows
}

/// Orders rows by time; at one instant phase starts, events, findings, phase ends; then by
/// phase, rule, message, source line (deterministic).
pub fn sort(rows: &mut [Record]) {
    rows.sort_by(order);
}

/// The order of [`sort`].
pub fn order(a: &Record, b: &Record) -> std::cmp::Ordering {
    let src = |r: &Record| r.source.as_ref().map(|s| (s.line, s.path.clone()));
    (a.ts_us, a.kind, a.phase, a.rule, &a.message, src(a)).cmp(&(
        b.ts_us,
        b.kind,
        b.phase,
        b.rule,
        &b.message,
        src(b),
    ))
}
