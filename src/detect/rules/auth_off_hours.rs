//! `auth.off_hours` — an account logs in at an hour of the day it never used before.
//!
//! **Why**: a stolen password is used when the attacker is awake, not when the owner works;
//! the sample's takeover happens at 02:14 local time for a user active 07–23. **How**: per
//! account, in time order, the hours of day of its earlier logins (AUTH successes and
//! authenticated submissions) are its baseline; once it holds `baseline_logins` (default 20)
//! logins on `baseline_days` (3) days, a login whose hour of day is more than
//! `off_hours_margin` (1) hour from every hour in the baseline, **from a network (/24, IPv6
//! /64) the account has not logged in from before**, is off-hours; an odd hour from one of its
//! own networks is its owner's (on call, the phone at home) and widens the baseline. Flagged
//! hours do not teach the baseline; flagged hours of one account within `campaign_gap_hours` merge into
//! one finding. Hours are UTC, which shifts the baseline and the login alike. **Severity**:
//! medium. **ATT&CK**: T1078 (Valid Accounts). **False positives**: on-call staff, travel
//! across time zones, a new night job authenticating as a user.

use std::collections::{BTreeMap, BTreeSet};

use super::logins::History;
use super::{Files, Rule, Shared, Thresholds};
use crate::detect::entity::EntityRole;
use crate::detect::finding::{ts, Entities, EvidenceSet, Finding, Severity};

/// The rule.
pub struct OffHours {
    t: Thresholds,
    /// Per account: its baseline so far and its runs of flagged hours.
    users: BTreeMap<String, (History, Vec<Run>)>,
}

/// A run of flagged hours of one account.
struct Run {
    first: i64,
    last: i64,
    count: u64,
    ips: BTreeSet<String>,
    evidence: EvidenceSet,
    /// The account's usual hours when the run began.
    usual: String,
}

impl OffHours {
    /// A new rule with thresholds `t`.
    pub fn new(t: &Thresholds) -> Self {
        OffHours {
            t: t.clone(),
            users: BTreeMap::new(),
        }
    }

    /// Judges each account's hours before hour `before`, in time order, against what came
    /// before them.
    fn judge(&mut self, shared: &Shared, before: i64) {
        let t = &self.t;
        for (user, hours) in shared.logins.by_user_before(before) {
            if !self.users.contains_key(user) {
                self.users.insert(user.to_string(), Default::default());
            }
            let Some((hist, runs)) = self.users.get_mut(user) else {
                continue;
            };
            for h in hours {
                let judged = hist.enough(t.baseline_logins, t.baseline_days);
                // An odd hour from a network the account has used before is its owner (on
                // call, the phone at home): it teaches the baseline instead of being flagged.
                let known_net = hist.nets.contains(&*h.net);
                if !judged || known_net || hist.usual_hour(h.hour, t.off_hours_margin) {
                    hist.add(h);
                    continue;
                }
                let joins = runs.last().is_some_and(|r| {
                    h.hour - r.last.div_euclid(super::failures::HOUR_US) <= t.campaign_gap_hours
                });
                if !joins {
                    let usual: Vec<String> = (0..24)
                        .filter(|&i| hist.hour_of_day[i] > 0)
                        .map(|i| format!("{i:02}"))
                        .collect();
                    runs.push(Run {
                        first: h.first,
                        last: h.last,
                        count: 0,
                        ips: BTreeSet::new(),
                        evidence: EvidenceSet::default(),
                        usual: usual.join(","),
                    });
                }
                if let Some(r) = runs.last_mut() {
                    r.last = r.last.max(h.last);
                    r.count += h.count;
                    r.ips.extend(h.ips.iter().map(str::to_string));
                    r.evidence.add(h.at.0, h.at.1);
                }
            }
        }
    }
}

impl Rule for OffHours {
    fn seal(&mut self, before: i64, _files: &Files, shared: &Shared) {
        self.judge(shared, before);
    }

    fn finish(&mut self, files: &Files, shared: &Shared) -> Vec<Finding> {
        self.judge(shared, i64::MAX);
        let mut out = Vec::new();
        for (user, (_, runs)) in std::mem::take(&mut self.users) {
            for r in runs {
                let from: Vec<String> = r.ips.into_iter().collect();
                out.push(Finding {
                    title: format!("{user} logged in at an unusual hour"),
                    severity: Severity::Medium,
                    attack: vec!["T1078"],
                    first_seen: ts(r.first),
                    last_seen: ts(r.last),
                    count: r.count,
                    summary: format!(
                        "{} login(s) of {user} from {} at {} UTC; before, {user} logged in only at hours {} (UTC)",
                        r.count,
                        from.join(", "),
                        ts(r.first),
                        r.usual
                    ),
                    entities: Entities::logins(&user, EntityRole::VictimAccount, &from, EntityRole::NewSource),
                    evidence: r.evidence.resolve(files),
                    remediation: vec!["isolate.disable_accounts", "clean.reset_credentials"],
                    ..Finding::of("auth.off_hours")
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

    /// Office logins 01:00–09:00 UTC for five days.
    fn office(user: &str) -> Vec<Fact> {
        (0..5)
            .flat_map(|d| (1..9).map(move |h| d * DAY + h * 3600 + 60))
            .map(|s| success(s, "192.0.2.10", user))
            .collect()
    }

    #[test]
    fn a_night_login_after_a_daytime_baseline_is_found() {
        let mut facts = office("liwei");
        facts.push(success(5 * DAY + 18 * 3600 + 840, "203.0.113.77", "liwei"));
        facts.push(success(5 * DAY + 19 * 3600 + 100, "203.0.113.77", "liwei"));
        facts.push(success(5 * DAY + 3 * 3600, "192.0.2.10", "liwei"));
        let f = run(Box::new(OffHours::new(&Thresholds::default())), &facts);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            (f[0].count, f[0].entities.ips.clone()),
            (2, vec!["203.0.113.77".to_string()])
        );
    }

    #[test]
    fn no_baseline_or_a_round_the_clock_user_is_quiet() {
        // Two logins only: nothing to compare with.
        let few = vec![
            success(3600, "192.0.2.10", "ann"),
            success(20 * 3600, "192.0.2.10", "ann"),
        ];
        assert!(run(Box::new(OffHours::new(&Thresholds::default())), &few).is_empty());
        // An administrator who works any hour, and logs in again at 03:00.
        let mut any: Vec<Fact> = (0..4 * 24)
            .map(|h| success(h * 3600 + 5, "192.0.2.10", "admin"))
            .collect();
        any.push(success(4 * DAY + 3 * 3600, "192.0.2.10", "admin"));
        assert!(run(Box::new(OffHours::new(&Thresholds::default())), &any).is_empty());
    }

    #[test]
    fn odd_hours_from_the_accounts_own_network_teach_instead_of_flagging() {
        let mut facts = office("ann");
        // The owner reads mail at 14:00 and 15:00 UTC (night) from the office network on
        // three nights: never flagged, and each teaches the baseline.
        for d in 5..8 {
            facts.push(success(d * DAY + 14 * 3600, "192.0.2.10", "ann"));
            facts.push(success(d * DAY + 15 * 3600, "192.0.2.10", "ann"));
        }
        // The same hour from a network ann never used is flagged; an hour still unusual is too.
        facts.push(success(9 * DAY + 19 * 3600, "198.51.100.23", "ann"));
        let f = run(Box::new(OffHours::new(&Thresholds::default())), &facts);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].entities.ips, ["198.51.100.23"]);
    }
}
