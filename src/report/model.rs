//! The report as data (`report.json`): built once from the findings and the playbook; the
//! Markdown (and later HTML) renderers only lay it out.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::playbook::{Playbook, STAGES};
use super::{Lang, ReportConfig};
use crate::detect::catalog::Role;
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
    /// What happened, in one paragraph (the drafts' description), and the findings it rests
    /// on.
    pub story: (String, Vec<String>),
    /// Data affected: the case file's categories, or empty (to be assessed).
    pub data: Vec<String>,
    /// What was accessed, per mailbox: read, downloaded, deleted, with counts, sources and the
    /// findings that say so ([`super::impact`]).
    pub accessed: Vec<super::impact::Impact>,
    /// The host behind the mail service: what the attacker left on or ran on it
    /// ([`super::host`]).
    pub host: Vec<super::host::HostRow>,
    /// For a case of several hosts: one line per host, the cross-host findings, each host's
    /// own findings ([`super::fleet`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fleet: Option<super::fleet::Fleet>,
    /// The incident's status from the case file (none: not given).
    pub status: Option<String>,
    /// Draft notices of the regimes that apply or may apply, every field labelled with its
    /// source.
    pub drafts: Vec<super::draft::Draft>,
    /// Each input: what it is, and for a bundle its verification and custody record.
    pub custody: Vec<super::custody::InputCheck>,
    /// Log files read (path, manifest SHA-256), the first [`LOGS_LISTED`].
    pub logs_read: Vec<(String, Option<String>)>,
    /// How many log files were read.
    pub logs_total: usize,
    /// How local times in the logs were read.
    pub zone: String,
}

/// Most log files the report lists by name.
pub const LOGS_LISTED: usize = 50;

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

impl Summary {
    /// The summary of `findings`, selected by their roles: the accounts taken or abused to
    /// send, the attacker sources, planted entries, log-integrity signs, and the span of the
    /// findings about events in the logs.
    pub fn of(findings: &[Finding]) -> Summary {
        let mut by_severity = BTreeMap::new();
        for f in findings {
            *by_severity.entry(severity_name(f.severity)).or_insert(0) += 1;
        }
        let named: Vec<&String> = findings
            .iter()
            .filter(|f| names_taken_account(f))
            .flat_map(|f| &f.entities.users)
            .collect();
        // One account however many hosts name it and however they spell it.
        let one = super::impact::one_name_each(named.iter().map(|n| n.as_str()));
        let accounts: BTreeSet<String> = named
            .iter()
            .map(|n| {
                one.get(&n.to_lowercase())
                    .cloned()
                    .unwrap_or_else(|| n.to_string())
            })
            .collect();
        // The addresses of an attacker or of a stolen login, whichever rule named them; an
        // account's usual address never.
        let attackers = crate::detect::entity::block_list(findings);
        let logs: Vec<&Finding> = findings.iter().filter(|f| is_log_event(f)).collect();
        Summary {
            by_severity,
            accounts: accounts.into_iter().collect(),
            attackers,
            persistence: findings
                .iter()
                .filter(|f| f.has(Role::PlantedEntry))
                .count(),
            tampering: findings
                .iter()
                .filter(|f| f.has(Role::LogIntegrity))
                .count(),
            first: logs.iter().map(|f| f.first_seen.clone()).min(),
            last: logs.iter().map(|f| f.last_seen.clone()).max(),
        }
    }
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
    /// Its number in the report (`F1`), which drafts and steps cite.
    pub id: String,
    /// Title in the report's language.
    pub title: String,
    /// Summary in the report's language.
    pub summary: String,
    /// The finding as `detect` reports it.
    pub finding: Finding,
    /// Playbook step ids, in stage order.
    pub steps: Vec<String>,
    /// Its entities by role, named in the report's language.
    pub who: Vec<super::who::Group>,
    /// Representative evidence lines, verbatim (each output escapes them).
    pub quotes: Vec<crate::detect::quote::Quote>,
    /// Evidence lines cited beyond the quoted ones (all of them are in `finding.evidence`).
    pub more_lines: u64,
}

#[cfg(test)]
impl Entry {
    /// A report entry `id` of `f` alone (title its own, no steps, no quotes): for tests.
    pub fn bare(id: &str, f: Finding) -> Entry {
        Entry {
            id: id.into(),
            title: f.title.clone(),
            summary: String::new(),
            finding: f,
            steps: Vec::new(),
            who: Vec::new(),
            quotes: Vec::new(),
            more_lines: 0,
        }
    }
}

/// A playbook step as the report shows it.
#[derive(Debug, Serialize)]
pub struct ChosenStep {
    /// Step id.
    pub id: String,
    /// Text in the report's language, filled.
    pub text: String,
    /// Commands, filled with checked, quoted values (`report::shell`).
    pub commands: Vec<String>,
    /// Values from the evidence that were not put in a command, with the reason.
    pub refused: Vec<super::shell::Refused>,
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
    /// `remove` (a planted entry) or `change` (a configuration weakness — an open relay list
    /// an intruder widened is one — to set back).
    pub action: &'static str,
    /// Path on the host.
    pub file: String,
    /// Path in the evidence (bundle or root relative).
    pub evidence_path: String,
    /// 1-based line to remove (none: the whole file, e.g. a compiled map).
    pub line: Option<u64>,
    /// How the edit takes effect (empty when the path or owner could not be put in a
    /// command: see `refused`).
    pub apply: String,
    /// The value that kept `apply` from being a command, and why.
    pub refused: Option<super::shell::Refused>,
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

/// The mailboxes of the findings `by`, each with what was read and deleted where a finding
/// says it ([`super::impact`]), then the other accounts by name.
fn mailboxes(lang: Lang, by: &[&Finding], users: &BTreeSet<String>) -> String {
    let rows = super::impact::of(by.iter().map(|f| (*f, "")));
    let mut parts: Vec<String> = rows.iter().take(20).map(|r| r.line(lang)).collect();
    let others: BTreeSet<String> = users
        .iter()
        .filter(|u| !rows.iter().any(|r| &r.mailbox == *u))
        .cloned()
        .collect();
    if !others.is_empty() {
        parts.push(names(&others));
    }
    parts.join("; ")
}

/// A step's text, its commands, and the values kept out of them.
type Filled = (String, Vec<String>, Vec<super::shell::Refused>);

/// A playbook step's text in `lang` and its commands, filled with the addresses, accounts and
/// files of the findings `by` that call for it. Every value is checked and quoted by
/// [`super::shell::render`]; one that fails is listed as refused, never put in a command.
fn fill(step: &super::playbook::Step, lang: Lang, by: &[&Finding]) -> Filled {
    use crate::detect::entity::EntityKind;
    let of = |kind: EntityKind| -> BTreeSet<String> {
        by.iter()
            .flat_map(|f| super::playbook::Playbook::entities_of(step, f))
            .filter(|(k, _)| *k == kind)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let (ips, users, files, processes) = (
        of(EntityKind::Ip),
        of(EntityKind::User),
        of(EntityKind::File),
        of(EntityKind::Process),
    );
    let text = match lang {
        Lang::En => &step.en,
        Lang::Zh => &step.zh,
    };
    let text = text
        .replace("{ips}", &names(&ips))
        .replace("{mailboxes}", &mailboxes(lang, by, &users))
        .replace("{users}", &names(&users))
        .replace("{files}", &names(&files))
        .replace("{processes}", &names(&processes));
    use super::shell::{render, Arg};
    let mut commands = Vec::new();
    let mut refused: Vec<super::shell::Refused> = Vec::new();
    for c in &step.commands {
        let (name, arg, values) = if c.contains("{ip}") {
            ("ip", Arg::Ip, &ips)
        } else if c.contains("{user}") {
            ("user", Arg::Account, &users)
        } else if c.contains("{pid}") {
            ("pid", Arg::Pid, &processes)
        } else {
            commands.push(c.clone());
            continue;
        };
        for v in values {
            match render(c, name, arg, v) {
                Ok(cmd) => commands.push(cmd),
                Err(r) if !refused.contains(&r) => refused.push(r),
                Err(_) => {}
            }
        }
    }
    (text, commands, refused)
}

impl Report {
    /// Builds the report of a detection run (`case`: the responder's case file, if any).
    pub fn build(
        d: &Detected,
        book: &Playbook,
        cfg: &ReportConfig,
        case: Option<&super::case::Case>,
        checks: Vec<super::custody::InputCheck>,
    ) -> Report {
        let findings = &d.findings;
        let summary = Summary::of(findings);
        // Titles and summaries in the report's language, by finding.
        let mut texts: BTreeMap<&'static str, Option<super::playbook::RuleText>> = BTreeMap::new();
        let local: Vec<(String, String)> = findings
            .iter()
            .map(|f| match cfg.lang {
                Lang::En => (f.title.clone(), f.summary.clone()),
                Lang::Zh => {
                    let text = texts
                        .entry(f.rule)
                        .or_insert_with(|| book.rule_text(f.rule));
                    zh_texts(f, text.as_ref())
                }
            })
            .collect();
        // Findings are met again by reference (steps, clean items): their index by address.
        let index: std::collections::HashMap<*const Finding, usize> = findings
            .iter()
            .enumerate()
            .map(|(i, f)| (f as *const Finding, i))
            .collect();
        let title_of = |f: &Finding| -> String {
            index
                .get(&(f as *const Finding))
                .map(|&i| local[i].0.clone())
                .unwrap_or_else(|| f.title.clone())
        };
        let rows: Vec<Record> = records(findings);
        let mut phases = Vec::new();
        for r in rows.iter().filter(|r| r.kind == Kind::PhaseStart) {
            let end = rows
                .iter()
                .find(|e| e.kind == Kind::PhaseEnd && e.phase == r.phase);
            if let (Some(p), Some(end)) = (r.phase, end) {
                let message = match cfg.lang {
                    Lang::En => r.message.clone(),
                    Lang::Zh => {
                        let rules: BTreeSet<&str> = findings
                            .iter()
                            .filter(|f| f.phase == p)
                            .map(|f| f.rule)
                            .collect();
                        format!(
                            "{} 项发现，{} 至 {}（规则：{}）",
                            r.count,
                            r.ts,
                            end.ts,
                            rules.into_iter().collect::<Vec<_>>().join(", ")
                        )
                    }
                };
                phases.push(PhaseSpan {
                    phase: p,
                    first: r.ts.clone(),
                    last: end.ts.clone(),
                    findings: r.count,
                    message,
                });
            }
        }
        let mut playbook: BTreeMap<&'static str, Vec<ChosenStep>> = BTreeMap::new();
        let mut measures = Vec::new();
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
                let (text, commands, refused) = fill(step, cfg.lang, &by);
                if matches!(stage, "isolate" | "clean") {
                    measures.push((fill(step, Lang::En, &by).0, fill(step, Lang::Zh, &by).0));
                }
                let mut because: Vec<String> = by.iter().map(|f| title_of(f)).collect();
                because.dedup();
                chosen.push(ChosenStep {
                    id: step.id.clone(),
                    text,
                    commands,
                    refused,
                    because,
                });
            }
            playbook.insert(stage, chosen);
        }
        let mut clean_items = Vec::new();
        // Planted entries to remove, then weaknesses to change at the lines they cite (a
        // weakness with no line — a setting left at its default — has its step's text only).
        let to_clean = findings
            .iter()
            .filter(|f| f.has(Role::PlantedEntry))
            .map(|f| (f, "remove"))
            .chain(
                findings
                    .iter()
                    .filter(|f| f.has(Role::Posture) && !f.has(Role::PlantedEntry))
                    .map(|f| (f, "change")),
            );
        for (f, action) in to_clean {
            for e in &f.evidence {
                if action == "change" && e.lines.is_empty() {
                    continue;
                }
                let file = host_path(f, &e.path);
                let (apply, refused) = match book.apply(&file, cfg.lang) {
                    Ok(a) => (a, None),
                    Err(r) => (String::new(), Some(r)),
                };
                let lines: Vec<Option<u64>> = if e.lines.is_empty() {
                    vec![None]
                } else {
                    e.lines.iter().copied().map(Some).collect()
                };
                for line in lines {
                    clean_items.push(CleanItem {
                        finding: title_of(f),
                        rule: f.rule,
                        action,
                        file: file.clone(),
                        evidence_path: e.path.clone(),
                        line,
                        apply: apply.clone(),
                        refused: refused.clone(),
                    });
                }
            }
        }
        let entries: Vec<Entry> = findings
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let (title, summary) = local[i].clone();
                let quotes = d.quotes.of(f);
                let more_lines = crate::detect::quote::cited(f).saturating_sub(quotes.len() as u64);
                Entry {
                    id: format!("F{}", i + 1),
                    title,
                    summary,
                    who: super::who::groups(f, cfg.lang),
                    quotes,
                    more_lines,
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
                }
            })
            .collect();
        let now = chrono::Utc::now();
        let detected_at = summary
            .first
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&chrono::Utc));
        let notify = detected_at
            .map(|at| super::compliance::obligations(at, now, case, cfg.lang))
            .unwrap_or_default();
        let accessed = super::impact::of(entries.iter().map(|e| (&e.finding, e.id.as_str())));
        let mut facts = facts(&entries, &summary, &checks, measures, cfg.lang);
        if d.hosts.len() > 1 {
            // A case of several hosts: every host, bundle or not.
            facts.hosts = d.hosts.iter().map(|h| h.name.clone()).collect();
        }
        facts.accessed = accessed.clone();
        let drafts = super::draft::drafts(&facts, &notify, case, cfg.lang);
        let story = facts.story(cfg.lang);
        let host = super::host::of(&entries, cfg.lang);
        let fleet = super::fleet::of(&d.hosts, &entries);
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
            notify,
            story,
            data: case.map(|c| c.data.categories.clone()).unwrap_or_default(),
            accessed,
            host,
            fleet,
            status: case.and_then(|c| c.incident.status.clone()),
            drafts,
            custody: checks,
            logs_read: d.files.iter().take(LOGS_LISTED).cloned().collect(),
            logs_total: d.files.len(),
            zone: d.zone.clone(),
        }
    }
}

/// A finding's title and summary in Chinese: the rule's name with the finding's accounts,
/// addresses and files, its meaning with the count and span, and the English line as 原文.
fn zh_texts(f: &Finding, text: Option<&super::playbook::RuleText>) -> (String, String) {
    let Some(t) = text else {
        return (f.title.clone(), f.summary.clone());
    };
    let few = super::draft::first_names;
    let mut parts = Vec::new();
    if !f.entities.users.is_empty() {
        parts.push(format!("账户 {}", few(&f.entities.users, 3)));
    }
    if !f.entities.ips.is_empty() {
        parts.push(format!("地址 {}", few(&f.entities.ips, 3)));
    }
    if !f.entities.files.is_empty() {
        parts.push(format!("文件 {}", few(&f.entities.files, 2)));
    }
    let title = if parts.is_empty() {
        t.zh.clone()
    } else {
        format!("{}：{}", t.zh, parts.join("；"))
    };
    let summary = format!(
        "{}。共 {} 个事件，{} 至 {}。原文：{}",
        t.zh_what, f.count, f.first_seen, f.last_seen, f.summary
    );
    (title, summary)
}

/// What the drafts can say from the evidence.
fn facts(
    entries: &[Entry],
    summary: &Summary,
    checks: &[super::custody::InputCheck],
    measures: Vec<(String, String)>,
    lang: Lang,
) -> super::draft::Facts {
    let ids = |pred: &dyn Fn(&Finding) -> bool| -> Vec<String> {
        entries
            .iter()
            .filter(|e| pred(&e.finding))
            .map(|e| e.id.clone())
            .collect()
    };
    let log = |f: &Finding| is_log_event(f);
    let at = |t: &Option<String>, first: bool| {
        t.clone().map(|t| {
            let refs = ids(&|f| {
                log(f)
                    && if first {
                        f.first_seen == t
                    } else {
                        f.last_seen == t
                    }
            });
            (t, refs)
        })
    };
    let sum = |pred: &dyn Fn(&Finding) -> bool| -> (u64, Vec<String>) {
        (
            entries
                .iter()
                .filter(|e| pred(&e.finding))
                .map(|e| e.finding.count)
                .sum(),
            ids(pred),
        )
    };
    let mut vectors: Vec<(&'static str, Vec<String>)> = Vec::new();
    for e in entries.iter().filter(|e| e.finding.has(Role::AccessVector)) {
        let r = e.finding.rule;
        match vectors.iter_mut().find(|(v, _)| *v == r) {
            Some((_, refs)) => refs.push(e.id.clone()),
            None => vectors.push((r, vec![e.id.clone()])),
        }
    }
    // The door first (a takeover, an exploit); the guessing and the baselines explain it.
    vectors.sort_by_key(|(r, _)| {
        crate::detect::catalog::meta(r)
            .and_then(|m| m.vector)
            .map_or(u8::MAX, |v| v.2)
    });
    let persistence = ids(&|f| f.has(Role::PlantedEntry));
    let tampering = ids(&|f| f.has(Role::LogIntegrity));
    let severity = summary
        .by_severity
        .iter()
        .rev()
        .map(|(k, v)| severity_count(k, *v, lang))
        .collect::<Vec<_>>()
        .join(", ");
    super::draft::Facts {
        first: at(&summary.first, true),
        last: at(&summary.last, false),
        accounts: (summary.accounts.clone(), ids(&names_taken_account)),
        attackers: (
            summary.attackers.clone(),
            ids(&|f| f.has(Role::AttackerSource) && !f.entities.ips.is_empty()),
        ),
        vectors,
        persistence: (persistence.len(), persistence),
        bulk: sum(&|f| f.has(Role::MailSent) && f.has(Role::AbusedAccount)),
        copied: sum(&|f| f.has(Role::MailCopied)),
        tampering: (tampering.len(), tampering),
        hosts: checks
            .iter()
            .filter_map(|c| c.bundle.as_ref()?.custody.as_ref()?.host.hostname.clone())
            .collect(),
        bundles: checks
            .iter()
            .filter_map(|c| {
                let b = c.bundle.as_ref()?;
                Some((b.sha256.clone()?, b.problems.len()))
            })
            .collect(),
        measures,
        accessed: Vec::new(),
        severity: if severity.is_empty() {
            "-".into()
        } else {
            severity
        },
    }
}

/// "3 high" / "3 项高危".
pub fn severity_count(name: &str, n: usize, lang: Lang) -> String {
    match lang {
        Lang::En => format!("{n} {name}"),
        Lang::Zh => format!("{n} 项{}", severity_zh(name)),
    }
}

/// A severity's name in Chinese.
pub fn severity_zh(name: &str) -> &'static str {
    match name {
        "critical" => "严重",
        "high" => "高危",
        "medium" => "中危",
        "low" => "低危",
        _ => "提示",
    }
}

/// A severity's name in the report's language.
pub fn severity_word(s: Severity, lang: Lang) -> &'static str {
    match lang {
        Lang::En => severity_name(s),
        Lang::Zh => severity_zh(severity_name(s)),
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

/// Whether a finding is about events in the logs — not an entry planted in the host's or the
/// tenant's configuration, not a posture weakness.
fn is_log_event(f: &Finding) -> bool {
    !f.has(Role::PlantedEntry) && !f.has(Role::Posture)
}

/// Whether a finding's accounts were taken or abused to send: the accounts the summary names.
fn names_taken_account(f: &Finding) -> bool {
    f.has(Role::TakenAccount) || (f.has(Role::AbusedAccount) && f.has(Role::MailSent))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::finding::Entities;
    use crate::report::playbook::Playbook;

    /// A rule that exists nowhere but here: only its roles say what it means.
    fn new_rule_finding() -> Finding {
        Finding {
            title: "Something new from 198.51.100.7".into(),
            first_seen: "2026-03-04T02:00:00Z".into(),
            last_seen: "2026-03-04T03:00:00Z".into(),
            count: 3,
            entities: Entities {
                ips: vec!["198.51.100.7".into()],
                users: vec!["alice".into()],
                files: Vec::new(),
                ..Entities::default()
            },
            roles: &[
                Role::AttackerSource,
                Role::TakenAccount,
                Role::AccountActivity,
            ],
            ..Finding::of("test.new_rule")
        }
    }

    #[test]
    fn a_new_rule_with_roles_reaches_summary_playbook_and_timeline() {
        // Entity roles are settled from the rule roles, as `detect` does for every run.
        let settled = |f: Finding| {
            let mut v = vec![f];
            crate::detect::entity::settle(&mut v);
            v.remove(0)
        };
        let f = settled(new_rule_finding());
        let s = Summary::of(std::slice::from_ref(&f));
        assert_eq!(s.attackers, ["198.51.100.7"]);
        assert_eq!(s.accounts, ["alice"]);
        assert_eq!(s.first.as_deref(), Some("2026-03-04T02:00:00Z"));
        let book = Playbook::load(None).unwrap();
        for step in ["isolate.block_ips", "isolate.disable_accounts"] {
            let st = book.step.iter().find(|s| s.id == step).unwrap();
            assert!(Playbook::chooses(st, &f), "{step}");
        }
        let rows = crate::timeline::record::records(std::slice::from_ref(&f));
        assert!(rows.iter().any(|r| r.rule == Some("test.new_rule")));
        let interest = crate::timeline::context::Interest::of(std::slice::from_ref(&f));
        assert!(interest.follows_user("alice") && interest.follows_ip("198.51.100.7"));
        // The same finding without roles reaches none of them.
        let plain = settled(Finding {
            roles: &[],
            ..new_rule_finding()
        });
        let s = Summary::of(std::slice::from_ref(&plain));
        assert!(s.attackers.is_empty() && s.accounts.is_empty());
        let block = book
            .step
            .iter()
            .find(|s| s.id == "isolate.block_ips")
            .unwrap();
        assert!(!Playbook::chooses(block, &plain));
    }
}
