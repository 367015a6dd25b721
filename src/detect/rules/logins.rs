//! Shared bookkeeping of successful logins for the baseline rules (`auth.off_hours`,
//! `auth.new_source`): per account, hour and network (/24, IPv6 /64), the count, the
//! addresses and the first evidence line; then, per account in time order, what its history
//! looked like before each hour. The baseline is learned from the evidence itself; an account
//! with too little history before an hour is never judged.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap;

use super::failures::{network, HOUR_US};
use crate::detect::fact::Fact;
use crate::detect::small::Names;
use crate::events::record::Kind;

/// Logins of one account from one network in one hour.
#[derive(Debug, Clone)]
pub struct Hour {
    /// Hour since the epoch.
    pub hour: i64,
    /// Network.
    pub net: Box<str>,
    /// Logins.
    pub count: u64,
    /// First login time (µs).
    pub first: i64,
    /// Last login time.
    pub last: i64,
    /// Addresses (at most 16).
    pub ips: Names,
    /// First login's file and line.
    pub at: (u32, u64),
}

/// All successful logins, by account.
#[derive(Debug, Default)]
pub struct Logins {
    /// Account → network → hour → logins; lookups borrow, only new keys allocate.
    by_user: FxHashMap<Box<str>, ByNet>,
}

/// Network → hour → logins of one account.
type ByNet = FxHashMap<Box<str>, FxHashMap<i64, Hour>>;

/// Whether a fact is a successful login (an AUTH success, or mail submitted with a login).
pub fn is_login(f: &Fact) -> bool {
    f.kind == Kind::AuthSuccess || (f.kind == Kind::MessageReceived && f.actor().is_some())
}

impl Logins {
    /// Records a fact when it is a login.
    pub fn observe(&mut self, f: &Fact) {
        let (true, Some(user), Some(ip)) = (is_login(f), f.actor(), f.src_ip()) else {
            return;
        };
        let hour = f.ts_us.div_euclid(HOUR_US);
        let net = network(ip);
        if !self.by_user.contains_key(user) {
            self.by_user.insert(user.into(), FxHashMap::default());
        }
        let Some(nets) = self.by_user.get_mut(user) else {
            return;
        };
        if !nets.contains_key(net) {
            nets.insert(net.into(), FxHashMap::default());
        }
        let Some(hours) = nets.get_mut(net) else {
            return;
        };
        let h = hours.entry(hour).or_insert_with(|| Hour {
            hour,
            net: net.into(),
            count: 0,
            first: f.ts_us,
            last: f.ts_us,
            ips: Names::default(),
            at: (f.file, f.line),
        });
        h.count += 1;
        if f.ts_us < h.first {
            h.first = f.ts_us;
            h.at = (f.file, f.line);
        }
        h.last = h.last.max(f.ts_us);
        h.ips.insert(ip, 16);
    }

    /// Each account's hours before hour `before`, in time order.
    pub fn by_user_before(&self, before: i64) -> BTreeMap<&str, Vec<&Hour>> {
        let mut out: BTreeMap<&str, Vec<&Hour>> = BTreeMap::new();
        for (u, nets) in &self.by_user {
            let hours: Vec<&Hour> = nets
                .values()
                .flat_map(|h| h.values())
                .filter(|h| h.hour < before)
                .collect();
            if !hours.is_empty() {
                out.insert(u, hours);
            }
        }
        for v in out.values_mut() {
            v.sort_by(|a, b| (a.first, &a.net).cmp(&(b.first, &b.net)));
        }
        out
    }

    /// Forgets the hours before hour `before` (the baseline rules have judged them).
    pub fn seal(&mut self, before: i64) {
        self.by_user.retain(|_, nets| {
            nets.retain(|_, hours| {
                hours.retain(|h, _| *h >= before);
                !hours.is_empty()
            });
            !nets.is_empty()
        });
    }
}

/// What an account did before some hour: logins per hour of day, days, networks.
#[derive(Debug, Default, Clone)]
pub struct History {
    /// Logins per hour of the day (UTC).
    pub hour_of_day: [u64; 24],
    /// Logins.
    pub logins: u64,
    /// Distinct days with a login (hours are added in time order: a day is new when it
    /// differs from the last one).
    pub days: usize,
    /// The last of those days.
    pub last_day: Option<i64>,
    /// Networks used.
    pub nets: BTreeSet<String>,
}

impl History {
    /// Adds one hour of logins.
    pub fn add(&mut self, h: &Hour) {
        self.hour_of_day[h.hour.rem_euclid(24) as usize] += h.count;
        self.logins += h.count;
        let day = h.hour.div_euclid(24);
        if self.last_day != Some(day) {
            self.days += 1;
            self.last_day = Some(day);
        }
        self.nets.insert(h.net.to_string());
    }

    /// Whether there is enough history to judge: `logins` logins on `days` distinct days.
    pub fn enough(&self, logins: u64, days: usize) -> bool {
        self.logins >= logins && self.days >= days
    }

    /// Whether an hour is usual for the account: inside the shortest stretch of the day
    /// (wrapping at midnight) that holds all its earlier logins, widened by `margin` hours on
    /// each side. A sparse history of a day worker (hours 08, 11, 15) thus covers 07–16.
    pub fn usual_hour(&self, hour: i64, margin: i64) -> bool {
        let used = |i: i64| self.hour_of_day[i.rem_euclid(24) as usize] > 0;
        // The longest run of unused hours (wrapping): start and length.
        let (mut best_start, mut best_len) = (0i64, 0i64);
        for start in 0..24 {
            if used(start) || !used(start - 1) {
                continue;
            }
            let len = (0..24).take_while(|d| !used(start + d)).count() as i64;
            if len > best_len {
                (best_start, best_len) = (start, len);
            }
        }
        if best_len == 0 {
            return true;
        }
        let p = (hour - best_start).rem_euclid(24);
        !(p >= margin && p < best_len - margin)
    }
}

#[cfg(test)]
mod tests {
    use super::History;

    #[test]
    fn usual_hours_are_the_stretch_that_holds_all_logins() {
        let mut h = History::default();
        for i in [23, 2, 9, 15] {
            h.hour_of_day[i] = 1;
        }
        // Used 23–15 (wrapping); unused 16–22; margin 1 leaves 17–21 unusual.
        for (hour, usual) in [
            (12, true),
            (16, true),
            (17, false),
            (19, false),
            (21, false),
            (22, true),
            (0, true),
        ] {
            assert_eq!(h.usual_hour(hour, 1), usual, "{hour}");
        }
    }
}
