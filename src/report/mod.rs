//! `report`: the findings turned into what the responder hands on — a summary of what
//! happened, the findings by phase with their evidence lines, the attack timeline, and the
//! playbook isolate → evidence → clean → notify with the steps the findings call for (from
//! [`playbook`]), every planted entry to remove named by file and line with the command that
//! applies the change. Written as `report.md` ([`markdown`]), `report.html` ([`html`], one self-contained
//! page with the activity chart) and `report.json` ([`model`]) in the output folder, in English
//! or Chinese.
//!
//! The detection run is `detect`'s own, so the report always agrees with `detect` and
//! `timeline`; beside it, [`custody`] verifies bundle inputs for the evidence section.
//! Notification duties and their clocks come from [`compliance`] (decided by the responder's
//! [`case`] file), the draft notices from [`draft`]. To add a section: a field on
//! [`model::Report`] and its layout in both renderers.

pub mod case;
pub mod compliance;
pub mod custody;
pub mod draft;
pub mod fleet;
pub mod host;
pub mod html;
pub mod impact;
pub mod markdown;
pub mod model;
pub mod playbook;
pub mod shell;
pub mod who;

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::exit_codes::ExitCode;

/// Report language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// English.
    En,
    /// Chinese (simplified).
    Zh,
}

/// A resolved `report` invocation.
#[derive(Debug, Clone)]
pub struct ReportConfig {
    /// What detection runs with.
    pub detect: crate::detect::DetectConfig,
    /// Folder the report files go to (created).
    pub out_dir: PathBuf,
    /// Language.
    pub lang: Lang,
    /// A team's playbook folder instead of the built-in one.
    pub playbooks: Option<PathBuf>,
    /// The case file (organisation, clocks, data) that decides the notification duties.
    pub case: Option<PathBuf>,
}

/// Writes `report.md` and `report.json` of a detection run into the configured folder;
/// returns their paths.
pub fn write(
    d: &crate::detect::Detected,
    checks: Vec<custody::InputCheck>,
    book: &playbook::Playbook,
    cfg: &ReportConfig,
) -> Result<(PathBuf, PathBuf)> {
    let case = cfg.case.as_deref().map(case::Case::load).transpose()?;
    let report = model::Report::build(d, book, cfg, case.as_ref(), checks);
    for id in &report.unknown_steps {
        eprintln!(
            "mailir report: finding names playbook step {} that the playbook lacks",
            crate::sanitize::terminal(id)
        );
    }
    std::fs::create_dir_all(&cfg.out_dir)
        .with_context(|| format!("cannot create {}", cfg.out_dir.display()))?;
    let md = cfg.out_dir.join("report.md");
    crate::outfile::write(&md, markdown::render(&report).as_bytes())
        .with_context(|| format!("cannot write {}", md.display()))?;
    let html = cfg.out_dir.join("report.html");
    crate::outfile::write(
        &html,
        html::render(&report, &markdown::words(cfg.lang)).as_bytes(),
    )
    .with_context(|| format!("cannot write {}", html.display()))?;
    let json = cfg.out_dir.join("report.json");
    crate::outfile::write(&json, &serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("cannot write {}", json.display()))?;
    Ok((md, json))
}

/// Runs detection and, beside it on another thread, the inputs' custody check (bundles are
/// verified); `None` when no input could be read.
pub fn detect_and_check(
    cfg: &ReportConfig,
    command: &str,
) -> Result<Option<(crate::detect::Detected, Vec<custody::InputCheck>)>> {
    std::thread::scope(|s| {
        let checking = s.spawn(|| custody::check(&cfg.detect.parse.inputs));
        let detected = crate::detect::findings(&cfg.detect, command, true);
        let checks = checking
            .join()
            .map_err(|_| anyhow::anyhow!("the custody check failed"))?;
        Ok(detected?.map(|d| (d, checks)))
    })
}

/// The exit of `report` and `triage`: an unreadable input is an error (2); a bundle that
/// failed verification is a mismatch (1), said on stderr (the report is written all the same,
/// its evidence section naming each problem); else success.
pub fn outcome(
    command: &str,
    d: &crate::detect::Detected,
    checks: &[custody::InputCheck],
) -> ExitCode {
    let mut failed = false;
    for c in checks {
        if let Some(b) = c.bundle.as_ref().filter(|b| !b.intact()) {
            failed = true;
            eprintln!(
                "mailir {command}: bundle {} FAILED verification ({} problem(s), listed in the report's evidence section)",
                crate::sanitize::terminal(&c.input),
                b.problems.len()
            );
        }
    }
    if d.input_errors {
        ExitCode::Error
    } else if failed {
        ExitCode::Mismatch
    } else {
        ExitCode::Success
    }
}

/// Runs `mailir report`.
pub fn run(cfg: &ReportConfig) -> Result<ExitCode> {
    let book = playbook::Playbook::load(cfg.playbooks.as_deref())?;
    let Some((d, checks)) = detect_and_check(cfg, "report")? else {
        return Ok(ExitCode::Error);
    };
    let exit = outcome("report", &d, &checks);
    let (md, json) = write(&d, checks, &book, cfg)?;
    eprintln!(
        "mailir report: {} finding(s); wrote {} and {}",
        d.findings.len(),
        crate::sanitize::terminal(&md.display().to_string()),
        crate::sanitize::terminal(&json.display().to_string())
    );
    Ok(exit)
}
