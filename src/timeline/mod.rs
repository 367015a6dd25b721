//! `timeline`: the findings of the inputs ordered in time and grouped into the attack phases
//! (recon → initial access → persistence → exfiltration → cleanup), written as our JSON Lines
//! record or in the shapes Timesketch and plaso import.
//!
//! [`record`] turns findings into rows (each finding at its first time, each phase's start and
//! end with a summary); [`context`] adds, in a second pass over the logs, the events of the
//! addresses and accounts the findings name; [`export`] renders them. The detection run is
//! `detect`'s own ([`crate::detect::findings`]), so the timeline always agrees with `detect`.

pub mod context;
pub mod export;
pub mod record;
pub mod spill;

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
    /// Every event, not only those around the findings.
    pub all: bool,
}

/// The timeline of `findings`: their rows and, from a second pass over the inputs of
/// `parse`, the events around them (`all`: every event, in sorted runs on disk, returned
/// beside the in-memory rows for [`write`] to merge).
pub fn rows(
    parse: &crate::parse::ParseConfig,
    findings: &[crate::detect::finding::Finding],
    all: bool,
) -> Result<(Vec<record::Record>, Option<spill::Runs>)> {
    let mut rows = record::records(findings);
    let interest = context::Interest::of(findings);
    if !all && interest.is_empty() {
        return Ok((rows, None));
    }
    let gather = if all {
        context::Gather::everything(interest, spill::Runs::new(spill::RUN_ROWS)?)
    } else {
        context::Gather::new(interest)
    };
    let gather = std::sync::Arc::new(std::sync::Mutex::new(gather));
    let sink = crate::parse::output::Sink::Facts(gather.clone());
    crate::parse::drive(parse, sink, "timeline (events)")?;
    let g = std::sync::Arc::into_inner(gather)
        .ok_or_else(|| anyhow::anyhow!("event gathering still shared"))?
        .into_inner()
        .map_err(|_| anyhow::anyhow!("event gathering poisoned"))?;
    if g.dropped > 0 {
        eprintln!(
            "mailir timeline: {} more context event(s) than the {} kept were left out (--all keeps every event)",
            g.dropped,
            context::MAX_EVENTS
        );
    }
    let (events, spilled) = g.finish();
    rows.extend(events);
    record::sort(&mut rows);
    Ok((rows, spilled))
}

/// Exports `rows` (merged with `runs`, if any) to `out`; returns how many rows.
pub fn write(
    format: export::Format,
    rows: Vec<record::Record>,
    runs: Option<spill::Runs>,
    out: &mut dyn Write,
) -> Result<usize> {
    let mut written = 0usize;
    let mut e = export::Exporter::new(format, out);
    let mut batch = |b: &[record::Record]| {
        written += b.len();
        e.batch(b)
    };
    match runs {
        Some(r) => r.merge(rows, &mut batch)?,
        None => batch(&rows)?,
    }
    e.finish()?;
    Ok(written)
}

/// Runs `mailir timeline`.
pub fn run(cfg: &TimelineConfig) -> Result<ExitCode> {
    if cfg.format == export::Format::Parquet && cfg.detect.parse.out.is_none() {
        eprintln!("mailir timeline: --format parquet writes a binary file: give --out PATH");
        return Ok(ExitCode::Error);
    }
    let Some(d) = crate::detect::findings(&cfg.detect, "timeline", false)? else {
        return Ok(ExitCode::Error);
    };
    let (rows, runs) = rows(&cfg.detect.parse, &d.findings, cfg.all)?;
    let mut out: Box<dyn Write> = match &cfg.detect.parse.out {
        Some(p) => Box::new(BufWriter::new(
            crate::outfile::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout())),
    };
    let written = write(cfg.format, rows, runs, &mut out)?;
    out.flush()?;
    eprintln!(
        "mailir timeline: {written} row(s) from {} finding(s)",
        d.findings.len()
    );
    Ok(if d.input_errors {
        ExitCode::Error
    } else {
        ExitCode::Success
    })
}
