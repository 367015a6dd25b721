//! `fleet.shared_persistence` — the same kind of persistence planted on several hosts.
//!
//! **Why**: an attacker who plants a forward, a cron job or an SSH key on one server plants it
//! on the next; cleaning one host while the same entry waits on another hands the case back.
//! The same outside address receiving copies from several hosts is one exfiltration.
//! **How**: the host findings that name planted entries (`planted_entry` role, persistence
//! phase, medium or worse) are gathered across hosts by rule; a rule met on two or more hosts
//! is a finding naming each host, with the outside recipients its findings share (on two or
//! more hosts). **Severity**: critical when the hosts send to one outside recipient, else
//! high. **ATT&CK**: the techniques of the findings it rests on (T1114.003 forwarding,
//! T1053.003 cron, T1098.004 SSH keys …). **Phase**: persistence. **False positives**: one
//! legitimate configuration management rolling the same forward or job to every host (each
//! host's finding names the entry).

use crate::detect::catalog::Role;
use crate::detect::entity::{EntityKind, EntityRole};
use crate::detect::finding::{Finding, Phase, Severity};
use crate::detect::fleet::{across, on_several_hosts, per_host, FleetRule, HostRun};

/// The rule.
pub struct SharedPersistence;

/// Whether `f` is a planted entry of the persistence phase worth comparing.
fn planted(f: &Finding) -> bool {
    f.has(Role::PlantedEntry) && f.phase == Phase::Persistence && f.severity >= Severity::Medium
}

impl FleetRule for SharedPersistence {
    fn check(&self, hosts: &[HostRun], findings: &[Finding]) -> Vec<Finding> {
        let groups = on_several_hosts(
            findings,
            |f| {
                if planted(f) {
                    vec![f.rule]
                } else {
                    Vec::new()
                }
            },
        );
        groups
            .into_iter()
            .map(|(rule, members)| {
                let mut f = across("fleet.shared_persistence", hosts, &members);
                let shared: Vec<String> = on_several_hosts(members.iter().copied(), |m| {
                    m.entities
                        .recipients
                        .iter()
                        .map(|r| r.to_lowercase())
                        .collect()
                })
                .into_iter()
                .map(|(r, _)| r)
                .collect();
                f.severity = if shared.is_empty() {
                    Severity::High
                } else {
                    Severity::Critical
                };
                for r in &shared {
                    f.entities
                        .tag(EntityKind::Recipient, r, EntityRole::OutsideRecipient);
                }
                let what = crate::detect::catalog::meta(rule).map_or(rule, |m| m.title);
                f.title = format!("{rule} on {} hosts", f.hosts.len());
                let mut summary = format!(
                    "the same persistence ({what}) is planted on {} hosts ({}): clean every one",
                    f.hosts.len(),
                    per_host(hosts, &members)
                );
                if !shared.is_empty() {
                    summary.push_str(&format!(
                        "; they send to the same outside recipient(s) {}",
                        shared.join(", ")
                    ));
                }
                f.summary = summary;
                f
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::fleet::tests::{hosts, on};

    fn forward(host: &str, to: &str) -> Finding {
        let mut f = on(
            "persistence.forward",
            host,
            "2026-03-03T18:00:00Z",
            Severity::High,
        );
        f.entities
            .tag(EntityKind::Recipient, to, EntityRole::OutsideRecipient);
        f
    }

    #[test]
    fn one_forward_target_on_two_hosts_is_critical() {
        let h = hosts(&["mx1", "mx2", "mx3"]);
        let findings = vec![
            forward("mx1", "drop@exfil.example"),
            forward("mx2", "Drop@exfil.example"),
            forward("mx3", "other@elsewhere.example"),
        ];
        let got = SharedPersistence.check(&h, &findings);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].hosts, ["mx1", "mx2", "mx3"]);
        assert_eq!(got[0].severity, Severity::Critical);
        assert_eq!(got[0].entities.recipients, ["drop@exfil.example"]);
    }

    #[test]
    fn different_persistence_on_each_host_is_not_shared() {
        let h = hosts(&["mx1", "mx2"]);
        let findings = vec![
            forward("mx1", "drop@exfil.example"),
            on(
                "persistence.cron",
                "mx2",
                "2026-03-03T18:00:00Z",
                Severity::High,
            ),
        ];
        assert!(SharedPersistence.check(&h, &findings).is_empty());
    }
}
