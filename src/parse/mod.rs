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
pub mod rotation;

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use chrono::Utc;
use chrono_tz::Tz;

use crate::events::record::Source;
use crate::events::time::Clock;
use crate::events::{parse_line, LineOutcome};
use crate::exit_codes::ExitCode;
use crate::sanitize::terminal;
use input::{Compression, LogFile};
use output::{Format, Writer};

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

struct Run<'a, W: Write> {
    writer: Writer<W>,
    unparsed: Option<BufWriter<File>>,
    joiner: correlate::Joiner,
    cfg: &'a ParseConfig,
}

impl<W: Write> Run<'_, W> {
    fn file(&mut self, file: &LogFile, clock: &Clock) -> io::Result<FileStats> {
        let mut stats = FileStats::default();
        let read = input::with_reader(file, |c, r| match c {
            Compression::Unsupported(name) => {
                stats.warning = Some(format!(
                    "{name} compression is not supported; file not read"
                ));
                Ok(())
            }
            _ => self.lines(file, clock, r, &mut stats),
        })?;
        match read {
            Some(Ok(())) => Ok(stats),
            Some(Err(e)) => Err(e),
            None => {
                stats.warning = Some("entry not found in the bundle".into());
                Ok(stats)
            }
        }
    }

    fn lines(
        &mut self,
        file: &LogFile,
        clock: &Clock,
        r: &mut dyn Read,
        stats: &mut FileStats,
    ) -> io::Result<()> {
        let mut reader = BufReader::with_capacity(1 << 20, r);
        let mut buf = Vec::with_capacity(4096);
        let mut offset = 0u64;
        loop {
            buf.clear();
            let n = match reader.read_until(b'\n', &mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    // A damaged gzip stream: keep every line before the damage, say where it broke.
                    stats.warning = Some(format!(
                        "read failed after line {} (byte {offset}): {e}",
                        stats.lines
                    ));
                    break;
                }
            };
            stats.lines += 1;
            let line_no = stats.lines;
            let start = offset;
            offset += n as u64;
            let mut end = buf.len();
            while end > 0 && matches!(buf[end - 1], b'\n' | b'\r') {
                end -= 1;
            }
            let (text, lossy) = match std::str::from_utf8(&buf[..end]) {
                Ok(s) => (std::borrow::Cow::Borrowed(s), false),
                Err(_) => (String::from_utf8_lossy(&buf[..end]), true),
            };
            if lossy {
                stats.lossy += 1;
            }
            let source = Source {
                path: file.path.clone(),
                sha256: file.sha256.clone(),
                line: line_no,
                offset: start,
            };
            match parse_line(&text, clock, source, lossy) {
                LineOutcome::Event(mut e) => {
                    self.joiner.apply(&mut e);
                    self.writer.write(&e)?;
                    stats.events += 1;
                }
                LineOutcome::Ignored => stats.ignored += 1,
                LineOutcome::Other => stats.other += 1,
                LineOutcome::Unparsed | LineOutcome::NoPrefix => {
                    stats.unparsed += 1;
                    if let Some(u) = self.unparsed.as_mut() {
                        writeln!(u, "{}:{}: {}", file.path, line_no, text)?;
                    }
                }
            }
        }
        Ok(())
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
    let out: Box<dyn Write> = match &cfg.out {
        Some(p) => Box::new(BufWriter::with_capacity(
            1 << 20,
            File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(BufWriter::with_capacity(1 << 20, io::stdout().lock())),
    };
    let unparsed = match &cfg.unparsed {
        Some(p) => Some(BufWriter::new(
            File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => None,
    };
    let mut run = Run {
        writer: Writer::new(cfg.format, out)?,
        unparsed,
        joiner: correlate::Joiner::default(),
        cfg,
    };
    let mut total = FileStats::default();
    eprintln!(
        "mailir parse: {} mail log file(s) of {} candidate(s); local times read as {tz_note}",
        logs.len(),
        inputs.files.len()
    );
    for i in order {
        let f = &logs[i];
        let clock = Clock {
            tz,
            anchor: Clock::anchor_of(anchors[i], tz),
            year: run.cfg.year,
        };
        let s = run
            .file(f, &clock)
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
        total.lines += s.lines;
        total.events += s.events;
        total.ignored += s.ignored;
        total.unparsed += s.unparsed;
        total.other += s.other;
    }
    run.writer.finish()?;
    if let Some(mut u) = run.unparsed {
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
