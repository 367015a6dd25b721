//! `fleet.shared_attacker` — one address attacking several hosts of the case.
//!
//! **Why**: a spray that reaches the MX and the IMAP back end, or a wave of exploitation
//! across every Exim of a constituency, is one attacker: blocking it on the host it was seen
//! on leaves the others open, and its reach says how big the incident is. Each host's run sees
//! only its own logs. **How**: every address that a host's own findings name as an attacker's
//! (`attacker_source`, `stolen_login_source`) is gathered across hosts; one met on two or more
//! hosts is a finding naming each host with the rules that named it there. **Severity**:
//! critical when on two or more hosts it took part in a successful attack (a finding that
//! makes its host fallen, [`crate::detect::fleet::compromising`]), else high. **ATT&CK**: the
//! techniques of the findings it rests on (T1110 for brute force and spraying …).
//! **Phase**: initial access. **False positives**: a shared NAT or proxy in front of several
//! attackers, a scanner of a research project (each host's finding says why).

use crate::detect::entity::{EntityKind, EntityRole};
use crate::detect::finding::{Finding, Severity};
use crate::detect::fleet::{across, compromising, on_several_hosts, per_host, FleetRule, HostRun};

/// Roles that make an address the attacker's.
const ATTACKING: [EntityRole; 2] = [EntityRole::AttackerSource, EntityRole::StolenLoginSource];

/// The rule.
pub struct SharedAttacker;

impl FleetRule for SharedAttacker {
    fn check(&self, hosts: &[HostRun], findings: &[Finding]) -> Vec<Finding> {
        let groups = on_several_hosts(findings, |f| {
            f.entities
                .with_role(EntityKind::Ip, &ATTACKING)
                .cloned()
                .collect()
        });
        groups
            .into_iter()
            .map(|(ip, members)| {
                let mut f = across("fleet.shared_attacker", hosts, &members);
                let fallen: Vec<&Finding> = members
                    .iter()
                    .copied()
                    .filter(|m| compromising(m))
                    .collect();
                let fell_on = crate::detect::fleet::hosts_of(hosts, &fallen);
                f.severity = if fell_on.len() >= 2 {
                    Severity::Critical
                } else {
                    Severity::High
                };
                f.title = format!("Attacker {ip} against {} hosts", f.hosts.len());
                let mut summary = format!(
                    "{ip} is named an attacker's address on {} hosts ({})",
                    f.hosts.len(),
                    per_host(hosts, &members)
                );
                if !fell_on.is_empty() {
                    summary.push_str(&format!(
                        "; it took part in the compromise of {}",
                        fell_on.join(", ")
                    ));
                }
                f.summary = summary;
                f.entities
                    .tag(EntityKind::Ip, &ip, EntityRole::AttackerSource);
                f
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::fleet::tests::{hosts, on};

    fn attacked(rule: &'static str, host: &str, at: &str, sev: Severity, ip: &str) -> Finding {
        let mut f = on(rule, host, at, sev);
        f.entities
            .tag(EntityKind::Ip, ip, EntityRole::AttackerSource);
        f
    }

    #[test]
    fn an_address_on_two_hosts_is_one_attacker_one_host_is_not() {
        let h = hosts(&["mx1", "imap1", "web1"]);
        let t = "2026-03-03T18:00:00Z";
        let findings = vec![
            attacked("auth.brute_force", "mx1", t, Severity::High, "203.0.113.77"),
            attacked(
                "auth.brute_force",
                "imap1",
                t,
                Severity::High,
                "203.0.113.77",
            ),
            attacked("auth.brute_force", "mx1", t, Severity::High, "198.51.100.9"),
            attacked("auth.spray", "mx1", t, Severity::High, "198.51.100.9"),
        ];
        let got = SharedAttacker.check(&h, &findings);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].entities.ips, ["203.0.113.77"]);
        assert_eq!(got[0].hosts, ["mx1", "imap1"]);
        assert_eq!(got[0].severity, Severity::High);
        assert!(got[0]
            .summary
            .contains("mx1: auth.brute_force; imap1: auth.brute_force"));
    }

    #[test]
    fn an_address_that_took_two_hosts_is_critical() {
        let h = hosts(&["mx1", "imap1"]);
        let mut a = on(
            "auth.compromised_account",
            "mx1",
            "2026-03-03T18:00:00Z",
            Severity::Critical,
        );
        a.entities.tag(
            EntityKind::Ip,
            "203.0.113.77",
            EntityRole::StolenLoginSource,
        );
        let mut b = a.clone();
        b.hosts = vec!["imap1".into()];
        let got = SharedAttacker.check(&h, &[a, b]);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].severity, Severity::Critical);
        assert_eq!(
            got[0].entities.role(EntityKind::Ip, "203.0.113.77"),
            Some(EntityRole::AttackerSource)
        );
    }
}
