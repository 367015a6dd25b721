//! `detect`: findings from the events of the inputs.
//!
//! The parse layer streams every mail log of the inputs and hands this module compact
//! [`fact::Fact`]s in file order; an [`Engine`] feeds each fact to every rule of
//! [`rules::all`]; at the end each rule turns what it gathered into [`finding::Finding`]s with
//! their evidence lines; [`render`] writes them as JSON, JSON Lines or a terminal table.
//!
//! Configuration is read from the same inputs ([`crate::hostconf`]), parsed once into a
//! [`host::Host`] and judged by the [`host::ConfigRule`]s of [`rules::config_rules`]; the
//! log-integrity rules judge the per-file summaries of the parse.

pub mod catalog;
pub mod churn;
pub mod entity;
pub mod fact;
pub mod finding;
pub mod fleet;
pub mod host;
pub mod lake;
pub mod listing;
pub mod quote;
pub mod render;
pub mod rules;
pub mod small;
pub mod spill;
pub mod window;

use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};

use crate::exit_codes::ExitCode;
use crate::parse::output::Sink;
use crate::parse::ParseConfig;
use fact::{Fact, FactSink};
use finding::Finding;
use rules::{Rule, Thresholds};

/// A resolved `detect` invocation.
#[derive(Debug, Clone)]
pub struct DetectConfig {
    /// How the inputs are read (format `Facts`).
    pub parse: ParseConfig,
    /// Output format.
    pub format: render::Format,
    /// Rule thresholds.
    pub thresholds: Thresholds,
    /// Mail domains the responder declares the host's own (beyond those its config names).
    pub local_domains: Vec<String>,
    /// Which rules report (`--disable`, `--enable`).
    pub rules: catalog::Selection,
    /// Hosts judged at once when the inputs are several hosts' evidence ([`fleet`]).
    pub jobs: usize,
    /// `--partition host` (with `--format parquet`): a dataset folder, one row per finding
    /// and host ([`lake`]).
    pub partition_by_host: bool,
}

/// Feeds facts to every rule, and seals the rules' state as the input moves forward in time.
///
/// When the parse layer promises that no later fact is earlier than some time (it knows
/// where the files still to come start: [`crate::parse::pipeline::Ctx::ceiling`]), and that
/// time has moved `seal_every_hours` (a threshold, default 6) past the last seal, every rule judges and forgets what
/// lies wholly before it ([`Rule::seal`]), then the shared state drops what no rule needs. A
/// fact that breaks the promise anyway (a line far out of order) is still seen by every rule,
/// and counted: findings around it may be split.
pub struct Engine {
    rules: Vec<Box<dyn Rule>>,
    /// For each kind of fact (by its number), the rules that read it, in rule order.
    readers: Vec<Vec<usize>>,
    shared: rules::Shared,
    facts: u64,
    /// The run's files so far, by number (sealed findings resolve their evidence here).
    files: Vec<(String, Option<String>)>,
    /// Every hour before this one is sealed.
    sealed: i64,
    /// Facts that arrived in hours already sealed.
    late: u64,
    /// Seals made.
    seals: u64,
    /// Input hours between two seals (each walks the rules' state, so not every hour); 0:
    /// never.
    every: i64,
    /// Events per hour since the epoch (for the report's activity chart).
    activity: std::collections::BTreeMap<i64, u64>,
}

impl Engine {
    /// An engine for the rules of `t`.
    pub fn new(t: &Thresholds) -> Self {
        let rules = rules::all(t);
        let readers = rules::readers(&rules);
        Engine {
            rules,
            readers,
            shared: rules::Shared::new(t),
            facts: 0,
            files: Vec::new(),
            sealed: i64::MIN,
            late: 0,
            seals: 0,
            every: t.seal_every_hours,
            activity: std::collections::BTreeMap::new(),
        }
    }
}

impl FactSink for Engine {
    fn facts(&mut self, facts: Vec<Fact>) {
        self.facts += facts.len() as u64;
        let sealed_us = self.sealed.saturating_mul(rules::failures::HOUR_US);
        // Hours change rarely from one fact to the next: count runs, not facts, in the map.
        let mut run: Option<(i64, u64)> = None;
        for f in &facts {
            // A line another log of the run holds too (marked by the parse layer): only the
            // rules that compare the two see it.
            if f.copy {
                for r in &mut self.rules {
                    r.observe_copy(f);
                }
                continue;
            }
            let hour = f.ts_us.div_euclid(rules::failures::HOUR_US);
            match &mut run {
                Some((h, n)) if *h == hour => *n += 1,
                _ => {
                    if let Some((h, n)) = run.replace((hour, 1)) {
                        *self.activity.entry(h).or_default() += n;
                    }
                }
            }
            if f.ts_us < sealed_us {
                self.late += 1;
            }
            self.shared.observe(f);
            let readers = self
                .readers
                .get(f.kind as usize)
                .map_or(&[][..], Vec::as_slice);
            for &i in readers {
                if let Some(r) = self.rules.get_mut(i) {
                    r.observe(f);
                }
            }
        }
        if let Some((h, n)) = run {
            *self.activity.entry(h).or_default() += n;
        }
        fact::recycle(facts);
    }

    fn file(&mut self, id: u32, path: &str, sha256: Option<&str>) {
        let id = id as usize;
        if self.files.len() <= id {
            self.files.resize(id + 1, Default::default());
        }
        self.files[id] = (path.to_string(), sha256.map(str::to_string));
        for r in &mut self.rules {
            r.file_started(id as u32, path);
        }
    }

    fn advance(&mut self, at: i64) {
        // A promise of "no earlier than the beginning of time" (a later file that tells no
        // time) promises nothing, and its hour would overflow when turned back into µs.
        if at <= i64::MIN / 2 {
            return;
        }
        let before = at.div_euclid(rules::failures::HOUR_US);
        if self.every <= 0
            || before == i64::MAX.div_euclid(rules::failures::HOUR_US)
            || before < self.sealed.saturating_add(self.every)
        {
            return;
        }
        self.shared.settle_before(before);
        for r in &mut self.rules {
            r.seal(before, &self.files, &self.shared);
        }
        self.shared.seal(before);
        self.sealed = before;
        self.seals += 1;
    }
}

/// Orders findings deterministically: by first time, then severity (worst first), rule, title.
pub fn sort(findings: &mut [Finding]) {
    // Titles are one line of plain text in every output: attacker text in them (a user name
    // with a tab or a newline, a bidi override) is escaped once, here.
    for f in findings.iter_mut() {
        if f.title.chars().any(crate::sanitize::needs_escape) {
            f.title = crate::sanitize::terminal(&f.title);
        }
    }
    findings.sort_by(|a, b| {
        a.first_seen
            .cmp(&b.first_seen)
            .then(b.severity.cmp(&a.severity))
            .then(a.rule.cmp(b.rule))
            .then(a.title.cmp(&b.title))
    });
}

/// One finding per planted entry: the same entry reached through several files (an alias in
/// `/etc/aliases` and in `/etc/mail/aliases`, a forward in a map and its compiled copy) gives
/// findings of one rule with one title; they become one finding citing every file, with the
/// worst severity, the whole time span and the summed count. Order is kept (first seen).
pub fn merge_same_entries(findings: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::with_capacity(findings.len());
    for f in findings {
        let same = out
            .iter_mut()
            .find(|o| o.rule == f.rule && o.title == f.title && o.phase == f.phase);
        let Some(o) = same else {
            out.push(f);
            continue;
        };
        o.severity = o.severity.max(f.severity);
        o.count += f.count;
        if f.first_seen < o.first_seen {
            o.first_seen = f.first_seen;
        }
        if f.last_seen > o.last_seen {
            o.last_seen = f.last_seen;
        }
        for e in f.evidence {
            match o.evidence.iter_mut().find(|x| x.path == e.path) {
                Some(x) => {
                    x.lines.extend(e.lines);
                    x.lines.sort_unstable();
                    x.lines.dedup();
                }
                None => o.evidence.push(e),
            }
        }
        o.entities.union(f.entities);
        for r in f.remediation {
            if !o.remediation.contains(&r) {
                o.remediation.push(r);
            }
        }
        if f.time_source == finding::TimeSource::FileMtime {
            o.time_source = finding::TimeSource::FileMtime;
        }
    }
    out
}

/// What a detection run found, for `detect` to render and for `timeline` to order.
pub struct Detected {
    /// Findings, in [`sort`] order.
    pub findings: Vec<Finding>,
    /// Events per hour (hours since the epoch, ascending).
    pub activity: Vec<(i64, u64)>,
    /// Counts of the run.
    pub stats: render::Stats,
    /// Some input could not be read at all.
    pub input_errors: bool,
    /// Every log file read: path and manifest SHA-256 (bundles), in reading order (for a case
    /// of several hosts, `host: path`).
    pub files: Vec<(String, Option<String>)>,
    /// How local times were read (zone and where it came from).
    pub zone: String,
    /// The quoted lines of the findings.
    pub quotes: quote::Quotes,
    /// The hosts of the case, in the order of their first input (one for one host's
    /// evidence).
    pub hosts: Vec<fleet::HostRun>,
}

/// The input files that were not read as mail logs (empty ones among them), with their size
/// and modification time: an emptied rotation is one of them.
fn unread_candidates(d: &crate::parse::Driven) -> Vec<rules::tamper_file::Candidate> {
    use crate::parse::input::Origin;
    let read: std::collections::HashSet<&str> = d.files.iter().map(|(p, _)| p.as_str()).collect();
    d.sources
        .iter()
        .filter(|s| !read.contains(s.path.as_str()))
        .map(|s| {
            let size = s.size.or_else(|| match &s.origin {
                Origin::File(p) => std::fs::symlink_metadata(p).ok().map(|m| m.len()),
                _ => None,
            });
            let recorded = s.bundle_dir.is_some()
                || matches!(s.origin, Origin::Entry { .. } | Origin::Scratch(_));
            rules::tamper_file::Candidate {
                path: s.path.clone(),
                size,
                mtime_us: s.mtime.map(|t| t.timestamp_micros()),
                mtime_recorded: recorded,
            }
        })
        .collect()
}

/// Runs every rule over the inputs of `cfg` (logs and configuration); `command` names the
/// caller in messages; with `quote`, the findings' representative lines are read for the
/// outputs that show them ([`quote`]: one more pass over the cited files). Inputs of several
/// hosts are judged host by host, then across hosts ([`fleet`]). `None` when no input could
/// be read.
pub fn findings(cfg: &DetectConfig, command: &str, quote: bool) -> Result<Option<Detected>> {
    let mut groups = crate::parse::input::group_by_host(&cfg.parse.inputs);
    if groups.len() > 1 {
        return fleet::findings(cfg, command, quote, groups);
    }
    let Some((host, inputs)) = groups.pop() else {
        return Ok(None);
    };
    let mut one = cfg.clone();
    one.parse.host = Some(host.clone());
    let d = host_findings(&one, command, quote, &host)?;
    Ok(d.map(|mut d| {
        d.hosts = vec![fleet::HostRun::of(&host, &inputs, &d)];
        d
    }))
}

/// [`findings`] of one host's inputs (`host` names it in every finding).
pub fn host_findings(
    cfg: &DetectConfig,
    command: &str,
    quote: bool,
    host_name: &str,
) -> Result<Option<Detected>> {
    let engine = Arc::new(Mutex::new(Engine::new(&cfg.thresholds)));
    // `cfg.parse.format` is `Facts`: the parse layer hands facts to the engine.
    let Some(driven) = crate::parse::drive(&cfg.parse, Sink::Facts(engine.clone()), command)?
    else {
        return Ok(None);
    };
    let mut engine = engine
        .lock()
        .map_err(|_| anyhow::anyhow!("detection engine poisoned"))?;
    let engine = &mut *engine;
    eprintln!(
        "mailir {command}: {} fact(s); rule state sealed {} time(s) as the input moved on",
        engine.facts, engine.seals
    );
    if engine.late > 0 {
        eprintln!(
            "mailir {command}: {} event(s) came after later ones had been judged (input out of time order); findings around them may be split",
            engine.late
        );
    }
    engine.shared.settle();
    let mut limits = engine.shared.limits();
    limits.extend(engine.rules.iter().flat_map(|r| r.limits()));
    for l in &limits {
        eprintln!(
            "mailir {command}: limit reached: {}: {}",
            l.rule,
            crate::sanitize::terminal(&l.what)
        );
    }
    let on = |f: &Finding| cfg.rules.runs(f.rule);
    let mut findings: Vec<Finding> = Vec::new();
    for r in engine.rules.iter_mut() {
        let found = r.finish_with(&driven.files, &engine.shared, &findings);
        findings.extend(found.into_iter().filter(on));
    }
    findings.extend(
        rules::tamper_file::findings(
            &cfg.thresholds,
            &driven.summaries,
            &driven.files,
            &unread_candidates(&driven),
        )
        .into_iter()
        .filter(on),
    );
    findings.extend(
        rules::tamper_log_age::findings(&cfg.thresholds, &driven.summaries, &driven.files)
            .into_iter()
            .filter(on),
    );
    let conf = crate::hostconf::HostConf::load(&cfg.parse.inputs);
    for (path, why) in &conf.errors {
        eprintln!(
            "mailir: configuration {}: {}",
            crate::sanitize::terminal(path),
            crate::sanitize::terminal(why)
        );
    }
    let (config_files, config_errors) = (conf.files.len() as u64, conf.errors.len() as u64);
    let mut host = host::Host::new(conf, &cfg.local_domains);
    host.webroots = crate::hostconf::webroots::WebRoots::load(&cfg.parse.inputs);
    host.window = host::Window::of(&findings);
    host.account_changes = engine.shared.accounts.resolve(&driven.files);
    let mut planted = Vec::new();
    for rule in rules::config_rules() {
        planted.extend(rule.check(&host).into_iter().filter(on));
    }
    findings.extend(merge_same_entries(planted));
    let off = cfg.rules.disabled();
    if !off.is_empty() {
        eprintln!("mailir {command}: rules switched off: {}", off.join(", "));
    }
    entity::settle(&mut findings);
    sort(&mut findings);
    for f in &mut findings {
        f.hosts = vec![host_name.to_string()];
    }
    let config: std::collections::BTreeMap<&str, &[u8]> = host
        .conf
        .files
        .values()
        .map(|f| (f.shown.as_str(), f.data.as_slice()))
        .collect();
    let quotes = if quote {
        quote::Quotes::read(&findings, &config, &driven.sources, host_name)
    } else {
        quote::Quotes::default()
    };
    for (path, why) in &quotes.errors {
        eprintln!(
            "mailir {command}: cannot quote from {}: {}",
            crate::sanitize::terminal(path),
            crate::sanitize::terminal(why)
        );
    }
    let stats = render::Stats {
        config_files,
        config_errors,
        files: driven.mail_logs as u64,
        lines: driven.total.lines,
        events: driven.total.events,
        unparsed: driven.total.unparsed,
        limits,
    };
    Ok(Some(Detected {
        activity: std::mem::take(&mut engine.activity).into_iter().collect(),
        findings,
        stats,
        input_errors: driven.input_errors,
        files: driven.files,
        zone: driven.zone,
        quotes,
        hosts: Vec::new(),
    }))
}

/// Runs `mailir detect`.
pub fn run(cfg: &DetectConfig) -> Result<ExitCode> {
    if cfg.format == render::Format::Parquet && cfg.parse.out.is_none() {
        eprintln!(
            "mailir detect: --format parquet writes a binary file (with --partition, a folder): give --out PATH"
        );
        return Ok(ExitCode::Error);
    }
    if cfg.partition_by_host {
        // Refused before the run, not after it.
        if let Some(dir) = &cfg.parse.out {
            crate::parse::lake::prepare_dir(dir)
                .with_context(|| format!("cannot write a dataset into {}", dir.display()))?;
        }
    }
    // Only the text table shows quoted lines; JSON keeps the line numbers.
    let Some(d) = findings(cfg, "detect", cfg.format == render::Format::Text)? else {
        return Ok(ExitCode::Error);
    };
    render::write(
        cfg.format,
        cfg.parse.out.as_deref(),
        cfg.partition_by_host,
        &d,
    )?;
    Ok(if d.input_errors {
        ExitCode::Error
    } else {
        ExitCode::Success
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_marked_as_copies_go_only_to_the_rules_that_compare_logs() {
        /// Counts what it is handed: (observe, observe_copy).
        struct Seen(Arc<Mutex<(u32, u32)>>);
        impl Rule for Seen {
            fn observe(&mut self, _f: &Fact) {
                if let Ok(mut n) = self.0.lock() {
                    n.0 += 1;
                }
            }
            fn observe_copy(&mut self, _f: &Fact) {
                if let Ok(mut n) = self.0.lock() {
                    n.1 += 1;
                }
            }
            fn finish(&mut self, _: &rules::Files, _: &rules::Shared) -> Vec<Finding> {
                Vec::new()
            }
        }
        let seen = Arc::new(Mutex::new((0, 0)));
        let mut e = Engine::new(&Thresholds::default());
        e.rules = vec![Box::new(Seen(seen.clone()))];
        e.readers = rules::readers(&e.rules);
        // The engine reads the mark, not the file's name.
        e.file(0, "var/log/exim4/rejectlog", None);
        e.file(1, "var/log/exim4/mainlog", None);
        let mut main = rules::tests::failure(0, "203.0.113.9", "a");
        main.file = 1;
        let mut copy = main.clone();
        (copy.file, copy.copy) = (0, true);
        let mut unmarked = main.clone();
        unmarked.file = 0;
        e.facts(vec![main, copy, unmarked]);
        assert_eq!(seen.lock().map(|n| *n).ok(), Some((2, 1)));
        assert_eq!(e.activity.values().sum::<u64>(), 2);
    }

    #[test]
    fn one_alias_in_two_alias_files_is_one_finding_citing_both() {
        use crate::detect::host::ConfigRule;
        let h = rules::config_tests::host(&[
            ("/etc/mailname", "lab.example\n"),
            ("/etc/postfix/main.cf", "myhostname = mx.lab.example\n"),
            (
                "/etc/aliases",
                "postmaster: root\nwebmaster: root, w@out.example\n",
            ),
            ("/etc/mail/aliases", "webmaster: root, w@out.example\n"),
        ]);
        let raw = rules::persistence_forward::Forward.check(&h);
        assert_eq!(raw.len(), 2, "{raw:#?}");
        let merged = merge_same_entries(raw);
        assert_eq!(merged.len(), 1, "{merged:#?}");
        let paths: Vec<&str> = merged[0].evidence.iter().map(|e| e.path.as_str()).collect();
        assert!(
            paths.contains(&"etc/aliases") && paths.contains(&"etc/mail/aliases"),
            "{paths:?}"
        );
        // Different entries stay apart.
        let h = rules::config_tests::host(&[
            ("/etc/mailname", "lab.example\n"),
            (
                "/etc/aliases",
                "webmaster: w@out.example\nsales: s@out.example\n",
            ),
        ]);
        let f = merge_same_entries(rules::persistence_forward::Forward.check(&h));
        assert_eq!(f.len(), 2);
    }

    #[test]
    fn titles_are_one_escaped_line() {
        let mut f = vec![Finding {
            title: "a\tb\nc\u{202e}d logged in at an unusual hour".into(),
            ..Finding::of("auth.off_hours")
        }];
        sort(&mut f);
        assert!(!f[0].title.chars().any(crate::sanitize::needs_escape));
        assert!(f[0].title.starts_with("a\\u{9}b\\u{a}c"), "{}", f[0].title);
    }
}
