//! Where each account has acted from: per account and network (/24, IPv6 /64), the first
//! time it was seen there — in a successful login or in any audited action that names the
//! actor and its address (an M365 audit record, an admin command) — and the hours of the day
//! it logged in from there. Gathered once in [`super::Shared`] for the rules that tell an account's
//! usual source from a new one (`exfil.mailbox_search`, `persistence.mailbox_delegation` …).
//!
//! Kept whole, never sealed, and independent of the order of the facts (audit exports list the
//! newest record first): one entry per account and network, at most [`MAX_NETS`] networks per
//! account (a network beyond them is not recorded, and so reads as new). A network is **new**
//! for an event when the account was first seen there less than [`NEW_HOURS`] before it and
//! had been seen elsewhere before that; **usual** when it was first seen there at least
//! [`NEW_HOURS`] before. An account with no earlier network has neither.

use rustc_hash::FxHashMap;

use super::failures::{network, HOUR_US};
use super::logins::History;
use crate::detect::fact::Fact;
use crate::events::record::Kind;

/// Most networks remembered per account.
pub const MAX_NETS: usize = 256;
/// How long a network stays new after an account was first seen there (hours): the session
/// that starts with a login from it and goes on to act.
pub const NEW_HOURS: i64 = 24;

/// One account's sightings from one network.
#[derive(Debug, Clone)]
struct Net {
    first: i64,
    /// Sightings per hour of the day (UTC).
    hours: [u64; 24],
    /// Distinct days of sightings (the first few: only "more than one" is asked).
    days: std::collections::BTreeSet<i64>,
}

/// Every account's networks.
#[derive(Debug, Default)]
pub struct Sources {
    by_user: FxHashMap<Box<str>, FxHashMap<Box<str>, Net>>,
}

/// Whether a fact says where an account acted from.
fn is_sighting(f: &Fact) -> bool {
    matches!(
        f.kind,
        Kind::AuthSuccess
            | Kind::MailboxAccess
            | Kind::MailboxChange
            | Kind::MailboxSearch
            | Kind::MailboxExport
            | Kind::PermissionGrant
            | Kind::AppConsent
            | Kind::AccessSetting
            | Kind::AuditSetting
            | Kind::MailboxRule
            | Kind::MailboxForwarding
            | Kind::TransportRule
            | Kind::AuditOperation
            | Kind::AdminCommand
    ) && f.status() != Some("failure")
}

impl Sources {
    /// Records a fact when it names an actor and its address.
    pub fn observe(&mut self, f: &Fact) {
        let (true, Some(user), Some(ip)) = (is_sighting(f), f.actor(), f.src_ip()) else {
            return;
        };
        // Borrowed lookups first: this runs for every login, and allocating the account's
        // and network's names each time shows on a big log.
        let lower = crate::detect::small::ascii_lower(user);
        let user = &*lower;
        if !self.by_user.contains_key(user) {
            self.by_user.insert(user.into(), FxHashMap::default());
        }
        let Some(nets) = self.by_user.get_mut(user) else {
            return;
        };
        let net = network(ip);
        if !nets.contains_key(net) {
            if nets.len() >= MAX_NETS {
                return;
            }
            nets.insert(
                net.into(),
                Net {
                    first: f.ts_us,
                    hours: [0; 24],
                    days: Default::default(),
                },
            );
        }
        let Some(n) = nets.get_mut(net) else {
            return;
        };
        n.first = n.first.min(f.ts_us);
        // Hours are those of logins: an action at an odd hour must not make the hour usual.
        if f.kind == Kind::AuthSuccess {
            n.hours[f.ts_us.div_euclid(HOUR_US).rem_euclid(24) as usize] += 1;
            if n.days.len() < 8 {
                n.days.insert(f.ts_us.div_euclid(24 * HOUR_US));
            }
        }
    }

    /// When `user` was first seen from `ip`'s network.
    pub fn first(&self, user: &str, ip: &str) -> Option<i64> {
        self.by_user
            .get(user.to_ascii_lowercase().as_str())?
            .get(network(ip))
            .map(|n| n.first)
    }

    /// Whether `ip` is a new source of `user` at `ts` (see the module doc).
    pub fn is_new(&self, user: &str, ip: &str, ts: i64) -> bool {
        let Some(nets) = self.by_user.get(user.to_ascii_lowercase().as_str()) else {
            return false;
        };
        let first = nets.get(network(ip)).map_or(ts, |n| n.first);
        let window = NEW_HOURS * HOUR_US;
        let recent = first >= ts.saturating_sub(window);
        let elsewhere = nets
            .iter()
            .any(|(k, n)| k.as_ref() != network(ip) && n.first < first);
        recent && elsewhere
    }

    /// Whether `ip` is a usual source of `user` at `ts`: seen there a day or more before.
    pub fn is_usual(&self, user: &str, ip: &str, ts: i64) -> bool {
        self.first(user, ip)
            .is_some_and(|f| f <= ts.saturating_sub(NEW_HOURS * HOUR_US))
    }

    /// Whether hour-of-day of `ts` is outside the hours `user` logs in at from its usual
    /// networks (the stretch of the day holding them, widened by `margin` hours: [`History`]);
    /// false when those networks hold fewer than 3 logins on 2 days (nothing to judge by).
    pub fn off_hours(&self, user: &str, ts: i64, margin: i64) -> bool {
        let Some(nets) = self.by_user.get(user.to_ascii_lowercase().as_str()) else {
            return false;
        };
        let mut h = History::default();
        let mut days = std::collections::BTreeSet::new();
        let before = ts.saturating_sub(NEW_HOURS * HOUR_US);
        for n in nets.values().filter(|n| n.first <= before) {
            for (i, c) in n.hours.iter().enumerate() {
                h.hour_of_day[i] += c;
                h.logins += c;
            }
            days.extend(n.days.iter().copied());
        }
        h.days = days.len();
        if !h.enough(3, 2) {
            return false;
        }
        !h.usual_hour(ts.div_euclid(HOUR_US), margin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rules::tests::{fact, success};

    #[test]
    fn new_and_usual_sources_whatever_the_order() {
        let mut s = Sources::default();
        // Newest first, as an audit export lists them.
        let facts = [
            fact(
                Kind::MailboxSearch,
                3 * 86_400 + 7200,
                "203.0.113.50",
                "A@x.example",
            ),
            success(3 * 86_400 + 3600, "203.0.113.50", "a@x.example"),
            success(86_400 + 9 * 3600, "198.51.100.10", "a@x.example"),
            success(9 * 3600, "198.51.100.10", "a@x.example"),
            success(10 * 3600, "198.51.100.10", "a@x.example"),
        ];
        for f in &facts {
            s.observe(f);
        }
        let t = crate::detect::rules::tests::T0;
        let at = |secs: i64| t + secs * 1_000_000;
        assert!(s.is_new("a@x.example", "203.0.113.50", at(3 * 86_400 + 7200)));
        assert!(!s.is_usual("a@x.example", "203.0.113.50", at(3 * 86_400 + 7200)));
        assert!(s.is_usual("a@x.example", "198.51.100.10", at(3 * 86_400)));
        assert!(!s.is_new("a@x.example", "198.51.100.10", at(3 * 86_400)));
        // Its first network is no new one: nothing was seen before it.
        assert!(!s.is_new("a@x.example", "198.51.100.10", at(9 * 3600)));
        // A week later the attacker's network is no longer new.
        assert!(!s.is_new("a@x.example", "203.0.113.50", at(10 * 86_400)));
        // Hours: 09–10 h usual, 03 h not (the attacker's new network does not teach its hour).
        assert!(s.off_hours("a@x.example", at(3 * 86_400 + 3 * 3600), 1));
        assert!(!s.off_hours("a@x.example", at(3 * 86_400 + 9 * 3600), 1));
        assert!(!s.off_hours("nobody@x.example", at(0), 1));
    }
}
