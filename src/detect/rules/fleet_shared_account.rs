//! `fleet.shared_account` — one account taken or abused on several hosts of the case.
//!
//! **Why**: one stolen password opens every service that shares the directory — the MX's
//! submission, the IMAP back end, the webmail — and a reused one opens unrelated servers; the
//! account must be reset everywhere at once, and its mail on each host is within the
//! notification's scope (counted once). **How**: every account that a host's own findings of
//! a taken or abused account (`victim_account` in a finding of role `taken_account` or
//! `abused_account`) name is gathered across hosts by its name without domain, case folded
//! (`carol` on the IMAP host is `carol@lab.example` on the MX); one met on two or more hosts is
//! a finding naming each host with the rules that named it there. **Severity**: critical when
//! taken (logged into by an attacker) on two or more hosts, else high. **ATT&CK**: T1078
//! (Valid Accounts) and the techniques of the findings it rests on. **Phase**: initial
//! access. **False positives**: two people with one account name on unrelated servers (the
//! names per host are listed).

use crate::detect::catalog::Role;
use crate::detect::entity::{EntityKind, EntityRole};
use crate::detect::finding::{Finding, Severity};
use crate::detect::fleet::{across, hosts_of, on_several_hosts, per_host, FleetRule, HostRun};

/// The rule.
pub struct SharedAccount;

/// An account name without its domain, case folded.
fn local_part(name: &str) -> String {
    let local = name.rsplit_once('@').map_or(name, |(l, _)| l);
    let local = local.rsplit_once('\\').map_or(local, |(_, l)| l);
    local.to_lowercase()
}

/// Whether `f` says an account was taken or abused.
fn misused(f: &Finding) -> bool {
    f.has(Role::TakenAccount) || f.has(Role::AbusedAccount)
}

impl FleetRule for SharedAccount {
    fn check(&self, hosts: &[HostRun], findings: &[Finding]) -> Vec<Finding> {
        let groups = on_several_hosts(findings, |f| {
            if !misused(f) {
                return Vec::new();
            }
            f.entities
                .with_role(EntityKind::User, &[EntityRole::VictimAccount])
                .map(|u| local_part(u))
                .collect()
        });
        groups
            .into_iter()
            .map(|(account, members)| {
                let mut f = across("fleet.shared_account", hosts, &members);
                let taken: Vec<&Finding> = members
                    .iter()
                    .copied()
                    .filter(|m| m.has(Role::TakenAccount))
                    .collect();
                f.severity = if hosts_of(hosts, &taken).len() >= 2 {
                    Severity::Critical
                } else {
                    Severity::High
                };
                let mut names: Vec<&String> = members
                    .iter()
                    .flat_map(|m| {
                        m.entities
                            .with_role(EntityKind::User, &[EntityRole::VictimAccount])
                    })
                    .filter(|u| local_part(u) == account)
                    .collect();
                names.sort_unstable();
                names.dedup();
                for n in &names {
                    f.entities
                        .tag(EntityKind::User, n, EntityRole::VictimAccount);
                }
                f.title = format!("Account {account} misused on {} hosts", f.hosts.len());
                f.summary = format!(
                    "the account {} is taken or abused on {} hosts ({}): reset it on every one at once, and count its mail once",
                    names
                        .iter()
                        .map(|n| n.as_str())
                        .collect::<Vec<_>>()
                        .join(" / "),
                    f.hosts.len(),
                    per_host(hosts, &members)
                );
                f
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::fleet::tests::{hosts, on};

    fn victim(rule: &'static str, host: &str, user: &str) -> Finding {
        let mut f = on(rule, host, "2026-03-03T18:00:00Z", Severity::High);
        f.entities
            .tag(EntityKind::User, user, EntityRole::VictimAccount);
        f
    }

    #[test]
    fn one_account_under_two_names_on_two_hosts() {
        let h = hosts(&["mx1", "imap1"]);
        let findings = vec![
            victim("abuse.bulk_send", "mx1", "carol@lab.example"),
            victim("auth.compromised_account", "imap1", "Carol"),
            // Tried, not taken: not a misuse.
            victim("auth.brute_force", "imap1", "dave"),
            victim("auth.brute_force", "mx1", "dave"),
        ];
        let got = SharedAccount.check(&h, &findings);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].entities.users, ["Carol", "carol@lab.example"]);
        assert_eq!(got[0].severity, Severity::High, "taken on one host only");
        assert_eq!(got[0].hosts, ["mx1", "imap1"]);
    }

    #[test]
    fn names_are_compared_without_domain_and_case() {
        assert_eq!(local_part("Carol@Lab.Example"), "carol");
        assert_eq!(local_part("LAB\\carol"), "carol");
    }
}
