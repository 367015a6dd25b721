//! `recon.scan` — an address opening many SMTP/IMAP sessions that send no mail: connections
//! dropped after CONNECT/EHLO/STARTTLS, pregreeting, banner grabs, TLS probes.
//!
//! **Why**: scanning is the recon phase of the seed articles' attack chain; each session alone
//! is Internet noise, dozens from one address are a survey. **How**: `lost_connection` events
//! before AUTH/MAIL/DATA (stage `CONNECT`, `EHLO`, `HELO`, `STARTTLS`, `UNKNOWN`, Dovecot "no
//! auth attempts") and `protocol_error` events are counted per address and hour, merged into
//! campaigns; ≥ `scan_sessions` (default 20) in one campaign is a scan. A scan spread over a
//! network — ≥ `scan_sessions` such sessions from ≥ `scan_network_addresses` (default 5)
//! addresses of one /24 (IPv6 /64) within an hour, none of which scanned enough on its own —
//! is one finding naming the network and every address. **ATT&CK**: T1595
//! (Active Scanning), T1046. **Phase**: recon. **Severity**: low. **False positives**: your own
//! monitoring (a TCP check on port 25 every minute gives 60 an hour from one address — add it to
//! the allow list when thresholds become configurable) and broken clients.

use super::failures::{Bucket, Tally};
use super::{Files, Rule, Shared, Thresholds};
use crate::detect::fact::Fact;
use crate::detect::finding::{Finding, Severity};
use crate::events::record::Kind;

/// The rule.
pub struct Scan {
    t: Thresholds,
    sessions: Tally,
    /// The same sessions by network, labelled by address.
    networks: Tally,
}

impl Scan {
    /// A new rule with thresholds `t`.
    pub fn new(t: &Thresholds) -> Self {
        Scan {
            t: t.clone(),
            sessions: Tally::new(t),
            networks: Tally::new(t),
        }
    }
}

/// Whether a fact is a session that ended before doing anything.
fn is_probe(f: &Fact) -> bool {
    match f.kind {
        Kind::ProtocolError => true,
        Kind::LostConnection => {
            let d = f.detail().unwrap_or("");
            !(d.contains("AUTH")
                || d.contains("MAIL")
                || d.contains("RCPT")
                || d.contains("DATA")
                || d.contains("END-OF-MESSAGE"))
        }
        _ => false,
    }
}

impl Rule for Scan {
    fn observe(&mut self, f: &Fact) {
        if is_probe(f) {
            self.sessions
                .seen
                .observe_labelled(f, f.detail().unwrap_or("session"), 1);
            if let Some(ip) = f.src_ip() {
                self.networks
                    .seen
                    .observe_keyed(super::failures::network(ip), f, ip, 1);
            }
        }
    }

    fn limits(&self) -> Vec<super::Limit> {
        let mut l = self.sessions.limits("recon.scan");
        l.extend(self.networks.limits("recon.scan"));
        l
    }

    fn seal(&mut self, before: i64, files: &Files, _shared: &Shared) {
        let t = &self.t;
        self.sessions.seal(before, |c| judge(t, files, c));
        self.networks.seal(before, |c| judge_network(t, files, c));
    }

    fn finish(&mut self, files: &Files, _shared: &Shared) -> Vec<Finding> {
        let t = &self.t;
        let mut out = self.sessions.finish(|c| judge(t, files, c));
        out.extend(self.networks.finish(|c| judge_network(t, files, c)));
        out
    }
}

/// A scan, if one address's campaign of empty sessions is one.
fn judge(t: &Thresholds, files: &Files, (ip, c): (String, Bucket)) -> Option<Finding> {
    if c.count < t.scan_sessions {
        return None;
    }
    let minutes = (c.last - c.first) / 60_000_000;
    Some(Finding {
        title: format!("Service scan from {ip}"),
        summary: format!("{} sessions ended without mail in {minutes} min", c.count),
        ..c.finding(
            "recon.scan",
            Severity::Low,
            vec!["T1595", "T1046"],
            ip.clone(),
            files,
        )
    })
}

/// A network prefix as written by [`super::failures::network`] (`203.0.113`, `2001:db8:1:2`)
/// as a range (`203.0.113.0/24`, `2001:db8:1:2::/64`).
fn cidr(net: &str) -> String {
    if net.contains(':') {
        format!("{net}::/64")
    } else {
        format!("{net}.0/24")
    }
}

/// A scan spread over a network, if one network's campaign of empty sessions is one: enough
/// sessions from enough of its addresses within an hour, none a scanner on its own (that one
/// has its own finding).
fn judge_network(t: &Thresholds, files: &Files, (net, c): (String, Bucket)) -> Option<Finding> {
    let addresses = c.users.len();
    let busiest = c.users.values().max().unwrap_or(0);
    let within_hour = c.last - c.first <= super::failures::HOUR_US;
    if c.count < t.scan_sessions
        || addresses < t.scan_network_addresses
        || busiest >= t.scan_sessions
        || !within_hour
    {
        return None;
    }
    let minutes = (c.last - c.first) / 60_000_000;
    let ips: Vec<String> = c.users.keys().map(str::to_string).collect();
    let base = c.finding(
        "recon.scan",
        Severity::Low,
        vec!["T1595", "T1046"],
        String::new(),
        files,
    );
    Some(Finding {
        title: format!("Service scan from {addresses} addresses of {}", cidr(&net)),
        summary: format!(
            "{} sessions ended without mail in {minutes} min, from {addresses} addresses of one network (at most {busiest} each)",
            c.count
        ),
        entities: crate::detect::finding::Entities {
            ips,
            ..Default::default()
        },
        ..base
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::fact::Field;
    use crate::detect::rules::tests::{fact, run};

    #[test]
    fn many_empty_sessions_are_a_scan_a_few_are_noise() {
        let mut facts = Vec::new();
        for i in 0..30 {
            let mut f = fact(Kind::LostConnection, i * 15, "203.0.113.45", "");
            f = f.with(Field::Detail, Some("after EHLO"));
            facts.push(f);
        }
        // A client that loses its connection after AUTH is not scanning; neither is one drop.
        for i in 0..30 {
            let mut f = fact(Kind::LostConnection, i * 15, "198.51.100.9", "");
            f = f.with(Field::Detail, Some("after AUTH"));
            facts.push(f);
        }
        let mut one = fact(Kind::LostConnection, 10, "192.0.2.77", "");
        one = one.with(Field::Detail, Some("after CONNECT"));
        facts.push(one);
        let f = run(Box::new(Scan::new(&Thresholds::default())), &facts);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].entities.ips, ["203.0.113.45"]);
    }

    #[test]
    fn a_scan_spread_over_a_network_is_one_finding() {
        let probe = |secs: i64, ip: &str| {
            fact(Kind::LostConnection, secs, ip, "").with(Field::Detail, Some("after EHLO"))
        };
        let mut facts = Vec::new();
        // Eight addresses of one /24, three empty sessions each, within ten minutes.
        for i in 0..24 {
            facts.push(probe(i * 25, &format!("203.0.113.{}", 10 + i % 8)));
        }
        // A busy legitimate pool: a dropped session now and then over a day, never many in
        // an hour.
        for i in 0..30 {
            facts.push(probe(i * 3_000, &format!("198.51.100.{}", i % 10)));
        }
        facts.sort_by_key(|f| f.ts_us);
        let f = run(Box::new(Scan::new(&Thresholds::default())), &facts);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            f[0].title,
            "Service scan from 8 addresses of 203.0.113.0/24"
        );
        assert_eq!(f[0].entities.ips.len(), 8);
        assert_eq!(f[0].count, 24);
        // One loud scanner in a network is its own finding, not also a network's.
        let mut facts = Vec::new();
        for i in 0..30 {
            facts.push(probe(i * 10, "203.0.113.45"));
        }
        for i in 0..5 {
            facts.push(probe(i * 10 + 5, &format!("203.0.113.{}", 50 + i)));
        }
        facts.sort_by_key(|f| f.ts_us);
        let f = run(Box::new(Scan::new(&Thresholds::default())), &facts);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].entities.ips, ["203.0.113.45"]);
    }
}
