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

pub mod fact;
pub mod finding;
pub mod host;
pub mod render;
pub mod rules;
pub mod small;

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
    /// Mail domains the responder declares the host's own (beyond those its config names).
    pub local_domains: Vec<String>,
}

/// Feeds facts to every rule.
pub struct Engine {
    rules: Vec<Box<dyn Rule>>,
    shared: rules::Shared,
    facts: u64,
}

impl FactSink for Engine {
    fn facts(&mut self, facts: Vec<Fact>) {
        self.facts += facts.len() as u64;
        for f in &facts {
            self.shared.observe(f);
            for r in &mut self.rules {
                r.observe(f);
            }
        }
        fact::recycle(facts);
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
        shared: rules::Shared::default(),
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
    let engine = &mut *engine;
    engine.shared.settle();
    let mut findings: Vec<Finding> = Vec::new();
    for r in engine.rules.iter_mut() {
        let found = r.finish_with(&driven.files, &engine.shared, &findings);
        findings.extend(found);
    }
    findings.extend(rules::tamper_file::findings(
        &cfg.thresholds,
        &driven.summaries,
        &driven.files,
    ));
    let conf = crate::hostconf::HostConf::load(&cfg.parse.inputs);
    for (path, why) in &conf.errors {
        eprintln!(
            "mailir: configuration {}: {}",
            crate::sanitize::terminal(path),
            crate::sanitize::terminal(why)
        );
    }
    let (config_files, config_errors) = (conf.files.len() as u64, conf.errors.len() as u64);
    let host = host::Host::new(conf, &cfg.local_domains);
    for rule in rules::config_rules() {
        findings.extend(rule.check(&host));
    }
    sort(&mut findings);
    let stats = render::Stats {
        config_files,
        config_errors,
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
