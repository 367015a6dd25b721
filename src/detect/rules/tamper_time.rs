//! `tamper.time_gap` and `tamper.time_reversal` — lines cut out of a log, or a log whose clock
//! runs backwards.
//!
//! **Why**: the seed articles' last attack phase is cleanup — "deleted log lines"; an intruder
//! with root removes the slice that shows the takeover (`sed -i '1234,1460d' mail.log`).
//! **How (gap)**: within each rotation chain (`mail.log.2.gz`, `mail.log.1`, `mail.log` read
//! as one stream, oldest first: a hole that spans a rotation boundary is a hole too), in line
//! order, every silence of at least `gap_minutes`
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
    /// The file of the event before the silence (another rotation of the chain when the
    /// silence spans a rotation boundary).
    before_file: u32,
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

/// One rotation chain read as one stream (`mail.log.2.gz`, `mail.log.1`, `mail.log`): the
/// last event, the times of the context window before it, the silences still judged.
#[derive(Default)]
struct Stream {
    /// File, time and line of the last event.
    last: Option<(u32, i64, u64)>,
    recent: std::collections::VecDeque<i64>,
    pending: Vec<Pending>,
}

/// The rules (both come from one pass over each chain's times).
pub struct TimeTamper {
    t: Thresholds,
    /// The chain (folder and stem) of each file number.
    chain_of: Vec<String>,
    /// Streams by chain.
    streams: std::collections::BTreeMap<String, Stream>,
    /// The file of the last fact and its chain.
    current: Option<(u32, String)>,
    gaps: Vec<Pending>,
    reversals: Vec<(u32, i64, u64, i64, u64)>,
}

impl TimeTamper {
    /// A new rule with thresholds `t`.
    pub fn new(t: &Thresholds) -> Self {
        TimeTamper {
            t: t.clone(),
            chain_of: Vec::new(),
            streams: Default::default(),
            current: None,
            gaps: Vec::new(),
            reversals: Vec::new(),
        }
    }

    /// Judges the silences of `stream` whose context has passed (all of them with `force`).
    fn close_pending(
        t: &Thresholds,
        gaps: &mut Vec<Pending>,
        stream: &mut Stream,
        force: bool,
        now: i64,
    ) {
        if stream.pending.is_empty() {
            return;
        }
        let ctx = t.gap_context_minutes * MINUTE_US;
        let mut still = Vec::new();
        for p in stream.pending.drain(..) {
            if force || now > p.after_ts + ctx {
                let after_busy = (p.after_minutes as f64 / t.gap_context_minutes as f64).min(1.0);
                if after_busy >= t.gap_busy_share && p.before_busy >= t.gap_busy_share {
                    gaps.push(p);
                }
            } else {
                still.push(p);
            }
        }
        stream.pending = still;
    }

    /// The chain of file `file`: its folder and rotation stem (an unknown file is its own).
    fn chain(&self, file: u32) -> String {
        self.chain_of
            .get(file as usize)
            .filter(|c| !c.is_empty())
            .cloned()
            .unwrap_or_else(|| format!("#{file}"))
    }
}

impl Rule for TimeTamper {
    fn file_started(&mut self, id: u32, path: &str) {
        let id = id as usize;
        if self.chain_of.len() <= id {
            self.chain_of.resize(id + 1, String::new());
        }
        self.chain_of[id] = crate::parse::rotation::chain(path);
    }

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
        let t = &self.t;
        let ctx = t.gap_context_minutes * MINUTE_US;
        if self.current.as_ref().map(|c| c.0) != Some(f.file) {
            let chain = self.chain(f.file);
            let stream = self.streams.entry(chain.clone()).or_default();
            // The next rotation of a chain goes on where the one before it ended; one that
            // starts earlier is another timeline (files of a chain read out of order), whose
            // rhythm is measured afresh.
            if let Some((file, prev, _)) = stream.last {
                if file != f.file && f.ts_us + t.reversal_minutes * MINUTE_US < prev {
                    Self::close_pending(t, &mut self.gaps, stream, true, 0);
                    *stream = Stream::default();
                }
            }
            self.current = Some((f.file, chain));
        }
        let Some((_, chain)) = &self.current else {
            return;
        };
        let Some(stream) = self.streams.get_mut(chain) else {
            return;
        };
        // Time jumping back within a file starts a new timeline: record it once, judge the
        // old silences with what they had, and measure rhythm afresh.
        if let Some((file, prev, prev_line)) = stream.last {
            if file == f.file && f.ts_us + t.reversal_minutes * MINUTE_US < prev {
                if self.reversals.len() < 1000 {
                    self.reversals
                        .push((f.file, prev, prev_line, f.ts_us, f.line));
                }
                Self::close_pending(t, &mut self.gaps, stream, true, 0);
                stream.recent.clear();
                stream.last = None;
            }
        }
        for p in &mut stream.pending {
            if f.ts_us <= p.after_ts + ctx {
                p.after_count += 1;
                let minute = f.ts_us.div_euclid(MINUTE_US);
                if minute != p.last_minute {
                    p.after_minutes += 1;
                    p.last_minute = minute;
                }
            }
        }
        Self::close_pending(t, &mut self.gaps, stream, false, f.ts_us);
        if let Some((prev_file, prev, prev_line)) = stream.last {
            if f.ts_us - prev >= t.gap_minutes * MINUTE_US {
                while stream.recent.front().is_some_and(|&x| x < prev - ctx) {
                    stream.recent.pop_front();
                }
                let mut minutes: Vec<i64> = stream
                    .recent
                    .iter()
                    .map(|x| x.div_euclid(MINUTE_US))
                    .collect();
                minutes.dedup();
                let before_busy = (minutes.len() as f64 / t.gap_context_minutes as f64).min(1.0);
                stream.pending.push(Pending {
                    before_file: prev_file,
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
        stream.last = Some((f.file, f.ts_us, f.line));
        stream.recent.push_back(f.ts_us);
        let limit = f.ts_us - ctx;
        while stream.recent.front().is_some_and(|&x| x < limit) && stream.recent.len() > 1 {
            stream.recent.pop_front();
        }
    }

    fn finish(&mut self, files: &Files, _shared: &Shared) -> Vec<Finding> {
        for stream in self.streams.values_mut() {
            Self::close_pending(&self.t, &mut self.gaps, stream, true, 0);
        }
        let mut out = Vec::new();
        let path_of = |file: u32| {
            files
                .get(file as usize)
                .map(|f| f.0.clone())
                .unwrap_or_default()
        };
        for g in &self.gaps {
            let minutes = (g.after_ts - g.before_ts) / MINUTE_US;
            let path = path_of(g.file);
            let mut ev = EvidenceSet::default();
            ev.add(g.before_file, g.before_line);
            ev.add(g.file, g.after_line);
            let (title, mut paths) = if g.before_file == g.file {
                (format!("{minutes} minutes missing from {path}"), Vec::new())
            } else {
                let before = path_of(g.before_file);
                (
                    format!(
                        "{minutes} minutes missing between {before} and {path} (across a rotation)"
                    ),
                    vec![before],
                )
            };
            paths.push(path);
            out.push(Finding {
                title,
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
                entities: Entities { files: paths, ..Entities::default() },
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

    /// Facts of file `file` at `minutes`.
    fn in_file(file: u32, minutes: impl Iterator<Item = f64>) -> Vec<Fact> {
        minutes
            .map(|m| {
                let mut f = at(m);
                f.file = file;
                f
            })
            .collect()
    }

    #[test]
    fn a_hole_across_a_rotation_is_found_and_other_chains_do_not_hide_it() {
        let mut rule = TimeTamper::new(&Thresholds::default());
        rule.file_started(0, "var/log/mail.log.1");
        rule.file_started(1, "var/log/dovecot.log");
        rule.file_started(2, "var/log/mail.log");
        // mail.log.1 is busy to its end; dovecot's own log is read between the two; mail.log
        // starts busy 25 minutes after mail.log.1 ended: the cut took the end of one rotation
        // and the start of the next.
        let mut facts = in_file(0, (0..120).map(|i| i as f64 * 0.5));
        facts.extend(in_file(1, (0..200).map(|i| i as f64 * 0.5)));
        facts.extend(in_file(2, (0..120).map(|i| 85.0 + i as f64 * 0.5)));
        let mut shared = crate::detect::rules::Shared::default();
        for f in &facts {
            rule.observe(f);
        }
        shared.settle();
        let files: &Files = &[
            ("var/log/mail.log.1".to_string(), None),
            ("var/log/dovecot.log".to_string(), None),
            ("var/log/mail.log".to_string(), None),
        ];
        let f = rule.finish(files, &shared);
        let gaps: Vec<_> = f.iter().filter(|x| x.rule == "tamper.time_gap").collect();
        assert_eq!(gaps.len(), 1, "{f:?}");
        assert!(
            gaps[0].title == "25 minutes missing between var/log/mail.log.1 and var/log/mail.log (across a rotation)",
            "{}",
            gaps[0].title
        );
        let cited: Vec<&str> = gaps[0].evidence.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(cited, ["var/log/mail.log.1", "var/log/mail.log"]);
        // Unrelated files are not one stream: the same hole between two chains is nothing.
        let mut rule = TimeTamper::new(&Thresholds::default());
        rule.file_started(0, "var/log/mail.log");
        rule.file_started(2, "var/log/exim4/mainlog");
        for f in facts.iter().filter(|f| f.file != 1) {
            rule.observe(f);
        }
        assert!(rule.finish(files, &shared).is_empty());
    }
}
