//! Shared bookkeeping of failed logins: per address and hour, the count, the accounts tried and
//! sample evidence lines; merged into campaigns (runs of hours with no gap longer than the
//! threshold). Used by the brute-force, spray and takeover rules.

use rustc_hash::FxHashMap;

use crate::detect::churn::Churn;
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
    by_ip: Store,
    backend: Store,
    gap: i64,
    cap: usize,
}

impl Default for Failures {
    fn default() -> Self {
        let t = super::Thresholds::default();
        Failures::new(t.campaign_gap_hours, t.max_addresses)
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
    /// The login service itself logged a failure of this address (not only the backend).
    service: bool,
    hours: Vec<(i64, Bucket)>,
}

impl Series {
    /// Occurrences in every bucket.
    fn total(&self) -> u64 {
        self.hours.iter().map(|(_, b)| b.count).sum()
    }

    /// The buckets not reported yet (reported ones are kept for look-back only).
    fn pending(&self) -> impl Iterator<Item = &Bucket> {
        self.hours
            .iter()
            .filter(|(h, _)| self.done.is_none_or(|d| *h > d))
            .map(|(_, b)| b)
    }

    /// Takes in the buckets of `other` not reported yet (hour by hour).
    fn absorb(&mut self, other: Series) {
        self.service |= other.service;
        for (h, b) in other.hours {
            if other.done.is_some_and(|d| h <= d) {
                continue;
            }
            match self.hours.binary_search_by_key(&h, |(k, _)| *k) {
                Ok(i) => self.hours[i].1.absorb(&b),
                Err(i) => self.hours.insert(i, (h, b)),
            }
        }
    }
}

/// The networks addresses are folded into when a store holds too many of them: first their
/// /24 (IPv6 /48), judged like an address; then, when those are too many too, coarser
/// networks that are only counted. IPv4 and IPv6 prefix lengths by level.
const FOLD_PREFIXES: [(u8, u8); 4] = [(24, 48), (16, 32), (8, 16), (0, 0)];

/// The key of addresses that are not addresses (a garbled log field) once folded.
pub const UNPARSED_NETWORK: &str = "(unparsed addresses)";

/// The network (CIDR text) of prefix level `level` holding `key`: an address, or a network
/// of a finer level.
fn fold_key(key: &str, level: usize) -> String {
    let (v4, v6) = FOLD_PREFIXES[level.min(FOLD_PREFIXES.len() - 1)];
    let addr = key.split_once('/').map_or(key, |(a, _)| a);
    match addr.parse::<std::net::IpAddr>().map(|a| a.to_canonical()) {
        Ok(std::net::IpAddr::V4(a)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(v4)).unwrap_or(0);
            format!("{}/{v4}", std::net::Ipv4Addr::from(u32::from(a) & mask))
        }
        Ok(std::net::IpAddr::V6(a)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(v6)).unwrap_or(0);
            format!("{}/{v6}", std::net::Ipv6Addr::from(u128::from(a) & mask))
        }
        Err(_) => UNPARSED_NETWORK.to_string(),
    }
}

/// Occurrences of a network that is only counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    /// Occurrences.
    pub count: u64,
    /// First time (µs).
    pub first: i64,
    /// Last time (µs).
    pub last: i64,
}

impl Count {
    /// Takes in the occurrences of `other`.
    fn add(&mut self, other: Count) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = other;
        } else {
            self.count += other.count;
            self.first = self.first.min(other.first);
            self.last = self.last.max(other.last);
        }
    }
}

/// Addresses with their hours, bounded: when `cap` keys are held, the addresses with the
/// fewest occurrences are folded into their /24 (IPv6 /48) networks, which are judged like
/// addresses; when those pass a quarter of the cap, the quietest networks are only counted,
/// in coarser networks (/16, /8, everything) — aggregated, never dropped, and reported.
#[derive(Debug, Default)]
struct Store {
    ips: IpHours,
    /// /24 and /48 networks folded addresses went into (CIDR text).
    nets: IpHours,
    /// Coarser networks, counted only, at prefix level `level`.
    coarse: FxHashMap<Box<str>, Count>,
    /// Index into [`FOLD_PREFIXES`] of the counted networks (0: none yet).
    level: usize,
    /// Addresses folded so far.
    folded: u64,
    /// /24 and /48 networks moved to the counted ones so far.
    coarsened: u64,
    /// Series dropped from `ips` and `nets` since their tables were rebuilt (sealing drops
    /// as many addresses an hour as new ones fail: see [`Churn`]).
    churn: [Churn; 2],
}

/// The keys of `map` beyond the `keep` with the most occurrences (ties go too).
fn lightest(map: &IpHours, keep: usize) -> Vec<Box<str>> {
    if map.len() <= keep {
        return Vec::new();
    }
    let mut totals: Vec<u64> = map.values().map(Series::total).collect();
    let (_, cut, _) = totals.select_nth_unstable_by(keep, |a, b| b.cmp(a));
    let cut = *cut;
    map.iter()
        .filter(|(_, s)| s.total() <= cut)
        .map(|(k, _)| k.clone())
        .collect()
}

impl Store {
    fn len(&self) -> usize {
        self.ips.len() + self.nets.len()
    }

    /// The series of `ip`, made on first use (folding first if `cap` keys are held).
    fn series(&mut self, ip: &str, cap: usize) -> Option<&mut Series> {
        if !self.ips.contains_key(ip) {
            if self.len() >= cap {
                self.fold(cap);
            }
            self.ips.insert(ip.into(), Series::default());
        }
        self.ips.get_mut(ip)
    }

    /// Folds until at most half of `cap` keys are held: addresses beyond the quarter with
    /// the most occurrences go into their networks, networks beyond the quarter with the most
    /// into the counted ones.
    fn fold(&mut self, cap: usize) {
        let quarter = cap / 4;
        for ip in lightest(&self.ips, quarter) {
            if let Some(s) = self.ips.remove(&ip) {
                self.churn[0].removed(1);
                self.folded += 1;
                // Only what is not reported yet moves (reported hours were kept for look-back).
                if s.pending().next().is_some() {
                    let key = fold_key(&ip, 0);
                    self.nets.entry(key.into()).or_default().absorb(s);
                }
            }
        }
        for net in lightest(&self.nets, quarter) {
            if let Some(s) = self.nets.remove(&net) {
                self.churn[1].removed(1);
                self.coarsened += 1;
                self.count(&net, &s, cap);
            }
        }
    }

    /// Adds a network's occurrences to the counted networks (coarser ones when they would
    /// pass a quarter of `cap`).
    fn count(&mut self, net: &str, s: &Series, cap: usize) {
        if s.pending().all(|b| b.count == 0) {
            return;
        }
        self.level = self.level.max(1);
        let c = self
            .coarse
            .entry(fold_key(net, self.level).into())
            .or_default();
        for b in s.pending() {
            c.add(Count {
                count: b.count,
                first: b.first,
                last: b.last,
            });
        }
        while self.coarse.len() > cap / 4 && self.level + 1 < FOLD_PREFIXES.len() {
            self.level += 1;
            for (k, c) in std::mem::take(&mut self.coarse) {
                self.coarse
                    .entry(fold_key(&k, self.level).into())
                    .or_default()
                    .add(c);
            }
        }
    }

    /// Every series: addresses, then networks.
    fn iter(&self) -> impl Iterator<Item = (&Box<str>, &Series)> {
        self.ips.iter().chain(self.nets.iter())
    }

    /// Keeps the series `keep` says to keep (it may change them).
    fn retain(&mut self, mut keep: impl FnMut(&mut Series) -> bool) {
        for (map, churn) in [&mut self.ips, &mut self.nets]
            .into_iter()
            .zip(&mut self.churn)
        {
            let had = map.len();
            map.retain(|_, s| keep(s));
            churn.removed(had - map.len());
        }
    }

    /// Rebuilds the tables that dropped a quarter as many series as they hold since they
    /// were last rebuilt.
    fn tidy(&mut self) {
        self.churn[0].tidy(&mut self.ips, 4);
        self.churn[1].tidy(&mut self.nets, 4);
    }

    /// What folding did, if anything.
    fn folding(&self) -> Option<Folded> {
        if self.folded == 0 {
            return None;
        }
        let mut busiest: Vec<(String, Count)> = self
            .coarse
            .iter()
            .map(|(k, c)| (k.to_string(), *c))
            .collect();
        busiest.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(&b.0)));
        let counted = busiest.iter().map(|(_, c)| c.count).sum();
        busiest.truncate(3);
        Some(Folded {
            addresses: self.folded,
            networks: self.coarsened,
            coarse_prefix: (self.level > 0).then_some(FOLD_PREFIXES[self.level]),
            counted,
            busiest,
        })
    }
}

/// A store's folding, for the run's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folded {
    /// Addresses folded into their /24 (IPv6 /48) networks.
    pub addresses: u64,
    /// Of those networks, how many were moved to coarser networks that are only counted.
    pub networks: u64,
    /// IPv4 and IPv6 prefix lengths of the counted networks, if any.
    pub coarse_prefix: Option<(u8, u8)>,
    /// Occurrences in the counted networks (not judged).
    pub counted: u64,
    /// The counted networks with the most occurrences (at most three).
    pub busiest: Vec<(String, Count)>,
}

/// The last hour a bucket holds.
fn end_hour(b: &Bucket) -> i64 {
    b.last.div_euclid(HOUR_US)
}

/// The bucket of `hour` in `s`, made on first use.
fn slot(s: &mut Series, hour: i64) -> Option<&mut Bucket> {
    let hours = &mut s.hours;
    // Logs run forward: the newest hour is the usual hit.
    let i = match hours.last() {
        Some((h, _)) if *h == hour => hours.len() - 1,
        _ => match hours.binary_search_by_key(&hour, |(h, _)| *h) {
            Ok(i) => i,
            Err(i) => {
                // Most addresses fail in one hour only: no room for four on the first.
                if hours.is_empty() {
                    hours.reserve_exact(1);
                }
                hours.insert(i, (hour, Bucket::default()));
                i
            }
        },
    };
    hours.get_mut(i).map(|(_, b)| b)
}

/// Splits sorted buckets into campaigns: index ranges whose buckets are no more than `gap`
/// hours apart (an iterator: sealing walks every series, most of one bucket).
fn runs(hours: &[(i64, Bucket)], gap: i64) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let mut i = 0;
    let mut end = i64::MIN;
    std::iter::from_fn(move || {
        let start = i;
        let (_, first) = hours.get(start)?;
        end = end.max(end_hour(first));
        i += 1;
        while let Some((h, b)) = hours.get(i) {
            if *h - end > gap {
                break;
            }
            end = end.max(end_hour(b));
            i += 1;
        }
        Some(start..i)
    })
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
    let mut c = Bucket::default();
    for (_, b) in hours {
        c.absorb(b);
    }
    c
}

impl Failures {
    /// Empty, with campaigns ending after `gap_hours` hours of silence, holding at most `cap`
    /// addresses (and networks) before folding the quietest into networks.
    pub fn new(gap_hours: i64, cap: usize) -> Self {
        Failures {
            by_ip: Store::default(),
            backend: Store::default(),
            gap: gap_hours,
            cap: cap.max(4),
        }
    }

    /// Records a failure fact (its account as the label, Dovecot's attempt count as weight).
    pub fn observe(&mut self, f: &Fact) {
        let label = f.actor().unwrap_or("(unknown)");
        let Some(ip) = f.src_ip() else {
            return;
        };
        let hour = f.ts_us.div_euclid(HOUR_US);
        if f.kind == Kind::AuthBackendFailure {
            if let Some(b) = self
                .backend
                .series(ip, self.cap)
                .and_then(|s| slot(s, hour))
            {
                b.add(f, label, 1);
            }
            return;
        }
        if let Some(s) = self.by_ip.series(ip, self.cap) {
            s.service = true;
            if let Some(b) = slot(s, hour) {
                b.add(f, label, attempts(f));
            }
        }
    }

    /// Moves backend failures of addresses without service-level failures into the count.
    pub fn settle(&mut self) {
        self.settle_before(i64::MAX);
    }

    /// Moves backend failures before `hour` into the count where the address had no
    /// service-level failure so far; drops the others. Before sealing `hour`.
    pub fn settle_before(&mut self, hour: i64) {
        let by_ip = &mut self.by_ip;
        let churn = &mut self.backend.churn;
        for ((backend, main), churn) in [
            (&mut self.backend.ips, &mut by_ip.ips),
            (&mut self.backend.nets, &mut by_ip.nets),
        ]
        .into_iter()
        .zip(churn)
        {
            let had = backend.len();
            backend.retain(|ip, series| {
                let n = series.hours.partition_point(|(h, _)| *h < hour);
                if n == 0 {
                    return true;
                }
                let old = Series {
                    hours: series.hours.drain(..n).collect(),
                    ..Series::default()
                };
                if !main.get(ip).is_some_and(|s| s.service) {
                    main.entry(ip.clone()).or_default().absorb(old);
                }
                !series.hours.is_empty()
            });
            churn.removed(had - backend.len());
        }
        // Backend repeats of addresses folded there are not counted (they repeat the service's
        // failures where it logged any); what folding did is.
        by_ip.folded += std::mem::take(&mut self.backend.folded);
        by_ip.coarsened += std::mem::take(&mut self.backend.coarsened);
        self.backend.coarse.clear();
        if by_ip.len() > self.cap {
            by_ip.fold(self.cap);
        }
    }

    /// What folding did to keep the addresses within the cap, if anything.
    pub fn folding(&self) -> Option<Folded> {
        self.by_ip.folding()
    }

    /// Most addresses (and networks) held at once.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Records `n` occurrences of `label` (an account, a recipient) from the fact's address.
    pub fn observe_labelled(&mut self, f: &Fact, label: &str, n: u64) {
        let Some(ip) = f.src_ip() else {
            return;
        };
        self.observe_keyed(ip, f, label, n);
    }

    /// Records `n` occurrences of `label` under `key` instead of the fact's address (a
    /// network, for rules that judge many addresses of one network together).
    pub fn observe_keyed(&mut self, key: &str, f: &Fact, label: &str, n: u64) {
        let hour = f.ts_us.div_euclid(HOUR_US);
        if let Some(b) = self.by_ip.series(key, self.cap).and_then(|s| slot(s, hour)) {
            b.add(f, label, n);
        }
    }

    /// Every bucket: address, first hour, bucket (in no particular order). A bucket spans
    /// one hour unless sealing merged the old hours of a long campaign.
    pub fn buckets(&self) -> impl Iterator<Item = (&str, i64, &Bucket)> {
        self.sources()
            .flat_map(|(ip, s)| s.hours.iter().map(move |(h, b)| (&**ip, *h, b)))
    }

    /// The series judged as sources: addresses, and the /24 (IPv6 /48) networks quiet
    /// addresses were folded into (plausibly one actor's pool, as `auth.compromised` also
    /// assumes); coarser networks are only counted.
    fn sources(&self) -> impl Iterator<Item = (&Box<str>, &Series)> {
        self.by_ip.iter()
    }

    /// Campaigns per address not reported yet: consecutive hours merged while gaps stay
    /// within the campaign gap.
    pub fn campaigns(&self) -> impl Iterator<Item = (String, Bucket)> + '_ {
        self.closed(i64::MAX)
    }

    /// The campaigns not reported yet that no fact from hour `before` on can extend, one at a
    /// time (in no particular order: findings are sorted at the end).
    pub fn closed(&self, before: i64) -> impl Iterator<Item = (String, Bucket)> + '_ {
        let gap = self.gap;
        self.sources().flat_map(move |(ip, s)| {
            runs(&s.hours, gap).filter_map(move |r| {
                let part = &s.hours[r];
                let (reported, closed, _) = judged(s.done, part, before, gap);
                (!reported && closed).then(|| (ip.to_string(), merged(part)))
            })
        })
    }

    /// After the rules judged [`Failures::closed`] for `before`: marks those campaigns
    /// reported, drops hours older than `keep` hours before `before` that are reported, and
    /// merges the old hours of a campaign still running into one bucket.
    pub fn seal(&mut self, before: i64, keep: i64) {
        self.settle_before(before);
        let horizon = before.saturating_sub(keep);
        let gap = self.gap;
        self.by_ip.retain(|s| {
            if !seal_in_place(s, before, horizon, gap) {
                seal_rebuild(s, before, horizon, gap);
            }
            !s.hours.is_empty()
        });
        self.by_ip.tidy();
        self.backend.tidy();
    }
}

/// What sealing does with one campaign (`part`, sorted).
enum Fate {
    /// Reported (before, or now that it is closed), ending at hour `end`; its buckets go when
    /// `drop` (no look-back reaches them any more).
    Reported { end: i64, drop: bool },
    /// Still running: its first `merge` buckets become one when there are two or more.
    Running { merge: usize },
}

/// The [`Fate`] of campaign `part` when sealing at hour `before`, keeping from `horizon` on.
fn fate(done: Option<i64>, part: &[(i64, Bucket)], before: i64, horizon: i64, gap: i64) -> Fate {
    let (reported, closed, end) = judged(done, part, before, gap);
    if reported || closed {
        Fate::Reported {
            end,
            drop: end < horizon,
        }
    } else {
        Fate::Running {
            merge: part.partition_point(|(h, b)| *h < horizon && end_hour(b) < horizon),
        }
    }
}

/// [`Failures::seal`] of one series when it keeps every bucket as it is (most series, most
/// of the time): marks its closed campaigns reported without moving a bucket. False, and
/// nothing changed, when a bucket must go or merge.
fn seal_in_place(s: &mut Series, before: i64, horizon: i64, gap: i64) -> bool {
    let mut done = s.done;
    for r in runs(&s.hours, gap) {
        match fate(done, &s.hours[r], before, horizon, gap) {
            Fate::Reported { drop: true, .. } => return false,
            Fate::Running { merge } if merge > 1 => return false,
            Fate::Reported { end, .. } => done = Some(done.map_or(end, |d| d.max(end))),
            Fate::Running { .. } => {}
        }
    }
    s.done = done;
    // As tight as a rebuilt series (a series grows by amortised doubling between sealings).
    s.hours.shrink_to_fit();
    true
}

/// [`Failures::seal`] of one series that drops or merges buckets.
fn seal_rebuild(s: &mut Series, before: i64, horizon: i64, gap: i64) {
    let mut rest = Vec::with_capacity(s.hours.len());
    let ranges: Vec<std::ops::Range<usize>> = runs(&s.hours, gap).collect();
    let mut hours = std::mem::take(&mut s.hours).into_iter();
    for r in ranges {
        let part: Vec<(i64, Bucket)> = hours.by_ref().take(r.len()).collect();
        match fate(s.done, &part, before, horizon, gap) {
            Fate::Reported { end, drop } => {
                s.done = Some(s.done.map_or(end, |d| d.max(end)));
                if !drop {
                    rest.extend(part);
                }
            }
            // Still running: hours no look-back reaches any more become one bucket.
            Fate::Running { merge } if merge > 1 => {
                let h0 = part[0].0;
                rest.push((h0, merged(&part[..merge])));
                rest.extend(part.into_iter().skip(merge));
            }
            Fate::Running { .. } => rest.extend(part),
        }
    }
    s.hours = rest;
}

/// A campaign rule's findings: those judged as campaigns closed during sealing, then the rest
/// at the end. `judge` turns one address's campaign into a finding, or not.
#[derive(Debug, Default)]
pub struct Judged(Vec<crate::detect::finding::Finding>);

impl Judged {
    /// Judges `campaigns` and keeps the findings.
    pub fn add(
        &mut self,
        campaigns: impl IntoIterator<Item = (String, Bucket)>,
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
    /// Empty, with the campaign gap and address cap of `t`.
    pub fn new(t: &super::Thresholds) -> Self {
        Tally {
            seen: Failures::new(t.campaign_gap_hours, t.max_addresses),
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

    /// The limit reached, if addresses were folded, in the name of `rule`.
    pub fn limits(&self, rule: &'static str) -> Vec<super::Limit> {
        self.seen
            .folding()
            .map(|f| super::Limit::folded(rule, f, self.seen.cap()))
            .into_iter()
            .collect()
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
    /// Takes in the occurrences of `other`.
    fn absorb(&mut self, other: &Bucket) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            self.first = other.first;
            self.last = other.last;
        } else {
            self.first = self.first.min(other.first);
            self.last = self.last.max(other.last);
        }
        self.count += other.count;
        self.users.merge(&other.users, MAX_USERS);
        self.evidence.extend(&other.evidence);
    }

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
        attack: Vec<&'static str>,
        ip: String,
        files: &super::Files,
    ) -> crate::detect::finding::Finding {
        use crate::detect::finding::{ts, Entities, Finding};
        Finding {
            title: String::new(),
            severity,
            attack,
            first_seen: ts(self.first),
            last_seen: ts(self.last),
            count: self.count,
            summary: String::new(),
            entities: Entities {
                ips: vec![ip],
                users: Vec::new(),
                files: Vec::new(),
                ..Entities::default()
            },
            evidence: self.evidence.resolve(files),
            remediation: vec!["isolate.block_ips"],
            ..Finding::of(rule)
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
        let mut f = Failures::new(1, 1000);
        // 203.0.113.7: one failure an hour for 60 hours (one running campaign);
        // 198.51.100.9: a burst in hour 0, then silence (a closed campaign).
        for h in 0..60 {
            f.observe(&failure(h * 3600 + 10, "203.0.113.7", "admin"));
        }
        for i in 0..30 {
            f.observe(&failure(i * 10, "198.51.100.9", "liwei"));
        }
        let closed: Vec<_> = f.closed(hour(40)).collect();
        assert_eq!(closed.len(), 1, "{closed:?}");
        assert_eq!(closed[0].0, "198.51.100.9");
        f.seal(hour(40), KEEP_HOURS);
        // Reported once; the running campaign's old hours are one bucket now.
        assert!(f.closed(hour(50)).next().is_none());
        let running: Vec<_> = f
            .buckets()
            .filter(|(ip, _, _)| *ip == "203.0.113.7")
            .collect();
        // Hours before 40 - KEEP_HOURS = 14 merged into one; 14..60 kept one by one.
        assert_eq!(running.len(), 1 + (60 - 14));
        let all: Vec<_> = f.campaigns().collect();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].1.count, 60);
        assert_eq!(all[0].1.first, T0 + 10_000_000);
    }

    #[test]
    fn past_the_cap_quiet_addresses_fold_into_networks_and_loud_ones_stay() {
        let mut f = Failures::new(1, 16);
        // 200 addresses failing once each: 40 in one /24 (a pool), the rest spread over 40
        // /24s of the same /16; one guesser failing 200 times among them.
        for i in 0..200 {
            let ip = if i % 5 == 0 {
                format!("192.0.2.{}", i / 5 + 1)
            } else {
                format!("198.51.{}.{}", i % 40, i / 40 + 1)
            };
            f.observe(&failure(i, &ip, "info"));
            if i % 4 == 0 {
                for j in 0..4 {
                    f.observe(&failure(i + j, "203.0.113.66", "admin"));
                }
            }
        }
        assert!(f.by_ip.len() <= 16, "{} keys held", f.by_ip.len());
        let all: Vec<_> = f.campaigns().collect();
        let loud = all.iter().find(|(ip, _)| ip == "203.0.113.66").unwrap();
        assert_eq!(loud.1.count, 200);
        // The quiet ones: some /24s still judged, the rest counted in their /16.
        let pool = all.iter().find(|(k, _)| k == "192.0.2.0/24").unwrap();
        assert_eq!(pool.1.count, 40);
        let judged: u64 = all.iter().map(|(_, b)| b.count).sum();
        let folded = f.folding().unwrap();
        assert_eq!(judged + folded.counted, 400, "every failure still counted");
        assert!(folded.addresses >= 190, "{folded:?}");
        assert_eq!(folded.coarse_prefix, Some((16, 32)));
        assert_eq!(folded.busiest[0].0, "198.51.0.0/16");
    }

    #[test]
    fn folding_keys_ipv6_mapped_and_garbled_addresses() {
        assert_eq!(fold_key("2001:db8:1:2::7", 0), "2001:db8:1::/48");
        assert_eq!(fold_key("::ffff:192.0.2.9", 0), "192.0.2.0/24");
        assert_eq!(fold_key("192.0.2.0/24", 1), "192.0.0.0/16");
        assert_eq!(fold_key("2001:db8:1::/48", 3), "::/0");
        assert_eq!(fold_key("1.2.3.4;touch x", 0), UNPARSED_NETWORK);
        assert_eq!(fold_key("10.9.8.7", 3), "0.0.0.0/0");
    }

    #[test]
    fn within_the_cap_nothing_folds() {
        let mut f = Failures::new(1, 1000);
        for i in 0..500 {
            f.observe(&failure(i, &format!("192.0.2.{}", i % 250), "x"));
        }
        assert!(f.folding().is_none());
        assert_eq!(f.campaigns().count(), 250);
    }

    #[test]
    fn reported_hours_are_not_counted_again_when_folded() {
        let mut f = Failures::new(1, 8);
        for i in 0..6 {
            f.observe(&failure(i, &format!("192.0.2.{i}"), "a"));
        }
        // Hour 0 is judged and reported; kept for look-back.
        let _ = f.closed(hour(5)).count();
        f.seal(hour(5), KEEP_HOURS);
        for i in 0..40 {
            f.observe(&failure(6 * 3600 + i, &format!("198.51.{i}.1"), "b"));
        }
        let folded = f.folding().unwrap();
        assert!(
            folded.busiest.iter().all(|(_, c)| c.count > 0),
            "{folded:?}"
        );
        let judged: u64 = f.campaigns().map(|(_, b)| b.count).sum();
        assert_eq!(judged + folded.counted, 40, "{folded:?}");
    }
}
