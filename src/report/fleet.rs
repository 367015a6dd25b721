//! The report's fleet summary, for a case of several hosts: one line per host (fallen, only
//! targeted, quiet, or unread, with when it fell and the finding that says so), the findings
//! across hosts, then a short section per host listing its own findings.
//!
//! Hosts come from the detection run ([`crate::detect::fleet::HostRun`], in case order);
//! findings are placed by their `hosts` and selected by role — the cross-host ones have
//! [`Role::Fleet`], a host is *targeted* when one of its findings has
//! [`Role::AttackerSource`] — never by rule id. To show more per host: a field on
//! [`HostLine`] and its cell in both renderers.

use serde::Serialize;

use super::model::Entry;
use super::Lang;
use crate::detect::catalog::Role;
use crate::detect::fleet::HostRun;

/// Findings listed by number in a host's section (the findings list has every one).
const LISTED: usize = 40;

/// The fleet summary.
#[derive(Debug, Clone, Serialize)]
pub struct Fleet {
    /// One line per host, in case order.
    pub hosts: Vec<HostLine>,
    /// The cross-host findings' numbers (`F3`), in report order.
    pub across: Vec<String>,
}

/// One host of the fleet summary.
#[derive(Debug, Clone, Serialize)]
pub struct HostLine {
    /// Its name.
    pub name: String,
    /// `fallen`, `targeted`, `quiet` or `unread`.
    pub status: &'static str,
    /// When it fell (RFC 3339), when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fell: Option<String>,
    /// The finding that says it fell (`F12 · title`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fell_by: Option<String>,
    /// Its order among the fallen hosts (1: the first to fall).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<usize>,
    /// Its own findings' numbers, worst first (at most [`LISTED`]).
    pub findings: Vec<String>,
    /// How many findings it has in all.
    pub total: usize,
    /// Its worst severity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worst: Option<crate::detect::finding::Severity>,
    /// Mail log files, lines and events read from it.
    pub read: (u64, u64, u64),
    /// The inputs that are its evidence.
    pub inputs: Vec<String>,
}

/// The fleet summary of `hosts` and the report's `entries`; `None` for one host.
pub fn of(hosts: &[HostRun], entries: &[Entry]) -> Option<Fleet> {
    if hosts.len() < 2 {
        return None;
    }
    let mut fallen: Vec<&HostRun> = hosts.iter().filter(|h| h.compromised.is_some()).collect();
    fallen.sort_by(|a, b| a.compromised.cmp(&b.compromised).then(a.name.cmp(&b.name)));
    let lines = hosts
        .iter()
        .map(|h| {
            let mut own: Vec<&Entry> = entries
                .iter()
                .filter(|e| e.finding.hosts.len() == 1 && e.finding.hosts[0] == h.name)
                .collect();
            own.sort_by_key(|e| std::cmp::Reverse(e.finding.severity));
            let targeted = own.iter().any(|e| e.finding.has(Role::AttackerSource));
            let status = match (h.read, h.compromised.is_some(), targeted) {
                (false, _, _) => "unread",
                (true, true, _) => "fallen",
                (true, false, true) => "targeted",
                (true, false, false) => "quiet",
            };
            let fell_by = h.compromised_by.as_ref().and_then(|(rule, title)| {
                own.iter()
                    .find(|e| e.finding.rule == rule && e.finding.title == *title)
                    .map(|e| format!("{} · {}", e.id, e.title))
            });
            HostLine {
                name: h.name.clone(),
                status,
                fell: h.compromised.clone(),
                fell_by,
                order: fallen.iter().position(|f| f.name == h.name).map(|i| i + 1),
                findings: own.iter().take(LISTED).map(|e| e.id.clone()).collect(),
                total: own.len(),
                worst: h.worst,
                read: (h.files, h.lines, h.events),
                inputs: h.inputs.clone(),
            }
        })
        .collect();
    let across = entries
        .iter()
        .filter(|e| e.finding.has(Role::Fleet))
        .map(|e| e.id.clone())
        .collect();
    Some(Fleet {
        hosts: lines,
        across,
    })
}

/// The status word in the report's language.
pub fn status_word(status: &str, lang: Lang) -> &'static str {
    match (status, lang) {
        ("fallen", Lang::En) => "fallen",
        ("targeted", Lang::En) => "targeted only",
        ("quiet", Lang::En) => "no attack seen",
        ("fallen", Lang::Zh) => "已失陷",
        ("targeted", Lang::Zh) => "仅遭攻击",
        ("quiet", Lang::Zh) => "未见攻击",
        (_, Lang::En) => "evidence unreadable",
        (_, Lang::Zh) => "证据无法读取",
    }
}

/// The cells of a host's line: host, status, order and time of its fall, the finding that
/// says so, its findings (count and worst), what was read.
pub fn cells(h: &HostLine, lang: Lang) -> [String; 6] {
    let fell = match (&h.order, &h.fell) {
        (Some(n), Some(at)) => format!("#{n} {at}"),
        _ => "—".to_string(),
    };
    let findings = match h.worst {
        Some(w) => format!("{} ({})", h.total, super::model::severity_word(w, lang)),
        None => h.total.to_string(),
    };
    [
        h.name.clone(),
        status_word(h.status, lang).to_string(),
        fell,
        h.fell_by.clone().unwrap_or_else(|| "—".to_string()),
        findings,
        format!("{} / {} / {}", h.read.0, h.read.1, h.read.2),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::finding::{Finding, Severity};

    fn entry(id: &str, rule: &'static str, host: &str, sev: Severity) -> Entry {
        let mut f = Finding::of(rule);
        f.hosts = vec![host.to_string()];
        f.severity = sev;
        f.title = format!("{rule} on {host}");
        Entry::bare(id, f)
    }

    #[test]
    fn each_host_gets_its_status_and_order() {
        let run = |name: &str, fell: Option<&str>| HostRun {
            name: name.into(),
            read: true,
            compromised: fell.map(str::to_string),
            compromised_by: fell.map(|_| {
                (
                    "auth.compromised_account".to_string(),
                    format!("auth.compromised_account on {name}"),
                )
            }),
            ..HostRun::default()
        };
        let hosts = vec![
            run("mx1", Some("2026-03-03T18:14:07Z")),
            run("imap1", Some("2026-03-03T17:00:00Z")),
            run("web1", None),
            run("relay1", None),
            HostRun {
                name: "dead1".into(),
                ..HostRun::default()
            },
        ];
        let entries = vec![
            entry(
                "F1",
                "auth.compromised_account",
                "imap1",
                Severity::Critical,
            ),
            entry("F2", "auth.compromised_account", "mx1", Severity::Critical),
            entry("F3", "auth.brute_force", "web1", Severity::High),
        ];
        let f = of(&hosts, &entries).unwrap();
        let by: Vec<(&str, &str, Option<usize>)> = f
            .hosts
            .iter()
            .map(|h| (h.name.as_str(), h.status, h.order))
            .collect();
        assert_eq!(
            by,
            [
                ("mx1", "fallen", Some(2)),
                ("imap1", "fallen", Some(1)),
                ("web1", "targeted", None),
                ("relay1", "quiet", None),
                ("dead1", "unread", None)
            ]
        );
        assert_eq!(
            f.hosts[1].fell_by.as_deref(),
            Some("F1 · auth.compromised_account on imap1")
        );
        assert!(of(&hosts[..1], &entries).is_none());
    }
}
