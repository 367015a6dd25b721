//! A case of many hosts: each host's evidence judged on its own, then the findings judged
//! across hosts.
//!
//! Inputs are grouped by host ([`crate::parse::input::group_by_host`]); each host gets its
//! own detection run ([`super::host_findings`]: its own baselines, message joins and sealing),
//! at most `jobs` at once, so memory is that of `jobs` hosts whatever the fleet's size. The
//! runs are merged in host order — findings keep their `hosts`, counts add up, quotes keep
//! their host — and the [`FleetRule`]s of [`super::rules::fleet_rules`] read every host's
//! findings for what only the whole case shows: one attacker against several hosts, one
//! account abused on several, the same persistence planted on several, the order hosts fell.
//!
//! To add a cross-host check: a rule file in `src/detect/rules/` implementing [`FleetRule`],
//! listed in `fleet_rules`, catalogued with the role [`Role::Fleet`].

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Result;
use serde::Serialize;

use super::catalog::Role;
use super::finding::{Finding, Severity};
use super::{DetectConfig, Detected};

/// One host of the case, as the report's fleet summary shows it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HostRun {
    /// Its name ([`crate::parse::input::host_label`]).
    pub name: String,
    /// The inputs that are its evidence.
    pub inputs: Vec<String>,
    /// Whether any of its evidence could be read.
    pub read: bool,
    /// Mail log files, lines and events read.
    pub files: u64,
    /// Lines read.
    pub lines: u64,
    /// Events.
    pub events: u64,
    /// Its own findings.
    pub findings: usize,
    /// The worst severity among them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worst: Option<Severity>,
    /// When it fell: the first time of its first [`compromising`] finding (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compromised: Option<String>,
    /// That finding's rule and title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compromised_by: Option<(String, String)>,
}

impl HostRun {
    /// The summary of host `name`'s run `d` over `inputs`.
    pub fn of(name: &str, inputs: &[PathBuf], d: &Detected) -> HostRun {
        let first = d
            .findings
            .iter()
            .filter(|f| compromising(f))
            .min_by(|a, b| a.first_seen.cmp(&b.first_seen));
        HostRun {
            name: name.to_string(),
            inputs: inputs.iter().map(|p| p.display().to_string()).collect(),
            read: true,
            files: d.stats.files,
            lines: d.stats.lines,
            events: d.stats.events,
            findings: d.findings.len(),
            worst: d.findings.iter().map(|f| f.severity).max(),
            compromised: first.map(|f| f.first_seen.clone()),
            compromised_by: first.map(|f| (f.rule.to_string(), f.title.clone())),
        }
    }

    /// A host none of whose inputs could be read.
    fn unread(name: &str, inputs: &[PathBuf]) -> HostRun {
        HostRun {
            name: name.to_string(),
            inputs: inputs.iter().map(|p| p.display().to_string()).collect(),
            ..HostRun::default()
        }
    }
}

/// The roles that say the attacker *succeeded* on a host (an account taken or abused, an
/// entry planted, a vulnerability exploited, the host itself changed, mail read or sent, the
/// logs altered) — attempts alone (brute force, scans) leave a host targeted, not fallen.
const FALLEN: [Role; 10] = [
    Role::TakenAccount,
    Role::AbusedAccount,
    Role::PlantedEntry,
    Role::Exploit,
    Role::HostCompromise,
    Role::Implant,
    Role::MailRead,
    Role::MailCopied,
    Role::MailSent,
    Role::LogIntegrity,
];

/// Whether `f` says its host fell: a high or critical finding of a [`FALLEN`] role.
pub fn compromising(f: &Finding) -> bool {
    f.severity >= Severity::High && FALLEN.iter().any(|r| f.has(*r))
}

/// A check over every host's findings.
pub trait FleetRule: Send + Sync {
    /// The cross-host findings of `hosts` (in case order) and their `findings`.
    fn check(&self, hosts: &[HostRun], findings: &[Finding]) -> Vec<Finding>;
}

/// [`super::findings`] over several hosts' inputs, `groups` in host order.
pub fn findings(
    cfg: &DetectConfig,
    command: &str,
    quote: bool,
    groups: Vec<(Arc<str>, Vec<PathBuf>)>,
) -> Result<Option<Detected>> {
    let jobs = cfg.jobs.clamp(1, groups.len().max(1));
    eprintln!(
        "mailir {command}: {} hosts ({}), judged each on its own, {jobs} at a time, then across hosts",
        groups.len(),
        groups
            .iter()
            .map(|(h, _)| &**h)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Result<Option<Detected>>>>> =
        groups.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((host, inputs)) = groups.get(i) else {
                    break;
                };
                let mut one = cfg.clone();
                one.parse.inputs = inputs.clone();
                one.parse.host = Some(host.clone());
                let said = format!("{command} [{host}]");
                let got = super::host_findings(&one, &said, quote, host);
                if let Some(Ok(mut slot)) = slots.get(i).map(|m| m.lock()) {
                    *slot = Some(got);
                }
            });
        }
    });
    let mut merged: Option<Detected> = None;
    let mut hosts = Vec::with_capacity(groups.len());
    let mut unread = false;
    for ((host, inputs), slot) in groups.iter().zip(slots) {
        match slot.into_inner().ok().flatten() {
            Some(Ok(Some(mut d))) => {
                hosts.push(HostRun::of(host, inputs, &d));
                // Two bundles both hold `files/var/log/mail.log`: the list of logs read names
                // each one's host.
                for (path, _) in &mut d.files {
                    *path = format!("{host}: {path}");
                }
                merged = Some(match merged {
                    None => d,
                    Some(all) => merge(all, d),
                });
            }
            Some(Err(e)) => {
                eprintln!(
                    "mailir {command} [{host}]: {}",
                    crate::sanitize::terminal(&format!("{e:#}"))
                );
                unread = true;
                hosts.push(HostRun::unread(host, inputs));
            }
            _ => {
                eprintln!("mailir {command} [{host}]: no input of this host could be read");
                unread = true;
                hosts.push(HostRun::unread(host, inputs));
            }
        }
    }
    let Some(mut d) = merged else {
        return Ok(None);
    };
    d.input_errors |= unread;
    let mut cross = Vec::new();
    for rule in super::rules::fleet_rules() {
        cross.extend(
            rule.check(&hosts, &d.findings)
                .into_iter()
                .filter(|f| cfg.rules.runs(f.rule)),
        );
    }
    d.findings.extend(cross);
    super::sort(&mut d.findings);
    d.hosts = hosts;
    Ok(Some(d))
}

/// Two hosts' runs as one (`b` after `a`).
fn merge(mut a: Detected, b: Detected) -> Detected {
    a.findings.extend(b.findings);
    let mut activity: std::collections::BTreeMap<i64, u64> = a.activity.into_iter().collect();
    for (h, n) in b.activity {
        *activity.entry(h).or_default() += n;
    }
    a.activity = activity.into_iter().collect();
    a.stats.files += b.stats.files;
    a.stats.lines += b.stats.lines;
    a.stats.events += b.stats.events;
    a.stats.unparsed += b.stats.unparsed;
    a.stats.config_files += b.stats.config_files;
    a.stats.config_errors += b.stats.config_errors;
    a.stats.limits.extend(b.stats.limits);
    a.input_errors |= b.input_errors;
    a.files.extend(b.files);
    if !a.zone.split("; ").any(|z| z == b.zone) {
        a.zone = format!("{}; {}", a.zone, b.zone);
    }
    a.quotes.merge(b.quotes);
    a
}

/// The hosts of `findings` (each once, in case order of `hosts`).
pub fn hosts_of<'a>(hosts: &'a [HostRun], findings: &[&Finding]) -> Vec<&'a str> {
    hosts
        .iter()
        .map(|h| h.name.as_str())
        .filter(|h| findings.iter().any(|f| f.hosts.iter().any(|x| x == h)))
        .collect()
}

/// Groups the findings of several hosts by a key each finding gives (none, one or more):
/// the keys met on at least two hosts, each with its findings (in case order), sorted by key.
pub fn on_several_hosts<'a, K: Ord + Clone>(
    findings: impl IntoIterator<Item = &'a Finding>,
    keys: impl Fn(&'a Finding) -> Vec<K>,
) -> Vec<(K, Vec<&'a Finding>)> {
    let mut by: std::collections::BTreeMap<K, Vec<&'a Finding>> = Default::default();
    for f in findings.into_iter().filter(|f| f.hosts.len() == 1) {
        for k in keys(f) {
            let v = by.entry(k).or_default();
            if !v.iter().any(|g| std::ptr::eq(*g, f)) {
                v.push(f);
            }
        }
    }
    by.into_iter()
        .filter(|(_, v)| {
            let mut hosts: Vec<&str> = v.iter().map(|f| f.hosts[0].as_str()).collect();
            hosts.sort_unstable();
            hosts.dedup();
            hosts.len() >= 2
        })
        .collect()
}

/// A cross-host finding of `rule` resting on `members` (findings of several hosts): its
/// hosts, times, count (the members) and techniques (the rule's and the members') filled in;
/// the caller sets title, severity, summary and entities.
pub fn across(rule: &'static str, hosts: &[HostRun], members: &[&Finding]) -> Finding {
    let mut f = Finding::of(rule);
    f.hosts = hosts_of(hosts, members)
        .into_iter()
        .map(str::to_string)
        .collect();
    f.first_seen = members
        .iter()
        .map(|m| m.first_seen.as_str())
        .min()
        .unwrap_or_default()
        .to_string();
    f.last_seen = members
        .iter()
        .map(|m| m.last_seen.as_str())
        .max()
        .unwrap_or_default()
        .to_string();
    f.count = members.len() as u64;
    for m in members {
        for a in &m.attack {
            if !f.attack.contains(a) {
                f.attack.push(a);
            }
        }
        if m.time_source != super::finding::TimeSource::Events {
            f.time_source = m.time_source;
        }
    }
    f
}

/// "mx1: auth.brute_force, auth.compromised_account; imap1: …" — what each host's
/// findings in `members` are (at most `MAX_LISTED` hosts named, the rest counted).
pub fn per_host(hosts: &[HostRun], members: &[&Finding]) -> String {
    let named = hosts_of(hosts, members);
    let mut parts: Vec<String> = named
        .iter()
        .take(MAX_LISTED)
        .map(|h| {
            let mut rules: Vec<&str> = members
                .iter()
                .filter(|f| f.hosts.iter().any(|x| x == h))
                .map(|f| f.rule)
                .collect();
            rules.sort_unstable();
            rules.dedup();
            format!("{h}: {}", rules.join(", "))
        })
        .collect();
    if named.len() > MAX_LISTED {
        parts.push(format!("and {} more hosts", named.len() - MAX_LISTED));
    }
    parts.join("; ")
}

/// Hosts named one by one in a summary.
pub const MAX_LISTED: usize = 12;

#[cfg(test)]
pub mod tests {
    use super::*;

    /// A finding of `rule` on `host` at `first_seen` (RFC 3339), of `severity`.
    pub fn on(rule: &'static str, host: &str, first_seen: &str, severity: Severity) -> Finding {
        let mut f = Finding::of(rule);
        f.hosts = vec![host.to_string()];
        f.first_seen = first_seen.to_string();
        f.last_seen = first_seen.to_string();
        f.severity = severity;
        f
    }

    /// Hosts `names`, read, none fallen.
    pub fn hosts(names: &[&str]) -> Vec<HostRun> {
        names
            .iter()
            .map(|n| HostRun {
                name: n.to_string(),
                read: true,
                ..HostRun::default()
            })
            .collect()
    }

    #[test]
    fn only_a_successful_attack_makes_a_host_fallen() {
        let mut f = Finding::of("auth.compromised_account");
        f.severity = Severity::Critical;
        assert!(compromising(&f));
        f.severity = Severity::Medium;
        assert!(!compromising(&f), "a medium finding is not a fall");
        let mut b = Finding::of("auth.brute_force");
        b.severity = Severity::High;
        assert!(!compromising(&b), "attempts leave a host targeted");
    }
}
