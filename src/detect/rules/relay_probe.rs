//! `relay.probe` — an address trying to relay through the server ("Relay access denied").
//!
//! **Why**: the seed articles' second sign after SASL failures: spammers test every server for
//! an open relay. **How**: `relay_denied` events per address and hour, merged into campaigns;
//! ≥ `relay_probes` (default 3) in a campaign is a probe. **ATT&CK**: T1595 (Active Scanning;
//! open-relay testing has no technique of its own). **Phase**: recon. **Severity**: medium.
//! **False positives**: a user whose client submits on port 25 without authenticating (one
//! address, real users as senders, recipients they normally write to).

use super::failures::{Bucket, Tally};
use super::{Files, Rule, Shared, Thresholds};
use crate::detect::fact::Fact;
use crate::detect::finding::{Finding, Severity};
use crate::events::record::Kind;

/// The rule.
pub struct RelayProbe {
    t: Thresholds,
    probes: Tally,
}

impl RelayProbe {
    /// A new rule with thresholds `t`.
    pub fn new(t: &Thresholds) -> Self {
        RelayProbe {
            t: t.clone(),
            probes: Tally::new(t),
        }
    }
}

impl Rule for RelayProbe {
    fn kinds(&self) -> super::Kinds {
        super::Kinds::of(&[Kind::RelayDenied])
    }

    fn observe(&mut self, f: &Fact) {
        if f.kind == Kind::RelayDenied {
            self.probes
                .seen
                .observe_labelled(f, f.recipient().unwrap_or("?"), 1);
        }
    }

    fn limits(&self) -> Vec<super::Limit> {
        self.probes.limits("relay.probe")
    }

    fn seal(&mut self, before: i64, files: &Files, _shared: &Shared) {
        let t = &self.t;
        self.probes.seal(before, |c| judge(t, files, c));
    }

    fn finish(&mut self, files: &Files, _shared: &Shared) -> Vec<Finding> {
        let t = &self.t;
        self.probes.finish(|c| judge(t, files, c))
    }
}

/// A relay probe, if one address's campaign of refused relaying is one.
fn judge(t: &Thresholds, files: &Files, (ip, c): (String, Bucket)) -> Option<Finding> {
    if c.count < t.relay_probes {
        return None;
    }
    Some(Finding {
        title: format!("Open-relay probing from {ip}"),
        summary: format!(
            "{} relay attempts to {} outside addresses refused",
            c.count,
            c.users.len()
        ),
        ..c.finding(
            "relay.probe",
            Severity::Medium,
            vec!["T1595"],
            ip.clone(),
            files,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rules::tests::{fact, run};

    #[test]
    fn repeated_relay_attempts_are_probing_one_misdirected_client_is_not() {
        let mut facts: Vec<Fact> = (0..5)
            .map(|i| fact(Kind::RelayDenied, i * 30, "198.51.100.66", ""))
            .collect();
        facts.push(fact(Kind::RelayDenied, 100, "192.0.2.33", ""));
        let f = run(Box::new(RelayProbe::new(&Thresholds::default())), &facts);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].entities.ips, ["198.51.100.66"]);
    }
}
