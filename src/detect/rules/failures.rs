//! Shared bookkeeping of failed logins: per address and hour, the count, the accounts tried and
//! sample evidence lines; merged into campaigns (runs of hours with no gap longer than the
//! threshold). Used by the brute-force, spray and takeover rules.

use std::collections::BTreeMap;

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
/// service-level failure anywhere in the inputs — the case where the service's lines went to
/// another file (Dovecot's `info_log_path`) or were lost. Rules call [`Failures::settle`]
/// before reading.
#[derive(Debug, Default)]
pub struct Failures {
    by_ip: IpHours,
    backend: IpHours,
    service_ips: FxHashSet<Box<str>>,
}

/// Address → its hours' buckets, sorted by hour. Two levels so that a lookup borrows the
/// address and allocates only for a new one; a sorted vector, not a map, per address because
/// most addresses (Internet background) fail in one hour only, and a map's smallest table is
/// several times the size of one bucket.
type IpHours = FxHashMap<Box<str>, Vec<(i64, Bucket)>>;

/// The bucket of `ip` and `hour`, made on first use.
fn slot<'m>(map: &'m mut IpHours, ip: &str, hour: i64) -> Option<&'m mut Bucket> {
    if !map.contains_key(ip) {
        map.insert(ip.into(), Vec::with_capacity(1));
    }
    let hours = map.get_mut(ip)?;
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

impl Failures {
    /// Records a failure fact (its account as the label, Dovecot's attempt count as weight).
    pub fn observe(&mut self, f: &Fact) {
        let label = f.user().unwrap_or("(unknown)");
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
        for (ip, hours) in std::mem::take(&mut self.backend) {
            if !self.service_ips.contains(&ip) {
                self.by_ip.insert(ip, hours);
            }
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

    /// Every bucket: address, hour, bucket (in no particular order).
    pub fn buckets(&self) -> impl Iterator<Item = (&str, i64, &Bucket)> {
        self.by_ip
            .iter()
            .flat_map(|(ip, hours)| hours.iter().map(move |(h, b)| (&**ip, *h, b)))
    }

    /// Campaigns per address: consecutive hours merged while gaps stay within `gap_hours`.
    pub fn campaigns(&self, gap_hours: i64) -> Vec<(String, Bucket)> {
        let mut per_ip: BTreeMap<&str, Vec<(i64, &Bucket)>> = BTreeMap::new();
        for (ip, hours) in &self.by_ip {
            per_ip.insert(ip, hours.iter().map(|(h, b)| (*h, b)).collect());
        }
        let mut out = Vec::new();
        for (ip, mut hours) in per_ip {
            hours.sort_by_key(|(h, _)| *h);
            let mut cur: Option<(i64, Bucket)> = None;
            for (h, b) in hours {
                match &mut cur {
                    Some((last_h, c)) if h - *last_h <= gap_hours => {
                        c.count += b.count;
                        c.first = c.first.min(b.first);
                        c.last = c.last.max(b.last);
                        c.users.merge(&b.users, MAX_USERS);
                        c.evidence.extend(&b.evidence);
                        *last_h = h;
                    }
                    _ => {
                        if let Some((_, c)) = cur.take() {
                            out.push((ip.to_string(), c));
                        }
                        cur = Some((h, b.clone()));
                    }
                }
            }
            if let Some((_, c)) = cur {
                out.push((ip.to_string(), c));
            }
        }
        out
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
