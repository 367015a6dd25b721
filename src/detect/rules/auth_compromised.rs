//! `auth.compromised_account` — a successful login from an address (or its /24) that failed
//! logins in the 24 hours before: the password was guessed.
//!
//! **Why**: fail2ban counts the failures and never notices the one success that followed; that
//! success is the takeover the responder must date. **How**: successes are SMTP AUTH
//! submissions (`message_received` with a login), IMAP/POP3/webmail logins; failures are
//! bucketed per address and hour. A success whose address, or /24 (IPv6: /64), had at least
//! `compromise_failures` (default 5) failed attempts — for any account — in the preceding 24
//! hours marks the account compromised; the finding gives the *first* such login per account,
//! every attacking address that logged in as it, and the failure lines. **ATT&CK**: T1078,
//! T1110. **Phase**: initial access. **Severity**: critical. **False positives**: a user who
//! mistyped many times from a shared NAT and then got it right (failures for that same account
//! only, from a known network) — compare `entities.ips` with the user's usual addresses.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap;

use super::failures::{network, HOUR_US};
use super::{Files, Rule, Shared, Thresholds};
use crate::detect::fact::Fact;
use crate::detect::finding::{ts, Cite, Entities, EvidenceSet, Finding, Severity};
use crate::events::record::Kind;

/// First success of (user, address) in each hour.
#[derive(Debug, Clone)]
struct Success {
    ts: i64,
    file: u32,
    line: u64,
}

/// A login that followed failures: the login, its address, the failures before it, their
/// lines and the addresses they came from.
struct Hit {
    success: Success,
    ip: String,
    failures: u64,
    evidence: EvidenceSet,
    attackers: BTreeSet<String>,
}

/// An account's compromising logins: the first (with its address and the failures before
/// it), the last, how many, and every address and line involved.
struct Taken {
    first: Success,
    first_ip: String,
    failures: u64,
    last: i64,
    count: u64,
    evidence: EvidenceSet,
    ips: BTreeSet<String>,
}

/// The rule.
pub struct Compromised {
    t: Thresholds,
    /// `user\0address` → hour → first success (one key string, looked up through `scratch`
    /// without allocating).
    successes: FxHashMap<Box<str>, FxHashMap<i64, Success>>,
    scratch: String,
    /// Per account, the compromising logins judged so far, folded in time order.
    taken: BTreeMap<String, Taken>,
}

impl Compromised {
    /// A new rule with thresholds `t`.
    pub fn new(t: &Thresholds) -> Self {
        Compromised {
            t: t.clone(),
            successes: FxHashMap::default(),
            scratch: String::new(),
            taken: BTreeMap::new(),
        }
    }

    /// Judges the successes before hour `before` against the failures before each, and
    /// forgets them.
    fn judge(&mut self, shared: &Shared, before: i64) {
        // Only the networks of the successes judged now are indexed: the failures of the
        // Internet at large (most buckets) never meet a login.
        let wanted: rustc_hash::FxHashSet<&str> = self
            .successes
            .iter()
            .filter(|(_, hours)| hours.keys().any(|h| *h < before))
            .map(|(key, _)| network(key.split_once('\0').map_or("", |(_, ip)| ip)))
            .collect();
        if wanted.is_empty() {
            return;
        }
        let mut by_net: ByNetwork = ByNetwork::default();
        for (ip, hour, b) in shared.failures.buckets() {
            let net = network(ip);
            if wanted.contains(net) {
                by_net.entry(net).or_default().push((hour, ip, b));
            }
        }
        // In time order, so that the evidence kept (a capped set) does not depend on the
        // order of a hash map.
        for v in by_net.values_mut() {
            v.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        }
        let min = self.t.compromise_failures;
        let mut hits: Vec<(String, Hit)> = Vec::new();
        self.successes.retain(|key, hours| {
            let (user, ip) = key.split_once('\0').unwrap_or((key, ""));
            hours.retain(|hour, s| {
                if *hour >= before {
                    return true;
                }
                let (count, evidence, attackers) = failures_before(&by_net, ip, s.ts);
                if count >= min {
                    hits.push((
                        user.to_string(),
                        Hit {
                            success: s.clone(),
                            ip: ip.to_string(),
                            failures: count,
                            evidence,
                            attackers,
                        },
                    ));
                }
                false
            });
            !hours.is_empty()
        });
        hits.sort_by(|(u, a), (v, b)| (u, a.success.ts, &a.ip).cmp(&(v, b.success.ts, &b.ip)));
        for (user, h) in hits {
            if !self.taken.contains_key(&user) {
                self.taken.insert(
                    user.clone(),
                    Taken {
                        first: h.success.clone(),
                        first_ip: h.ip.clone(),
                        failures: h.failures,
                        last: h.success.ts,
                        count: 0,
                        evidence: EvidenceSet::default(),
                        ips: BTreeSet::new(),
                    },
                );
            }
            if let Some(t) = self.taken.get_mut(&user) {
                t.count += 1;
                t.last = t.last.max(h.success.ts);
                t.evidence.add(h.success.file, h.success.line);
                t.evidence.extend(&h.evidence);
                t.ips.insert(h.ip);
                t.ips.extend(h.attackers);
            }
        }
    }
}

/// Failure buckets indexed by network, for the takeover check.
type ByNetwork<'a> =
    rustc_hash::FxHashMap<&'a str, Vec<(i64, &'a str, &'a super::failures::Bucket)>>;

/// Failed attempts from `ip`'s network in the 24 h before `at`, with sample evidence and the
/// addresses they came from.
fn failures_before(by_net: &ByNetwork, ip: &str, at: i64) -> (u64, EvidenceSet, BTreeSet<String>) {
    let mut count = 0;
    let mut ev = EvidenceSet::default();
    let mut ips = BTreeSet::new();
    let from_hour = (at - 24 * HOUR_US).div_euclid(HOUR_US);
    for (hour, fip, b) in by_net
        .get(network(ip))
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        if *hour >= from_hour && b.first < at {
            count += b.count;
            ev.extend(&b.evidence);
            ips.insert((*fip).to_string());
        }
    }
    (count, ev, ips)
}

impl Rule for Compromised {
    fn observe(&mut self, f: &Fact) {
        let success =
            f.kind == Kind::AuthSuccess || (f.kind == Kind::MessageReceived && f.actor().is_some());
        let (Some(user), Some(ip), true) = (f.actor(), f.src_ip(), success) else {
            return;
        };
        self.scratch.clear();
        self.scratch.push_str(user);
        self.scratch.push('\0');
        self.scratch.push_str(ip);
        if !self.successes.contains_key(self.scratch.as_str()) {
            self.successes
                .insert(self.scratch.as_str().into(), FxHashMap::default());
        }
        let Some(hours) = self.successes.get_mut(self.scratch.as_str()) else {
            return;
        };
        let s = Success {
            ts: f.ts_us,
            file: f.file,
            line: f.line,
        };
        hours
            .entry(f.ts_us.div_euclid(HOUR_US))
            .and_modify(|old| {
                if s.ts < old.ts {
                    *old = s.clone()
                }
            })
            .or_insert(s);
    }

    fn seal(&mut self, before: i64, _files: &Files, shared: &Shared) {
        self.judge(shared, before);
    }

    fn finish(&mut self, files: &Files, shared: &Shared) -> Vec<Finding> {
        self.judge(shared, i64::MAX);
        let mut out = Vec::new();
        for (user, t) in std::mem::take(&mut self.taken) {
            let Taken {
                first,
                first_ip,
                failures,
                last,
                count,
                evidence,
                ips,
            } = t;
            out.push(Finding {
                title: format!("Account {user} taken over from {first_ip}"),
                severity: Severity::Critical,
                attack: vec!["T1078", "T1110"],
                first_seen: ts(first.ts),
                last_seen: ts(last),
                count,
                summary: format!(
                    "{user} logged in from {first_ip} at {} after {failures} failed logins from that address or its network",
                    ts(first.ts)
                ),
                entities: Entities { ips: ips.into_iter().collect(), users: vec![user.clone()], files: Vec::new(), ..Entities::default() },
                evidence: evidence.resolve(files),
                decisive: files.get(first.file as usize).map(|(path, _)| Cite { path: path.clone(), line: first.line }),
                remediation: vec!["isolate.disable_accounts", "isolate.block_ips", "clean.reset_credentials"],
                ..Finding::of("auth.compromised_account")
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rules::tests::{failure, run, success};

    #[test]
    fn success_after_failures_is_a_takeover_and_a_typo_is_not() {
        let mut facts = Vec::new();
        for i in 0..40 {
            facts.push(failure(i * 20, "203.0.113.77", "liwei"));
        }
        facts.push(success(900, "203.0.113.77", "liwei"));
        facts.push(success(1_900, "203.0.113.77", "liwei"));
        // A user who mistypes twice and then logs in from the office.
        facts.push(failure(3_000, "192.0.2.10", "chenjing"));
        facts.push(failure(3_010, "192.0.2.10", "chenjing"));
        facts.push(success(3_020, "192.0.2.10", "chenjing"));
        let f = run(Box::new(Compromised::new(&Thresholds::default())), &facts);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].entities.users, ["liwei"]);
        assert_eq!(
            f[0].first_seen,
            crate::detect::finding::ts(crate::detect::rules::tests::T0 + 900_000_000)
        );
        assert_eq!(f[0].severity, Severity::Critical);
    }

    #[test]
    fn sealed_judging_counts_the_login_network_only_and_gives_the_same_findings() {
        use crate::detect::rules::tests::run_sealed;
        let mut facts = Vec::new();
        // Hour 0: a neighbour of the thief's address guesses (same /24), the Internet at
        // large guesses from elsewhere (other networks, many addresses).
        for i in 0..6 {
            facts.push(failure(i * 30, "198.51.100.20", "wanglei"));
        }
        for i in 0..250 {
            facts.push(failure(
                200 + i,
                &format!("203.0.{}.{}", i % 50, i),
                "admin",
            ));
        }
        // Hour 2: the thief logs in from the same /24; an office user logs in from a /24 no
        // guess came from.
        facts.push(success(2 * 3600 + 5, "198.51.100.21", "wanglei"));
        facts.push(success(2 * 3600 + 9, "192.0.2.10", "chenjing"));
        // Hour 5: a login from a /24 the Internet guessed from five times in hour 0 (a
        // takeover); again at hour 30, when those guesses are more than 24 hours old.
        facts.push(success(5 * 3600, "203.0.7.9", "zhaomin"));
        facts.push(failure(30 * 3600, "192.0.9.1", "x"));
        facts.push(success(30 * 3600 + 60, "203.0.7.9", "zhaomin"));
        for f in [
            run(Box::new(Compromised::new(&Thresholds::default())), &facts),
            run_sealed(Box::new(Compromised::new(&Thresholds::default())), &facts),
        ] {
            let users: Vec<&str> = f.iter().map(|f| f.entities.users[0].as_str()).collect();
            assert_eq!(users, ["wanglei", "zhaomin"], "{f:?}");
            assert!(f[0].entities.ips.contains(&"198.51.100.20".to_string()));
            assert!(!f[0].entities.ips.iter().any(|ip| ip.starts_with("203.")));
            assert_eq!(
                f[1].first_seen,
                crate::detect::finding::ts(crate::detect::rules::tests::T0 + 5 * 3_600_000_000)
            );
        }
    }
}
