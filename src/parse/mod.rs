//! `parse`: log files in, normalized events out, with exact provenance and honest stats.
//!
//! [`input`] resolves the inputs into candidate files and keeps those whose content is a mail
//! log; [`rotation`] orders them chain by chain, oldest first, and gives each its year
//! anchor; each file is streamed line by line (gzip transparently) through
//! [`crate::events::parse_line`]; [`correlate`] attaches the SASL login of a message to its
//! later queue and delivery events; [`output`] renders. Stats go to stderr, per file and in
//! total; lines no parser understood can be written out with `--unparsed`.

pub mod correlate;
pub mod input;
pub mod output;
pub mod parquet;
pub mod pipeline;
pub mod rotation;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use anyhow::{Context, Result};
use chrono::Utc;
use chrono_tz::Tz;

use crate::events::time::Clock;
use crate::exit_codes::ExitCode;
use crate::sanitize::terminal;
use input::{Compression, LogFile};
use output::{Format, Sink, Writer};

/// A resolved `parse` invocation.
#[derive(Debug, Clone)]
pub struct ParseConfig {
    /// Bundles, directories, files.
    pub inputs: Vec<PathBuf>,
    /// Output format.
    pub format: Format,
    /// Output file (stdout when absent).
    pub out: Option<PathBuf>,
    /// `--year`.
    pub year: Option<i32>,
    /// `--timezone`.
    pub timezone: Option<Tz>,
    /// `--unparsed FILE`.
    pub unparsed: Option<PathBuf>,
}

/// Counts for one file.
#[derive(Debug, Default, Clone)]
pub struct FileStats {
    /// Lines read.
    pub lines: u64,
    /// Events emitted.
    pub events: u64,
    /// Known lines without an event.
    pub ignored: u64,
    /// Mail-daemon lines no parser understood, and lines of no known shape.
    pub unparsed: u64,
    /// Lines of daemons mailir does not parse.
    pub other: u64,
    /// Lines that were not valid UTF-8.
    pub lossy: u64,
    /// A warning about the file (truncated gzip, unsupported compression).
    pub warning: Option<String>,
}

impl FileStats {
    /// Adds another file's or chunk's counts.
    pub fn add(&mut self, o: &FileStats) {
        self.lines += o.lines;
        self.events += o.events;
        self.ignored += o.ignored;
        self.unparsed += o.unparsed;
        self.other += o.other;
        self.lossy += o.lossy;
        if self.warning.is_none() {
            self.warning.clone_from(&o.warning);
        }
    }
}

/// Parses one file through the pipeline.
fn parse_file(
    file: &LogFile,
    ctx: &pipeline::Ctx,
    out: &mut Sink,
    unparsed: Option<&mut (dyn Write + Send)>,
) -> io::Result<FileStats> {
    let read = input::with_reader(file, |c, r| match c {
        Compression::Unsupported(name) => Ok(FileStats {
            warning: Some(format!(
                "{name} compression is not supported; file not read"
            )),
            ..FileStats::default()
        }),
        _ => pipeline::run(ctx, r, out, unparsed),
    })?;
    match read {
        Some(r) => r,
        None => Ok(FileStats {
            warning: Some("entry not found in the bundle".into()),
            ..FileStats::default()
        }),
    }
}

fn zone(cfg: &ParseConfig, custody: Option<&str>) -> (Tz, String) {
    if let Some(tz) = cfg.timezone {
        return (tz, format!("{tz} (--timezone)"));
    }
    if let Some(z) = custody.and_then(|z| z.parse::<Tz>().ok()) {
        return (z, format!("{z} (bundle custody)"));
    }
    (
        chrono_tz::UTC,
        "UTC (default: no --timezone, no bundle custody)".into(),
    )
}

/// Runs `mailir parse`.
pub fn run(cfg: &ParseConfig) -> Result<ExitCode> {
    let inputs = input::resolve(&cfg.inputs);
    for (path, err) in &inputs.errors {
        eprintln!(
            "mailir parse: cannot read {}: {}",
            terminal(path),
            terminal(err)
        );
    }
    if inputs.files.is_empty() && !inputs.errors.is_empty() {
        return Ok(ExitCode::Error);
    }
    let (tz, tz_note) = zone(cfg, inputs.custody_zone.as_deref());
    // Keep the files whose content is a mail log.
    let mut logs = Vec::new();
    for f in &inputs.files {
        match input::with_reader(f, |c, r| match c {
            Compression::Unsupported(_) => true,
            _ => input::sniff(r),
        }) {
            Ok(Some(true)) => logs.push(f.clone()),
            Ok(_) => {}
            Err(e) => eprintln!(
                "mailir parse: cannot read {}: {}",
                terminal(&f.path),
                terminal(&e.to_string())
            ),
        }
    }
    let meta: Vec<_> = logs.iter().map(|f| (f.path.clone(), f.mtime)).collect();
    let (order, anchors) = rotation::plan(&meta, Utc::now());
    let mut out = match (&cfg.out, cfg.format) {
        (None, Format::Parquet) => {
            eprintln!("mailir parse: --format parquet writes a binary file: give --out PATH");
            return Ok(ExitCode::Error);
        }
        (Some(p), Format::Parquet) => {
            let f = File::create(p).with_context(|| format!("cannot create {}", p.display()))?;
            Sink::Parquet(Box::new(parquet::ParquetSink::new(f)))
        }
        (Some(p), _) => Sink::Bytes(Box::new(BufWriter::with_capacity(
            1 << 20,
            File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        ))),
        (None, _) => Sink::Bytes(Box::new(BufWriter::with_capacity(1 << 20, io::stdout()))),
    };
    let unparsed = match &cfg.unparsed {
        Some(p) => Some(BufWriter::new(
            File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => None,
    };
    let mut unparsed = unparsed;
    if cfg.format == Format::Csv {
        let header = Writer::new(cfg.format, Vec::new(), true)?.into_inner()?;
        out.write(&header, None)?;
    }
    let joiner = RwLock::new(correlate::Joiner::default());
    let mut total = FileStats::default();
    eprintln!(
        "mailir parse: {} mail log file(s) of {} candidate(s); local times read as {tz_note}",
        logs.len(),
        inputs.files.len()
    );
    for i in order {
        let f = &logs[i];
        let ctx = pipeline::Ctx {
            format: cfg.format,
            path: Arc::from(f.path.as_str()),
            sha256: f.sha256.as_deref().map(Arc::from),
            clock: Clock {
                tz,
                anchor: Clock::anchor_of(anchors[i], tz),
                year: cfg.year,
            },
            joiner: &joiner,
            keep_unparsed: unparsed.is_some(),
        };
        let u = unparsed.as_mut().map(|u| u as &mut (dyn Write + Send));
        let s = parse_file(f, &ctx, &mut out, u)
            .with_context(|| format!("while reading {}", f.path))?;
        eprintln!(
            "  {}: {} lines, {} events, {} ignored, {} unparsed, {} other{}{}",
            terminal(&f.path),
            s.lines,
            s.events,
            s.ignored,
            s.unparsed,
            s.other,
            if s.lossy > 0 {
                format!(", {} not UTF-8", s.lossy)
            } else {
                String::new()
            },
            s.warning
                .as_deref()
                .map(|w| format!("; WARNING: {}", terminal(w)))
                .unwrap_or_default()
        );
        total.add(&s);
    }
    out.finish()?;
    if let Some(u) = unparsed.as_mut() {
        u.flush()?;
    }
    eprintln!(
        "mailir parse: {} files, {} lines, {} events, {} ignored, {} unparsed, {} other",
        logs.len(),
        total.lines,
        total.events,
        total.ignored,
        total.unparsed,
        total.other
    );
    Ok(if inputs.errors.is_empty() {
        ExitCode::Success
    } else {
        ExitCode::Error
    })
}
