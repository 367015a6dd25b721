//! The report as data (`report.json`): built once from the findings and the playbook; the
//! Markdown (and later HTML) renderers only lay it out.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::playbook::{Playbook, STAGES};
use super::{Lang, ReportConfig};
use crate::detect::finding::{Finding, Phase, Severity};
use crate::detect::Detected;
use crate::timeline::record::{phase_name, records, Kind, Record};

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Report {
    /// When it was written (UTC).
    pub generated: String,
    /// Language of the texts.
    pub lang: Lang,
    /// The inputs as given.
    pub inputs: Vec<String>,
    /// What was read.
    pub stats: crate::detect::render::Stats,
    /// What happened, in short.
    pub summary: Summary,
    /// Every finding, in time order, with the playbook steps it calls for.
    pub findings: Vec<Entry>,
    /// The phases (start and end rows of the timeline).
    pub phases: Vec<PhaseSpan>,
    /// The playbook, stage by stage.
    pub playbook: BTreeMap<&'static str, Vec<ChosenStep>>,
    /// Every planted entry to remove: file, line, how the change takes effect.
    pub clean_items: Vec<CleanItem>,
    /// Remediation ids the findings name and the playbook lacks (should be empty).
    pub unknown_steps: Vec<String>,
    /// Events per hour: (hours since the epoch, count), ascending.
    pub activity: Vec<(i64, u64)>,
    /// The organisation as the case file names it (name, contact point, DPO).
    pub organisation: Option<String>,
    /// Notification duties and their clocks (from the earliest detection until a case file
    /// sets the anchors); empty without a log finding.
    pub notify: Vec<super::compliance::Obligation>,
}

/// The short story.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// Findings per severity.
    pub by_severity: BTreeMap<&'static str, usize>,
    /// Accounts taken over or abused.
    pub accounts: Vec<String>,
    /// Addresses that attacked.
    pub attackers: Vec<String>,
    /// Planted entries found in the configuration.
    pub persistence: usize,
    /// Signs that logs were cut or altered.
    pub tampering: usize,
    /// First and last time of any log finding.
    pub first: Option<String>,
    /// Last time.
    pub last: Option<String>,
}

/// One attack phase's span.
#[derive(Debug, Serialize)]
pub struct PhaseSpan {
    /// Phase.
    pub phase: Phase,
    /// First finding's first time.
    pub first: String,
    /// Last finding's last time.
    pub last: String,
    /// Findings in it.
    pub findings: u64,
    /// Summary line.
    pub message: String,
}

/// A finding and the steps it calls for.
#[derive(Debug, Serialize)]
pub struct Entry {
    /// The finding as `detect` reports it.
    #[serde(flatten)]
    pub finding: Finding,
    /// Playbook step ids, in stage order.
    pub steps: Vec<String>,
}

/// A playbook step as the report shows it.
#[derive(Debug, Serialize)]
pub struct ChosenStep {
    /// Step id.
    pub id: String,
    /// Text in the report's language, filled.
    pub text: String,
    /// Commands, filled.
    pub commands: Vec<String>,
    /// Titles of the findings that call for it.
    pub because: Vec<String>,
}

/// One planted entry to remove.
#[derive(Debug, Serialize)]
pub struct CleanItem {
    /// The finding's title.
    pub finding: String,
    /// Rule.
    pub rule: &'static str,
    /// Path on the host.
    pub file: String,
    /// Path in the evidence (bundle or root relative).
    pub evidence_path: String,
    /// 1-based line to remove (none: the whole file, e.g. a compiled map).
    pub line: Option<u64>,
    /// How the edit takes effect.
    pub apply: String,
}

fn severity_name(s: Severity) -> &'static str {
    crate::timeline::record::severity_name(s)
}

/// Up to 20 names, then how many more.
fn names(set: &BTreeSet<String>) -> String {
    let shown: Vec<&str> = set.iter().take(20).map(String::as_str).collect();
    let more = set.len().saturating_sub(shown.len());
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// The host path an evidence path of `f` stands for (config findings list host paths).
fn host_path(f: &Finding, evidence_path: &str) -> String {
    let tail = evidence_path
        .strip_prefix("files/")
        .unwrap_or(evidence_path)
        .trim_start_matches('/');
    f.entities
        .files
        .iter()
        .find(|h| h.trim_start_matches('/') == tail)
        .cloned()
        .unwrap_or_else(|| format!("/{tail}"))
}

impl Report {
    /// Builds the report of a detection run (`case`: the responder's case file, if any).
    pub fn build(
        d: &Detected,
        book: &Playbook,
        cfg: &ReportConfig,
        case: Option<&super::case::Case>,
    ) -> Report {
        let findings = &d.findings;
        let log_finding =
            |f: &&Finding| !f.rule.starts_with("persistence.") && !f.rule.starts_with("config.");
        let mut by_severity = BTreeMap::new();
        for f in findings {
            *by_severity.entry(severity_name(f.severity)).or_insert(0) += 1;
        }
        let accounts: BTreeSet<String> = findings
            .iter()
            .filter(|f| matches!(f.rule, "auth.compromised_account" | "abuse.bulk_send"))
            .flat_map(|f| f.entities.users.iter().cloned())
            .collect();
        let attackers: BTreeSet<String> = findings
            .iter()
            .filter(log_finding)
            .filter(|f| matches!(f.phase, Phase::Recon | Phase::InitialAccess))
            .flat_map(|f| f.entities.ips.iter().cloned())
            .collect();
        let logs: Vec<&Finding> = findings.iter().filter(log_finding).collect();
        let summary = Summary {
            by_severity,
            accounts: accounts.into_iter().collect(),
            attackers: attackers.into_iter().collect(),
            persistence: findings
                .iter()
                .filter(|f| f.rule.starts_with("persistence."))
                .count(),
            tampering: findings
                .iter()
                .filter(|f| f.rule.starts_with("tamper."))
                .count(),
            first: logs.iter().map(|f| f.first_seen.clone()).min(),
            last: logs.iter().map(|f| f.last_seen.clone()).max(),
        };
        let rows: Vec<Record> = records(findings);
        let mut phases = Vec::new();
        for r in rows.iter().filter(|r| r.kind == Kind::PhaseStart) {
            let end = rows
                .iter()
                .find(|e| e.kind == Kind::PhaseEnd && e.phase == r.phase);
            if let (Some(p), Some(end)) = (r.phase, end) {
                phases.push(PhaseSpan {
                    phase: p,
                    first: r.ts.clone(),
                    last: end.ts.clone(),
                    findings: r.count,
                    message: r.message.clone(),
                });
            }
        }
        let mut playbook: BTreeMap<&'static str, Vec<ChosenStep>> = BTreeMap::new();
        for stage in STAGES {
            let mut chosen = Vec::new();
            for step in book.step.iter().filter(|s| s.stage == stage) {
                let by: Vec<&Finding> = findings
                    .iter()
                    .filter(|f| Playbook::chooses(step, f))
                    .collect();
                if by.is_empty() {
                    continue;
                }
                let ips: BTreeSet<String> = by
                    .iter()
                    .flat_map(|f| f.entities.ips.iter().cloned())
                    .collect();
                let users: BTreeSet<String> = by
                    .iter()
                    .flat_map(|f| f.entities.users.iter().cloned())
                    .collect();
                let files: BTreeSet<String> = by
                    .iter()
                    .flat_map(|f| f.entities.files.iter().cloned())
                    .collect();
                let text = match cfg.lang {
                    Lang::En => &step.en,
                    Lang::Zh => &step.zh,
                };
                let text = text
                    .replace("{ips}", &names(&ips))
                    .replace("{users}", &names(&users))
                    .replace("{files}", &names(&files));
                let mut commands = Vec::new();
                for c in &step.commands {
                    if c.contains("{ip}") {
                        commands.extend(ips.iter().map(|ip| c.replace("{ip}", ip)));
                    } else if c.contains("{user}") {
                        commands.extend(users.iter().map(|u| c.replace("{user}", u)));
                    } else {
                        commands.push(c.clone());
                    }
                }
                let mut because: Vec<String> = by.iter().map(|f| f.title.clone()).collect();
                because.dedup();
                chosen.push(ChosenStep {
                    id: step.id.clone(),
                    text,
                    commands,
                    because,
                });
            }
            playbook.insert(stage, chosen);
        }
        let mut clean_items = Vec::new();
        for f in findings
            .iter()
            .filter(|f| f.rule.starts_with("persistence."))
        {
            for e in &f.evidence {
                let file = host_path(f, &e.path);
                let apply = book.apply(&file);
                let lines: Vec<Option<u64>> = if e.lines.is_empty() {
                    vec![None]
                } else {
                    e.lines.iter().copied().map(Some).collect()
                };
                for line in lines {
                    clean_items.push(CleanItem {
                        finding: f.title.clone(),
                        rule: f.rule,
                        file: file.clone(),
                        evidence_path: e.path.clone(),
                        line,
                        apply: apply.clone(),
                    });
                }
            }
        }
        let entries = findings
            .iter()
            .map(|f| Entry {
                steps: STAGES
                    .iter()
                    .flat_map(|stage| {
                        book.step
                            .iter()
                            .filter(move |s| s.stage == *stage)
                            .filter(|s| Playbook::chooses(s, f))
                            .map(|s| s.id.clone())
                    })
                    .collect(),
                finding: f.clone(),
            })
            .collect();
        let now = chrono::Utc::now();
        let detected_at = summary
            .first
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&chrono::Utc));
        Report {
            generated: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            lang: cfg.lang,
            inputs: cfg
                .detect
                .parse
                .inputs
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            stats: d.stats.clone(),
            summary,
            findings: entries,
            phases,
            playbook,
            clean_items,
            unknown_steps: book
                .unknown_ids(findings)
                .into_iter()
                .map(str::to_string)
                .collect(),
            activity: d.activity.clone(),
            organisation: case.map(|c| {
                let o = &c.organisation;
                let mut parts = vec![o.name.clone().unwrap_or_else(|| "-".into())];
                if let Some(x) = &o.contact {
                    parts.push(format!("contact {x}"));
                }
                if let Some(x) = &o.dpo {
                    parts.push(format!("DPO {x}"));
                }
                parts.join(", ")
            }),
            notify: detected_at
                .map(|at| super::compliance::obligations(at, now, case))
                .unwrap_or_default(),
        }
    }
}

/// The phase's name for headings.
pub fn phase_title(p: Phase, lang: Lang) -> &'static str {
    match (lang, p) {
        (Lang::En, _) => phase_name(p),
        (Lang::Zh, Phase::Recon) => "侦察",
        (Lang::Zh, Phase::InitialAccess) => "初始访问",
        (Lang::Zh, Phase::Persistence) => "持久化",
        (Lang::Zh, Phase::Exfiltration) => "数据窃取与滥用",
        (Lang::Zh, Phase::Cleanup) => "痕迹清除",
    }
}
