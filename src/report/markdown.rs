//! `report.md`: the report laid out for a reader who was not there — summary, evidence,
//! findings by phase with their lines, the phases in time, then the playbook. Every text that
//! came from evidence goes through [`crate::sanitize::markdown`].

use std::fmt::Write;

use super::model::{phase_title, Report};
use super::Lang;
use crate::detect::finding::Phase;
use crate::sanitize::markdown as md;

/// The headings and fixed phrases in the report's language (the HTML page uses them too).
pub struct Words {
    pub title: &'static str,
    pub summary: &'static str,
    pub evidence: &'static str,
    pub findings: &'static str,
    pub timeline: &'static str,
    pub playbook: &'static str,
    pub stages: [&'static str; 4],
    pub clean_items: &'static str,
    pub no_findings: &'static str,
    pub steps: &'static str,
    pub lines: &'static str,
    pub generated: &'static str,
    pub findings_count: &'static str,
    pub activity: &'static str,
    pub accounts: &'static str,
    pub attackers: &'static str,
    pub planted: &'static str,
    pub tampering: &'static str,
    pub logs_read: &'static str,
    pub config_read: &'static str,
    pub cites: &'static str,
    pub events: &'static str,
    pub duties: &'static str,
}

pub fn words(lang: Lang) -> Words {
    match lang {
        Lang::En => Words {
            title: "Mail server incident report",
            summary: "Summary",
            evidence: "Evidence",
            findings: "Findings by phase",
            timeline: "Attack timeline",
            playbook: "Response playbook",
            stages: ["Isolate", "Evidence", "Clean", "Notify"],
            clean_items: "Planted entries to remove",
            no_findings: "No finding.",
            steps: "Steps",
            lines: "lines",
            generated: "Generated {at} by mailir from: {inputs}",
            findings_count: "finding(s)",
            activity: "activity in the logs from {a} to {b} (UTC)",
            accounts: "accounts taken over or abused",
            attackers: "attacking addresses",
            planted: "planted configuration entries",
            tampering: "signs of log tampering",
            logs_read: "mail logs: {files} file(s), {lines} lines, {events} events, {unparsed} unparsed",
            config_read: "configuration: {files} file(s) read, {errors} unreadable",
            cites: "every finding below cites its evidence by path and line; paths are as in the evidence (bundle entry names for a bundle) with the manifest's SHA-256 where known.",
            events: "event(s)",
            duties: "Notification duties (clocks from the earliest detection; a case file sets the real anchors and which regimes apply)",
        },
        Lang::Zh => Words {
            title: "邮件服务器安全事件报告",
            summary: "概要",
            evidence: "证据",
            findings: "按攻击阶段列出的发现",
            timeline: "攻击时间线",
            playbook: "应急处置步骤",
            stages: ["隔离", "取证", "清除", "通报"],
            clean_items: "需删除的植入条目",
            no_findings: "未发现异常。",
            steps: "处置步骤",
            lines: "行",
            generated: "由 mailir 于 {at} 根据以下输入生成：{inputs}",
            findings_count: "项发现",
            activity: "日志中的可疑活动时间：{a} 至 {b}（UTC）",
            accounts: "被盗用或被滥用的账户",
            attackers: "攻击地址",
            planted: "配置中的植入条目",
            tampering: "日志篡改迹象",
            logs_read: "邮件日志：{files} 个文件，{lines} 行，{events} 个事件，{unparsed} 行无法解析",
            config_read: "配置：读取 {files} 个文件，{errors} 个无法读取",
            cites: "下列每项发现均按路径和行号引用证据；路径与证据中一致（证据包中为条目名），并在已知时附清单中的 SHA-256。",
            events: "个事件",
            duties: "通报义务（时限暂从最早检测时间起算；由案件文件确定实际起算点及适用的法规）",
        },
    }
}

const PHASES: [Phase; 5] = [
    Phase::Recon,
    Phase::InitialAccess,
    Phase::Persistence,
    Phase::Exfiltration,
    Phase::Cleanup,
];

/// The whole `report.md`.
pub fn render(r: &Report) -> String {
    let w = words(r.lang);
    let mut o = String::new();
    let _ = writeln!(o, "# {}\n", w.title);
    let _ = writeln!(
        o,
        "{}\n",
        w.generated
            .replace("{at}", &r.generated)
            .replace("{inputs}", &md(&r.inputs.join(", ")))
    );
    summary(&mut o, r, &w);
    let _ = writeln!(o, "## {}\n", w.evidence);
    let s = &r.stats;
    let _ = writeln!(
        o,
        "- {}\n- {}\n- {}\n",
        w.logs_read
            .replace("{files}", &s.files.to_string())
            .replace("{lines}", &s.lines.to_string())
            .replace("{events}", &s.events.to_string())
            .replace("{unparsed}", &s.unparsed.to_string()),
        w.config_read
            .replace("{files}", &s.config_files.to_string())
            .replace("{errors}", &s.config_errors.to_string()),
        w.cites
    );
    findings(&mut o, r, &w);
    let _ = writeln!(o, "## {}\n", w.timeline);
    for p in &r.phases {
        let _ = writeln!(
            o,
            "- **{}** {} → {}: {}",
            phase_title(p.phase, r.lang),
            p.first,
            p.last,
            md(&p.message)
        );
    }
    let _ = writeln!(o);
    playbook(&mut o, r, &w);
    o
}

fn summary(o: &mut String, r: &Report, w: &Words) {
    let s = &r.summary;
    let _ = writeln!(o, "## {}\n", w.summary);
    if let Some(org) = &r.organisation {
        let _ = writeln!(o, "- {}", md(org));
    }
    let sev: Vec<String> = s
        .by_severity
        .iter()
        .rev()
        .map(|(k, v)| format!("{v} {k}"))
        .collect();
    let _ = writeln!(
        o,
        "- {} {}: {}",
        r.findings.len(),
        w.findings_count,
        if sev.is_empty() {
            "-".into()
        } else {
            sev.join(", ")
        }
    );
    if let (Some(a), Some(b)) = (&s.first, &s.last) {
        let _ = writeln!(o, "- {}", w.activity.replace("{a}", a).replace("{b}", b));
    }
    for p in &r.phases {
        let _ = writeln!(
            o,
            "- {}: {} {}, {} → {}",
            phase_title(p.phase, r.lang),
            p.findings,
            w.findings_count,
            p.first,
            p.last
        );
    }
    if !s.accounts.is_empty() {
        let _ = writeln!(o, "- {}: **{}**", w.accounts, md(&s.accounts.join(", ")));
    }
    if !s.attackers.is_empty() {
        let _ = writeln!(o, "- {}: {}", w.attackers, md(&s.attackers.join(", ")));
    }
    let _ = writeln!(
        o,
        "- {}: {}; {}: {}\n",
        w.planted, s.persistence, w.tampering, s.tampering
    );
}

fn findings(o: &mut String, r: &Report, w: &Words) {
    let _ = writeln!(o, "## {}\n", w.findings);
    if r.findings.is_empty() {
        let _ = writeln!(o, "{}\n", w.no_findings);
    }
    for phase in PHASES {
        let of: Vec<_> = r
            .findings
            .iter()
            .filter(|e| e.finding.phase == phase)
            .collect();
        if of.is_empty() {
            continue;
        }
        let _ = writeln!(o, "### {}\n", phase_title(phase, r.lang));
        for e in of {
            let f = &e.finding;
            let _ = writeln!(
                o,
                "#### {} — {}\n",
                md(&f.title),
                crate::timeline::record::severity_name(f.severity)
            );
            let _ = writeln!(
                o,
                "`{}` · ATT&CK {} · {} → {} · {} {}\n",
                f.rule,
                f.attack.join(", "),
                f.first_seen,
                f.last_seen,
                f.count,
                w.events
            );
            let _ = writeln!(o, "{}\n", md(&f.summary));
            for ev in &f.evidence {
                let lines: Vec<String> = ev.lines.iter().map(u64::to_string).collect();
                let _ = writeln!(
                    o,
                    "- `{}` {} {}{}",
                    crate::sanitize::terminal(&ev.path).replace('`', "'"),
                    w.lines,
                    if lines.is_empty() {
                        "-".to_string()
                    } else {
                        lines.join(", ")
                    },
                    ev.sha256
                        .as_deref()
                        .map(|h| format!(" (sha256 {h})"))
                        .unwrap_or_default()
                );
            }
            if !e.steps.is_empty() {
                let _ = writeln!(o, "\n{}: {}", w.steps, e.steps.join(", "));
            }
            let _ = writeln!(o);
        }
    }
}

fn playbook(o: &mut String, r: &Report, w: &Words) {
    let _ = writeln!(o, "## {}\n", w.playbook);
    for (i, stage) in super::playbook::STAGES.iter().enumerate() {
        let _ = writeln!(o, "### {}. {}\n", i + 1, w.stages[i]);
        for s in r.playbook.get(stage).map(Vec::as_slice).unwrap_or_default() {
            let _ = writeln!(o, "- **{}** — {}", s.id, md(&s.text));
            for c in &s.commands {
                let _ = writeln!(o, "  - `{}`", c.replace('`', "'"));
            }
        }
        if *stage == "notify" && !r.notify.is_empty() {
            let _ = writeln!(o, "\n{}\n", w.duties);
            let _ = writeln!(o, "| regime | notice | applies | clock from | deadline | |");
            let _ = writeln!(o, "|---|---|---|---|---|---|");
            for n in &r.notify {
                let left = match n.remaining() {
                    (t, true) => format!("**{t}**"),
                    (t, false) => t,
                };
                let _ = writeln!(
                    o,
                    "| {} | {} | {} ({}) | {} ({}) | {} | {} |",
                    n.name,
                    n.what,
                    n.applies,
                    n.because,
                    n.anchor,
                    n.anchor_at,
                    n.due.as_deref().unwrap_or(n.no_deadline),
                    left
                );
            }
        }
        if *stage == "clean" && !r.clean_items.is_empty() {
            let _ = writeln!(o, "\n{}:\n", w.clean_items);
            for c in &r.clean_items {
                let line = c.line.map_or("-".to_string(), |l| l.to_string());
                let _ = writeln!(
                    o,
                    "- `{}` {} {} ({}) — {}: `{}`",
                    c.file.replace('`', "'"),
                    w.lines,
                    line,
                    md(&c.finding),
                    c.rule,
                    c.apply.replace('`', "'")
                );
            }
        }
        let _ = writeln!(o);
    }
}
