//! The events around the findings: a second pass over the logs keeps what a responder reads
//! next to the findings — everything the attacking addresses did (failed and successful logins,
//! probes, relay attempts, rejects, submissions), what the compromised or abusing accounts did
//! (logins, submissions, deliveries), and the mail system's restarts and reloads — not the
//! millions of ordinary deliveries.
//!
//! Which addresses and accounts matter comes from the findings ([`Interest::of`]); each kept
//! event is placed in the phase of the finding that named its address or account. The lines
//! a log-integrity finding cites (the last line before a cut and the first after it, a line
//! whose time runs backwards) are kept too, in `cleanup`. At most
//! [`MAX_EVENTS`] are kept (the run says how many more there were).

use std::collections::BTreeMap;

use crate::detect::catalog::Role;
use crate::detect::entity::{EntityKind, EntityRole};
use crate::detect::fact::{Fact, FactSink};
use crate::detect::finding::{Finding, Phase};
use crate::events::record::Kind;

use super::record::{rfc3339, Kind as RowKind, Record, Source};

/// Most context events kept.
pub const MAX_EVENTS: usize = 200_000;

/// The addresses and accounts the findings name: for an address the phase it first appears
/// in; for an account the phase and the time from which it is of interest (its first finding:
/// its own logins before were its owner's).
#[derive(Debug, Default)]
pub struct Interest {
    ips: BTreeMap<String, Phase>,
    users: BTreeMap<String, (Phase, i64)>,
    /// Evidence lines of the log-integrity findings (a gap's edges, a reversal), by path.
    edges: BTreeMap<String, std::collections::BTreeSet<u64>>,
}

impl Interest {
    /// From the log findings (configuration findings name files, not actors).
    pub fn of(findings: &[Finding]) -> Interest {
        let mut i = Interest::default();
        for f in findings.iter().filter(|f| f.has(Role::LogIntegrity)) {
            for e in &f.evidence {
                i.edges
                    .entry(e.path.clone())
                    .or_default()
                    .extend(e.lines.iter().copied());
            }
        }
        for f in findings {
            if f.has(Role::PlantedEntry) || f.has(Role::Posture) {
                continue;
            }
            // An account's usual address is its owner's: what it did is not the attack's.
            let e = &f.entities;
            for ip in e
                .ips
                .iter()
                .filter(|ip| e.role(EntityKind::Ip, ip) != Some(EntityRole::UsualSource))
            {
                i.ips.entry(ip.clone()).or_insert(f.phase);
            }
            // Accounts a finding is *about* (taken over, abused, logging in oddly); an
            // attack's tried accounts are its victims' names, not actors.
            if f.has(Role::AccountActivity) {
                let since = chrono::DateTime::parse_from_rfc3339(&f.first_seen)
                    .map_or(i64::MIN, |t| t.timestamp_micros());
                for u in &f.entities.users {
                    let e = i.users.entry(u.clone()).or_insert((f.phase, since));
                    if since < e.1 {
                        *e = (f.phase, since);
                    }
                }
            }
        }
        i
    }

    /// Whether what `ip` did is kept as context.
    #[cfg(test)]
    pub fn follows_ip(&self, ip: &str) -> bool {
        self.ips.contains_key(ip)
    }

    /// Whether what account `user` did is kept as context.
    #[cfg(test)]
    pub fn follows_user(&self, user: &str) -> bool {
        self.users.contains_key(user)
    }

    /// Whether nothing is of interest.
    pub fn is_empty(&self) -> bool {
        self.ips.is_empty() && self.users.is_empty() && self.edges.is_empty()
    }

    /// The phase a fact belongs to when it is of interest; `Some(None)` for context without
    /// a phase (restarts).
    fn phase_of(&self, f: &Fact) -> Option<Option<Phase>> {
        if f.kind == Kind::Service {
            return Some(None);
        }
        if let Some(p) = f.src_ip().and_then(|ip| self.ips.get(ip)) {
            if f.kind != Kind::AuthBackendFailure {
                return Some(Some(*p));
            }
        }
        let by_user = matches!(
            f.kind,
            Kind::AuthSuccess | Kind::MessageReceived | Kind::Delivery | Kind::Forwarded
        );
        if by_user {
            // The account's own actions (its logins, what it submitted and where that went),
            // and what its mailbox's forwards sent on.
            let account = f
                .actor()
                .or_else(|| (f.kind == Kind::Forwarded).then(|| f.mailbox()).flatten());
            if let Some((p, since)) = account.and_then(|u| self.users.get(u)) {
                if f.ts_us < *since {
                    return None;
                }
                // What the account sent is the abuse. Its logins from an attacking address
                // were taken above; from elsewhere they are its owner's, shown as context.
                return Some(match f.kind {
                    Kind::Delivery | Kind::Forwarded => Some(Phase::Exfiltration),
                    _ if f.src_ip().is_some() => None,
                    _ => Some(*p),
                });
            }
        }
        None
    }
}

/// Gathers the facts of interest of a parse pass.
pub struct Gather {
    interest: Interest,
    kept: Vec<(Option<Phase>, Fact)>,
    /// Files of the pass, by number.
    files: Vec<(String, Option<String>)>,
    /// The host of each file, by file number.
    hosts: Vec<String>,
    /// Facts of interest beyond [`MAX_EVENTS`].
    pub dropped: u64,
    /// `--all`: every fact is kept, in sorted runs on disk.
    all: Option<super::spill::Runs>,
}

impl Gather {
    /// Gathers what `interest` names.
    pub fn new(interest: Interest) -> Gather {
        Gather {
            interest,
            kept: Vec::new(),
            files: Vec::new(),
            hosts: Vec::new(),
            dropped: 0,
            all: None,
        }
    }

    /// Gathers every fact (`--all`), the ones `interest` names in their phases, the rest as
    /// context; spilled to sorted runs of `run_rows` rows in `runs`.
    pub fn everything(interest: Interest, runs: super::spill::Runs) -> Gather {
        Gather {
            all: Some(runs),
            ..Gather::new(interest)
        }
    }

    /// The kept facts so far as rows, sorted, and the runs spilled before (`--all`).
    pub fn finish(mut self) -> (Vec<Record>, Option<super::spill::Runs>) {
        let mut rows = self.records();
        super::record::sort(&mut rows);
        self.kept.clear();
        (rows, self.all.take())
    }

    /// The rows of the kept facts.
    pub fn records(&self) -> Vec<Record> {
        self.kept
            .iter()
            .map(|(phase, f)| {
                let (path, sha) = self.files.get(f.file as usize).cloned().unwrap_or_default();
                let host = self.hosts.get(f.file as usize).cloned().unwrap_or_default();
                Record {
                    ts: rfc3339(f.ts_us),
                    ts_us: f.ts_us,
                    phase: *phase,
                    kind: RowKind::Event,
                    rule: None,
                    severity: None,
                    message: describe(f),
                    hosts: vec![host],
                    ips: f.src_ip().map(str::to_string).into_iter().collect(),
                    users: accounts(f),
                    attack: Vec::new(),
                    count: 1,
                    source: Some(Source {
                        path,
                        line: Some(f.line),
                        sha256: sha,
                    }),
                }
            })
            .collect()
    }
}

impl Gather {
    /// Whether the fact is an evidence line of a log-integrity finding.
    fn is_edge(&self, f: &Fact) -> bool {
        self.files
            .get(f.file as usize)
            .and_then(|(path, _)| self.interest.edges.get(path))
            .is_some_and(|lines| lines.contains(&f.line))
    }
}

impl FactSink for Gather {
    fn facts(&mut self, facts: Vec<Fact>) {
        for f in facts {
            let phase = if self.is_edge(&f) {
                Some(Some(Phase::Cleanup))
            } else {
                self.interest.phase_of(&f)
            };
            let phase = match (phase, &self.all) {
                (Some(p), _) => p,
                (None, Some(_)) => None,
                (None, None) => continue,
            };
            if self.all.is_some() {
                self.kept.push((phase, f));
                if self
                    .all
                    .as_ref()
                    .is_some_and(|r| self.kept.len() >= r.run_rows)
                {
                    let mut rows = self.records();
                    super::record::sort(&mut rows);
                    self.kept.clear();
                    if let Some(runs) = self.all.as_mut() {
                        runs.spill(&rows);
                    }
                }
            } else if self.kept.len() < MAX_EVENTS {
                self.kept.push((phase, f));
            } else {
                self.dropped += 1;
            }
        }
    }

    fn file(&mut self, id: u32, path: &str, sha256: Option<&str>) {
        let id = id as usize;
        if self.files.len() <= id {
            self.files.resize(id + 1, Default::default());
        }
        self.files[id] = (path.to_string(), sha256.map(str::to_string));
    }

    fn file_host(&mut self, id: u32, host: &str) {
        let id = id as usize;
        if self.hosts.len() <= id {
            self.hosts.resize(id + 1, String::new());
        }
        self.hosts[id] = host.to_string();
    }
}

/// The accounts a fact names: its actor, then the mailbox when another.
fn accounts(f: &Fact) -> Vec<String> {
    let mut v: Vec<String> = f.actor().map(str::to_string).into_iter().collect();
    if let Some(m) = f.mailbox().filter(|m| Some(*m) != f.actor()) {
        v.push(m.to_string());
    }
    v
}

/// One line about a fact: its kind and the fields it has.
fn describe(f: &Fact) -> String {
    let mut s = f.kind.name().to_string();
    let mut add = |label: &str, v: Option<&str>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            s.push(' ');
            s.push_str(label);
            s.push_str(v);
        }
    };
    add("actor=", f.actor());
    if f.mailbox() != f.actor() {
        add("mailbox=", f.mailbox());
    }
    add("from ", f.src_ip());
    add("sender=", f.sender());
    add("to ", f.recipient());
    add("status=", f.status());
    add("via ", f.relay());
    add("queue ", f.queue_id());
    // Exchange / M365 details are structured: said in words, not as JSON.
    let readable = f
        .detail()
        .and_then(crate::events::detail::Detail::from_text)
        .map(|d| d.summary());
    add("— ", readable.as_deref().or(f.detail()));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::fact::Field;
    use crate::detect::finding::{Entities, Severity};
    use crate::detect::rules::tests::{fact, failure, success};

    fn finding(rule: &'static str, phase: Phase, ips: &[&str], users: &[&str]) -> Finding {
        Finding {
            title: String::new(),
            severity: Severity::High,
            phase,
            attack: Vec::new(),
            first_seen: crate::timeline::record::rfc3339(crate::detect::rules::tests::T0),
            last_seen: String::new(),
            count: 1,
            entities: Entities {
                ips: ips.iter().map(|s| s.to_string()).collect(),
                users: users.iter().map(|s| s.to_string()).collect(),
                files: Vec::new(),
                ..Entities::default()
            },
            summary: String::new(),
            evidence: Vec::new(),
            remediation: Vec::new(),
            ..Finding::of(rule)
        }
    }

    #[test]
    fn keeps_what_attackers_and_taken_accounts_did_and_nothing_else() {
        let findings = [
            finding("recon.scan", Phase::Recon, &["203.0.113.45"], &[]),
            finding(
                "auth.brute_force",
                Phase::InitialAccess,
                &["203.0.113.77"],
                &["admin", "liwei"],
            ),
            finding(
                "auth.compromised_account",
                Phase::InitialAccess,
                &["203.0.113.77"],
                &["liwei"],
            ),
        ];
        let mut g = Gather::new(Interest::of(&findings));
        let sent = fact(Kind::Delivery, 50, "", "liwei")
            .with(Field::SrcIp, None)
            .with(Field::Recipient, Some("x@spam.example"));
        g.facts(vec![
            // The owner's own login before the takeover: not kept.
            fact(Kind::AuthSuccess, -60, "192.0.2.10", "liwei"),
            failure(1, "203.0.113.45", "admin"),
            failure(2, "203.0.113.77", "admin"),
            success(3, "203.0.113.77", "liwei"),
            // A colleague's ordinary login and a brute-forced name's own login: not kept.
            success(4, "192.0.2.10", "chenjing"),
            success(5, "192.0.2.11", "admin"),
            sent,
            // The owner, still at work after the takeover: context, no phase.
            success(60, "192.0.2.10", "liwei"),
        ]);
        let rows = g.records();
        let got: Vec<(Option<Phase>, String)> =
            rows.iter().map(|r| (r.phase, r.message.clone())).collect();
        assert_eq!(got.len(), 5, "{got:?}");
        assert_eq!(got[4].0, None);
        assert_eq!(got[0].0, Some(Phase::Recon));
        assert_eq!(got[1].0, Some(Phase::InitialAccess));
        assert!(got[2]
            .1
            .starts_with("auth_success actor=liwei from 203.0.113.77"));
        assert_eq!(got[3].0, Some(Phase::Exfiltration));
        assert!(got[3].1.contains("to x@spam.example"));
    }
}
