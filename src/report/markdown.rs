//! `report.md`: the report laid out for a reader who was not there — summary, evidence,
//! findings by phase with their lines, the phases in time, then the playbook. Every text that
//! came from evidence goes through [`crate::sanitize::markdown`].

use std::fmt::Write;

use super::model::{phase_title, Report};
use super::Lang;
use crate::detect::finding::Phase;
use crate::sanitize::markdown as md;
use crate::sanitize::markdown_code as code;

/// The headings and fixed phrases in the report's language (the HTML page uses them too).
pub struct Words {
    pub title: &'static str,
    pub summary: &'static str,
    pub evidence: &'static str,
    pub findings: &'static str,
    /// The section of configuration weaknesses (posture), apart from the attack phases.
    pub weaknesses: &'static str,
    pub timeline: &'static str,
    pub playbook: &'static str,
    pub stages: [&'static str; 4],
    pub clean_items: &'static str,
    /// Said before a value from the evidence that was not put in a command.
    pub refused: &'static str,
    pub no_findings: &'static str,
    pub steps: &'static str,
    pub lines: &'static str,
    /// Heading of a finding's entities by role.
    pub who: &'static str,
    /// "and N more" of a group of entities (`{n}`).
    pub more: &'static str,
    /// Said after the quoted lines when more are cited (`{n}`).
    pub more_lines: &'static str,
    /// Said instead of quotes when a finding cites no line.
    pub no_line: &'static str,
    pub generated: &'static str,
    pub findings_count: &'static str,
    pub activity: &'static str,
    pub accounts: &'static str,
    pub attackers: &'static str,
    pub planted: &'static str,
    pub tampering: &'static str,
    pub logs_read: &'static str,
    /// A bound detection reached (`{rule}`, `{what}`).
    pub limit: &'static str,
    pub config_read: &'static str,
    pub cites: &'static str,
    pub events: &'static str,
    pub duties: &'static str,
    pub duty_columns: [&'static str; 5],
    pub finding_columns: [&'static str; 4],
    pub drafts: &'static str,
    pub drafts_intro: &'static str,
    pub draft_columns: [&'static str; 3],
    pub data: &'static str,
    pub data_unknown: &'static str,
    /// "What was accessed" heading, its introduction and its columns.
    pub accessed: &'static str,
    pub accessed_intro: &'static str,
    pub accessed_columns: [&'static str; 9],
    /// The host section's heading, introduction and columns.
    pub host: &'static str,
    pub host_intro: &'static str,
    pub host_columns: [&'static str; 6],
    /// The fleet summary's heading, introduction, columns, the cross-host findings' line, a
    /// host's section heading (`{host}`) and its findings' line.
    pub fleet: &'static str,
    pub fleet_intro: &'static str,
    pub fleet_columns: [&'static str; 6],
    pub across: &'static str,
    pub fleet_host: &'static str,
    pub host_findings: &'static str,
    /// "host" before a finding's host names.
    pub on_host: &'static str,
}

/// `yes`, `no`, `check` in the report's language.
pub fn applies_word(a: &str, lang: Lang) -> &str {
    match (lang, a) {
        (Lang::Zh, "yes") => "适用",
        (Lang::Zh, "no") => "不适用",
        (Lang::Zh, "check") => "待判断",
        (_, a) => a,
    }
}

/// The summary's line on where the response stands.
pub fn status_line(r: &Report) -> String {
    match (r.lang, &r.status) {
        (Lang::En, Some(s)) => format!("status: {s} (case file)"),
        (Lang::En, None) => "status: not given — treat the incident as open until the case file's [incident] status says otherwise".into(),
        (Lang::Zh, Some(s)) => format!("状态：{}（案件文件）", status_zh(s)),
        (Lang::Zh, None) => "状态：未给出——在案件文件的 [incident] status 另有说明之前，按未结事件处理".into(),
    }
}

fn status_zh(s: &str) -> &str {
    match s {
        "new" => "新发现",
        "contained" => "已遏制",
        "eradicated" => "已清除",
        "recovered" => "已恢复",
        "closed" => "已结案",
        s => s,
    }
}

/// The summary's line on the data affected.
pub fn data_line(r: &Report, w: &Words) -> String {
    if r.data.is_empty() {
        w.data_unknown.to_string()
    } else {
        format!("{}: {}", w.data, r.data.join(", "))
    }
}

pub fn words(lang: Lang) -> Words {
    match lang {
        Lang::En => Words {
            title: "Mail server incident report",
            summary: "Summary",
            evidence: "Evidence and custody",
            findings: "Findings by phase",
            weaknesses: "Weaknesses that helped or could help an attacker",
            timeline: "Attack timeline",
            playbook: "Response playbook",
            stages: ["Isolate", "Evidence", "Clean", "Notify"],
            clean_items: "Planted entries to remove, then weaknesses to change",
            refused: "not made into a command (check it by hand)",
            no_findings: "No finding.",
            steps: "Steps",
            lines: "lines",
            who: "Who",
            more: "and {n} more",
            more_lines: "… and {n} more evidence line(s); every line number is in report.json and the timeline",
            no_line: "no line to quote: the evidence is the file as a whole, or a setting it lacks",
            generated: "Generated {at} by mailir from: {inputs}",
            findings_count: "finding(s)",
            activity: "activity in the logs from {a} to {b} (UTC)",
            accounts: "accounts taken over or abused",
            attackers: "attacking addresses",
            planted: "planted configuration entries",
            tampering: "signs of log tampering",
            logs_read: "mail logs: {files} file(s), {lines} lines, {events} events, {unparsed} unparsed",
            limit: "detection aggregated ({rule}): {what}",
            config_read: "configuration: {files} file(s) read, {errors} unreadable",
            cites: "every finding below cites its evidence by path and line; paths are as in the evidence (bundle entry names for a bundle) with the manifest's SHA-256 where known.",
            events: "event(s)",
            duties: "Notification duties (clocks from the earliest detection; a case file sets the real anchors and which regimes apply)",
            duty_columns: ["regime", "notice", "applies", "clock from", "deadline"],
            finding_columns: ["time", "severity", "finding", "evidence"],
            drafts: "Draft notifications",
            drafts_intro: "Drafts to complete and check before anything is sent, one per regime that applies or may apply. Each item says where its value came from: from evidence (with the findings, F1…, it rests on), from the case file, or to be supplied by the responder. Never send a notice or a new password to a mailbox that was taken over. Drafts for Chinese regimes are in Chinese.",
            draft_columns: ["item", "content", "source"],
            data: "data affected (case file)",
            data_unknown: "data affected: not yet assessed — the mail of the accounts above was readable by the attacker; give the confirmed categories in a case file (see the notify steps)",
            accessed: "What was accessed",
            accessed_intro: "Per mailbox, what the findings say was read, downloaded or deleted, with the counts the mail server logged (an empty count: the logs do not give it). The owner's own new devices and scheduled jobs are left out (info findings).",
            accessed_columns: ["mailbox", "from", "how", "when (UTC)", "messages read", "size", "listed only", "deleted", "findings"],
            host: "The host behind the mail service",
            host_intro: "What the attacker left on, ran on or changed in the host itself: the mail clean-up alone does not remove these. Capture running implants before ending them; copy each file before removing an entry; a replaced binary or a preloaded library means the host's own tools cannot be trusted — plan a rebuild.",
            host_columns: ["finding", "severity", "what", "where", "processes and accounts", "first"],
            fleet: "Hosts of the case",
            fleet_intro: "Each host's evidence was judged on its own, then across hosts. A host has fallen when one of its findings says the attacker succeeded there (an account taken or abused, an entry planted, a vulnerability exploited, mail read or sent, logs altered); #1 fell first. Isolate and clean every fallen host, not only the first.",
            fleet_columns: ["host", "status", "fell (UTC)", "first sign", "findings (worst)", "files / lines / events read"],
            across: "Across hosts",
            fleet_host: "Host {host}",
            host_findings: "its findings, worst first",
            on_host: "host",
        },
        Lang::Zh => Words {
            title: "邮件服务器安全事件报告",
            summary: "概要",
            evidence: "证据与保管",
            findings: "按攻击阶段列出的发现",
            weaknesses: "曾经或可能被攻击者利用的配置弱点",
            timeline: "攻击时间线",
            playbook: "应急处置步骤",
            stages: ["隔离", "取证", "清除", "通报"],
            clean_items: "需删除的植入条目，以及需修正的配置弱点",
            refused: "未生成命令（请人工核对）",
            no_findings: "未发现异常。",
            steps: "处置步骤",
            lines: "行",
            who: "涉及",
            more: "另有 {n} 个",
            more_lines: "……另有 {n} 行证据；所有行号见 report.json 和时间线",
            no_line: "无可引用的行：证据是整个文件，或文件中缺少的某项设置",
            generated: "由 mailir 于 {at} 根据以下输入生成：{inputs}",
            findings_count: "项发现",
            activity: "日志中的可疑活动时间：{a} 至 {b}（UTC）",
            accounts: "被盗用或被滥用的账户",
            attackers: "攻击地址",
            planted: "配置中的植入条目",
            tampering: "日志篡改迹象",
            logs_read: "邮件日志：{files} 个文件，{lines} 行，{events} 个事件，{unparsed} 行无法解析",
            limit: "检测已聚合（{rule}）：{what}",
            config_read: "配置：读取 {files} 个文件，{errors} 个无法读取",
            cites: "下列每项发现均按路径和行号引用证据；路径与证据中一致（证据包中为条目名），并在已知时附清单中的 SHA-256。",
            events: "个事件",
            duties: "通报义务（时限暂从最早检测时间起算；由案件文件确定实际起算点及适用的法规）",
            duty_columns: ["法规", "通报事项", "是否适用", "起算点", "截止时间"],
            finding_columns: ["时间", "严重程度", "发现", "证据"],
            drafts: "通报草稿",
            drafts_intro: "以下草稿须补全并核对后方可提交，每个适用或可能适用的法规一份。每一项都注明内容来源：来自证据（附所依据的发现编号 F1…）、来自案件文件，或待补充。绝不要把通知或新密码发送到被盗用的邮箱。中国法规的草稿为中文。",
            draft_columns: ["事项", "内容", "来源"],
            data: "受影响的数据（案件文件）",
            data_unknown: "受影响的数据：尚未评估——攻击者可读取上述账户的邮件；请在案件文件中给出确认的数据类别（见通报步骤）",
            accessed: "被访问的邮件",
            accessed_intro: "按邮箱列出各项发现所示被读取、下载或删除的邮件，数量为邮件服务器日志所记录（为空表示日志未给出）。邮箱所有者自己的新设备和定时任务不计入（信息级发现）。",
            accessed_columns: ["邮箱", "来源", "方式", "时间（UTC）", "读取邮件数", "大小", "仅列出", "删除", "发现"],
            host: "邮件服务背后的主机",
            host_intro: "攻击者在主机本身留下、运行或改动的东西：仅清理邮件配置无法清除它们。结束运行中的恶意进程前先取证；删除条目前先复制文件；二进制被替换或存在预加载库时，主机自带的工具都不可信——请计划重建主机。",
            host_columns: ["发现", "严重性", "内容", "位置", "进程与账户", "首先"],
            fleet: "案件涉及的主机",
            fleet_intro: "先逐台研判每台主机的证据，再跨主机关联。某台主机的发现表明攻击者已在其上得手（账户被盗或滥用、植入条目、漏洞被利用、邮件被读取或发送、日志被篡改）即为失陷；#1 为最先失陷者。所有失陷主机都需隔离和清理，而不仅是第一台。",
            fleet_columns: ["主机", "状态", "失陷时间（UTC）", "首个迹象", "发现数（最高严重性）", "读取的文件 / 行 / 事件"],
            across: "跨主机发现",
            fleet_host: "主机 {host}",
            host_findings: "其发现（按严重性）",
            on_host: "主机",
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
    fleet(&mut o, r, &w);
    accessed(&mut o, r, &w);
    host(&mut o, r, &w);
    let _ = writeln!(o, "## {}\n", w.evidence);
    let s = &r.stats;
    for (depth, line) in super::custody::outline(r) {
        let _ = writeln!(o, "{}- {}", "  ".repeat(depth), md(&line));
    }
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
    for l in &s.limits {
        let _ = writeln!(o, "- {}", md(&limit_line(&w, l)));
    }
    if !s.limits.is_empty() {
        o.push('\n');
    }
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

/// The "What was accessed" table (none without a mailbox).
fn accessed(o: &mut String, r: &Report, w: &Words) {
    if r.accessed.is_empty() {
        return;
    }
    let _ = writeln!(o, "## {}\n\n{}\n", w.accessed, w.accessed_intro);
    let _ = writeln!(
        o,
        "| {} |\n|{}",
        w.accessed_columns.join(" | "),
        "---|".repeat(w.accessed_columns.len())
    );
    for row in super::impact::cells(&r.accessed) {
        let cells: Vec<String> = row.iter().map(|c| md(c)).collect();
        let _ = writeln!(o, "| {} |", cells.join(" | "));
    }
    o.push('\n');
}

/// The fleet summary (none for one host): a line per host, the cross-host findings, a short
/// section per host.
fn fleet(o: &mut String, r: &Report, w: &Words) {
    let Some(fleet) = &r.fleet else {
        return;
    };
    let _ = writeln!(o, "## {}\n\n{}\n", w.fleet, w.fleet_intro);
    let _ = writeln!(
        o,
        "| {} |\n|{}",
        w.fleet_columns.join(" | "),
        "---|".repeat(w.fleet_columns.len())
    );
    for h in &fleet.hosts {
        let cells: Vec<String> = super::fleet::cells(h, r.lang)
            .iter()
            .map(|c| md(c))
            .collect();
        let _ = writeln!(o, "| {} |", cells.join(" | "));
    }
    o.push('\n');
    let title = |id: &str| {
        r.findings
            .iter()
            .find(|e| e.id == id)
            .map(|e| format!("{id} · {}", md(&e.title)))
            .unwrap_or_else(|| id.to_string())
    };
    if !fleet.across.is_empty() {
        let _ = writeln!(o, "**{}**\n", w.across);
        for id in &fleet.across {
            let _ = writeln!(o, "- {}", title(id));
        }
        o.push('\n');
    }
    for h in &fleet.hosts {
        let _ = writeln!(o, "### {}\n", md(&w.fleet_host.replace("{host}", &h.name)));
        let _ = writeln!(
            o,
            "{} · {}: {}\n",
            super::fleet::status_word(h.status, r.lang),
            w.host_findings,
            if h.findings.is_empty() {
                "—".to_string()
            } else {
                let mut ids = h.findings.join(", ");
                if h.total > h.findings.len() {
                    ids.push_str(&format!(" (+{})", h.total - h.findings.len()));
                }
                ids
            }
        );
    }
}

/// The host section (none without a host finding).
fn host(o: &mut String, r: &Report, w: &Words) {
    if r.host.is_empty() {
        return;
    }
    let _ = writeln!(o, "## {}\n\n{}\n", w.host, w.host_intro);
    let _ = writeln!(
        o,
        "| {} |\n|{}",
        w.host_columns.join(" | "),
        "---|".repeat(w.host_columns.len())
    );
    for row in &r.host {
        let cells: Vec<String> = super::host::cells(row).iter().map(|c| md(c)).collect();
        let _ = writeln!(o, "| {} |", cells.join(" | "));
    }
    o.push('\n');
}

fn summary(o: &mut String, r: &Report, w: &Words) {
    let s = &r.summary;
    let _ = writeln!(o, "## {}\n", w.summary);
    let _ = writeln!(o, "{} ({})\n", md(&r.story.0), r.story.1.join(", "));
    if let Some(org) = &r.organisation {
        let _ = writeln!(o, "- {}", md(org));
    }
    let sev: Vec<String> = s
        .by_severity
        .iter()
        .rev()
        .map(|(k, v)| super::model::severity_count(k, *v, r.lang))
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
        "- {}: {}; {}: {}",
        w.planted, s.persistence, w.tampering, s.tampering
    );
    let _ = writeln!(o, "- {}", md(&data_line(r, w)));
    let _ = writeln!(o, "- {}\n", md(&status_line(r)));
}

fn findings(o: &mut String, r: &Report, w: &Words) {
    use crate::detect::catalog::Role;
    let _ = writeln!(o, "## {}\n", w.findings);
    if r.findings.is_empty() {
        let _ = writeln!(o, "{}\n", w.no_findings);
    }
    for phase in PHASES {
        let of: Vec<_> = r
            .findings
            .iter()
            .filter(|e| e.finding.phase == phase && !e.finding.has(Role::Posture))
            .collect();
        if of.is_empty() {
            continue;
        }
        let _ = writeln!(o, "### {}\n", phase_title(phase, r.lang));
        for e in of {
            entry(o, e, r, w);
        }
    }
    // Configuration weaknesses are not events of the attack: a section of their own.
    let weak: Vec<_> = r
        .findings
        .iter()
        .filter(|e| e.finding.has(Role::Posture))
        .collect();
    if !weak.is_empty() {
        let _ = writeln!(o, "### {}\n", w.weaknesses);
        for e in weak {
            entry(o, e, r, w);
        }
    }
}

/// One finding: heading, rule and times, summary, evidence, steps.
fn entry(o: &mut String, e: &super::model::Entry, r: &Report, w: &Words) {
    let f = &e.finding;
    let _ = writeln!(
        o,
        "#### {} · {} — {}\n",
        e.id,
        md(&e.title),
        super::model::severity_word(f.severity, r.lang)
    );
    let on = if r.fleet.is_some() {
        format!(" · {} {}", w.on_host, md(&f.hosts.join(", ")))
    } else {
        String::new()
    };
    let _ = writeln!(
        o,
        "`{}` · ATT&CK {} · {} → {} · {} {}{on}\n",
        f.rule,
        f.attack.join(", "),
        f.first_seen,
        f.last_seen,
        f.count,
        w.events
    );
    let _ = writeln!(o, "{}\n", md(&e.summary));
    if !e.who.is_empty() {
        let more = |n: usize| w.more.replace("{n}", &n.to_string());
        let _ = writeln!(
            o,
            "**{}** — {}\n",
            w.who,
            super::who::line(&e.who, md, more)
        );
    }
    // The evidence: a few lines as written, then the files with how many lines each.
    for q in &e.quotes {
        let _ = writeln!(
            o,
            "> {} {}  ",
            code(&format!("{}:{}", q.path, q.line)),
            code(&q.text)
        );
    }
    if e.quotes.is_empty() {
        let _ = writeln!(o, "> {}", w.no_line);
    }
    o.push('\n');
    if e.more_lines > 0 {
        let _ = writeln!(
            o,
            "{}\n",
            w.more_lines.replace("{n}", &e.more_lines.to_string())
        );
    }
    for ev in &f.evidence {
        let _ = writeln!(
            o,
            "- {} — {} {}{}",
            code(&ev.path),
            ev.lines.len(),
            w.lines,
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

fn playbook(o: &mut String, r: &Report, w: &Words) {
    let _ = writeln!(o, "## {}\n", w.playbook);
    for (i, stage) in super::playbook::STAGES.iter().enumerate() {
        let _ = writeln!(o, "### {}. {}\n", i + 1, w.stages[i]);
        for s in r.playbook.get(stage).map(Vec::as_slice).unwrap_or_default() {
            let _ = writeln!(o, "- **{}** — {}", s.id, md(&s.text));
            for c in &s.commands {
                let _ = writeln!(o, "  - {}", code(c));
            }
            for r in &s.refused {
                let _ = writeln!(
                    o,
                    "  - ⚠ {}: {} — {}",
                    w.refused,
                    code(&r.value),
                    md(&r.reason)
                );
            }
        }
        if *stage == "notify" && !r.notify.is_empty() {
            let _ = writeln!(o, "\n{}\n", w.duties);
            let _ = writeln!(o, "| {} | |", w.duty_columns.join(" | "));
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
                    applies_word(n.applies, r.lang),
                    md(&n.because),
                    n.anchor,
                    n.anchor_at,
                    n.due.as_deref().unwrap_or(n.no_deadline),
                    left
                );
            }
        }
        if *stage == "notify" && !r.drafts.is_empty() {
            drafts(o, r, w);
        }
        if *stage == "clean" && !r.clean_items.is_empty() {
            let _ = writeln!(o, "\n{}:\n", w.clean_items);
            for c in &r.clean_items {
                let line = c.line.map_or("-".to_string(), |l| l.to_string());
                let apply = match &c.refused {
                    Some(r) => format!("⚠ {}: {}", w.refused, md(&r.reason)),
                    None => code(&c.apply),
                };
                let _ = writeln!(
                    o,
                    "- {} {} {} ({}) — {}: {}",
                    code(&c.file),
                    w.lines,
                    line,
                    md(&c.finding),
                    c.rule,
                    apply
                );
            }
        }
        let _ = writeln!(o);
    }
}

/// The draft notices: one table per regime, every item with its source.
fn drafts(o: &mut String, r: &Report, w: &Words) {
    let _ = writeln!(o, "\n#### {}\n\n{}\n", w.drafts, w.drafts_intro);
    for d in &r.drafts {
        let cols = words(d.lang).draft_columns;
        let _ = writeln!(
            o,
            "##### {} ({})\n\n| {} |\n|---|---|---|",
            md(&d.title),
            applies_word(d.applies, d.lang),
            cols.join(" | ")
        );
        for f in &d.fields {
            let refs = if f.refs.is_empty() {
                String::new()
            } else {
                format!(": {}", f.refs.join(", "))
            };
            let value = md(&f.value);
            let _ = writeln!(
                o,
                "| {} | {} | *{}*{} |",
                md(&f.label),
                if f.source == super::draft::Source::Supply {
                    format!("**[{value}]**")
                } else {
                    value
                },
                f.source.label(d.lang),
                refs
            );
        }
        let _ = writeln!(o);
    }
}

/// One bound detection reached, in the report's language.
pub fn limit_line(w: &Words, l: &crate::detect::rules::Limit) -> String {
    w.limit.replace("{rule}", l.rule).replace("{what}", &l.what)
}
