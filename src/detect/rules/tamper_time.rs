//! `tamper.time_gap` and `tamper.time_reversal` — lines cut out of a log, or a log whose clock
//! runs backwards.
//!
//! **Why**: the seed articles' last attack phase is cleanup — "deleted log lines"; an intruder
//! with root removes the slice that shows the takeover (`sed -i '1234,1460d' mail.log`).
//! **How (gap)**: within each file, in line order, every silence of at least `gap_minutes`
//! (default 10) between two consecutive events is weighed against the log's own rhythm *around
//! it*: the `gap_context_minutes` (default 30) before and after. If both sides are busy — events
//! in at least `gap_busy_share` (default 80 %) of their minutes — the hole breaks a continuous
//! rhythm and is reported; ordinary traffic (a message every few minutes, in bursts of lines)
//! and a quiet night never are. **How (reversal)**: an event
//! more than `reversal_minutes` (default 5) earlier than the one before it in the same file.
//! **ATT&CK**: T1070 (Indicator Removal; in ATT&CK v19 log clearing on Linux sits under
//! T1070.002 "Clear Linux or Mac System Logs"). **Phase**: cleanup. **Severity**: high.
//! **False positives**: a daemon stopped for maintenance (the service log shows the stop and
//! start around the gap), syslog buffering under load, merged logs of several hosts (reversal).

use super::{Files, Rule, Shared, Thresholds};
use crate::detect::fact::Fact;
use crate::detect::finding::{ts, Entities, EvidenceSet, Finding, Severity};

const MINUTE_US: i64 = 60_000_000;

/// A silence waiting for the events after it.
struct Pending {
    file: u32,
    before_ts: i64,
    before_line: u64,
    after_ts: i64,
    after_line: u64,
    /// Share of the minutes before the silence that had an event.
    before_busy: f64,
    after_count: u64,
    /// Distinct minutes with an event after the silence, and the last one counted.
    after_minutes: u64,
    last_minute: i64,
}

/// The rules (both come from one pass over each file's times).
pub struct TimeTamper {
    t: Thresholds,
    file: Option<u32>,
    last: Option<(i64, u64)>,
    recent: std::collections::VecDeque<i64>,
    pending: Vec<Pending>,
    gaps: Vec<Pending>,
    reversals: Vec<(u32, i64, u64, i64, u64)>,
}

impl TimeTamper {
    /// A new rule with thresholds `t`.
    pub fn new(t: &Thresholds) -> Self {
        TimeTamper {
            t: t.clone(),
            file: None,
            last: None,
            recent: Default::default(),
            pending: Vec::new(),
            gaps: Vec::new(),
            reversals: Vec::new(),
        }
    }

    fn close_pending(&mut self, force: bool, now: i64) {
        if self.pending.is_empty() {
            return;
        }
        let ctx = self.t.gap_context_minutes * MINUTE_US;
        let mut still = Vec::new();
        for p in self.pending.drain(..) {
            if force || now > p.after_ts + ctx {
                let after_busy =
                    (p.after_minutes as f64 / self.t.gap_context_minutes as f64).min(1.0);
                if after_busy >= self.t.gap_busy_share && p.before_busy >= self.t.gap_busy_share {
                    self.gaps.push(p);
                }
            } else {
                still.push(p);
            }
        }
        self.pending = still;
    }
}

impl Rule for TimeTamper {
    fn observe(&mut self, f: &Fact) {
        // Audit-log exports list the newest record first and inventories are snapshots: their
        // order says nothing about tampering (Exchange's own logs are judged like any log).
        if f.proto == Some("m365")
            || matches!(
                f.kind,
                crate::events::record::Kind::MailboxRule
                    | crate::events::record::Kind::MailboxForwarding
                    | crate::events::record::Kind::TransportRule
            )
        {
            return;
        }
        if self.file != Some(f.file) {
            self.close_pending(true, 0);
            self.file = Some(f.file);
            self.last = None;
            self.recent.clear();
        }
        let ctx = self.t.gap_context_minutes * MINUTE_US;
        // Time jumping back starts a new timeline: record it once, judge the old silences with
        // what they had, and measure rhythm afresh.
        if let Some((prev, prev_line)) = self.last {
            if f.ts_us + self.t.reversal_minutes * MINUTE_US < prev {
                if self.reversals.len() < 1000 {
                    self.reversals
                        .push((f.file, prev, prev_line, f.ts_us, f.line));
                }
                self.close_pending(true, 0);
                self.recent.clear();
                self.last = None;
            }
        }
        for p in &mut self.pending {
            if f.ts_us <= p.after_ts + ctx {
                p.after_count += 1;
                let minute = f.ts_us.div_euclid(MINUTE_US);
                if minute != p.last_minute {
                    p.after_minutes += 1;
                    p.last_minute = minute;
                }
            }
        }
        self.close_pending(false, f.ts_us);
        if let Some((prev, prev_line)) = self.last {
            if f.ts_us - prev >= self.t.gap_minutes * MINUTE_US {
                while self.recent.front().is_some_and(|&t| t < prev - ctx) {
                    self.recent.pop_front();
                }
                let mut minutes: Vec<i64> = self
                    .recent
                    .iter()
                    .map(|t| t.div_euclid(MINUTE_US))
                    .collect();
                minutes.dedup();
                let before_busy =
                    (minutes.len() as f64 / self.t.gap_context_minutes as f64).min(1.0);
                self.pending.push(Pending {
                    file: f.file,
                    before_ts: prev,
                    before_line: prev_line,
                    after_ts: f.ts_us,
                    after_line: f.line,
                    before_busy,
                    after_count: 1,
                    after_minutes: 1,
                    last_minute: f.ts_us.div_euclid(MINUTE_US),
                });
            }
        }
        // After a jump back the log goes on from the new time: one reversal, not one per line.
        self.last = Some((f.ts_us, f.line));
        self.recent.push_back(f.ts_us);
        let limit = f.ts_us - ctx;
        while self.recent.front().is_some_and(|&t| t < limit) && self.recent.len() > 1 {
            self.recent.pop_front();
        }
    }

    fn finish(&mut self, files: &Files, _shared: &Shared) -> Vec<Finding> {
        self.close_pending(true, 0);
        let mut out = Vec::new();
        for g in &self.gaps {
            let minutes = (g.after_ts - g.before_ts) / MINUTE_US;
            let path = files
                .get(g.file as usize)
                .map(|f| f.0.clone())
                .unwrap_or_default();
            let mut ev = EvidenceSet::default();
            ev.add(g.file, g.before_line);
            ev.add(g.file, g.after_line);
            out.push(Finding {
                title: format!("{minutes} minutes missing from {path}"),
                severity: Severity::High,
                attack: vec!["T1070.002"],
                first_seen: ts(g.before_ts),
                last_seen: ts(g.after_ts),
                count: 1,
                summary: format!(
                    "no event between line {} ({}) and line {} ({}) while events came in {:.0}% of the {} minutes before and {} events in the {} minutes after",
                    g.before_line,
                    ts(g.before_ts),
                    g.after_line,
                    ts(g.after_ts),
                    g.before_busy * 100.0,
                    self.t.gap_context_minutes,
                    g.after_count,
                    self.t.gap_context_minutes
                ),
                entities: Entities { ips: Vec::new(), users: Vec::new(), files: vec![path], ..Entities::default() },
                evidence: ev.resolve(files),
                remediation: vec!["evidence.preserve_backups", "evidence.remote_logs"],
                ..Finding::of("tamper.time_gap")
            });
        }
        for (file, prev, prev_line, now, line) in &self.reversals {
            let path = files
                .get(*file as usize)
                .map(|f| f.0.clone())
                .unwrap_or_default();
            let mut ev = EvidenceSet::default();
            ev.add(*file, *prev_line);
            ev.add(*file, *line);
            out.push(Finding {
                title: format!("Time runs backwards in {path}"),
                severity: Severity::High,
                attack: vec!["T1070.002"],
                first_seen: ts(*now),
                last_seen: ts(*prev),
                count: 1,
                summary: format!(
                    "line {line} ({}) is earlier than line {prev_line} ({}) before it",
                    ts(*now),
                    ts(*prev)
                ),
                entities: Entities {
                    ips: Vec::new(),
                    users: Vec::new(),
                    files: vec![path],
                    ..Entities::default()
                },
                evidence: ev.resolve(files),
                remediation: vec!["evidence.preserve_backups"],
                ..Finding::of("tamper.time_reversal")
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rules::tests::{fact, run};
    use crate::events::record::Kind;

    fn at(minute: f64) -> Fact {
        let mut f = fact(Kind::Connect, 0, "192.0.2.1", "");
        f.ts_us = crate::detect::rules::tests::T0 + (minute * 60_000_000.0) as i64;
        f.line = (minute * 10.0) as u64 + 1;
        f
    }

    #[test]
    fn a_hole_in_a_busy_hour_is_found_a_quiet_night_is_not() {
        let mut facts = Vec::new();
        // Busy: an event every 30 s for an hour, then 25 minutes of nothing, then busy again.
        for i in 0..120 {
            facts.push(at(i as f64 * 0.5));
        }
        for i in 0..120 {
            facts.push(at(85.0 + i as f64 * 0.5));
        }
        // A quiet night: one event every 40 minutes.
        for i in 0..10 {
            facts.push(at(300.0 + i as f64 * 40.0));
        }
        let f = run(Box::new(TimeTamper::new(&Thresholds::default())), &facts);
        let gaps: Vec<_> = f.iter().filter(|x| x.rule == "tamper.time_gap").collect();
        assert_eq!(gaps.len(), 1, "{f:?}");
        assert!(gaps[0].title.starts_with("25 minutes"), "{}", gaps[0].title);
    }

    #[test]
    fn time_going_backwards_is_found() {
        let facts = vec![at(10.0), at(11.0), at(2.0), at(12.0)];
        let f = run(Box::new(TimeTamper::new(&Thresholds::default())), &facts);
        assert_eq!(
            f.iter()
                .filter(|x| x.rule == "tamper.time_reversal")
                .count(),
            1,
            "{f:?}"
        );
    }
}
