//! `auth.brute_force` — many failed logins from one address against a few accounts.
//!
//! **Why**: the first sign in the users' own words ("repeated `SASL LOGIN authentication
//! failed` from one IP"). **How**: failures (SMTP AUTH, IMAP/POP3 logins, webmail; Dovecot's
//! `N attempts` counted as N, backend lines never counted) are bucketed per address and hour,
//! hours within `campaign_gap_hours` merged into one campaign — one finding per address and
//! campaign, not per window. A campaign with at least `brute_force_failures` attempts (default
//! 20) that is not a spray (an address trying ≥ `spray_users` accounts at most
//! `spray_max_per_user` times each) is a brute force. **ATT&CK**: T1110.001. **Phase**:
//! initial access. **False positives**: a misconfigured client retrying a stale password (one
//! account, steady rhythm, often a known address) — check `entities.users` and the address.

use super::failures::{Bucket, Judged};
use super::{Files, Rule, Shared, Thresholds};
use crate::detect::finding::{Entities, Finding, Severity};

/// The rule.
pub struct BruteForce {
    t: Thresholds,
    judged: Judged,
}

impl BruteForce {
    /// A new rule with thresholds `t`.
    pub fn new(t: &Thresholds) -> Self {
        BruteForce {
            t: t.clone(),
            judged: Judged::default(),
        }
    }
}

impl Rule for BruteForce {
    fn seal(&mut self, before: i64, files: &Files, shared: &Shared) {
        let t = &self.t;
        self.judged
            .add(shared.failures.closed(before), |c| judge(t, files, c));
    }

    fn finish(&mut self, files: &Files, shared: &Shared) -> Vec<Finding> {
        let t = &self.t;
        self.judged
            .add(shared.failures.campaigns(), |c| judge(t, files, c));
        self.judged.take()
    }
}

/// A brute force, if one address's campaign of failures is one.
fn judge(t: &Thresholds, files: &Files, (ip, c): (String, Bucket)) -> Option<Finding> {
    let spray =
        c.users.len() >= t.spray_users && c.users.values().all(|n| n <= t.spray_max_per_user);
    if c.count < t.brute_force_failures || spray {
        return None;
    }
    let minutes = (c.last - c.first) / 60_000_000;
    let users: Vec<String> = c.users.keys().map(str::to_string).collect();
    Some(Finding {
        title: format!("Password brute force from {ip}"),
        summary: format!(
            "{} failed logins for {} account(s) in {minutes} min",
            c.count,
            users.len()
        ),
        remediation: vec!["isolate.block_ips", "clean.reset_credentials"],
        entities: Entities {
            ips: vec![ip.clone()],
            users,
            files: Vec::new(),
            ..Entities::default()
        },
        ..c.finding(
            "auth.brute_force",
            Severity::High,
            vec!["T1110.001"],
            ip.clone(),
            files,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rules::tests::{failure, run};

    #[test]
    fn a_campaign_is_one_finding_and_a_typo_is_none() {
        let mut facts = Vec::new();
        for i in 0..30 {
            facts.push(failure(
                i * 20,
                "203.0.113.77",
                ["admin", "liwei"][i as usize % 2],
            ));
        }
        // A user mistyping twice from the office.
        facts.push(failure(5_000, "192.0.2.10", "chenjing"));
        facts.push(failure(5_010, "192.0.2.10", "chenjing"));
        let f = run(Box::new(BruteForce::new(&Thresholds::default())), &facts);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].entities.ips, ["203.0.113.77"]);
        assert_eq!(f[0].count, 30);
        assert_eq!(f[0].evidence[0].lines.len(), 30);
    }
}
