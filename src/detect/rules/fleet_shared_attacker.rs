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

use std::collections::BTreeMap;

use crate::detect::entity::{EntityKind, EntityRole};
use crate::detect::finding::{Finding, Severity};
use crate::detect::fleet::{across, compromising, on_several_hosts, per_host, FleetRule, HostRun};

/// Roles that make an address the attacker's.
const ATTACKING: [EntityRole; 2] = [EntityRole::AttackerSource, EntityRole::StolenLoginSource];

/// The rule.
pub struct SharedAttacker;

/// Which rules named an address on which hosts (host, rule), sorted.
type Signature<'a> = Vec<(String, &'a str)>;

/// Addresses of one signature and the findings naming them.
type Attackers<'a> = (Vec<String>, Vec<&'a Finding>);

impl FleetRule for SharedAttacker {
    fn check(&self, hosts: &[HostRun], findings: &[Finding]) -> Vec<Finding> {
        let groups = on_several_hosts(findings, |f| {
            f.entities
                .with_role(EntityKind::Ip, &ATTACKING)
                .cloned()
                .collect()
        });
        // Addresses named by the same rules on the same hosts are one attacker's (a spray's
        // many addresses): one finding for them all.
        let mut by_signature: BTreeMap<Signature, Attackers> = BTreeMap::new();
        for (ip, members) in groups {
            let mut signature: Vec<(String, &str)> = members
                .iter()
                .map(|m| (m.hosts[0].clone(), m.rule))
                .collect();
            signature.sort_unstable();
            signature.dedup();
            let (ips, all) = by_signature.entry(signature).or_default();
            ips.push(ip);
            for m in members {
                if !all.iter().any(|g| std::ptr::eq(*g, m)) {
                    all.push(m);
                }
            }
        }
        let mut out: Vec<Finding> = by_signature
            .into_values()
            .map(|(ips, members)| one(hosts, &ips, &members))
            .collect();
        out.sort_by(|a, b| a.first_seen.cmp(&b.first_seen).then(a.title.cmp(&b.title)));
        out
    }
}

/// The finding of the attacker addresses `ips`, named by `members` on several hosts.
fn one(hosts: &[HostRun], ips: &[String], members: &[&Finding]) -> Finding {
    let mut f = across("fleet.shared_attacker", hosts, members);
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
    let (who, named) = match ips {
        [ip] => (format!("Attacker {ip}"), format!("{ip} is")),
        _ => (
            format!("{} attacker addresses", ips.len()),
            format!("{} addresses ({}) are", ips.len(), listed(ips)),
        ),
    };
    f.title = format!("{who} against {} hosts", f.hosts.len());
    let mut summary = format!(
        "{named} named an attacker's on {} hosts ({})",
        f.hosts.len(),
        per_host(hosts, members)
    );
    if !fell_on.is_empty() {
        summary.push_str(&format!(
            "; they took part in the compromise of {}",
            fell_on.join(", ")
        ));
    }
    f.summary = summary;
    for ip in ips {
        f.entities
            .tag(EntityKind::Ip, ip, EntityRole::AttackerSource);
    }
    f
}

/// The first addresses of a list, the rest counted.
fn listed(ips: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut s = ips
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if ips.len() > SHOWN {
        s.push_str(&format!(" and {} more", ips.len() - SHOWN));
    }
    s
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
            // A spray's two addresses on both hosts: one finding.
            attacked("auth.spray", "mx1", t, Severity::High, "192.0.2.1"),
            attacked("auth.spray", "imap1", t, Severity::High, "192.0.2.1"),
            attacked("auth.spray", "mx1", t, Severity::High, "192.0.2.2"),
            attacked("auth.spray", "imap1", t, Severity::High, "192.0.2.2"),
        ];
        let got = SharedAttacker.check(&h, &findings);
        assert_eq!(got.len(), 2, "{got:?}");
        let one = got
            .iter()
            .find(|f| f.entities.ips == ["203.0.113.77"])
            .unwrap();
        assert_eq!(one.hosts, ["mx1", "imap1"]);
        assert_eq!(one.severity, Severity::High);
        assert!(one
            .summary
            .contains("mx1: auth.brute_force; imap1: auth.brute_force"));
        let spray = got.iter().find(|f| f.entities.ips.len() == 2).unwrap();
        assert_eq!(spray.entities.ips, ["192.0.2.1", "192.0.2.2"]);
        assert_eq!(spray.title, "2 attacker addresses against 2 hosts");
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
