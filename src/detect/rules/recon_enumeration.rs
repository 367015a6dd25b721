//! `recon.enumeration` — user enumeration: VRFY/EXPN, or bursts of RCPT to unknown users, from
//! one address.
//!
//! **Why**: attackers harvest valid accounts before guessing passwords (the seed articles advise
//! disabling VRFY/EXPN for this reason). **How**: `vrfy`, `expn` and `recipient_unknown` events
//! per address and hour, merged into campaigns, labelled by the address tried; a campaign with
//! ≥ `enumeration_addresses` (default 10) distinct addresses tried, or any VRFY/EXPN at all
//! together with ≥ 3 distinct addresses, is enumeration. **ATT&CK**: T1589.002 (email
//! addresses). **Phase**: recon. **Severity**: medium. **False positives**: a partner's mailing
//! list with stale addresses (many unknown recipients from one MTA — look at the sender and at
//! whether the addresses ever existed).

use super::failures::{Bucket, Tally};
use super::{Files, Rule, Shared, Thresholds};
use crate::detect::fact::Fact;
use crate::detect::finding::{Finding, Severity};
use crate::events::record::Kind;

/// The rule.
pub struct Enumeration {
    t: Thresholds,
    probes: Tally,
    /// Addresses that used VRFY/EXPN (at most `max_addresses`).
    vrfy: std::collections::BTreeSet<String>,
    /// VRFY/EXPN addresses not kept beyond the cap.
    vrfy_over: u64,
}

impl Enumeration {
    /// A new rule with thresholds `t`.
    pub fn new(t: &Thresholds) -> Self {
        Enumeration {
            t: t.clone(),
            probes: Tally::new(t),
            vrfy: Default::default(),
            vrfy_over: 0,
        }
    }
}

impl Rule for Enumeration {
    fn kinds(&self) -> super::Kinds {
        super::Kinds::of(&[Kind::Vrfy, Kind::Expn, Kind::RecipientUnknown])
    }

    fn observe(&mut self, f: &Fact) {
        if !matches!(f.kind, Kind::Vrfy | Kind::Expn | Kind::RecipientUnknown) {
            return;
        }
        if matches!(f.kind, Kind::Vrfy | Kind::Expn) {
            if let Some(ip) = f.src_ip() {
                if self.vrfy.len() < self.t.max_addresses {
                    self.vrfy.insert(ip.to_string());
                } else if !self.vrfy.contains(ip) {
                    self.vrfy_over += 1;
                }
            }
        }
        let target = f.recipient().unwrap_or("?").to_ascii_lowercase();
        self.probes.seen.observe_labelled(f, &target, 1);
    }

    fn limits(&self) -> Vec<super::Limit> {
        let mut out = self.probes.limits("recon.enumeration");
        if self.vrfy_over > 0 {
            out.push(super::Limit {
                rule: "recon.enumeration",
                what: format!(
                    "{} VRFY/EXPN use(s) by addresses beyond the first {} not remembered (their probes still count)",
                    self.vrfy_over, self.t.max_addresses
                ),
            });
        }
        out
    }

    fn seal(&mut self, before: i64, files: &Files, _shared: &Shared) {
        let (t, vrfy) = (&self.t, &self.vrfy);
        self.probes.seal(before, |c| judge(t, vrfy, files, c));
    }

    fn finish(&mut self, files: &Files, _shared: &Shared) -> Vec<Finding> {
        let (t, vrfy) = (&self.t, &self.vrfy);
        self.probes.finish(|c| judge(t, vrfy, files, c))
    }
}

/// Enumeration, if one address's campaign of probes is one (`vrfy`: addresses that used
/// VRFY/EXPN).
fn judge(
    t: &Thresholds,
    vrfy: &std::collections::BTreeSet<String>,
    files: &Files,
    (ip, c): (String, Bucket),
) -> Option<Finding> {
    let distinct = c.users.len();
    let vrfy = vrfy.contains(&ip);
    if distinct < t.enumeration_addresses && !(vrfy && distinct >= 3) {
        return None;
    }
    Some(Finding {
        title: format!("User enumeration from {ip}"),
        summary: format!(
            "{} probes for {distinct} addresses{}",
            c.count,
            if vrfy { " (including VRFY/EXPN)" } else { "" }
        ),
        remediation: vec!["isolate.block_ips", "clean.harden_vrfy"],
        ..c.finding(
            "recon.enumeration",
            Severity::Medium,
            vec!["T1589.002"],
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
    fn rcpt_harvesting_is_found_a_stale_address_is_not() {
        let mut facts = Vec::new();
        for (i, n) in [
            "admin", "sales", "hr", "it", "jobs", "info1", "test", "mail", "ceo", "ops", "web",
        ]
        .iter()
        .enumerate()
        {
            let mut f = fact(Kind::RecipientUnknown, i as i64 * 10, "203.0.113.45", "");
            f = f.with(Field::Recipient, Some(&format!("{n}@example.org")));
            facts.push(f);
        }
        let mut stale = fact(Kind::RecipientUnknown, 500, "198.51.100.14", "");
        stale = stale.with(Field::Recipient, Some("former.employee@example.org"));
        facts.push(stale.clone());
        stale.ts_us += 3_600_000_000 * 30;
        facts.push(stale);
        let f = run(Box::new(Enumeration::new(&Thresholds::default())), &facts);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].entities.ips, ["203.0.113.45"]);
    }
}
