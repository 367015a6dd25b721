//! `recon.scan` — an address opening many SMTP/IMAP sessions that send no mail: connections
//! dropped after CONNECT/EHLO/STARTTLS, pregreeting, banner grabs, TLS probes.
//!
//! **Why**: scanning is the recon phase of the seed articles' attack chain; each session alone
//! is Internet noise, dozens from one address are a survey. **How**: `lost_connection` events
//! before AUTH/MAIL/DATA (stage `CONNECT`, `EHLO`, `HELO`, `STARTTLS`, `UNKNOWN`, Dovecot "no
//! auth attempts") and `protocol_error` events are counted per address and hour, merged into
//! campaigns; ≥ `scan_sessions` (default 20) in one campaign is a scan. **ATT&CK**: T1595
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
}

impl Scan {
    /// A new rule with thresholds `t`.
    pub fn new(t: &Thresholds) -> Self {
        Scan {
            t: t.clone(),
            sessions: Tally::new(t),
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
        }
    }

    fn limits(&self) -> Vec<super::Limit> {
        self.sessions.limits("recon.scan")
    }

    fn seal(&mut self, before: i64, files: &Files, _shared: &Shared) {
        let t = &self.t;
        self.sessions.seal(before, |c| judge(t, files, c));
    }

    fn finish(&mut self, files: &Files, _shared: &Shared) -> Vec<Finding> {
        let t = &self.t;
        self.sessions.finish(|c| judge(t, files, c))
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
}
