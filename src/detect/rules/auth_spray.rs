//! `auth.spray` — password spraying: one address trying many accounts a few times each, or
//! many addresses trying a few times each across many accounts within an hour.
//!
//! **Why**: spraying stays under per-account lockouts and per-address counters (fail2ban's
//! `maxretry`), so counting per address misses it. **How**: (a) a campaign of one address
//! with ≥ `spray_users` accounts (default 5), each tried at most `spray_max_per_user` times
//! (default 3); (b) within any 60 minutes, ≥ `spray_sources` addresses (default 5) with at most
//! `spray_max_per_user` attempts each (per address and hour), together trying ≥ `spray_users`
//! accounts — one finding per run of such windows less than `campaign_gap_hours` apart,
//! listing the addresses. **ATT&CK**: T1110.003. **Phase**: initial access.
//! **False positives**: a NAT in front of many users whose mail clients all have stale
//! passwords after a forced reset (same /24, accounts that exist, during working hours).

use std::collections::{BTreeSet, HashMap};

use super::failures::{Bucket, Judged, HOUR_US};
use super::{Files, Rule, Shared, Thresholds};
use crate::detect::finding::{ts, Entities, EvidenceSet, Finding, Severity};

/// The rule.
pub struct Spray {
    t: Thresholds,
    /// Findings of (a), judged as campaigns close.
    judged: Judged,
    /// (b): failures from this time on have not been grouped yet.
    cursor: i64,
    /// (b): the run of hot windows still open, and the findings of closed ones.
    group: Option<Group>,
    spread: Vec<Finding>,
}

impl Spray {
    /// A new rule with thresholds `t`.
    pub fn new(t: &Thresholds) -> Self {
        Spray {
            t: t.clone(),
            judged: Judged::default(),
            cursor: i64::MIN,
            group: None,
            spread: Vec::new(),
        }
    }
}

/// Most addresses and accounts a spray finding lists (the rest are counted).
const MAX_LISTED: usize = 1000;

/// Failures grouped into one spray: addresses, accounts, attempts, span, sample lines.
#[derive(Default)]
struct Group {
    /// The first [`MAX_LISTED`] addresses.
    ips: BTreeSet<String>,
    /// Every address, as a hash (for the count; at most `max_addresses` of them).
    distinct: rustc_hash::FxHashSet<u64>,
    /// Addresses beyond the `max_addresses` hashes (may count one address twice).
    over: u64,
    /// The first [`MAX_LISTED`] accounts.
    users: BTreeSet<String>,
    /// Accounts tried, beyond those listed (may count one account twice).
    more_users: u64,
    count: u64,
    first: i64,
    last: i64,
    evidence: EvidenceSet,
}

impl Group {
    /// Adds an address (listed while fewer than [`MAX_LISTED`] are) and its accounts.
    fn add(&mut self, ip: &str, users: impl Iterator<Item = impl AsRef<str>>, cap: usize) {
        use std::hash::BuildHasher;
        let h = rustc_hash::FxBuildHasher.hash_one(ip);
        if self.distinct.len() < cap {
            self.distinct.insert(h);
        } else if !self.distinct.contains(&h) {
            self.over += 1;
        }
        if self.ips.len() < MAX_LISTED {
            self.ips.insert(ip.to_string());
        }
        for u in users {
            let u = u.as_ref();
            if self.users.len() < MAX_LISTED {
                self.users.insert(u.to_string());
            } else if !self.users.contains(u) {
                self.more_users += 1;
            }
        }
    }

    /// Distinct addresses (a lower bound once more than `max_addresses` were seen).
    fn sources(&self) -> u64 {
        (self.distinct.len() as u64).max(self.ips.len() as u64) + self.over
    }

    fn finding(self, files: &Files, distributed: bool) -> Finding {
        let sources = self.sources();
        let accounts = self.users.len() as u64 + self.more_users;
        let ips: Vec<String> = self.ips.into_iter().collect();
        let listed = if sources > ips.len() as u64 {
            format!(" ({} listed)", ips.len())
        } else {
            String::new()
        };
        let what = if distributed {
            format!("{sources} addresses")
        } else {
            ips.join(", ")
        };
        Finding {
            title: format!("Password spraying from {what}"),
            severity: Severity::High,
            attack: vec!["T1110.003"],
            first_seen: ts(self.first),
            last_seen: ts(self.last),
            count: self.count,
            summary: format!(
                "{} failed logins across {accounts} accounts from {sources} address(es){listed}",
                self.count,
            ),
            entities: Entities {
                ips,
                users: self.users.into_iter().collect(),
                files: Vec::new(),
                ..Entities::default()
            },
            evidence: self.evidence.resolve(files),
            remediation: vec!["isolate.block_ips", "clean.reset_credentials"],
            ..Finding::of("auth.spray")
        }
    }
}

/// Takes one occurrence of `key` out of a window's counts.
fn leave<'a>(counts: &mut HashMap<&'a str, usize>, key: &'a str) {
    if let Some(n) = counts.get_mut(key) {
        *n -= 1;
        if *n == 0 {
            counts.remove(key);
        }
    }
}

/// (a): a spray, if one address's campaign tried many accounts a few times each.
fn judge(t: &Thresholds, files: &Files, (ip, c): (String, Bucket)) -> Option<Finding> {
    if c.users.len() < t.spray_users || c.users.values().any(|n| n > t.spray_max_per_user) {
        return None;
    }
    let mut g = Group {
        count: c.count,
        first: c.first,
        last: c.last,
        evidence: c.evidence,
        ..Group::default()
    };
    g.add(&ip, c.users.keys(), t.max_addresses);
    Some(g.finding(files, false))
}

/// (b): which of `items` (sorted by time) lie in a 60-minute window (sliding, so an attack
/// across a clock hour is one) with ≥ `spray_sources` addresses trying ≥ `spray_users`
/// accounts.
fn hot(t: &Thresholds, items: &[(&str, &Bucket)]) -> Vec<bool> {
    let mut hot = vec![false; items.len()];
    let (mut ips, mut users): (HashMap<&str, usize>, HashMap<&str, usize>) = Default::default();
    let (mut end, mut marked) = (0, 0);
    for start in 0..items.len() {
        while end < items.len() && items[end].1.first - items[start].1.first < HOUR_US {
            *ips.entry(items[end].0).or_default() += 1;
            for u in items[end].1.users.keys() {
                *users.entry(u).or_default() += 1;
            }
            end += 1;
        }
        if ips.len() >= t.spray_sources && users.len() >= t.spray_users {
            for h in hot.iter_mut().take(end).skip(marked.max(start)) {
                *h = true;
            }
            marked = end;
        }
        let (ip, b) = items[start];
        leave(&mut ips, ip);
        for u in b.users.keys() {
            leave(&mut users, u);
        }
    }
    hot
}

impl Spray {
    /// (b) over the failures before `limit` (µs; `None`: all): failures from `cursor` on
    /// whose every window is known (they start before `limit` less an hour) are grouped;
    /// hot failures less than `campaign_gap_hours` apart make one finding.
    fn spread_before(&mut self, files: &Files, shared: &Shared, limit: Option<i64>) {
        let t = &self.t.clone();
        let from = self.cursor.saturating_sub(HOUR_US);
        let mut items: Vec<(&str, &Bucket)> = shared
            .failures
            .buckets()
            .filter(|(_, _, b)| {
                b.count <= t.spray_max_per_user
                    && b.first >= from
                    && limit.is_none_or(|l| b.first < l)
            })
            .map(|(ip, _, b)| (ip, b))
            .collect();
        items.sort_by(|a, b| (a.1.first, a.0).cmp(&(b.1.first, b.0)));
        let hot = hot(t, &items);
        let done = limit.map_or(i64::MAX, |l| l - HOUR_US);
        for ((ip, b), _) in items.iter().zip(&hot).filter(|(_, h)| **h) {
            if b.first < self.cursor || b.first >= done {
                continue;
            }
            if self
                .group
                .as_ref()
                .is_some_and(|g| b.first - g.last > t.campaign_gap_hours * HOUR_US)
            {
                if let Some(g) = self.group.take() {
                    self.spread.push(g.finding(files, true));
                }
            }
            let g = self.group.get_or_insert_with(|| Group {
                first: i64::MAX,
                last: i64::MIN,
                ..Group::default()
            });
            g.add(ip, b.users.keys(), t.max_addresses);
            g.count += b.count;
            g.first = g.first.min(b.first);
            g.last = g.last.max(b.last);
            g.evidence.extend(&b.evidence);
        }
        self.cursor = self.cursor.max(done);
        // A run that no later failure can join is done.
        if self
            .group
            .as_ref()
            .is_some_and(|g| done.saturating_sub(g.last) > t.campaign_gap_hours * HOUR_US)
        {
            if let Some(g) = self.group.take() {
                self.spread.push(g.finding(files, true));
            }
        }
    }
}

impl Rule for Spray {
    fn seal(&mut self, before: i64, files: &Files, shared: &Shared) {
        let t = &self.t;
        self.judged
            .add(shared.failures.closed(before), |c| judge(t, files, c));
        self.spread_before(files, shared, Some(before * HOUR_US));
    }

    fn finish(&mut self, files: &Files, shared: &Shared) -> Vec<Finding> {
        let t = &self.t;
        self.judged
            .add(shared.failures.campaigns(), |c| judge(t, files, c));
        self.spread_before(files, shared, None);
        if let Some(g) = self.group.take() {
            self.spread.push(g.finding(files, true));
        }
        let mut out = self.judged.take();
        out.append(&mut self.spread);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::fact::Fact;
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

    #[test]
    fn a_spray_across_a_clock_hour_is_one_finding_with_every_address() {
        // One guess every five minutes from nine addresses, 09:25–10:05 (hour boundary at 10:00).
        let users = [
            "postmaster",
            "admin",
            "test",
            "support",
            "teste",
            "billing",
            "monitor",
            "x",
            "y",
        ];
        let facts: Vec<Fact> = (0..9)
            .map(|i| {
                failure(
                    9 * 3600 + 25 * 60 + i * 300,
                    &format!("203.0.113.{}", 10 + i * 10),
                    users[i as usize],
                )
            })
            .collect();
        let f = run(Box::new(Spray::new(&Thresholds::default())), &facts);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].entities.ips.len(), 9);
    }

    #[test]
    fn backend_failures_count_only_where_the_service_logged_none() {
        use crate::detect::rules::tests::fact;
        use crate::events::record::Kind;
        // Dovecot's auth-worker lines alone (the login lines went to another file): a spray.
        let mut facts: Vec<Fact> = ["california", "caliph", "needle", "neem", "nemo"]
            .iter()
            .enumerate()
            .map(|(i, u)| fact(Kind::AuthBackendFailure, i as i64, "2.2.2.2", u))
            .collect();
        // An address whose failures the service logged too: the backend lines repeat them.
        for (i, u) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            facts.push(fact(Kind::AuthBackendFailure, 100 + i as i64, "1.1.1.1", u));
        }
        facts.push(failure(110, "1.1.1.1", "a"));
        let f = run(Box::new(Spray::new(&Thresholds::default())), &facts);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].entities.ips, ["2.2.2.2"]);
    }
}
