//! Shared bookkeeping of failed logins: per address and hour, the count, the accounts tried and
//! sample evidence lines; merged into campaigns (runs of hours with no gap longer than the
//! threshold). Used by the brute-force, spray and takeover rules.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::detect::fact::Fact;
use crate::detect::finding::EvidenceSet;
use crate::detect::small::Counts;
use crate::events::record::Kind;

/// Most accounts kept per bucket.
const MAX_USERS: usize = 1000;

/// Microseconds in an hour.
pub const HOUR_US: i64 = 3_600_000_000;

/// Attempts a failure line stands for: Dovecot logs `auth failed, N attempts` once per session.
pub fn attempts(f: &Fact) -> u64 {
    f.detail()
        .and_then(|d| d.strip_prefix("auth failed, "))
        .and_then(|d| d.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

/// Whether a fact is a failed login attempt (as the service logged it, or as the
/// authentication backend did).
pub fn is_failure(f: &Fact) -> bool {
    matches!(f.kind, Kind::AuthFailure | Kind::AuthBackendFailure)
}

/// Occurrences (failures, probes) of one address in one hour.
#[derive(Debug, Clone, Default)]
pub struct Bucket {
    /// Attempts.
    pub count: u64,
    /// First and last time (µs).
    pub first: i64,
    /// Last time.
    pub last: i64,
    /// Attempts per account (capped at 1,000 accounts).
    pub users: Counts,
    /// Sample lines.
    pub evidence: EvidenceSet,
}

/// Failures by address and hour.
///
/// Backend failures (`auth_backend_failure`: Dovecot's auth-worker, saslauthd) repeat what the
/// login service logs, so they are kept apart and count only for an address with no
/// service-level failure seen — the case where the service's lines went to another file
/// (Dovecot's `info_log_path`) or were lost. They are moved over when sealed (see below) and
/// at [`Failures::settle`], which rules call before reading.
///
/// **Sealing** keeps memory bounded on long inputs: the engine promises that no later fact is
/// older than some time `W` ([`crate::detect::Engine`]); [`Failures::closed`] then lists the
/// campaigns that can no longer grow (their last hour more than the campaign gap before `W`),
/// rules judge them, and [`Failures::seal`] marks them reported and drops hours no rule needs
/// any more (older than [`KEEP_HOURS`] before `W`); the older hours of a campaign that is still
/// running merge into one bucket. Without sealing (input out of time order) everything is kept
/// to the end, as before.
#[derive(Debug)]
pub struct Failures {
    by_ip: IpHours,
    backend: IpHours,
    service_ips: FxHashSet<Box<str>>,
    gap: i64,
}

impl Default for Failures {
    fn default() -> Self {
        Failures::new(super::Thresholds::default().campaign_gap_hours)
    }
}

/// Hours of failures kept after they can no longer start or extend a campaign: the 24 h a
/// takeover looks back, the spray window, and one sealing interval of slack.
pub const KEEP_HOURS: i64 = 26;

/// Address → its hours. Two levels so that a lookup borrows the address and allocates only
/// for a new one; a sorted vector, not a map, per address because most addresses (Internet
/// background) fail in one hour only, and a map's smallest table is several times the size
/// of one bucket.
type IpHours = FxHashMap<Box<str>, Series>;

/// One address's buckets, sorted by (first) hour; a merged bucket spans several hours.
#[derive(Debug, Default)]
struct Series {
    /// Last hour of the campaigns already reported (their buckets are not reported again).
    done: Option<i64>,
    hours: Vec<(i64, Bucket)>,
}

/// The last hour a bucket holds.
fn end_hour(b: &Bucket) -> i64 {
    b.last.div_euclid(HOUR_US)
}

/// The bucket of `ip` and `hour`, made on first use.
fn slot<'m>(map: &'m mut IpHours, ip: &str, hour: i64) -> Option<&'m mut Bucket> {
    if !map.contains_key(ip) {
        map.insert(ip.into(), Series::default());
    }
    let hours = &mut map.get_mut(ip)?.hours;
    // Logs run forward: the newest hour is the usual hit.
    let i = match hours.last() {
        Some((h, _)) if *h == hour => hours.len() - 1,
        _ => match hours.binary_search_by_key(&hour, |(h, _)| *h) {
            Ok(i) => i,
            Err(i) => {
                hours.insert(i, (hour, Bucket::default()));
                i
            }
        },
    };
    hours.get_mut(i).map(|(_, b)| b)
}

/// Splits sorted buckets into campaigns: index ranges whose buckets are no more than `gap`
/// hours apart.
fn runs(hours: &[(i64, Bucket)], gap: i64) -> Vec<std::ops::Range<usize>> {
    let mut out: Vec<std::ops::Range<usize>> = Vec::new();
    let mut end = i64::MIN;
    for (i, (h, b)) in hours.iter().enumerate() {
        match out.last_mut() {
            Some(r) if *h - end <= gap => r.end = i + 1,
            _ => out.push(i..i + 1),
        }
        end = end.max(end_hour(b));
    }
    out
}

/// Where a campaign (`part`, sorted) stands at hour `before`: reported already (it starts
/// at or before the series' `done` hour), closed (no fact from `before` on can extend it), and
/// its last hour.
fn judged(done: Option<i64>, part: &[(i64, Bucket)], before: i64, gap: i64) -> (bool, bool, i64) {
    let end = part
        .iter()
        .map(|(_, b)| end_hour(b))
        .max()
        .unwrap_or(i64::MIN);
    let first = part.first().map_or(i64::MIN, |(h, _)| *h);
    (
        done.is_some_and(|d| first <= d),
        before.saturating_sub(end) > gap,
        end,
    )
}

/// One bucket holding `hours` (a campaign, or the old part of one).
fn merged(hours: &[(i64, Bucket)]) -> Bucket {
    let mut c = Bucket {
        first: i64::MAX,
        last: i64::MIN,
        ..Bucket::default()
    };
    for (_, b) in hours {
        c.count += b.count;
        c.first = c.first.min(b.first);
        c.last = c.last.max(b.last);
        c.users.merge(&b.users, MAX_USERS);
        c.evidence.extend(&b.evidence);
    }
    c
}

impl Failures {
    /// Empty, with campaigns ending after `gap_hours` hours of silence.
    pub fn new(gap_hours: i64) -> Self {
        Failures {
            by_ip: IpHours::default(),
            backend: IpHours::default(),
            service_ips: FxHashSet::default(),
            gap: gap_hours,
        }
    }

    /// Records a failure fact (its account as the label, Dovecot's attempt count as weight).
    pub fn observe(&mut self, f: &Fact) {
        let label = f.actor().unwrap_or("(unknown)");
        if f.kind == Kind::AuthBackendFailure {
            if let Some(ip) = f.src_ip() {
                if let Some(b) = slot(&mut self.backend, ip, f.ts_us.div_euclid(HOUR_US)) {
                    b.add(f, label, 1);
                }
            }
            return;
        }
        if let Some(ip) = f.src_ip() {
            if !self.service_ips.contains(ip) {
                self.service_ips.insert(ip.into());
            }
        }
        self.observe_labelled(f, label, attempts(f));
    }

    /// Moves backend failures of addresses without service-level failures into the count.
    pub fn settle(&mut self) {
        self.settle_before(i64::MAX);
    }

    /// Moves backend failures before `hour` into the count where the address had no
    /// service-level failure so far; drops the others. Before sealing `hour`.
    pub fn settle_before(&mut self, hour: i64) {
        let mut emptied = Vec::new();
        for (ip, series) in self.backend.iter_mut() {
            let n = series.hours.partition_point(|(h, _)| *h < hour);
            if n == 0 {
                continue;
            }
            let old: Vec<(i64, Bucket)> = series.hours.drain(..n).collect();
            if series.hours.is_empty() {
                emptied.push(ip.clone());
            }
            if self.service_ips.contains(ip) {
                continue;
            }
            if !self.by_ip.contains_key(ip) {
                self.by_ip.insert(ip.clone(), Series::default());
            }
            if let Some(target) = self.by_ip.get_mut(ip) {
                for (h, b) in old {
                    let i = target.hours.partition_point(|(t, _)| *t < h);
                    target.hours.insert(i, (h, b));
                }
            }
        }
        for ip in emptied {
            self.backend.remove(&ip);
        }
    }

    /// Records `n` occurrences of `label` (an account, a recipient) from the fact's address.
    pub fn observe_labelled(&mut self, f: &Fact, label: &str, n: u64) {
        let Some(ip) = f.src_ip() else {
            return;
        };
        if let Some(b) = slot(&mut self.by_ip, ip, f.ts_us.div_euclid(HOUR_US)) {
            b.add(f, label, n);
        }
    }

    /// Every bucket: address, first hour, bucket (in no particular order). A bucket spans
    /// one hour unless sealing merged the old hours of a long campaign.
    pub fn buckets(&self) -> impl Iterator<Item = (&str, i64, &Bucket)> {
        self.by_ip
            .iter()
            .flat_map(|(ip, s)| s.hours.iter().map(move |(h, b)| (&**ip, *h, b)))
    }

    /// Campaigns per address not reported yet: consecutive hours merged while gaps stay
    /// within the campaign gap.
    pub fn campaigns(&self) -> Vec<(String, Bucket)> {
        self.closed(i64::MAX)
    }

    /// The campaigns not reported yet that no fact from hour `before` on can extend.
    pub fn closed(&self, before: i64) -> Vec<(String, Bucket)> {
        let mut out = Vec::new();
        for (ip, s) in &self.by_ip {
            for r in runs(&s.hours, self.gap) {
                let part = &s.hours[r];
                let (reported, closed, _) = judged(s.done, part, before, self.gap);
                if reported || !closed {
                    continue;
                }
                out.push((ip.to_string(), merged(part)));
            }
        }
        out.sort_by(|a, b| (&a.0, a.1.first).cmp(&(&b.0, b.1.first)));
        out
    }

    /// After the rules judged [`Failures::closed`] for `before`: marks those campaigns
    /// reported, drops hours older than `keep` hours before `before` that are reported, and
    /// merges the old hours of a campaign still running into one bucket.
    pub fn seal(&mut self, before: i64, keep: i64) {
        self.settle_before(before);
        let horizon = before.saturating_sub(keep);
        let gap = self.gap;
        self.by_ip.retain(|_, s| {
            let mut rest = Vec::with_capacity(s.hours.len());
            let ranges = runs(&s.hours, gap);
            let mut hours = std::mem::take(&mut s.hours).into_iter();
            for r in ranges {
                let part: Vec<(i64, Bucket)> = hours.by_ref().take(r.len()).collect();
                let (reported, closed, end) = judged(s.done, &part, before, gap);
                if reported || closed {
                    s.done = Some(s.done.map_or(end, |d| d.max(end)));
                    if end < horizon {
                        continue;
                    }
                    rest.extend(part);
                } else {
                    // Still running: hours no look-back reaches any more become one bucket.
                    let old = part.partition_point(|(h, b)| *h < horizon && end_hour(b) < horizon);
                    if old > 1 {
                        let h0 = part[0].0;
                        rest.push((h0, merged(&part[..old])));
                        rest.extend(part.into_iter().skip(old));
                    } else {
                        rest.extend(part);
                    }
                }
            }
            s.hours = rest;
            !s.hours.is_empty()
        });
    }
}

/// A campaign rule's findings: those judged as campaigns closed during sealing, then the rest
/// at the end. `judge` turns one address's campaign into a finding, or not.
#[derive(Debug, Default)]
pub struct Judged(Vec<crate::detect::finding::Finding>);

impl Judged {
    /// Judges `campaigns` and keeps the findings.
    pub fn add(
        &mut self,
        campaigns: Vec<(String, Bucket)>,
        judge: impl FnMut((String, Bucket)) -> Option<crate::detect::finding::Finding>,
    ) {
        self.0.extend(campaigns.into_iter().filter_map(judge));
    }

    /// The findings kept so far.
    pub fn take(&mut self) -> Vec<crate::detect::finding::Finding> {
        std::mem::take(&mut self.0)
    }
}

/// A rule's own per-address tally (sessions, probes) with its findings: campaigns are judged
/// and forgotten as they close.
#[derive(Debug)]
pub struct Tally {
    /// Occurrences by address and hour.
    pub seen: Failures,
    judged: Judged,
}

impl Tally {
    /// Empty, with campaigns ending after `gap_hours` hours of silence.
    pub fn new(gap_hours: i64) -> Self {
        Tally {
            seen: Failures::new(gap_hours),
            judged: Judged::default(),
        }
    }

    /// Judges the campaigns closed before hour `before` and forgets them.
    pub fn seal(
        &mut self,
        before: i64,
        judge: impl FnMut((String, Bucket)) -> Option<crate::detect::finding::Finding>,
    ) {
        self.judged.add(self.seen.closed(before), judge);
        self.seen.seal(before, 0);
    }

    /// Every finding: those of sealing, then those of the campaigns left.
    pub fn finish(
        &mut self,
        judge: impl FnMut((String, Bucket)) -> Option<crate::detect::finding::Finding>,
    ) -> Vec<crate::detect::finding::Finding> {
        self.judged.add(self.seen.campaigns(), judge);
        self.judged.take()
    }
}

impl Bucket {
    /// Adds `n` occurrences of `label` seen in fact `f`.
    fn add(&mut self, f: &Fact, label: &str, n: u64) {
        let b = self;
        if b.count == 0 || f.ts_us < b.first {
            b.first = f.ts_us;
        }
        b.last = b.last.max(f.ts_us);
        b.count += n;
        b.users.add(label, n, MAX_USERS);
        b.evidence.add(f.file, f.line);
    }

    /// The part of a finding a per-address campaign decides: times, count, address, evidence.
    /// Rules fill in title, summary and remediation with struct update syntax.
    pub fn finding(
        &self,
        rule: &'static str,
        severity: crate::detect::finding::Severity,
        phase: crate::detect::finding::Phase,
        attack: Vec<&'static str>,
        ip: String,
        files: &super::Files,
    ) -> crate::detect::finding::Finding {
        use crate::detect::finding::{ts, Entities, Finding};
        Finding {
            rule,
            title: String::new(),
            severity,
            phase,
            attack,
            first_seen: ts(self.first),
            last_seen: ts(self.last),
            count: self.count,
            summary: String::new(),
            entities: Entities {
                ips: vec![ip],
                users: Vec::new(),
                files: Vec::new(),
            },
            evidence: self.evidence.resolve(files),
            remediation: vec!["isolate.block_ips"],
        }
    }
}

/// The /24 (IPv4) or /64 (IPv6: the first four groups as written) network of an address, as
/// a prefix of its text.
pub fn network(ip: &str) -> &str {
    if ip.contains(':') {
        match ip.match_indices(':').nth(3) {
            Some((i, _)) => &ip[..i],
            None => ip,
        }
    } else {
        ip.rsplit_once('.').map_or(ip, |(n, _)| n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rules::tests::{failure, T0};

    fn hour(h: i64) -> i64 {
        (T0 / HOUR_US) + h
    }

    #[test]
    fn sealing_reports_a_campaign_once_and_keeps_a_running_one_whole() {
        let mut f = Failures::new(1);
        // 203.0.113.7: one failure an hour for 60 hours (one running campaign);
        // 198.51.100.9: a burst in hour 0, then silence (a closed campaign).
        for h in 0..60 {
            f.observe(&failure(h * 3600 + 10, "203.0.113.7", "admin"));
        }
        for i in 0..30 {
            f.observe(&failure(i * 10, "198.51.100.9", "liwei"));
        }
        let closed = f.closed(hour(40));
        assert_eq!(closed.len(), 1, "{closed:?}");
        assert_eq!(closed[0].0, "198.51.100.9");
        f.seal(hour(40), KEEP_HOURS);
        // Reported once; the running campaign's old hours are one bucket now.
        assert!(f.closed(hour(50)).is_empty());
        let running: Vec<_> = f
            .buckets()
            .filter(|(ip, _, _)| *ip == "203.0.113.7")
            .collect();
        // Hours before 40 - KEEP_HOURS = 14 merged into one; 14..60 kept one by one.
        assert_eq!(running.len(), 1 + (60 - 14));
        let all = f.campaigns();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].1.count, 60);
        assert_eq!(all[0].1.first, T0 + 10_000_000);
    }
}
