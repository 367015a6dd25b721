//! `abuse.bulk_send` — a login suddenly sending far more mail than it ever does: the spam burst
//! of a stolen account.
//!
//! **Why**: "bulk delivery in a short time" is the abuse sign of the seed articles, and the
//! stolen login is what the responder must disable; fail2ban and pflogsumm count per address or
//! in total, never per login. **How**: deliveries are attributed to the SASL login that
//! submitted the message (the parse layer joins them on the queue id) and counted per login and
//! hour, with the source addresses of the submissions, deferrals and bounces. An hour's
//! baseline is the login's median over its *other* active hours (none: 0 — an hour cannot raise
//! its own bar); an hour with ≥ `bulk_min` deliveries (default 50) and ≥ `bulk_factor` × the
//! baseline (default 10) is a burst; bursts within an hour of each
//! other make one window, one finding each. A login whose bursts fall on ≥ `bulk_recurring_days`
//! distinct days (default 3) is sending on a schedule (a newsletter) and is not reported.
//! **ATT&CK**: T1496 (Resource Hijacking). **Phase**: exfiltration (abuse). **Severity**: high.
//! **False positives**: a one-off legitimate mailing (an announcement to all staff) from a
//! normally quiet account.

use std::collections::{BTreeMap, BTreeSet};

use super::failures::HOUR_US;
use super::{Files, Rule, Shared, Thresholds};
use rustc_hash::FxHashMap;

use crate::detect::fact::Fact;
use crate::detect::finding::{ts, Entities, EvidenceSet, Finding, Severity};
use crate::detect::small::Names;
use crate::events::record::Kind;

#[derive(Default, Clone)]
struct Hour {
    deliveries: u64,
    deferred: u64,
    bounced: u64,
    /// Hashes of the distinct recipients (sorted; 8 bytes each instead of a string).
    recipients: Vec<u64>,
    /// Distinct recipients of an hour whose hashes were let go (see [`FULL_CANDIDATES`]).
    uncounted: usize,
    ips: Names,
    first: i64,
    last: i64,
    evidence: EvidenceSet,
}

/// Adds the hash of a recipient (case-folded) to a sorted set of hashes.
fn insert_hash(set: &mut Vec<u64>, addr: &str) {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    for b in addr.bytes() {
        b.to_ascii_lowercase().hash(&mut h);
    }
    let v = h.finish();
    if let Err(i) = set.binary_search(&v) {
        set.insert(i, v);
    }
}

/// The rule.
pub struct BulkSend {
    t: Thresholds,
    /// Login → hour → volume, for the hours not sealed yet; lookups borrow the login.
    hours: FxHashMap<Box<str>, FxHashMap<i64, Hour>>,
    /// Login → its sealed hours: how many hours had each volume (for the median), and the
    /// hours with at least `bulk_min` deliveries in full (the only ones that can be bursts).
    sealed: BTreeMap<String, Sealed>,
}

/// Burst candidates a login keeps with their recipients; later ones keep only how many
/// distinct recipients they had (a login reported for a burst has bursts on fewer than
/// `bulk_recurring_days` days, so this only thins logins that send in bulk every day, such as
/// a newsletter, whose distinct-recipient total is then a sum over hours).
const FULL_CANDIDATES: usize = 64;

#[derive(Default)]
struct Sealed {
    volumes: BTreeMap<u64, u64>,
    candidates: Vec<(i64, Hour)>,
}

impl Sealed {
    /// The median hourly volume of the login's active hours other than one hour of volume
    /// `judged` (the upper one of an even count); 0 when it has no other active hour.
    fn median_without(&self, judged: u64) -> u64 {
        let count = |v: u64, n: u64| if v == judged { n.saturating_sub(1) } else { n };
        let total: u64 = self.volumes.iter().map(|(v, n)| count(*v, *n)).sum();
        let mut seen = 0;
        for (v, n) in &self.volumes {
            seen += count(*v, *n);
            if seen > total / 2 {
                return *v;
            }
        }
        0
    }
}

impl BulkSend {
    /// A new rule with thresholds `t`.
    pub fn new(t: &Thresholds) -> Self {
        BulkSend {
            t: t.clone(),
            hours: FxHashMap::default(),
            sealed: BTreeMap::new(),
        }
    }

    /// Moves every login's hours before `before` into its sealed summary.
    fn seal_hours(&mut self, before: i64) {
        let min = self.t.bulk_min;
        for (user, by_hour) in self.hours.iter_mut() {
            let old: Vec<i64> = by_hour.keys().copied().filter(|h| *h < before).collect();
            if old.is_empty() {
                continue;
            }
            if !self.sealed.contains_key(&**user) {
                self.sealed.insert(user.to_string(), Sealed::default());
            }
            let Some(sealed) = self.sealed.get_mut(&**user) else {
                continue;
            };
            for hour in old {
                let Some(h) = by_hour.remove(&hour) else {
                    continue;
                };
                if h.deliveries == 0 {
                    continue;
                }
                *sealed.volumes.entry(h.deliveries).or_default() += 1;
                if h.deliveries >= min {
                    let mut h = h;
                    if sealed.candidates.len() >= FULL_CANDIDATES {
                        h.uncounted = h.recipients.len();
                        h.recipients = Vec::new();
                    }
                    sealed.candidates.push((hour, h));
                }
            }
        }
        self.hours.retain(|_, h| !h.is_empty());
    }
}

impl Rule for BulkSend {
    fn observe(&mut self, f: &Fact) {
        let Some(user) = f.actor() else {
            return;
        };
        let submitted = f.kind == Kind::MessageReceived && f.src_ip().is_some();
        let delivered = matches!(f.kind, Kind::Delivery | Kind::Forwarded) && f.status().is_some();
        if !submitted && !delivered {
            return;
        }
        if !self.hours.contains_key(user) {
            self.hours.insert(user.into(), FxHashMap::default());
        }
        let Some(by_hour) = self.hours.get_mut(user) else {
            return;
        };
        let h = by_hour.entry(f.ts_us.div_euclid(HOUR_US)).or_default();
        if h.first == 0 || f.ts_us < h.first {
            h.first = f.ts_us;
        }
        h.last = h.last.max(f.ts_us);
        if submitted {
            if let Some(ip) = f.src_ip() {
                h.ips.insert(ip, 16);
            }
            h.evidence.add(f.file, f.line);
            return;
        }
        h.deliveries += 1;
        match f.status() {
            Some("deferred") => h.deferred += 1,
            Some("bounced") => h.bounced += 1,
            _ => {}
        }
        if h.recipients.len() < 10_000 {
            if let Some(r) = f.recipient() {
                insert_hash(&mut h.recipients, r);
            }
        }
    }

    fn seal(&mut self, before: i64, _files: &Files, _shared: &Shared) {
        self.seal_hours(before);
    }

    fn finish(&mut self, files: &Files, _shared: &Shared) -> Vec<Finding> {
        self.seal_hours(i64::MAX);
        let t = &self.t;
        let mut out = Vec::new();
        for (user, sealed) in &mut self.sealed {
            sealed.candidates.sort_by_key(|(hour, _)| *hour);
            // Each candidate hour against the login's other hours: an hour cannot raise its
            // own baseline (a login whose only active hour is a burst has none but bulk_min).
            let bursts: Vec<(&(i64, Hour), u64)> = sealed
                .candidates
                .iter()
                .map(|c| (c, sealed.median_without(c.1.deliveries)))
                .filter(|((_, h), median)| h.deliveries >= t.bulk_min.max(t.bulk_factor * median))
                .collect();
            let median = bursts.iter().map(|(_, m)| *m).max().unwrap_or(0);
            let bursts: Vec<&(i64, Hour)> = bursts.into_iter().map(|(c, _)| c).collect();
            let days: BTreeSet<i64> = bursts.iter().map(|(hour, _)| hour.div_euclid(24)).collect();
            if bursts.is_empty() || days.len() >= t.bulk_recurring_days {
                continue;
            }
            let mut windows: Vec<Vec<&Hour>> = Vec::new();
            let mut last_hour = i64::MIN;
            for (hour, h) in bursts {
                if windows.is_empty() || hour - last_hour > 1 {
                    windows.push(Vec::new());
                }
                if let Some(w) = windows.last_mut() {
                    w.push(h);
                }
                last_hour = *hour;
            }
            for w in windows {
                let mut sum = Hour {
                    first: i64::MAX,
                    ..Hour::default()
                };
                for h in &w {
                    sum.deliveries += h.deliveries;
                    sum.deferred += h.deferred;
                    sum.bounced += h.bounced;
                    sum.uncounted += h.uncounted;
                    for r in &h.recipients {
                        if let Err(i) = sum.recipients.binary_search(r) {
                            sum.recipients.insert(i, *r);
                        }
                    }
                    for ip in h.ips.iter() {
                        sum.ips.insert(ip, 16);
                    }
                    sum.first = sum.first.min(h.first);
                    sum.last = sum.last.max(h.last);
                    sum.evidence.extend(&h.evidence);
                }
                let minutes = (sum.last - sum.first) / 60_000_000;
                let ips: Vec<String> = sum.ips.iter().map(str::to_string).collect();
                out.push(Finding {
                    title: format!("Bulk sending by login {user}"),
                    severity: Severity::High,
                    attack: vec!["T1496"],
                    first_seen: ts(sum.first),
                    last_seen: ts(sum.last),
                    count: sum.deliveries,
                    summary: format!(
                        "{user} sent {} deliveries to {} recipients in {minutes} min ({} deferred, {} bounced) from {}; its usual rate is {median} per active hour",
                        sum.deliveries,
                        sum.recipients.len() + sum.uncounted,
                        sum.deferred,
                        sum.bounced,
                        if ips.is_empty() { "unknown addresses".to_string() } else { ips.join(", ") }
                    ),
                    entities: Entities { ips, users: vec![user.to_string()], files: Vec::new() },
                    evidence: sum.evidence.resolve(files),
                    remediation: vec!["isolate.disable_accounts", "isolate.hold_queue", "clean.reset_credentials"],
                    ..Finding::of("abuse.bulk_send")
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::fact::Field;
    use crate::detect::rules::tests::{fact, run};

    fn sent(secs: i64, user: &str, rcpt: &str) -> Vec<Fact> {
        let mut sub = fact(Kind::MessageReceived, secs, "203.0.113.77", user);
        sub = sub.with(Field::QueueId, Some("Q"));
        let mut d = fact(Kind::Delivery, secs + 1, "", user);
        d = d.with(Field::SrcIp, None);
        d = d.with(Field::Recipient, Some(rcpt));
        d = d.with(Field::Status, Some("sent"));
        vec![sub, d]
    }

    #[test]
    fn a_burst_is_found_a_nightly_newsletter_is_not() {
        let mut facts = Vec::new();
        // liwei: a few messages a day for four days, then 200 in an hour.
        for day in 0..4 {
            for i in 0..3 {
                facts.extend(sent(
                    day * 86_400 + 36_000 + i * 3_000,
                    "liwei",
                    "editor@partner.example.net",
                ));
            }
        }
        for i in 0..200 {
            facts.extend(sent(
                4 * 86_400 + 7_200 + i * 15,
                "liwei",
                &format!("x{i}@spam.example"),
            ));
        }
        // news: 300 every night at 02:00 for five nights.
        for day in 0..5 {
            for i in 0..300 {
                facts.extend(sent(
                    day * 86_400 + 7_200 + i * 5,
                    "news",
                    &format!("member{i}@example.net"),
                ));
            }
        }
        let f = run(Box::new(BulkSend::new(&Thresholds::default())), &facts);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].entities.users, ["liwei"]);
        assert_eq!(f[0].count, 200);
        assert_eq!(f[0].entities.ips, ["203.0.113.77"]);
    }

    #[test]
    fn an_hour_is_judged_against_the_other_hours_only() {
        let hour = |h: i64, n: i64, user: &str| {
            (0..n)
                .flat_map(|i| sent(h * 3_600 + i * 30, user, &format!("r{i}@out.example")))
                .collect::<Vec<_>>()
        };
        let mut facts = Vec::new();
        // carol: nothing else in the evidence, then 60 in an hour: her only hour is the burst.
        facts.extend(hour(5, 60, "carol"));
        // dave: two quiet hours and one of 60.
        facts.extend(hour(1, 2, "dave"));
        facts.extend(hour(2, 3, "dave"));
        facts.extend(hour(6, 60, "dave"));
        // app: 60 every hour for a day — its usual rate, not a burst.
        for h in 0..24 {
            facts.extend(hour(h, 60, "app"));
        }
        let f = run(Box::new(BulkSend::new(&Thresholds::default())), &facts);
        let users: Vec<&str> = f.iter().map(|f| f.entities.users[0].as_str()).collect();
        assert_eq!(users, ["carol", "dave"], "{f:?}");
        assert!(
            f[1].summary.contains("its usual rate is 3 per active hour"),
            "{}",
            f[1].summary
        );
    }
}
