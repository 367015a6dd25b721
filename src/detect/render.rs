//! Finding renderers, one per `--format` variant: `json` (the contract document
//! `{"findings": [...], "stats": {...}}`), `jsonl` (one finding per line), `text` (a table for a
//! terminal, coloured when stdout is one; attacker-controlled text escaped), `parquet` (a file
//! or, with `--partition host`, a dataset folder: [`super::lake`]).

use std::io::{self, IsTerminal, Write};
use std::path::Path;

use serde::Serialize;

use super::finding::{Finding, Severity};
use crate::sanitize::terminal;

/// `--format` of `detect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON document with findings and stats.
    Json,
    /// One finding per line.
    Jsonl,
    /// A readable table.
    Text,
    /// Apache Parquet, one row per finding (needs `--out`; with `--partition host`, a
    /// dataset folder with one row per finding and host).
    Parquet,
}

/// Counts of the run.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    /// Mail log files read.
    pub files: u64,
    /// Lines read.
    pub lines: u64,
    /// Events.
    pub events: u64,
    /// Lines no parser understood.
    pub unparsed: u64,
    /// Configuration files read (configs, maps, delivery files, crontabs).
    pub config_files: u64,
    /// Configuration files that could not be read.
    pub config_errors: u64,
    /// Bounds the rules' state reached on this input (aggregation instead of one entry per
    /// address); empty when none was reached.
    pub limits: Vec<super::rules::Limit>,
}

#[derive(Serialize)]
struct Document<'a> {
    findings: &'a [Finding],
    stats: &'a Stats,
    /// The hosts of the case (one for one host's evidence): what was read of each, whether
    /// and when it fell ([`super::fleet::HostRun`]).
    hosts: &'a [super::fleet::HostRun],
}

fn colour(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "\x1b[1;31m",
        Severity::High => "\x1b[31m",
        Severity::Medium => "\x1b[33m",
        Severity::Low => "\x1b[36m",
        Severity::Info => "",
    }
}

/// The `who:` line of a finding in text: each entity role and its entities.
fn text_who(w: &mut dyn Write, f: &Finding) -> io::Result<()> {
    let parts: Vec<String> = f
        .entities
        .by_role()
        .into_iter()
        .map(|(role, named)| {
            let shown: Vec<String> = named.iter().take(8).map(|v| terminal(v)).collect();
            let more = if named.len() > 8 {
                format!(" (+{} more)", named.len() - 8)
            } else {
                String::new()
            };
            format!("{} {}{more}", role.name(), shown.join(", "))
        })
        .collect();
    if parts.is_empty() {
        return Ok(());
    }
    writeln!(w, "         who: {}", parts.join("; "))
}

/// Writes the findings to `out` (stdout when `None`); `by_host` (Parquet only) makes `out` a
/// dataset folder partitioned by host.
pub fn write(
    format: Format,
    out: Option<&Path>,
    by_host: bool,
    d: &super::Detected,
) -> io::Result<()> {
    let (findings, stats, quotes) = (&d.findings, &d.stats, &d.quotes);
    if format == Format::Parquet {
        let out = out.ok_or_else(|| io::Error::other("--format parquet needs --out PATH"))?;
        return super::lake::write(out, by_host, findings);
    }
    // Colour only on a terminal, and never when NO_COLOR is set to anything (no-color.org).
    let tty = out.is_none()
        && io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let mut w: Box<dyn Write> = match out {
        Some(p) => Box::new(io::BufWriter::new(crate::outfile::create(p)?)),
        None => Box::new(io::BufWriter::new(io::stdout().lock())),
    };
    match format {
        // Written above (a binary file, never stdout).
        Format::Parquet => {}
        Format::Json => {
            let doc = Document {
                findings,
                stats,
                hosts: &d.hosts,
            };
            serde_json::to_writer_pretty(&mut w, &doc)?;
            writeln!(w)?;
        }
        Format::Jsonl => {
            for f in findings {
                serde_json::to_writer(&mut w, f)?;
                writeln!(w)?;
            }
        }
        Format::Text => {
            // Several hosts' findings: each line names its hosts.
            let several = findings
                .iter()
                .any(|f| f.hosts.len() > 1 || f.hosts.first() != findings[0].hosts.first());
            for f in findings {
                let sev = serde_json::to_value(f.severity)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_uppercase))
                    .unwrap_or_default();
                let (on, off) = if tty {
                    (colour(f.severity), "\x1b[0m")
                } else {
                    ("", "")
                };
                let on_hosts = if several {
                    format!("[{}]  ", terminal(&f.hosts.join(", ")))
                } else {
                    String::new()
                };
                writeln!(
                    w,
                    "{on}{sev:<8}{off} {}  {on_hosts}{}  {}",
                    f.first_seen,
                    f.rule,
                    terminal(&f.title)
                )?;
                writeln!(w, "         {}", terminal(&f.summary))?;
                text_who(&mut w, f)?;
                let quoted = quotes.of(f);
                for q in &quoted {
                    writeln!(
                        w,
                        "         > {}:{}  {}",
                        terminal(&q.path),
                        q.line,
                        terminal(&q.text)
                    )?;
                }
                let rest = super::quote::cited(f).saturating_sub(quoted.len() as u64);
                if !quoted.is_empty() && rest > 0 {
                    writeln!(w, "         … and {rest} more line(s):")?;
                }
                for e in &f.evidence {
                    let lines: Vec<String> = e.lines.iter().take(8).map(u64::to_string).collect();
                    let more = if e.lines.len() > 8 {
                        format!(" (+{} more)", e.lines.len() - 8)
                    } else {
                        String::new()
                    };
                    let lines = if lines.is_empty() {
                        "none (the file as a whole)".to_string()
                    } else {
                        lines.join(", ")
                    };
                    writeln!(
                        w,
                        "         evidence {}: lines {lines}{more}",
                        terminal(&e.path)
                    )?;
                }
            }
            writeln!(
                w,
                "{} finding(s); {} file(s), {} lines, {} events, {} unparsed",
                findings.len(),
                stats.files,
                stats.lines,
                stats.events,
                stats.unparsed
            )?;
            for l in &stats.limits {
                writeln!(w, "limit: {}: {}", l.rule, terminal(&l.what))?;
            }
        }
    }
    w.flush()
}
