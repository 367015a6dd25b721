//! `fleet.compromise_order` — the order in which the hosts of the case fell.
//!
//! **Why**: the first host to fall is where the attacker got in (patient zero: its access
//! vector is the one to close), the later ones are how far they went; regulators and the
//! post-incident review ask for that order. **How**: each host's first finding that says the
//! attacker succeeded there ([`crate::detect::fleet::compromising`]: a high or critical finding
//! of a taken or abused account, a planted entry, an exploit, a changed host, mail read or sent,
//! altered logs) is its fall; with two or more fallen hosts, one finding lists them in time
//! order with that first finding, and names the hosts only targeted. **Severity**: high.
//! **ATT&CK**: the techniques of those first findings. **Phase**: initial access. **False
//! positives**: a host whose clock is wrong moves in the order (each fall's time is its own
//! evidence's).

use crate::detect::finding::{Finding, Severity};
use crate::detect::fleet::{across, compromising, FleetRule, HostRun};

/// The rule.
pub struct CompromiseOrder;

impl FleetRule for CompromiseOrder {
    fn check(&self, hosts: &[HostRun], findings: &[Finding]) -> Vec<Finding> {
        let mut falls: Vec<&Finding> = hosts
            .iter()
            .filter_map(|h| {
                findings
                    .iter()
                    .filter(|f| f.hosts.len() == 1 && f.hosts[0] == h.name && compromising(f))
                    .min_by(|a, b| a.first_seen.cmp(&b.first_seen).then(a.rule.cmp(b.rule)))
            })
            .collect();
        if falls.len() < 2 {
            return Vec::new();
        }
        falls.sort_by(|a, b| a.first_seen.cmp(&b.first_seen).then(a.hosts.cmp(&b.hosts)));
        let mut f = across("fleet.compromise_order", hosts, &falls);
        f.hosts = falls.iter().map(|x| x.hosts[0].clone()).collect();
        f.severity = Severity::High;
        let order: Vec<String> = falls
            .iter()
            .enumerate()
            .map(|(i, x)| {
                format!(
                    "{}. {} at {} ({}: {})",
                    i + 1,
                    x.hosts[0],
                    x.first_seen,
                    x.rule,
                    x.title
                )
            })
            .collect();
        f.title = format!(
            "{} hosts fell, {} first",
            falls.len(),
            falls.first().map_or("", |x| x.hosts[0].as_str())
        );
        let targeted: Vec<&str> = hosts
            .iter()
            .map(|h| h.name.as_str())
            .filter(|h| !f.hosts.iter().any(|x| x == h))
            .collect();
        f.summary = format!("the hosts fell in this order: {}", order.join("; "));
        if !targeted.is_empty() {
            f.summary.push_str(&format!(
                "; not fallen (on this evidence): {}",
                targeted.join(", ")
            ));
        }
        vec![f]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::fleet::tests::{hosts, on};

    #[test]
    fn hosts_are_ordered_by_their_first_fall() {
        let h = hosts(&["mx1", "imap1", "web1"]);
        let findings = vec![
            on(
                "auth.compromised_account",
                "mx1",
                "2026-03-03T18:30:00Z",
                Severity::Critical,
            ),
            on(
                "abuse.bulk_send",
                "mx1",
                "2026-03-03T19:00:00Z",
                Severity::High,
            ),
            on(
                "auth.compromised_account",
                "imap1",
                "2026-03-03T18:10:00Z",
                Severity::Critical,
            ),
            // Only attempts on web1: targeted, not fallen.
            on(
                "auth.brute_force",
                "web1",
                "2026-03-03T17:00:00Z",
                Severity::High,
            ),
        ];
        let got = CompromiseOrder.check(&h, &findings);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].hosts, ["imap1", "mx1"]);
        assert_eq!(got[0].first_seen, "2026-03-03T18:10:00Z");
        assert_eq!(got[0].last_seen, "2026-03-03T18:30:00Z");
        assert!(got[0].title.contains("imap1 first"), "{}", got[0].title);
        assert!(
            got[0]
                .summary
                .contains("not fallen (on this evidence): web1"),
            "{}",
            got[0].summary
        );
    }

    #[test]
    fn one_fallen_host_has_no_order() {
        let h = hosts(&["mx1", "imap1"]);
        let findings = vec![on(
            "auth.compromised_account",
            "mx1",
            "2026-03-03T18:30:00Z",
            Severity::Critical,
        )];
        assert!(CompromiseOrder.check(&h, &findings).is_empty());
    }
}
