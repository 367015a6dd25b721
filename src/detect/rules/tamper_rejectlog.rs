//! `tamper.rejectlog_mismatch` — Exim's rejectlog holds rejections of minutes its mainlog lacks:
//! lines were cut from the mainlog.
//!
//! **Why**: an intruder who cuts the slice of the takeover out of `/var/log/exim4/mainlog`
//! rarely thinks of `rejectlog`, where Exim writes every rejection (refused RCPT, failed AUTH,
//! refused connections) a second time. **How**: per minute, the reject-class events (auth
//! failures, rejects, refused relaying, unknown recipients, VRFY/EXPN, protocol errors, rate
//! limits) of the rejectlog chain are counted against those of the mainlog chain of the same
//! folder (`mainlog`, `mainlog.1`, …; cPanel's `exim_mainlog` / `exim_rejectlog` too); every
//! rejectlog line is also a mainlog line, so a minute inside the mainlog's span where the
//! rejectlog has more is a minute the mainlog lost lines from. Consecutive such minutes make one
//! finding, citing the rejectlog's lines. **ATT&CK**: T1070.002. **Phase**: cleanup.
//! **Severity**: high. **False positives**: a mainlog and rejectlog rotated at different times
//! with a rotation missing (only the minutes the mainlog covers are compared); a rejectlog
//! from another host copied beside the mainlog.

use std::collections::BTreeMap;

use super::{Files, Rule, Shared, Thresholds};
use crate::detect::fact::Fact;
use crate::detect::finding::{ts, Entities, EvidenceSet, Finding, Severity};
use crate::events::record::Kind;
use crate::parse::rotation::{exim_log, EximLog};

const MINUTE_US: i64 = 60_000_000;

/// Rejectlog lines kept per minute as evidence.
const LINES_PER_MINUTE: usize = 16;

/// Which log of which Exim a file is (none: neither of Exim's two).
type Role = Option<EximLog>;

/// Reject-class events: what Exim writes to the rejectlog as well.
fn reject_class(k: Kind) -> bool {
    matches!(
        k,
        Kind::AuthFailure
            | Kind::Reject
            | Kind::RelayDenied
            | Kind::RecipientUnknown
            | Kind::Vrfy
            | Kind::Expn
            | Kind::ProtocolError
            | Kind::RateLimit
    )
}

/// Per-minute counts of one Exim's two logs.
#[derive(Default)]
struct Pair {
    main: BTreeMap<i64, u32>,
    /// Minute → rejectlog events and their lines (file, line; the first [`LINES_PER_MINUTE`]).
    reject: BTreeMap<i64, (u32, Vec<(u32, u64)>)>,
    /// The mainlog's first and last event (µs).
    span: Option<(i64, i64)>,
}

/// The rule.
pub struct RejectLog {
    roles: Vec<Role>,
    pairs: BTreeMap<String, Pair>,
}

impl RejectLog {
    /// A new rule.
    pub fn new(_t: &Thresholds) -> Self {
        RejectLog {
            roles: Vec::new(),
            pairs: BTreeMap::new(),
        }
    }
}

impl Rule for RejectLog {
    fn file_started(&mut self, id: u32, path: &str) {
        let id = id as usize;
        if self.roles.len() <= id {
            self.roles.resize(id + 1, None);
        }
        self.roles[id] = exim_log(path);
    }

    fn observe(&mut self, f: &Fact) {
        self.see(f);
    }

    fn observe_copy(&mut self, f: &Fact) {
        self.see(f);
    }

    fn finish(&mut self, files: &Files, _shared: &Shared) -> Vec<Finding> {
        self.findings(files)
    }
}

impl RejectLog {
    /// Counts a fact of a mainlog or a rejectlog (the parse layer marks rejectlog facts as
    /// copies, which the engine hands to [`Rule::observe_copy`] only).
    fn see(&mut self, f: &Fact) {
        let Some(Some(role)) = self.roles.get(f.file as usize) else {
            return;
        };
        let minute = f.ts_us.div_euclid(MINUTE_US);
        match role {
            EximLog::Main(key) => {
                let p = self.pairs.entry(key.clone()).or_default();
                p.span = Some(p.span.map_or((f.ts_us, f.ts_us), |(a, b)| {
                    (a.min(f.ts_us), b.max(f.ts_us))
                }));
                if reject_class(f.kind) {
                    *p.main.entry(minute).or_default() += 1;
                }
            }
            EximLog::Reject(key) if reject_class(f.kind) => {
                let p = self.pairs.entry(key.clone()).or_default();
                let (n, lines) = p.reject.entry(minute).or_default();
                *n += 1;
                if lines.len() < LINES_PER_MINUTE {
                    lines.push((f.file, f.line));
                }
            }
            _ => {}
        }
    }

    /// A finding per run of minutes the mainlog lacks rejections in.
    fn findings(&self, files: &Files) -> Vec<Finding> {
        let mut out = Vec::new();
        for (key, p) in &self.pairs {
            let Some((first, last)) = p.span else {
                continue;
            };
            let (lo, hi) = (first.div_euclid(MINUTE_US), last.div_euclid(MINUTE_US));
            // Minutes inside the mainlog's span where the rejectlog has more: runs of them.
            let mut runs: Vec<(i64, i64, u64, EvidenceSet)> = Vec::new();
            for (&m, (n, lines)) in p.reject.range(lo..=hi) {
                let in_main = p.main.get(&m).copied().unwrap_or(0);
                if *n <= in_main {
                    continue;
                }
                let lacking = u64::from(n - in_main);
                if runs.last().is_none_or(|r| m - r.1 > 1) {
                    runs.push((m, m, 0, EvidenceSet::default()));
                }
                if let Some(r) = runs.last_mut() {
                    r.1 = m;
                    r.2 += lacking;
                    for (file, line) in lines {
                        r.3.add(*file, *line);
                    }
                }
            }
            let key = key.trim_start_matches('/');
            for (a, b, lacking, ev) in runs {
                let evidence = ev.resolve(files);
                let paths: Vec<String> = evidence.iter().map(|e| e.path.clone()).collect();
                out.push(Finding {
                    title: format!(
                        "{key}mainlog lacks {lacking} rejection(s) its rejectlog holds"
                    ),
                    severity: Severity::High,
                    attack: vec!["T1070.002"],
                    first_seen: ts(a * MINUTE_US),
                    last_seen: ts(b * MINUTE_US + MINUTE_US - 1),
                    count: lacking,
                    summary: format!(
                        "between {} and {} the rejectlog records {lacking} rejection(s) more than the mainlog: Exim writes each to both, so lines were cut from the mainlog",
                        ts(a * MINUTE_US),
                        ts(b * MINUTE_US + MINUTE_US - 1)
                    ),
                    entities: Entities {
                        files: paths,
                        ..Entities::default()
                    },
                    evidence,
                    remediation: vec!["evidence.preserve_backups", "evidence.remote_logs"],
                    ..Finding::of("tamper.rejectlog_mismatch")
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rules::tests::fact;

    fn at(file: u32, secs: i64, kind: Kind) -> Fact {
        let mut f = fact(kind, secs, "203.0.113.9", "");
        f.file = file;
        f.line = secs as u64;
        f
    }

    #[test]
    fn rejections_missing_from_the_mainlog_are_found() {
        let mut r = RejectLog::new(&Thresholds::default());
        r.file_started(0, "var/log/exim4/mainlog.1");
        r.file_started(1, "var/log/exim4/rejectlog.1");
        r.file_started(2, "var/log/exim4/paniclog");
        // The mainlog: connections all along, rejections at minutes 1 and 5; minute 3's
        // rejections were cut out.
        for s in (0..600).step_by(20) {
            r.observe(&at(0, s, Kind::Connect));
        }
        r.observe(&at(0, 70, Kind::RelayDenied));
        r.observe(&at(0, 310, Kind::AuthFailure));
        // The rejectlog: all three minutes.
        r.observe(&at(1, 70, Kind::RelayDenied));
        r.observe(&at(1, 190, Kind::AuthFailure));
        r.observe(&at(1, 195, Kind::AuthFailure));
        r.observe(&at(1, 310, Kind::AuthFailure));
        // After the mainlog's end: not judged.
        r.observe(&at(1, 9_000, Kind::AuthFailure));
        let files: &Files = &[
            ("var/log/exim4/mainlog.1".into(), None),
            ("var/log/exim4/rejectlog.1".into(), None),
        ];
        let f = r.finish(files, &Shared::default());
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].count, 2);
        assert_eq!(
            f[0].title,
            "var/log/exim4/mainlog lacks 2 rejection(s) its rejectlog holds"
        );
        assert_eq!(f[0].evidence[0].path, "var/log/exim4/rejectlog.1");
        assert_eq!(f[0].evidence[0].lines, [190, 195]);
    }
}
