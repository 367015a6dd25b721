//! `auth.new_source` — an account logs in from a network it never used before.
//!
//! **Why**: the stolen password comes from the attacker's network, not the owner's office or
//! phone. **How**: per account, in time order, the networks (/24, IPv6 /64) of its earlier
//! logins are its baseline; once it holds `baseline_logins` (default 20) logins on
//! `baseline_days` (3) days, a login from a network outside it is new — unless that network
//! already served `shared_network_users` (default 2) other accounts before (an office NAT, a
//! VPN). One finding per account and network. **Severity**: low (it is the most common
//! anomaly of honest users; `auth.compromised_account` and `auth.off_hours` corroborate).
//! **ATT&CK**: T1078 (Valid Accounts). **False positives**: travel, a new phone carrier, a
//! changed home connection.

use std::collections::{BTreeMap, BTreeSet};

use super::logins::History;
use super::{Files, Rule, Shared, Thresholds};
use crate::detect::entity::EntityRole;
use crate::detect::finding::{ts, Entities, EvidenceSet, Finding, Severity};

/// The rule.
pub struct NewSource {
    t: Thresholds,
    /// Per account: baseline, networks it ever used, flagged networks.
    users: BTreeMap<String, Account>,
    /// Per network: when each account first used it.
    first_use: BTreeMap<String, Vec<(i64, String)>>,
}

#[derive(Default)]
struct Account {
    hist: History,
    seen: BTreeSet<String>,
    hits: BTreeMap<String, Hit>,
}

impl NewSource {
    /// A new rule with thresholds `t`.
    pub fn new(t: &Thresholds) -> Self {
        NewSource {
            t: t.clone(),
            users: BTreeMap::new(),
            first_use: BTreeMap::new(),
        }
    }

    /// Judges each account's hours before hour `before`, in time order.
    fn judge(&mut self, shared: &Shared, before: i64) {
        let t = &self.t;
        let by_user = shared.logins.by_user_before(before);
        // First the first uses of every network by every account in this stretch, so that
        // "used by others before" sees all of them.
        for (user, hours) in &by_user {
            if !self.users.contains_key(*user) {
                self.users.insert(user.to_string(), Account::default());
            }
            let Some(acct) = self.users.get_mut(*user) else {
                continue;
            };
            for h in hours {
                if !acct.seen.contains(&*h.net) {
                    acct.seen.insert(h.net.to_string());
                    self.first_use
                        .entry(h.net.to_string())
                        .or_default()
                        .push((h.first, user.to_string()));
                }
            }
        }
        for (user, hours) in by_user {
            let Some(acct) = self.users.get_mut(user) else {
                continue;
            };
            for h in hours {
                let judged = acct.hist.enough(t.baseline_logins, t.baseline_days);
                let known = acct.hist.nets.contains(&*h.net);
                let shared = self.first_use.get(&*h.net).map_or(0, |v| {
                    v.iter()
                        .filter(|(at, u)| u != user && *at < h.first)
                        .count()
                }) >= t.shared_network_users;
                if !judged || known || shared {
                    acct.hist.add(h);
                    continue;
                }
                let hit = acct.hits.entry(h.net.to_string()).or_insert_with(|| Hit {
                    first: h.first,
                    last: h.last,
                    count: 0,
                    ips: BTreeSet::new(),
                    evidence: EvidenceSet::default(),
                });
                hit.last = hit.last.max(h.last);
                hit.count += h.count;
                hit.ips.extend(h.ips.iter().map(str::to_string));
                hit.evidence.add(h.at.0, h.at.1);
            }
        }
    }
}

struct Hit {
    first: i64,
    last: i64,
    count: u64,
    ips: BTreeSet<String>,
    evidence: EvidenceSet,
}

impl Rule for NewSource {
    fn seal(&mut self, before: i64, _files: &Files, shared: &Shared) {
        self.judge(shared, before);
    }

    fn finish(&mut self, files: &Files, shared: &Shared) -> Vec<Finding> {
        self.judge(shared, i64::MAX);
        let mut out = Vec::new();
        for (user, acct) in std::mem::take(&mut self.users) {
            for (net, hit) in acct.hits {
                let ips: Vec<String> = hit.ips.into_iter().collect();
                out.push(Finding {
                    title: format!("{user} logged in from a new network {net}"),
                    severity: Severity::Low,
                    attack: vec!["T1078"],
                    first_seen: ts(hit.first),
                    last_seen: ts(hit.last),
                    count: hit.count,
                    summary: format!(
                        "{} login(s) of {user} from {} — a network none of its {} earlier logins came from",
                        hit.count,
                        ips.join(", "),
                        acct.hist.logins
                    ),
                    entities: Entities::logins(&user, EntityRole::Observed, &ips, EntityRole::NewSource),
                    evidence: hit.evidence.resolve(files),
                    remediation: vec!["clean.reset_credentials"],
                    ..Finding::of("auth.new_source")
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::fact::Fact;
    use crate::detect::rules::tests::{run, success};

    const DAY: i64 = 86_400;

    fn week(user: &str, ip: &str) -> Vec<Fact> {
        (0..5)
            .flat_map(|d| (1..7).map(move |h| d * DAY + h * 3600))
            .map(|s| success(s, ip, user))
            .collect()
    }

    #[test]
    fn a_login_from_an_unseen_network_is_found_once_per_network() {
        let mut facts = week("liwei", "100.72.14.9");
        facts.push(success(6 * DAY, "203.0.113.77", "liwei"));
        facts.push(success(6 * DAY + 7200, "203.0.113.79", "liwei"));
        let f = run(Box::new(NewSource::new(&Thresholds::default())), &facts);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].entities.ips, ["203.0.113.77", "203.0.113.79"]);
        assert_eq!(f[0].count, 2);
    }

    #[test]
    fn the_office_nat_others_use_and_early_history_are_quiet() {
        let mut facts = week("ann", "100.80.3.4");
        facts.extend(week("bob", "192.0.2.10"));
        facts.extend(week("eve", "192.0.2.10"));
        // ann comes to the office for the first time: a network two colleagues use.
        facts.push(success(6 * DAY, "192.0.2.10", "ann"));
        // carl's second-ever login is from a new network: no baseline yet.
        facts.push(success(100, "198.51.100.1", "carl"));
        facts.push(success(200, "192.0.2.99", "carl"));
        assert!(run(Box::new(NewSource::new(&Thresholds::default())), &facts).is_empty());
    }
}
