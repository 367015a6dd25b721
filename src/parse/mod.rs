//! `parse`: log files in, normalized events out, with exact provenance and honest stats.
//!
//! [`input`] resolves the inputs into candidate files and keeps those whose content is a mail
//! log; [`rotation`] orders them chain by chain, oldest first, and gives each its year
//! anchor; files on disk are then read in the order of their first events' times (so the
//! run moves forward in time and `detect` can seal its state, see [`pipeline::Ctx::ceiling`]); each file is streamed line by line (gzip transparently) through
//! [`crate::events::parse_line`]; [`correlate`] attaches the SASL login of a message to its
//! later queue and delivery events; [`output`] renders. Stats go to stderr, per file and in
//! total; lines no parser understood can be written out with `--unparsed`.

pub mod aged;
pub mod correlate;
pub mod exports;
pub mod input;
pub mod lake;
pub mod output;
pub mod parquet;
pub mod pipeline;
pub mod rotation;
pub mod spool;

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
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
    /// `--partition`: write a Hive-partitioned Parquet dataset into the folder `out`
    /// ([`lake`]); empty for one output.
    pub partition: Vec<lake::Partition>,
    /// The host every input is known to be evidence of (set by `detect`'s grouping, which
    /// named it already): inputs are not read again to name it.
    pub host: Option<std::sync::Arc<str>>,
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
    /// Mail-facility lines of a syslog chain that repeats a mail chain beside it (skipped:
    /// they are read once, from the mail chain).
    pub repeated: u64,
    /// Lines that were not valid UTF-8.
    pub lossy: u64,
    /// A warning about the file (truncated gzip, unsupported compression).
    pub warning: Option<String>,
    /// Lines holding NUL bytes (zeroed regions: a file wiped in place).
    pub nul_lines: u64,
    /// The file's last line has no newline (cut mid-line, or still being written).
    pub ends_mid_line: bool,
    /// Earliest and latest event time (µs), when there were events.
    pub first_us: Option<i64>,
    /// Latest event time.
    pub last_us: Option<i64>,
}

impl FileStats {
    /// Adds another file's or chunk's counts.
    pub fn add(&mut self, o: &FileStats) {
        self.lines += o.lines;
        self.events += o.events;
        self.ignored += o.ignored;
        self.unparsed += o.unparsed;
        self.other += o.other;
        self.repeated += o.repeated;
        self.lossy += o.lossy;
        self.nul_lines += o.nul_lines;
        self.ends_mid_line |= o.ends_mid_line;
        self.first_us = match (self.first_us, o.first_us) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_us = match (self.last_us, o.last_us) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        if self.warning.is_none() {
            self.warning.clone_from(&o.warning);
        }
    }
}

/// What a run shares across its files.
struct Session<'a> {
    cfg: &'a ParseConfig,
    tz: Tz,
    out: Sink,
    unparsed: Option<BufWriter<File>>,
    /// Message joins, one per host: a queue id of one server never meets another's.
    joiners: Vec<(Arc<str>, Arc<RwLock<correlate::Joiner>>)>,
    total: FileStats,
    mail_logs: usize,
    /// Path and manifest hash of every parsed file, by file number.
    files: Vec<(String, Option<String>)>,
    /// What each parsed file looked like (for the log-integrity rules), by file number.
    summaries: Vec<FileSummary>,
    /// The earliest start of the files after the current one, when known (see
    /// [`pipeline::Ctx::ceiling`]).
    ceiling: Option<i64>,
    /// Files whose mail lines repeat a mail chain beside them: [`chain_key`] → that chain.
    copies: std::collections::HashMap<String, String>,
    /// The files are several hosts' evidence: rotation chains are formed host by host and
    /// every file's line names its host.
    multi: bool,
}

/// The name a file's rotation chain is formed under: its path, under its host's name when
/// the run reads several hosts (two bundles both hold `files/var/log/mail.log`).
fn chain_key(f: &LogFile, multi: bool) -> String {
    if multi {
        format!("{}/{}", f.host, f.path)
    } else {
        f.path.clone()
    }
}

/// One parsed file: where it is, its mtime, and its counts.
#[derive(Debug, Clone)]
pub struct FileSummary {
    /// Path as in events.
    pub path: String,
    /// Modification time (manifest or file system), µs.
    pub mtime_us: Option<i64>,
    /// Counts and warnings.
    pub stats: FileStats,
}

/// A reader that fails once with the error the stream's head ended in, then ends.
struct Failed(Option<io::Error>);

impl Read for Failed {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        match self.0.take() {
            Some(e) => Err(e),
            None => Ok(0),
        }
    }
}

/// Bytes read to decide whether a stream is a mail log.
const SNIFF: u64 = 64 * 1024;

impl Session<'_> {
    /// The time of the first event in the head of an on-disk file (gzip read through), if
    /// the head has one.
    fn first_time(&self, f: &LogFile, anchor: DateTime<Utc>) -> Option<i64> {
        let clock = Clock {
            tz: self.tz,
            anchor: Clock::anchor_of(anchor, self.tz),
            year: self.cfg.year,
        };
        input::with_reader(f, |_, r| {
            let mut head = Vec::with_capacity(SNIFF as usize);
            r.take(SNIFF).read_to_end(&mut head).ok()?;
            if let Some(kind) = crate::evidence::exports::recognise(&head) {
                return exports::first_time(
                    kind,
                    &head,
                    f.mtime.map(|t| t.timestamp_micros()),
                    self.tz,
                );
            }
            let text = String::from_utf8_lossy(&head);
            let mut cache = crate::events::TsCache::without_text();
            text.lines().find_map(|l| {
                let src = crate::events::record::Source {
                    host: "",
                    path: "",
                    sha256: None,
                    line: 0,
                    offset: 0,
                };
                match crate::events::parse_line(l, &clock, &mut cache, src, false) {
                    crate::events::LineOutcome::Event(e) => Some(e.ts_unix_us),
                    _ => None,
                }
            })
        })
        .ok()
        .flatten()
    }

    /// Sniffs one (decompressed) stream and, if it is a mail log, parses it.
    fn stream(
        &mut self,
        f: &LogFile,
        anchor: DateTime<Utc>,
        c: Compression,
        r: &mut dyn Read,
    ) -> io::Result<()> {
        if let Compression::Unsupported(name) = c {
            let s = FileStats {
                warning: Some(format!(
                    "{name} compression is not supported; file not read"
                )),
                ..FileStats::default()
            };
            self.report(f, &s);
            return Ok(());
        }
        let mut head = Vec::with_capacity(SNIFF as usize);
        // A stream damaged within its first bytes (a small cut `.gz`) still yields the lines
        // before the damage: the bytes read are kept and the error comes after them.
        let head_error = r.take(SNIFF).read_to_end(&mut head).err();
        if head.is_empty() {
            if let Some(e) = head_error {
                let s = FileStats {
                    warning: Some(format!("read failed at the start: {e}")),
                    ..FileStats::default()
                };
                self.report(f, &s);
                return Ok(());
            }
        }
        // Exports first: an IIS line (`2021-03-05 03:06:27 …`) also looks like Exim's.
        let export = crate::evidence::exports::recognise(&head);
        if export.is_none() && !input::sniff(&head) {
            return Ok(());
        }
        self.mail_logs += 1;
        let joiner = match self.joiners.iter().find(|(h, _)| *h == f.host) {
            Some((_, j)) => j.clone(),
            None => {
                let j = Arc::new(RwLock::new(correlate::Joiner::default()));
                self.joiners.push((f.host.clone(), j.clone()));
                j
            }
        };
        let ctx = pipeline::Ctx {
            format: self.cfg.format,
            path: Arc::from(f.path.as_str()),
            sha256: f.sha256.as_deref().map(Arc::from),
            host: f.host.clone(),
            clock: Clock {
                tz: self.tz,
                anchor: Clock::anchor_of(anchor, self.tz),
                year: self.cfg.year,
            },
            joiner: &joiner,
            keep_unparsed: self.unparsed.is_some(),
            file_id: self.files.len() as u32,
            ceiling: self.ceiling,
            repeats: self.copies.contains_key(&chain_key(f, self.multi)),
            copy: rotation::repeats_another_log(&f.path),
        };
        self.out
            .file(ctx.file_id, &f.path, f.sha256.as_deref(), &f.host)?;
        self.files.push((f.path.clone(), f.sha256.clone()));
        let mut failed = Failed(head_error);
        let rest: &mut dyn Read = if failed.0.is_some() { &mut failed } else { r };
        let mut chained = io::Cursor::new(head).chain(rest);
        let u = self.unparsed.as_mut().map(|u| u as &mut (dyn Write + Send));
        let s = match export {
            Some(kind) => {
                let export_us = f.mtime.map(|t| t.timestamp_micros());
                exports::run(&ctx, kind, export_us, &mut chained, &mut self.out, u)?
            }
            None => pipeline::run(&ctx, &mut chained, &mut self.out, u)?,
        };
        self.report(f, &s);
        self.total.add(&s);
        self.summaries.push(FileSummary {
            path: f.path.clone(),
            mtime_us: f.mtime.map(|t| t.timestamp_micros()),
            stats: s,
        });
        Ok(())
    }

    fn report(&self, f: &LogFile, s: &FileStats) {
        let host = if self.multi {
            format!("[{}] ", f.host)
        } else {
            String::new()
        };
        eprintln!(
            "  {host}{}: {} lines, {} events, {} ignored, {} unparsed, {} other{}{}{}",
            terminal(&f.path),
            s.lines,
            s.events,
            s.ignored,
            s.unparsed,
            s.other,
            if s.repeated > 0 {
                format!(", {} repeated from the mail log", s.repeated)
            } else {
                String::new()
            },
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

fn sink(cfg: &ParseConfig) -> Result<Option<Sink>> {
    Ok(Some(match (&cfg.out, cfg.format) {
        (None, Format::Parquet) => return Ok(None),
        (Some(p), Format::Parquet) if !cfg.partition.is_empty() => Sink::Lake(Box::new(
            lake::LakeSink::new(p, &cfg.partition)
                .with_context(|| format!("cannot write a dataset into {}", p.display()))?,
        )),
        (Some(p), Format::Parquet) => {
            let f = crate::outfile::create(p)
                .with_context(|| format!("cannot create {}", p.display()))?;
            Sink::Parquet(Box::new(parquet::ParquetSink::new(f)))
        }
        (Some(p), _) => Sink::Bytes(Box::new(BufWriter::with_capacity(
            1 << 20,
            crate::outfile::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        ))),
        (None, _) => Sink::Bytes(Box::new(BufWriter::with_capacity(1 << 20, io::stdout()))),
    }))
}

/// What a run over the inputs produced.
pub struct Driven {
    /// Totals over every mail log.
    pub total: FileStats,
    /// Mail log files parsed.
    pub mail_logs: usize,
    /// Path and manifest hash of every parsed file, by file number (facts point here).
    pub files: Vec<(String, Option<String>)>,
    /// Per-file summaries, by file number.
    pub summaries: Vec<FileSummary>,
    /// Some input could not be read at all.
    pub input_errors: bool,
    /// How local times were read (zone and where it came from).
    pub zone: String,
    /// The files read, where they can be read again (scratch copies of bundle entries stay
    /// open until this is dropped): evidence lines are quoted from them
    /// ([`crate::detect::quote`]).
    pub sources: Vec<input::LogFile>,
}

/// Resolves the inputs and streams every mail log into `out` (`parse` renders; `detect`
/// collects facts). `command` names the caller in messages.
pub fn drive(cfg: &ParseConfig, out: Sink, command: &str) -> Result<Option<Driven>> {
    let inputs = input::resolve(&cfg.inputs, cfg.host.as_ref());
    for (path, err) in &inputs.errors {
        eprintln!(
            "mailir {command}: cannot read {}: {}",
            terminal(path),
            terminal(err)
        );
    }
    if inputs.files.is_empty() && !inputs.errors.is_empty() {
        return Ok(None);
    }
    let (tz, tz_note) = zone(cfg, inputs.custody_zone.as_deref());
    let unparsed = match &cfg.unparsed {
        Some(p) => Some(BufWriter::new(
            crate::outfile::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => None,
    };
    eprintln!(
        "mailir {command}: {} candidate file(s); local times read as {tz_note}",
        inputs.files.len()
    );
    let multi = inputs.files.iter().any(|f| f.host != inputs.files[0].host);
    let mut session = Session {
        multi,
        cfg,
        tz,
        out,
        unparsed,
        joiners: Vec::new(),
        total: FileStats::default(),
        mail_logs: 0,
        files: Vec::new(),
        summaries: Vec::new(),
        ceiling: None,
        copies: {
            let keys: Vec<String> = inputs.files.iter().map(|f| chain_key(f, multi)).collect();
            let paths: Vec<&str> = keys.iter().map(String::as_str).collect();
            let mut m = std::collections::HashMap::new();
            for ((f, c), key) in inputs.files.iter().zip(rotation::copies(&paths)).zip(&keys) {
                if let Some(c) = c {
                    eprintln!(
                        "mailir {command}: {}: its mail lines repeat {} beside it (syslog writes mail.* to both): they are read once, from {}",
                        terminal(&f.path),
                        terminal(&c),
                        terminal(&c)
                    );
                    m.insert(key.clone(), c);
                }
            }
            m
        },
    };
    // Bundle archives are read in one pass, in archive order (a `.tar.gz` cannot be read out
    // of order without decompressing it again, and archives hold the newest rotation first):
    // their log entries are first copied, as stored, to nameless scratch files (nothing is
    // left behind, whatever ends the run), so that they too are read in time order and
    // detection can seal its state. The copies never take the scratch file system's last
    // room ([`spool::Budget`]); an archive that does not fit is read in place, in archive
    // order, and no promise is made.
    let (mut on_disk, in_archives): (Vec<LogFile>, Vec<LogFile>) = inputs
        .files
        .iter()
        .cloned()
        .partition(|f| !matches!(f.origin, input::Origin::Entry { .. }));
    let mut bundles: Vec<PathBuf> = in_archives
        .iter()
        .filter_map(|f| match &f.origin {
            input::Origin::Entry { bundle, .. } => Some(bundle.clone()),
            _ => None,
        })
        .collect();
    bundles.dedup();
    let mut budget = spool::Budget::of_temp_dir();
    let mut in_place: Vec<(PathBuf, Vec<LogFile>)> = Vec::new();
    for bundle in bundles {
        let files: Vec<LogFile> = in_archives
            .iter()
            .filter(|f| matches!(&f.origin, input::Origin::Entry { bundle: b, .. } if *b == bundle))
            .cloned()
            .collect();
        match spool::copy(&bundle, &files, &mut budget) {
            Ok(copied) => on_disk.extend(copied),
            Err(e) => {
                eprintln!(
                    "mailir {command}: {}: read in place, in archive order ({}): findings may be split and memory grows with the logs",
                    terminal(&bundle.display().to_string()),
                    terminal(&e.to_string())
                );
                in_place.push((bundle, files));
            }
        }
    }
    // Files on disk: in the order their first lines' times give (chain by chain, oldest
    // first, where a file tells no time), so that the run moves forward in time and a
    // detection sink can be promised where later files start.
    let meta: Vec<_> = on_disk
        .iter()
        .map(|f| (chain_key(f, multi), f.mtime))
        .collect();
    let (order, anchors) = rotation::plan(&meta, Utc::now());
    let starts: Vec<Option<i64>> = on_disk
        .iter()
        .zip(&anchors)
        .map(|(f, a)| session.first_time(f, *a))
        .collect();
    let mut order: Vec<usize> = order;
    // Stable: files that tell no time keep their place ahead of the rest.
    order.sort_by_key(|&i| starts[i].unwrap_or(i64::MIN));
    for (k, &i) in order.iter().enumerate() {
        let f = &on_disk[i];
        let anchor = anchors[i];
        session.ceiling = in_place.is_empty().then(|| {
            order[k + 1..]
                .iter()
                .map(|&j| starts[j].unwrap_or(i64::MIN))
                .min()
                .unwrap_or(i64::MAX)
        });
        input::with_reader(f, |c, r| session.stream(f, anchor, c, r))
            .and_then(|r| r)
            .with_context(|| format!("while reading {}", f.path))?;
    }
    session.ceiling = None;
    let mut sources = on_disk;
    sources.extend(in_place.iter().flat_map(|(_, files)| files.iter().cloned()));
    for (bundle, files) in in_place {
        let meta: Vec<_> = files.iter().map(|f| (f.path.clone(), f.mtime)).collect();
        let (_, anchors) = rotation::plan(&meta, Utc::now());
        let mut failure: Option<io::Error> = None;
        crate::evidence::reader::for_each_entry(&bundle, |name, _, r| {
            if failure.is_some() {
                return;
            }
            let Some(i) = files.iter().position(|f| f.path == name) else {
                return;
            };
            let mut br = io::BufReader::with_capacity(1 << 20, r);
            if let Err(e) = input::decompressed(&mut br, |c, dr| {
                session.stream(&files[i], anchors[i], c, dr)
            })
            .and_then(|r| r)
            {
                failure = Some(e);
            }
        })
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        if let Some(e) = failure {
            return Err(e).with_context(|| format!("while reading {}", bundle.display()));
        }
    }
    let Session {
        out,
        mut unparsed,
        total,
        mail_logs,
        files,
        summaries,
        ..
    } = session;
    out.finish()?;
    if let Some(u) = unparsed.as_mut() {
        u.flush()?;
    }
    eprintln!(
        "mailir {command}: {} mail log file(s), {} lines, {} events, {} ignored, {} unparsed, {} other",
        mail_logs, total.lines, total.events, total.ignored, total.unparsed, total.other
    );
    Ok(Some(Driven {
        summaries,
        total,
        mail_logs,
        files,
        input_errors: !inputs.errors.is_empty(),
        zone: tz_note,
        sources,
    }))
}

/// Runs `mailir parse`.
pub fn run(cfg: &ParseConfig) -> Result<ExitCode> {
    if !cfg.partition.is_empty() && cfg.format != Format::Parquet {
        eprintln!("mailir parse: --partition writes a Parquet dataset: give --format parquet");
        return Ok(ExitCode::Error);
    }
    let Some(mut out) = sink(cfg)? else {
        eprintln!(
            "mailir parse: --format parquet writes a binary file (with --partition, a folder): give --out PATH"
        );
        return Ok(ExitCode::Error);
    };
    if cfg.format == Format::Csv {
        let mut header = Writer::new(cfg.format, Vec::new(), true, 0)?.finish()?;
        out.write(&mut header)?;
    }
    Ok(match drive(cfg, out, "parse")? {
        Some(d) if !d.input_errors => ExitCode::Success,
        _ => ExitCode::Error,
    })
}
