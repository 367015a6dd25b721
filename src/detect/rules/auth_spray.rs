//! `auth.spray` — password spraying: one address trying many accounts a few times each, or
//! many addresses trying a few times each across many accounts within an hour.
//!
//! **Why**: spraying stays under per-account lockouts and per-address counters (fail2ban's
//! `maxretry`), so counting per address misses it. **How**: (a) a campaign of one address
//! with ≥ `spray_users` accounts (default 5), each tried at most `spray_max_per_user` times
//! (default 3); (b) within one clock hour, ≥ `spray_sources` addresses (default 5) with at most
//! `spray_max_per_user` attempts each, together trying ≥ `spray_users` accounts — one finding per
//! run of such hours, listing the addresses. **ATT&CK**: T1110.003. **Phase**: initial access.
//! **False positives**: a NAT in front of many users whose mail clients all have stale
//! passwords after a forced reset (same /24, accounts that exist, during working hours).

use std::collections::{BTreeMap, BTreeSet};

use super::failures::Failures;
use super::{Files, Rule, Thresholds};
use crate::detect::fact::Fact;
use crate::detect::finding::{ts, Entities, EvidenceSet, Finding, Phase, Severity};

/// The rule.
pub struct Spray {
    t: Thresholds,
    failures: Failures,
}

impl Spray {
    /// A new rule with thresholds `t`.
    pub fn new(t: &Thresholds) -> Self {
        Spray {
            t: t.clone(),
            failures: Failures::default(),
        }
    }
}

/// Failures grouped into one spray: addresses, accounts, attempts, span, sample lines.
#[derive(Default)]
struct Group {
    last_hour: i64,
    ips: BTreeSet<String>,
    users: BTreeSet<String>,
    count: u64,
    first: i64,
    last: i64,
    evidence: EvidenceSet,
}

impl Group {
    fn finding(self, files: &Files, distributed: bool) -> Finding {
        let ips: Vec<String> = self.ips.into_iter().collect();
        let what = if distributed {
            format!("{} addresses", ips.len())
        } else {
            ips.join(", ")
        };
        Finding {
            rule: "auth.spray",
            title: format!("Password spraying from {what}"),
            severity: Severity::High,
            phase: Phase::InitialAccess,
            attack: vec!["T1110.003"],
            first_seen: ts(self.first),
            last_seen: ts(self.last),
            count: self.count,
            summary: format!(
                "{} failed logins across {} accounts from {} address(es)",
                self.count,
                self.users.len(),
                ips.len()
            ),
            entities: Entities {
                ips,
                users: self.users.into_iter().collect(),
                files: Vec::new(),
            },
            evidence: self.evidence.resolve(files),
            remediation: vec!["isolate.block_ips", "clean.reset_credentials"],
        }
    }
}

impl Rule for Spray {
    fn observe(&mut self, f: &Fact) {
        if super::failures::is_failure(f) {
            self.failures.observe(f);
        }
    }

    fn finish(&mut self, files: &Files) -> Vec<Finding> {
        let t = &self.t;
        let mut out = Vec::new();
        // (a) one address, many accounts, few tries each.
        for (ip, c) in self.failures.campaigns(t.campaign_gap_hours) {
            if c.users.len() >= t.spray_users
                && c.users.values().all(|&n| n <= t.spray_max_per_user)
            {
                let g = Group {
                    ips: BTreeSet::from([ip]),
                    users: c.users.keys().cloned().collect(),
                    count: c.count,
                    first: c.first,
                    last: c.last,
                    evidence: c.evidence,
                    ..Group::default()
                };
                out.push(g.finding(files, false));
            }
        }
        // (b) many addresses, few tries each, within an hour; consecutive hours merged.
        let mut hours: BTreeMap<i64, Vec<(&String, &super::failures::Bucket)>> = BTreeMap::new();
        for ((ip, hour), b) in &self.failures.by_ip_hour {
            if b.count <= t.spray_max_per_user {
                hours.entry(*hour).or_default().push((ip, b));
            }
        }
        let mut group: Option<Group> = None;
        for (hour, list) in hours {
            let users: BTreeSet<String> = list
                .iter()
                .flat_map(|(_, b)| b.users.keys().cloned())
                .collect();
            if list.len() < t.spray_sources || users.len() < t.spray_users {
                continue;
            }
            if group.as_ref().is_some_and(|g| hour - g.last_hour > 1) {
                if let Some(g) = group.take() {
                    out.push(g.finding(files, true));
                }
            }
            let g = group.get_or_insert_with(|| Group {
                first: i64::MAX,
                last: i64::MIN,
                ..Group::default()
            });
            g.last_hour = hour;
            for (ip, b) in list {
                g.ips.insert(ip.clone());
                g.count += b.count;
                g.first = g.first.min(b.first);
                g.last = g.last.max(b.last);
                g.evidence.extend(&b.evidence);
            }
            g.users.extend(users);
        }
        if let Some(g) = group {
            out.push(g.finding(files, true));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rules::tests::{failure, run};

    #[test]
    fn distributed_spray_is_found_and_scattered_noise_is_not() {
        let mut facts = Vec::new();
        let users = ["admin", "info", "liwei", "hr", "office", "test", "finance"];
        for i in 0..8 {
            facts.push(failure(
                i * 200,
                &format!("198.51.100.{}", 201 + i),
                users[i as usize % users.len()],
            ));
            facts.push(failure(
                i * 200 + 60,
                &format!("198.51.100.{}", 201 + i),
                users[(i as usize + 3) % users.len()],
            ));
        }
        // Internet background: one stray guess every few hours.
        for i in 0..10 {
            facts.push(failure(
                20_000 + i * 4 * 3600,
                &format!("45.9.{i}.1"),
                "admin",
            ));
        }
        let f = run(Box::new(Spray::new(&Thresholds::default())), &facts);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].entities.ips.len(), 8);
        assert!(f[0].entities.users.len() >= 5);
    }
}
