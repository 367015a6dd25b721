//! `detect`: findings from the events of the inputs.
//!
//! The parse layer streams every mail log of the inputs and hands this module compact
//! [`fact::Fact`]s in file order; an [`Engine`] feeds each fact to every rule of
//! [`rules::all`]; at the end each rule turns what it gathered into [`finding::Finding`]s with
//! their evidence lines; [`render`] writes them as JSON, JSON Lines or a terminal table.
//!
//! Status (issue 4, in progress): the log rules listed in `docs/detections.md` exist; the
//! configuration rules, the log-integrity rules and thresholds from a TOML file are to come.

pub mod fact;
pub mod finding;
pub mod render;
pub mod rules;

use std::sync::{Arc, Mutex};

use anyhow::Result;

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
}

/// Feeds facts to every rule.
pub struct Engine {
    rules: Vec<Box<dyn Rule>>,
    facts: u64,
}

impl FactSink for Engine {
    fn facts(&mut self, facts: Vec<Fact>) {
        self.facts += facts.len() as u64;
        for f in &facts {
            for r in &mut self.rules {
                r.observe(f);
            }
        }
    }
}

/// Orders findings deterministically: by first time, then severity (worst first), rule, title.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        a.first_seen
            .cmp(&b.first_seen)
            .then(b.severity.cmp(&a.severity))
            .then(a.rule.cmp(b.rule))
            .then(a.title.cmp(&b.title))
    });
}

/// Runs `mailir detect`.
pub fn run(cfg: &DetectConfig) -> Result<ExitCode> {
    let engine = Arc::new(Mutex::new(Engine {
        rules: rules::all(&cfg.thresholds),
        facts: 0,
    }));
    // `cfg.parse.format` is `Facts`: the parse layer hands facts to the engine.
    let Some(driven) = crate::parse::drive(&cfg.parse, Sink::Facts(engine.clone()), "detect")?
    else {
        return Ok(ExitCode::Error);
    };
    let mut engine = engine
        .lock()
        .map_err(|_| anyhow::anyhow!("detection engine poisoned"))?;
    let mut findings: Vec<Finding> = Vec::new();
    for r in engine.rules.iter_mut() {
        let found = r.finish_with(&driven.files, &findings);
        findings.extend(found);
    }
    findings.extend(rules::tamper_file::findings(
        &cfg.thresholds,
        &driven.summaries,
        &driven.files,
    ));
    sort(&mut findings);
    let stats = render::Stats {
        files: driven.mail_logs as u64,
        lines: driven.total.lines,
        events: driven.total.events,
        unparsed: driven.total.unparsed,
    };
    render::write(cfg.format, cfg.parse.out.as_deref(), &findings, &stats)?;
    Ok(if driven.input_errors {
        ExitCode::Error
    } else {
        ExitCode::Success
    })
}
