//! `triage`: detect, timeline and report in one run — the responder's first command on a
//! bundle. One detection run feeds both: the report files and every timeline export go into
//! the output folder, and the terminal gets a short summary (the worst findings, the phases,
//! where the report is).

use std::io::{BufWriter, Write};

use anyhow::{Context, Result};

use crate::detect::finding::Finding;
use crate::exit_codes::ExitCode;
use crate::report::{playbook::Playbook, ReportConfig};
use crate::sanitize::terminal;
use crate::timeline::export::Format;

/// The timeline exports `triage` writes, and their file names.
pub const EXPORTS: [(Format, &str); 5] = [
    (Format::Jsonl, "timeline.jsonl"),
    (Format::TimesketchJsonl, "timeline.timesketch.jsonl"),
    (Format::TimesketchCsv, "timeline.timesketch.csv"),
    (Format::L2tcsv, "timeline.l2t.csv"),
    (Format::Parquet, "timeline.parquet"),
];

/// Runs `mailir triage` (its options are `report`'s).
pub fn run(cfg: &ReportConfig) -> Result<ExitCode> {
    let book = Playbook::load(cfg.playbooks.as_deref())?;
    let Some((d, checks)) = crate::report::detect_and_check(cfg, "triage")? else {
        return Ok(ExitCode::Error);
    };
    let exit = crate::report::outcome("triage", &d, &checks);
    let (md, json) = crate::report::write(&d, checks, &book, cfg)?;
    let (rows, _) = crate::timeline::rows(&cfg.detect.parse, &d.findings, false)?;
    for (format, name) in EXPORTS {
        let path = cfg.out_dir.join(name);
        let file = crate::outfile::create(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let mut out = BufWriter::new(file);
        let mut e = crate::timeline::export::Exporter::new(format, &mut out);
        e.batch(&rows)?;
        e.finish()?;
        out.flush()?;
    }
    print!("{}", summary(&d.findings, rows.len(), &md, &json, cfg));
    print!("{}", hosts_summary(&d.hosts, &d.findings));
    Ok(exit)
}

/// For a case of several hosts: one line per host (fallen in order, targeted, quiet,
/// unread) and the findings across hosts; nothing for one host.
fn hosts_summary(hosts: &[crate::detect::fleet::HostRun], findings: &[Finding]) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    if hosts.len() < 2 {
        return o;
    }
    let mut fallen: Vec<&crate::detect::fleet::HostRun> =
        hosts.iter().filter(|h| h.compromised.is_some()).collect();
    fallen.sort_by(|a, b| a.compromised.cmp(&b.compromised));
    let _ = writeln!(o, "hosts: {} ({} fallen)", hosts.len(), fallen.len());
    for h in hosts {
        let targeted = findings.iter().any(|f| {
            f.hosts.len() == 1
                && f.hosts[0] == h.name
                && f.has(crate::detect::catalog::Role::AttackerSource)
        });
        let state = match (&h.compromised, &h.compromised_by) {
            (Some(at), Some((rule, title))) => {
                let n = fallen.iter().position(|f| f.name == h.name).unwrap_or(0) + 1;
                format!("fallen #{n} at {at} ({rule}: {})", terminal(title))
            }
            _ if !h.read => "evidence unreadable".to_string(),
            _ if targeted => "targeted only".to_string(),
            _ => "no attack seen".to_string(),
        };
        let _ = writeln!(
            o,
            "  {:<15} {state}; {} finding(s)",
            terminal(&h.name),
            h.findings
        );
    }
    for f in findings
        .iter()
        .filter(|f| f.has(crate::detect::catalog::Role::Fleet))
    {
        let _ = writeln!(
            o,
            "  across hosts: {:<8} {}  [{}]",
            crate::timeline::record::severity_name(f.severity),
            terminal(&f.title),
            terminal(&f.hosts.join(", "))
        );
    }
    o
}

/// The terminal summary: counts, the five worst findings, the phases, the files written.
fn summary(
    findings: &[Finding],
    rows: usize,
    md: &std::path::Path,
    json: &std::path::Path,
    cfg: &ReportConfig,
) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let mut worst: Vec<&Finding> = findings.iter().collect();
    worst.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.first_seen.cmp(&b.first_seen))
    });
    let _ = writeln!(o, "mailir triage: {} finding(s)", findings.len());
    for f in worst.iter().take(5) {
        let _ = writeln!(
            o,
            "  {:<8} {}  {}",
            crate::timeline::record::severity_name(f.severity),
            f.first_seen,
            terminal(&f.title)
        );
    }
    // One line per phase, in time order: its span (from the timeline's phase rows) and the
    // rules that found something in it; weaknesses of the configuration apart.
    use crate::detect::catalog::Role;
    use crate::timeline::record::{phase_name, Kind};
    let rows_of = crate::timeline::record::records(findings);
    for start in rows_of.iter().filter(|r| r.kind == Kind::PhaseStart) {
        let Some(phase) = start.phase else { continue };
        let end = rows_of
            .iter()
            .find(|r| r.kind == Kind::PhaseEnd && r.phase == Some(phase))
            .map_or(start.ts.as_str(), |r| r.ts.as_str());
        let of: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.phase == phase && !f.has(Role::Posture))
            .collect();
        let rules: std::collections::BTreeSet<&str> = of.iter().map(|f| f.rule).collect();
        let _ = writeln!(
            o,
            "  {:<15} {} → {}  {} finding(s): {}",
            phase_name(phase),
            start.ts,
            end,
            of.len(),
            rules.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    let weak: std::collections::BTreeSet<&str> = findings
        .iter()
        .filter(|f| f.has(Role::Posture))
        .map(|f| f.rule)
        .collect();
    if !weak.is_empty() {
        let _ = writeln!(
            o,
            "  {:<15} {}",
            "weaknesses",
            weak.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    let _ = writeln!(
        o,
        "report: {}\n        {}\ntimeline ({rows} rows): {}",
        terminal(&md.display().to_string()),
        terminal(&json.display().to_string()),
        terminal(&cfg.out_dir.join("timeline.*").display().to_string())
    );
    o
}
