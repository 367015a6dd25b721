//! `abuse.bulk_send` — a login suddenly sending far more mail than it ever does: the spam burst
//! of a stolen account.
//!
//! **Why**: "bulk delivery in a short time" is the abuse sign of the seed articles, and the
//! stolen login is what the responder must disable; fail2ban and pflogsumm count per address or
//! in total, never per login. **How**: deliveries are attributed to the SASL login that
//! submitted the message (the parse layer joins them on the queue id) and counted per login and
//! hour, with the source addresses of the submissions, deferrals and bounces. An hour's
//! baseline is the login's median over its *other* active hours (none: 0 — an hour cannot raise
//! its own bar); an hour whose busiest 60 minutes hold ≥ `bulk_min` deliveries (default 50) and
//! ≥ `bulk_factor` × the baseline (default 10) is a burst. The 60 minutes are the clock hour or
//! any 60 minutes across the turn into the next hour (per-minute counts: a burst at 04:59–05:01
//! is not cut in two; both hours then join it and neither counts in the other's baseline);
//! bursts within an hour of each
//! other make one window, one finding each. A login whose bursts fall on ≥ `bulk_recurring_days`
//! distinct days (default 3) is sending on a schedule (a newsletter) and is not reported.
//! **Whose addresses**: each source address of a burst is the login's *usual source* when the
//! login used it (to log in or submit) before the burst began (the first appearance of an
//! address that sent ≥ 10 % of it), either ≥ 6 hours before or as the first address it is
//! seen with in the evidence (unless it sent ≥ 10 % of the burst itself); the others are a
//! *stolen login's sources*
//! when the login has a usual source to differ from, else only *new sources*
//! (`crate::detect::entity` then reconciles them with the other findings: a taken account's
//! new source is a stolen login's). The block list takes the stolen login's, never the usual.
//! **ATT&CK**: T1496 (Resource Hijacking). **Phase**: exfiltration (abuse). **Severity**: high.
//! **False positives**: a one-off legitimate mailing (an announcement to all staff) from a
//! normally quiet account.

use std::collections::{BTreeMap, BTreeSet};

use super::failures::HOUR_US;
use super::{Files, Rule, Shared, Thresholds};
use rustc_hash::FxHashMap;

use crate::detect::entity::{EntityKind, EntityRole};
use crate::detect::fact::Fact;
use crate::detect::finding::{ts, Entities, EvidenceSet, Finding, Severity};
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
    /// Source addresses: how many messages each submitted, from when (at most 16).
    ips: Vec<Sender>,
    first: i64,
    last: i64,
    evidence: EvidenceSet,
    /// Deliveries per minute of the hour (60 counters, empty before the first delivery and
    /// once no later hour needs them).
    minutes: Vec<u32>,
    /// The most deliveries of any 60 minutes this hour is part of: its own total, or more
    /// when a burst straddles the turn of the hour.
    peak: u64,
    /// The deliveries of the neighbouring hour that shares that peak (0: none): the two are
    /// one burst and neither raises the other's bar.
    partner: u64,
}

/// One source address of an hour or a burst.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Sender {
    ip: Box<str>,
    /// Messages it submitted.
    sent: u64,
    /// Its first submission (µs).
    first: i64,
}

/// Counts `n` submissions from `ip`, the first at `at` (a new address only while fewer than
/// 16 are held).
fn count_ip(ips: &mut Vec<Sender>, ip: &str, n: u64, at: i64) {
    match ips.iter().position(|s| *s.ip == *ip) {
        Some(i) => {
            ips[i].sent += n;
            ips[i].first = ips[i].first.min(at);
        }
        None if ips.len() < 16 => ips.push(Sender {
            ip: ip.into(),
            sent: n,
            first: at,
        }),
        None => {}
    }
}

/// Whether `s` sent at least a tenth of the `total` messages of a burst: one of its heavy
/// senders.
fn heavy(s: &Sender, total: u64) -> bool {
    total > 0 && s.sent * 10 >= total
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
    /// Login → the addresses it logged in or submitted from, each with its first time (at
    /// most [`MAX_SOURCES`] per login).
    sources: FxHashMap<Box<str>, Vec<(Box<str>, i64)>>,
}

/// Addresses remembered per login (beyond them a login roams too much to have usual ones).
const MAX_SOURCES: usize = 64;

/// How long before a burst an address must have served the login to be its usual one (unless
/// it is the first the login is seen with).
const USUAL_BEFORE_US: i64 = 6 * HOUR_US;

/// Burst candidates a login keeps with their recipients; later ones keep only how many
/// distinct recipients they had (a login reported for a burst has bursts on fewer than
/// `bulk_recurring_days` days, so this only thins logins that send in bulk every day, such as
/// a newsletter, whose distinct-recipient total is then a sum over hours).
const FULL_CANDIDATES: usize = 64;

#[derive(Default)]
struct Sealed {
    volumes: BTreeMap<u64, u64>,
    candidates: Vec<(i64, Hour)>,
    /// The login's latest sealed hour with deliveries, kept with its minutes: a burst that
    /// begins in it and goes on in the next is judged over the 60 minutes it took, not cut in
    /// two at the turn of the hour.
    prev: Option<(i64, Hour)>,
}

/// The most deliveries in 60 minutes that begin in hour `a` and end in the hour after it,
/// `b` (each 60 per-minute counters, or none).
fn straddling_peak(a: &[u32], b: &[u32]) -> u64 {
    if a.len() != 60 || b.len() != 60 {
        return 0;
    }
    // Begins at minute s of `a` (1..60): a[s..] + b[..s].
    let mut in_a: u64 = a[1..].iter().map(|n| u64::from(*n)).sum();
    let mut in_b: u64 = u64::from(b[0]);
    let mut best = in_a + in_b;
    for s in 2..60 {
        in_a -= u64::from(a[s - 1]);
        in_b += u64::from(b[s - 1]);
        best = best.max(in_a + in_b);
    }
    best
}

/// A copy of hour `h` to keep as a burst candidate (without its minutes).
fn candidate(h: &Hour) -> Hour {
    Hour {
        minutes: Vec::new(),
        ..h.clone()
    }
}

impl Sealed {
    /// Keeps hour `h` as a burst candidate (with only the count of its recipients once
    /// [`FULL_CANDIDATES`] are held).
    fn push(&mut self, hour: i64, mut h: Hour) {
        if self.candidates.len() >= FULL_CANDIDATES {
            h.uncounted = h.recipients.len();
            h.recipients = Vec::new();
        }
        self.candidates.push((hour, h));
    }

    /// The median hourly volume of the login's active hours other than the hours judged (of
    /// volumes `judged`: one hour, or two a burst straddles; the upper one of an even count);
    /// 0 when it has no other active hour.
    fn median_without(&self, judged: &[u64]) -> u64 {
        let count = |v: u64, n: u64| {
            let drop = judged.iter().filter(|j| **j == v).count() as u64;
            n.saturating_sub(drop)
        };
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
            sources: FxHashMap::default(),
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
            let mut old = old;
            old.sort_unstable();
            for hour in old {
                let Some(mut h) = by_hour.remove(&hour) else {
                    continue;
                };
                if h.deliveries == 0 {
                    continue;
                }
                *sealed.volumes.entry(h.deliveries).or_default() += 1;
                h.peak = h.deliveries;
                let kept = sealed.candidates.last().map(|(c, _)| *c);
                let mut joins = None;
                if let Some((p, prev)) = sealed.prev.as_mut().filter(|(p, _)| *p == hour - 1) {
                    let across = straddling_peak(&prev.minutes, &h.minutes);
                    if across > h.peak {
                        h.peak = across;
                        h.partner = prev.deliveries;
                    }
                    if across >= min && kept != Some(*p) {
                        // The burst began in the hour before: that hour joins it.
                        prev.peak = across;
                        prev.partner = h.deliveries;
                        joins = Some((*p, candidate(prev)));
                    }
                }
                if let Some((p, c)) = joins {
                    sealed.push(p, c);
                }
                if h.peak >= min {
                    sealed.push(hour, candidate(&h));
                }
                if sealed.prev.as_ref().is_none_or(|(p, _)| *p < hour) {
                    sealed.prev = Some((hour, h));
                }
            }
        }
        self.hours.retain(|_, h| !h.is_empty());
    }
}

impl BulkSend {
    /// Records that `user` logged in or submitted from `ip` at `at`.
    fn source(&mut self, user: &str, ip: &str, at: i64) {
        if !self.sources.contains_key(user) {
            self.sources.insert(user.into(), Vec::new());
        }
        let Some(known) = self.sources.get_mut(user) else {
            return;
        };
        match known.iter().position(|(k, _)| **k == *ip) {
            Some(i) => known[i].1 = known[i].1.min(at),
            None if known.len() < MAX_SOURCES => known.push((ip.into(), at)),
            None => {}
        }
    }
}

/// The source addresses of a burst of `user` (each with the messages it submitted in the
/// burst) and their roles, by the addresses the logins were `seen` with.
///
/// The burst starts when the first of its *heavy* senders (≥ 10 % of its messages) was first
/// seen; an address is usual when the login used it before that, either
/// `USUAL_BEFORE_US` before or as the first address of the evidence — the latter only if it
/// is not itself a heavy sender (a log that starts with the attacker's own login).
fn roles_of(
    seen: &FxHashMap<Box<str>, Vec<(Box<str>, i64)>>,
    user: &str,
    ips: &[Sender],
    window_first: i64,
) -> Vec<(String, EntityRole)> {
    let known = seen.get(user).map(Vec::as_slice).unwrap_or_default();
    let first_use = |ip: &str| known.iter().find(|(k, _)| **k == *ip).map(|(_, t)| *t);
    let first_ever = known.iter().map(|(_, t)| *t).min();
    let total: u64 = ips.iter().map(|s| s.sent).sum();
    let heavy = |ip: &str| ips.iter().any(|s| *s.ip == *ip && heavy(s, total));
    let start = ips
        .iter()
        .filter(|s| heavy(&s.ip))
        .filter_map(|s| first_use(&s.ip))
        .min()
        .unwrap_or(window_first);
    let usual = |ip: &str| {
        first_use(ip).is_some_and(|t| {
            t < start && (t <= start - USUAL_BEFORE_US || (Some(t) == first_ever && !heavy(ip)))
        })
    };
    let has_usual = known.iter().any(|(k, _)| usual(k));
    ips.iter()
        .map(|Sender { ip, .. }| {
            let role = if usual(ip) {
                EntityRole::UsualSource
            } else if has_usual {
                EntityRole::StolenLoginSource
            } else {
                EntityRole::NewSource
            };
            (ip.to_string(), role)
        })
        .collect()
}

/// "from A (new to the login) and B (its usual address)".
fn sources_text(roles: &[(String, EntityRole)]) -> String {
    if roles.is_empty() {
        return "unknown addresses".to_string();
    }
    let of = |want: EntityRole| -> Vec<&str> {
        roles
            .iter()
            .filter(|(_, r)| *r == want)
            .map(|(ip, _)| ip.as_str())
            .collect()
    };
    let mut parts = Vec::new();
    for (role, words) in [
        (EntityRole::StolenLoginSource, "not the login's own"),
        (EntityRole::NewSource, "new to the login"),
        (EntityRole::UsualSource, "the login's usual"),
    ] {
        let ips = of(role);
        if !ips.is_empty() {
            parts.push(format!("{} ({words})", ips.join(", ")));
        }
    }
    parts.join(" and ")
}

impl Rule for BulkSend {
    fn observe(&mut self, f: &Fact) {
        let Some(user) = f.actor() else {
            return;
        };
        if let (Some(ip), true) = (f.src_ip(), super::logins::is_login(f)) {
            self.source(user, ip, f.ts_us);
        }
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
                count_ip(&mut h.ips, ip, 1, f.ts_us);
            }
            h.evidence.add(f.file, f.line);
            return;
        }
        h.deliveries += 1;
        if h.minutes.len() != 60 {
            h.minutes = vec![0; 60];
        }
        let minute = (f.ts_us.rem_euclid(HOUR_US) / 60_000_000) as usize;
        if let Some(m) = h.minutes.get_mut(minute) {
            *m = m.saturating_add(1);
        }
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
                .map(|c| {
                    let judged = [c.1.deliveries, c.1.partner];
                    let judged = if c.1.partner > 0 {
                        &judged[..]
                    } else {
                        &judged[..1]
                    };
                    (c, sealed.median_without(judged))
                })
                .filter(|((_, h), median)| h.peak >= t.bulk_min.max(t.bulk_factor * median))
                .collect();
            let median = bursts.iter().map(|(_, m)| *m).max().unwrap_or(0);
            let mut windows: Vec<(i64, Vec<&Hour>)> = Vec::new();
            let mut last_hour = i64::MIN;
            for ((hour, h), _) in bursts {
                if windows.is_empty() || hour - last_hour > 1 {
                    windows.push((*hour, Vec::new()));
                }
                if let Some((_, w)) = windows.last_mut() {
                    w.push(h);
                }
                last_hour = *hour;
            }
            // A burst over midnight is one day's.
            let days: BTreeSet<i64> = windows
                .iter()
                .map(|(hour, _)| hour.div_euclid(24))
                .collect();
            if windows.is_empty() || days.len() >= t.bulk_recurring_days {
                continue;
            }
            for (_, w) in windows {
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
                    for s in &h.ips {
                        count_ip(&mut sum.ips, &s.ip, s.sent, s.first);
                    }
                    sum.first = sum.first.min(h.first);
                    sum.last = sum.last.max(h.last);
                    sum.evidence.extend(&h.evidence);
                }
                sum.ips.sort();
                let roles = roles_of(&self.sources, user, &sum.ips, sum.first);
                // The burst begins with its first heavy sender, not with whatever else the
                // login did earlier in that hour (its owner's own morning mail).
                let total: u64 = sum.ips.iter().map(|s| s.sent).sum();
                if let Some(start) = sum
                    .ips
                    .iter()
                    .filter(|s| heavy(s, total))
                    .map(|s| s.first)
                    .min()
                {
                    sum.first = sum.first.max(start);
                }
                let took = match (sum.last - sum.first) / 60_000_000 {
                    0 => "under a minute".to_string(),
                    m => format!("{m} min"),
                };
                let mut entities = Entities {
                    users: vec![user.to_string()],
                    ..Entities::default()
                };
                entities.tag(EntityKind::User, user, EntityRole::VictimAccount);
                for (ip, role) in &roles {
                    entities.tag(EntityKind::Ip, ip, *role);
                }
                out.push(Finding {
                    title: format!("Bulk sending by login {user}"),
                    severity: Severity::High,
                    attack: vec!["T1496"],
                    first_seen: ts(sum.first),
                    last_seen: ts(sum.last),
                    count: sum.deliveries,
                    summary: format!(
                        "{user} sent {} deliveries to {} recipients in {took} ({} deferred, {} bounced) from {}; its usual rate is {median} per active hour",
                        sum.deliveries,
                        sum.recipients.len() + sum.uncounted,
                        sum.deferred,
                        sum.bounced,
                        sources_text(&roles)
                    ),
                    entities,
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

    #[test]
    fn a_burst_across_the_turn_of_the_hour_is_one_burst() {
        let burst = |start: i64, n: i64, user: &str| {
            (0..n)
                .flat_map(|i| sent(start + i * 2, user, &format!("r{i}@out.example")))
                .collect::<Vec<_>>()
        };
        let mut facts = Vec::new();
        // carol: 60 in two minutes from 05:59:30 — 15 before the turn of the hour, 45 after
        // (the live Sendmail run's shape).
        facts.extend(burst(5 * 3_600 - 30, 60, "carol"));
        // dave: 30 at 04:10 and 30 at 05:50, 100 minutes apart: no 60 minutes hold 50.
        facts.extend(burst(4 * 3_600 + 600, 30, "dave"));
        facts.extend(burst(5 * 3_600 + 3_000, 30, "dave"));
        // erin: 40 at 23:55 and 40 at 00:05: one burst, one day.
        facts.extend(burst(23 * 3_600 + 3_300, 40, "erin"));
        facts.extend(burst(24 * 3_600 + 300, 40, "erin"));
        facts.sort_by_key(|f| f.ts_us);
        let f = run(Box::new(BulkSend::new(&Thresholds::default())), &facts);
        let got: Vec<(&str, u64)> = f
            .iter()
            .map(|f| (f.entities.users[0].as_str(), f.count))
            .collect();
        assert_eq!(got, [("carol", 60), ("erin", 80)], "{f:?}");
        assert!(
            f[0].first_seen.ends_with("T04:59:30Z"),
            "{}",
            f[0].first_seen
        );
        let mut facts = burst(23 * 3_600 + 3_300, 40, "erin");
        facts.extend(burst(24 * 3_600 + 300, 40, "erin"));
        let t = Thresholds {
            bulk_recurring_days: 2,
            ..Thresholds::default()
        };
        assert_eq!(run(Box::new(BulkSend::new(&t)), &facts).len(), 1);
    }

    #[test]
    fn the_peak_of_60_minutes_is_counted_at_minute_resolution() {
        let mut a = vec![0u32; 60];
        let mut b = vec![0u32; 60];
        a[59] = 15;
        b[0] = 45;
        assert_eq!(straddling_peak(&a, &b), 60);
        a[0] = 100; // the first minute of `a` is never in a window with `b`
        assert_eq!(straddling_peak(&a, &b), 60);
        b[59] = 100; // nor the last minute of `b` with `a`
        assert_eq!(straddling_peak(&a, &b), 60);
        a[30] = 5;
        b[29] = 5;
        assert_eq!(straddling_peak(&a, &b), 70);
        assert_eq!(straddling_peak(&[], &b), 0);
    }

    fn from(secs: i64, ip: &str, user: &str, rcpt: &str) -> Vec<Fact> {
        let mut v = sent(secs, user, rcpt);
        v[0] = v[0].clone().with(Field::SrcIp, Some(ip));
        v
    }

    #[test]
    fn the_owners_address_is_told_from_the_stolen_logins() {
        let mut facts = Vec::new();
        // liwei works from the office for three days, and goes on while the spam is sent.
        for day in 0..3 {
            for i in 0..3 {
                facts.extend(from(
                    day * 86_400 + 36_000 + i * 600,
                    "198.51.100.20",
                    "liwei",
                    "a@partner.example",
                ));
            }
        }
        let burst = 3 * 86_400 + 36_000;
        facts.extend(from(burst, "198.51.100.20", "liwei", "a@partner.example"));
        for i in 0..300 {
            facts.extend(from(
                burst + 10 + i * 10,
                "203.0.113.77",
                "liwei",
                &format!("x{i}@spam.example"),
            ));
        }
        facts.sort_by_key(|f| f.ts_us);
        let f = run(Box::new(BulkSend::new(&Thresholds::default())), &facts);
        assert_eq!(f.len(), 1, "{f:?}");
        let e = &f[0].entities;
        assert_eq!(
            e.role(EntityKind::Ip, "203.0.113.77"),
            Some(EntityRole::StolenLoginSource)
        );
        assert_eq!(
            e.role(EntityKind::Ip, "198.51.100.20"),
            Some(EntityRole::UsualSource)
        );
        assert_eq!(
            e.role(EntityKind::User, "liwei"),
            Some(EntityRole::VictimAccount)
        );
        assert!(
            f[0].summary.contains(
                "203.0.113.77 (not the login's own) and 198.51.100.20 (the login's usual)"
            ),
            "{}",
            f[0].summary
        );
    }

    #[test]
    fn a_log_that_starts_with_the_attackers_login_gives_it_no_usual_address() {
        // The attacker's test message, then the burst from the same address: the first
        // address of the evidence, but it sent the burst.
        let mut facts = from(3_600, "203.0.113.77", "carol", "test@spam.example");
        for i in 0..200 {
            facts.extend(from(
                7_200 + i * 10,
                "203.0.113.77",
                "carol",
                &format!("x{i}@spam.example"),
            ));
        }
        let f = run(Box::new(BulkSend::new(&Thresholds::default())), &facts);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            f[0].entities.role(EntityKind::Ip, "203.0.113.77"),
            Some(EntityRole::NewSource)
        );
    }

    #[test]
    fn an_owner_seen_minutes_before_the_burst_in_the_same_hour_is_usual() {
        // A short log: carol's two messages from her office, the burst from a new address
        // minutes later in the same hour, one more message of hers during it.
        let mut facts = from(60, "198.51.100.30", "carol", "a@lab.example");
        facts.extend(from(90, "198.51.100.30", "carol", "b@lab.example"));
        for i in 0..60 {
            facts.extend(from(
                600 + i * 5,
                "192.0.2.11",
                "carol",
                &format!("x{i}@spam.example"),
            ));
        }
        facts.extend(from(700, "198.51.100.30", "carol", "c@lab.example"));
        facts.sort_by_key(|f| f.ts_us);
        let f = run(Box::new(BulkSend::new(&Thresholds::default())), &facts);
        assert_eq!(f.len(), 1, "{f:?}");
        let e = &f[0].entities;
        assert_eq!(
            e.role(EntityKind::Ip, "198.51.100.30"),
            Some(EntityRole::UsualSource)
        );
        assert_eq!(
            e.role(EntityKind::Ip, "192.0.2.11"),
            Some(EntityRole::StolenLoginSource)
        );
        // The burst begins with the spam, not with carol's own mail earlier in the hour.
        assert!(
            f[0].first_seen.ends_with("T00:10:00Z"),
            "{}",
            f[0].first_seen
        );
    }
}
