//! `service.config_change` — the mail system was reloaded, restarted or its queue edited while
//! the incident ran: someone changed its configuration (a BCC map, a transport, an alias).
//!
//! **Why**: persistence in configuration only takes effect after `postfix reload`,
//! `newaliases` or a restart; its log line dates the change even when the files' mtimes were
//! reset. **How**: `service` events that are reloads, restarts, start/stop of the daemons or
//! `postsuper` queue edits are collected; the *incident window* runs from the first to the last
//! high or critical finding of the other rules, plus a day; changes inside it make one finding.
//! **ATT&CK**: T1543 (Create or Modify System Process). **Phase**: persistence. **Severity**:
//! medium. **False positives**: an administrator's own change during the incident (often the
//! response itself) — compare with the change log of the team.

use super::{Files, Rule, Shared, Thresholds};
use crate::detect::fact::Fact;
use crate::detect::finding::{ts, Entities, EvidenceSet, Finding, Severity};
use crate::events::record::Kind;

/// Words of a service event that mark a change of the running system.
const CHANGES: &[&str] = &[
    "reload",
    "refreshing",
    "starting",
    "stopping",
    "terminating",
    "daemon started",
    "SIGHUP",
    "postsuper",
];

/// The rule.
pub struct ServiceChange {
    changes: Vec<(i64, String, u32, u64)>,
}

impl ServiceChange {
    /// A new rule.
    pub fn new(_t: &Thresholds) -> Self {
        ServiceChange {
            changes: Vec::new(),
        }
    }
}

fn micros(rfc3339: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .ok()
        .map(|t| t.timestamp_micros())
}

impl Rule for ServiceChange {
    fn kinds(&self) -> super::Kinds {
        super::Kinds::of(&[Kind::Service])
    }

    fn observe(&mut self, f: &Fact) {
        if f.kind != Kind::Service {
            return;
        }
        let d = f.detail().unwrap_or("");
        if CHANGES.iter().any(|c| d.contains(c)) && self.changes.len() < 100_000 {
            self.changes.push((f.ts_us, d.to_string(), f.file, f.line));
        }
    }

    fn finish(&mut self, files: &Files, shared: &Shared) -> Vec<Finding> {
        self.finish_with(files, shared, &[])
    }

    fn finish_with(
        &mut self,
        files: &Files,
        _shared: &Shared,
        earlier: &[Finding],
    ) -> Vec<Finding> {
        let serious: Vec<&Finding> = earlier
            .iter()
            .filter(|f| f.severity >= Severity::High)
            .collect();
        let start = serious.iter().filter_map(|f| micros(&f.first_seen)).min();
        let end = serious.iter().filter_map(|f| micros(&f.last_seen)).max();
        let (Some(start), Some(end)) = (start, end) else {
            return Vec::new();
        };
        let end = end + 24 * super::failures::HOUR_US;
        let mut inside: Vec<&(i64, String, u32, u64)> = self
            .changes
            .iter()
            .filter(|c| c.0 >= start && c.0 <= end)
            .collect();
        if inside.is_empty() {
            return Vec::new();
        }
        inside.sort_by_key(|c| c.0);
        let mut ev = EvidenceSet::default();
        for c in &inside {
            ev.add(c.2, c.3);
        }
        // `postfix-script` and `master` both log one reload: count distinct seconds.
        let mut when: Vec<String> = inside
            .iter()
            .map(|c| ts(c.0 - c.0.rem_euclid(1_000_000)))
            .collect();
        when.dedup();
        let times = when.len();
        when.truncate(10);
        vec![Finding {
            title: format!("Mail system reloaded or restarted {times} time(s) during the incident"),
            severity: Severity::Medium,
            attack: vec!["T1543"],
            first_seen: ts(inside[0].0),
            last_seen: ts(inside[inside.len() - 1].0),
            count: inside.len() as u64,
            summary: format!("reloads/restarts at {}", when.join(", ")),
            entities: Entities::default(),
            evidence: ev.resolve(files),
            remediation: vec!["clean.review_config_changes"],
            ..Finding::of("service.config_change")
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::fact::Field;
    use crate::detect::rules::tests::fact;

    #[test]
    fn reloads_inside_the_incident_are_reported_routine_ones_are_not() {
        let mut r = ServiceChange::new(&Thresholds::default());
        for (secs, d) in [
            (-40 * 86_400, "reload -- version 3.7.11"),
            (2_000, "reload -- version 3.7.11"),
            (2_001, "connect to x"),
        ] {
            let mut f = fact(Kind::Service, secs, "", "");
            f = f.with(Field::Detail, Some(d));
            r.observe(&f);
        }
        let files: &Files = &[("var/log/mail.log".to_string(), None)];
        assert!(
            r.finish(files, &Shared::default()).is_empty(),
            "no incident, nothing to place a change in"
        );
        let incident = Finding {
            title: String::new(),
            severity: Severity::Critical,
            attack: vec![],
            first_seen: ts(crate::detect::rules::tests::T0),
            last_seen: ts(crate::detect::rules::tests::T0 + 3_600_000_000),
            count: 1,
            entities: Entities::default(),
            summary: String::new(),
            evidence: vec![],
            remediation: vec![],
            ..Finding::of("auth.compromised_account")
        };
        let f = r.finish_with(files, &Shared::default(), &[incident]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].count, 1);
    }
}
