//! `timeline`: the findings of the inputs ordered in time and grouped into the attack phases
//! (recon → initial access → persistence → exfiltration → cleanup), written as our JSON Lines
//! record or in the shapes Timesketch and plaso import.
//!
//! [`record`] turns findings into rows (each finding at its first time, each phase's start and
//! end with a summary); [`export`] renders them. The detection run is `detect`'s own
//! ([`crate::detect::findings`]), so the timeline always agrees with `detect`.

pub mod export;
pub mod record;

use std::io::{BufWriter, Write};

use anyhow::{Context, Result};

use crate::exit_codes::ExitCode;

/// A resolved `timeline` invocation.
#[derive(Debug, Clone)]
pub struct TimelineConfig {
    /// What detection runs with (its output format is unused).
    pub detect: crate::detect::DetectConfig,
    /// Export format.
    pub format: export::Format,
}

/// Runs `mailir timeline`.
pub fn run(cfg: &TimelineConfig) -> Result<ExitCode> {
    let Some(d) = crate::detect::findings(&cfg.detect, "timeline")? else {
        return Ok(ExitCode::Error);
    };
    let rows = record::records(&d.findings);
    let mut out: Box<dyn Write> = match &cfg.detect.parse.out {
        Some(p) => Box::new(BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout())),
    };
    export::write(cfg.format, &rows, &mut out)?;
    out.flush()?;
    eprintln!(
        "mailir timeline: {} row(s) from {} finding(s)",
        rows.len(),
        d.findings.len()
    );
    Ok(if d.input_errors {
        ExitCode::Error
    } else {
        ExitCode::Success
    })
}
