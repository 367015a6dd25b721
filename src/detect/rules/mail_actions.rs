//! Shared by the rules about what was done to mail in Exchange and Microsoft 365 — searches,
//! exports, delegations, consents, protocol and audit settings: which accounts the earlier
//! findings name as taken (and from which addresses), the words a search for something worth
//! stealing uses, account names compared across logs, the role of an address, and the
//! per-mailbox [`Accessed`] records of a finding.
//!
//! Takeovers are learned from the findings of the rules that run before these
//! ([`super::Rule::finish_with`]): an account a finding with the catalogue role
//! [`Role::TakenAccount`] names as its victim (`auth.compromised_account`,
//! `auth.rule_after_login`) is taken from that finding's first time on; the addresses those
//! findings name as an attacker's or a stolen login's are the attacker's.

use std::collections::{BTreeMap, BTreeSet};

use super::cloud::Group;
use super::Shared;
use crate::detect::catalog::Role;
use crate::detect::entity::{default_role, EntityKind, EntityRole};
use crate::detect::finding::{ts, Accessed, Finding};

/// Taken accounts and the attacker's addresses, from earlier findings.
#[derive(Debug, Default, Clone)]
pub struct Taken {
    /// Account (lower case) → the time it was taken (µs).
    accounts: BTreeMap<String, i64>,
    /// Addresses of attackers and of stolen logins.
    ips: BTreeSet<String>,
}

impl Taken {
    /// What `earlier` findings say.
    pub fn of(earlier: &[Finding]) -> Taken {
        let mut t = Taken::default();
        for f in earlier {
            let e = &f.entities;
            let role = |kind: EntityKind, v: &str| {
                e.role(kind, v)
                    .unwrap_or_else(|| default_role(kind, f.roles))
            };
            for ip in &e.ips {
                if role(EntityKind::Ip, ip).blocked() {
                    t.ips.insert(ip.clone());
                }
            }
            if !f.has(Role::TakenAccount) {
                continue;
            }
            let Ok(at) = chrono::DateTime::parse_from_rfc3339(&f.first_seen) else {
                continue;
            };
            let at = at.timestamp_micros();
            for u in &e.users {
                if role(EntityKind::User, u) == EntityRole::VictimAccount {
                    let k = u.to_ascii_lowercase();
                    let e = t.accounts.entry(k).or_insert(at);
                    *e = (*e).min(at);
                }
            }
        }
        t
    }

    /// Whether `user` was taken at or before `ts`.
    pub fn account(&self, user: &str, ts: i64) -> bool {
        self.accounts
            .iter()
            .any(|(u, at)| *at <= ts && same_account(u, user))
    }

    /// Whether `ip` is an attacker's or a stolen login's.
    pub fn ip(&self, ip: &str) -> bool {
        self.ips.contains(ip)
    }

    /// Whether an action by `user` from `ip` at `ts` was the attacker's: a taken account's
    /// after its takeover, or from the attacker's address.
    pub fn acted(&self, user: Option<&str>, ip: Option<&str>, ts: i64) -> bool {
        user.is_some_and(|u| self.account(u, ts)) || ip.is_some_and(|i| self.ip(i))
    }
}

/// Whether two account names are one account: equal without regard to case, or one is the
/// other's local part (`megan` and `megan@contoso.example`: cmdlets take aliases, the audit
/// log writes UPNs).
pub fn same_account(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    if a.eq_ignore_ascii_case(b) {
        return true;
    }
    let local = |s: &str| s.split('@').next().unwrap_or(s).to_ascii_lowercase();
    (a.contains('@') != b.contains('@')) && !a.is_empty() && local(a) == local(b)
}

/// Words of a search for something worth stealing (credentials, payments, contracts), in
/// English and Chinese; matched without regard to case inside the query.
pub const SENSITIVE: &[&str] = &[
    "password",
    "passwd",
    "credential",
    "login",
    "vpn",
    "secret",
    "confidential",
    "invoice",
    "payment",
    "wire",
    "bank",
    "iban",
    "swift",
    "payroll",
    "salary",
    "contract",
    "passport",
    "ssn",
    "密码",
    "口令",
    "凭据",
    "账号",
    "帐号",
    "发票",
    "付款",
    "汇款",
    "转账",
    "银行",
    "合同",
    "工资",
    "薪资",
    "机密",
    "保密",
    "身份证",
];

/// The sensitive words a query holds, in [`SENSITIVE`]'s order.
pub fn sensitive(query: &str) -> Vec<&'static str> {
    let q = query.to_lowercase();
    SENSITIVE
        .iter()
        .copied()
        .filter(|w| q.contains(w))
        .collect()
}

/// The role of an address an account acted from at `ts`: an attacker's or a stolen login's
/// (an earlier finding said so), new to the account, usual for it, or only observed.
pub fn ip_role(shared: &Shared, taken: &Taken, user: &str, ip: &str, ts: i64) -> EntityRole {
    if taken.ip(ip) {
        EntityRole::StolenLoginSource
    } else if shared.sources.is_new(user, ip, ts) {
        EntityRole::NewSource
    } else if shared.sources.is_usual(user, ip, ts) {
        EntityRole::UsualSource
    } else {
        EntityRole::Observed
    }
}

/// What a finding says was done to one mailbox, gathered event by event.
#[derive(Debug, Default, Clone)]
pub struct Access {
    /// Actors other than the mailbox's owner.
    pub actors: BTreeSet<String>,
    /// Addresses.
    pub ips: BTreeSet<String>,
    /// Folders named.
    pub folders: BTreeSet<String>,
    /// First and last time (µs).
    pub first: i64,
    /// Last time.
    pub last: i64,
    /// Events.
    pub count: u64,
    /// Messages the records say were taken (the most any one record gave: an export and its
    /// download are the same messages).
    pub messages: Option<u64>,
    /// Their bytes, likewise.
    pub bytes: Option<u64>,
}

impl Access {
    /// Adds what one record says was taken.
    pub fn took(&mut self, messages: Option<u64>, bytes: Option<u64>) {
        self.messages = self.messages.max(messages);
        self.bytes = self.bytes.max(bytes);
    }

    /// Adds one event by `actor` from `ip` at `ts`, for mailbox `mailbox`.
    pub fn add(&mut self, mailbox: &str, actor: &str, ip: Option<&str>, ts: i64) {
        if self.count == 0 || ts < self.first {
            self.first = ts;
        }
        self.last = self.last.max(ts);
        self.count += 1;
        if !same_account(mailbox, actor) && self.actors.len() < 16 {
            self.actors.insert(actor.to_string());
        }
        if let Some(ip) = ip.filter(|_| self.ips.len() < 64) {
            self.ips.insert(ip.to_string());
        }
    }

    /// The record of mailbox `mailbox`, done `how` (`search`, `export` …).
    pub fn record(&self, mailbox: &str, how: &str) -> Accessed {
        Accessed {
            mailbox: mailbox.to_string(),
            actor: (!self.actors.is_empty())
                .then(|| self.actors.iter().cloned().collect::<Vec<_>>().join(", ")),
            sources: self.ips.iter().cloned().collect(),
            how: how.to_string(),
            first_seen: ts(self.first),
            last_seen: ts(self.last),
            folders: self.folders.iter().cloned().collect(),
            sessions: self.count,
            messages: self.messages,
            bytes: self.bytes,
            ..Accessed::default()
        }
    }
}

/// The mailboxes a search or export covers, as the records name them (`All` for every
/// mailbox), else the mailbox the event concerns.
pub fn mailboxes(locations: &[String], mailbox: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = locations.to_vec();
    if out.is_empty() {
        out.extend(mailbox.map(str::to_string));
    }
    out.truncate(32);
    out
}

/// Tags the addresses of `g` by [`ip_role`] of `actor` at each one's first use (`firsts`),
/// and the actor as the victim when the attacker acted as it, else observed.
pub fn tag_actor(
    f: &mut Finding,
    shared: &Shared,
    taken: &Taken,
    actor: &str,
    by_attacker: bool,
    firsts: &BTreeMap<String, i64>,
) {
    for (ip, at) in firsts {
        f.entities
            .tag(EntityKind::Ip, ip, ip_role(shared, taken, actor, ip, *at));
    }
    if actor != "unknown" {
        let role = if by_attacker {
            EntityRole::VictimAccount
        } else {
            EntityRole::Observed
        };
        f.entities.tag(EntityKind::User, actor, role);
    }
}

/// Adds an event to a group and remembers its address's first time.
pub fn add(g: &mut Group, firsts: &mut BTreeMap<String, i64>, f: &crate::detect::fact::Fact) {
    g.add(f);
    if let Some(ip) = f.src_ip() {
        let e = firsts.entry(ip.to_string()).or_insert(f.ts_us);
        *e = (*e).min(f.ts_us);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_names_across_logs() {
        assert!(same_account(
            "Megan@Contoso.example",
            "megan@contoso.example"
        ));
        assert!(same_account("megan", "megan@contoso.example"));
        assert!(!same_account("megan@a.example", "megan@b.example"));
        assert!(!same_account("meg", "megan@contoso.example"));
    }

    #[test]
    fn sensitive_words_in_either_language() {
        assert_eq!(sensitive("Wire Transfer"), ["wire"]);
        assert_eq!(
            sensitive("password OR 密码 OR 合同 OR invoice"),
            ["password", "invoice", "密码", "合同"]
        );
        assert!(sensitive("budget Q2").is_empty());
    }
}

/// Builders the mail-access rules' tests share.
#[cfg(test)]
pub mod testing {
    use crate::detect::entity::EntityKind;
    use crate::detect::fact::{Fact, Field};
    use crate::detect::finding::{ts, Finding};
    use crate::detect::rules::tests::{fact, T0};
    use crate::detect::rules::{Files, Rule, Shared};
    use crate::events::record::Kind;

    /// A fact of `kind` by `user` from `ip` (none when empty) at `secs` after T0, with
    /// `detail` (JSON), the mailbox and the status.
    pub fn act(
        kind: Kind,
        secs: i64,
        ip: &str,
        user: &str,
        mailbox: Option<&str>,
        status: Option<&str>,
        detail: serde_json::Value,
    ) -> Fact {
        fact(kind, secs, ip, user)
            .with(Field::SrcIp, (!ip.is_empty()).then_some(ip))
            .with(Field::Detail, Some(&detail.to_string()))
            .with(Field::Mailbox, mailbox)
            .with(Field::Status, status)
    }

    /// An `auth.compromised_account` finding: `user` taken from `ip` at `secs`.
    pub fn taken(user: &str, ip: &str, secs: i64) -> Finding {
        let mut f = Finding {
            first_seen: ts(T0 + secs * 1_000_000),
            last_seen: ts(T0 + secs * 1_000_000),
            ..Finding::of("auth.compromised_account")
        };
        f.entities.users.push(user.into());
        f.entities.ips.push(ip.into());
        f
    }

    /// Runs `rule` over `facts` with the shared state, then finishes it knowing `earlier`.
    pub fn run(mut rule: Box<dyn Rule>, facts: &[Fact], earlier: &[Finding]) -> Vec<Finding> {
        let mut shared = Shared::default();
        for f in facts {
            shared.observe(f);
            rule.observe(f);
        }
        shared.settle();
        let files: &Files = &[("m365/audit.jsonl".to_string(), None)];
        rule.finish_with(files, &shared, earlier)
    }

    /// A finding's role of an entity, by name.
    pub fn role(f: &Finding, kind: EntityKind, v: &str) -> Option<&'static str> {
        f.entities.role(kind, v).map(|r| r.name())
    }
}
