//! The report's "evidence and custody" section: what each input was, and for a bundle the
//! result of `verify` on it (bundle hash, sidecar, every entry re-hashed against
//! `SHA256SUMS`, the manifest and the custody record), who collected it with which binary,
//! from which host, when, the manifest's outcome counts and every path that was considered
//! and not collected, with the collector's reason. Plain log folders and files have no
//! custody record; the section says so rather than inventing one.
//!
//! [`check`] runs beside detection (it reads the bundle a second time, on the other core);
//! the renderers lay out [`InputCheck`] as they find it.

use std::path::PathBuf;

use serde::Serialize;

use crate::evidence::custody::Custody;
use crate::evidence::verify::NotCollected;
use crate::parse::input::InputKind;

/// One command-line input as the report describes it.
#[derive(Debug, Serialize)]
pub struct InputCheck {
    /// The input as given.
    pub input: String,
    /// What it is (none: it could not be read).
    pub kind: Option<InputKind>,
    /// For a bundle: its verification.
    pub bundle: Option<BundleCheck>,
    /// Why it could not be read or verified.
    pub error: Option<String>,
}

/// `verify` on a bundle, kept for the report.
#[derive(Debug, Serialize)]
pub struct BundleCheck {
    /// `zip`, `tar.gz` or `dir`.
    pub format: &'static str,
    /// SHA-256 of the archive (of `SHA256SUMS` for a folder).
    pub sha256: Option<String>,
    /// Whether the `PATH.sha256` sidecar was there to compare with.
    pub sidecar_found: bool,
    /// Entries re-hashed.
    pub entries: usize,
    /// Every disagreement (empty: intact), the first 10,000.
    pub problems: Vec<String>,
    /// Disagreements beyond those listed.
    pub problems_more: u64,
    /// Remarks (no sidecar).
    pub notes: Vec<String>,
    /// The custody record.
    pub custody: Option<Custody>,
    /// Paths considered and not stored (paths that did not exist excluded), first ones.
    pub not_collected: Vec<NotCollected>,
    /// How many there were.
    pub not_collected_total: u64,
}

impl BundleCheck {
    /// Whether every check passed.
    pub fn intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Describes every input; verifies the bundles.
pub fn check(inputs: &[PathBuf]) -> Vec<InputCheck> {
    inputs
        .iter()
        .map(|input| {
            let shown = input.display().to_string();
            let meta = match std::fs::metadata(input) {
                Ok(m) => m,
                Err(e) => {
                    return InputCheck {
                        input: shown,
                        kind: None,
                        bundle: None,
                        error: Some(e.to_string()),
                    }
                }
            };
            let kind = InputKind::of(input, &meta);
            if !kind.is_bundle() {
                return InputCheck {
                    input: shown,
                    kind: Some(kind),
                    bundle: None,
                    error: None,
                };
            }
            match crate::evidence::verify::verify(input) {
                Ok(v) => InputCheck {
                    input: shown,
                    kind: Some(kind),
                    bundle: Some(BundleCheck {
                        format: v.format.name(),
                        sha256: v.sha256,
                        sidecar_found: v.sidecar_found,
                        entries: v.entries,
                        problems: v.problems.iter().map(ToString::to_string).collect(),
                        problems_more: v.problems_more,
                        notes: v.notes,
                        custody: v.custody,
                        not_collected: v.not_collected,
                        not_collected_total: v.not_collected_total,
                    }),
                    error: None,
                },
                Err(e) => InputCheck {
                    input: shown,
                    kind: Some(kind),
                    bundle: None,
                    error: Some(e.to_string()),
                },
            }
        })
        .collect()
}

/// The facts of a custody record worth a line each, as (label key, value) pairs; the
/// renderers translate the keys ([`label`]).
pub fn facts(c: &Custody, lang: super::Lang) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut push = |k: &'static str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            out.push((k, v));
        }
    };
    push("case", c.case_id.clone());
    push("examiner", c.examiner.clone());
    push(
        "collector",
        Some(format!(
            "{} {}{}",
            c.collector.name,
            c.collector.version,
            c.collector
                .sha256
                .as_deref()
                .map(|h| format!(" (binary sha256 {h})"))
                .unwrap_or_default()
        )),
    );
    push("command", Some(c.command_line.join(" ")));
    push(
        "host",
        c.host
            .hostname
            .clone()
            .or_else(|| c.host.hostname_file.clone()),
    );
    push("machine_id", c.host.machine_id.clone());
    push("os", c.host.os_release.get("PRETTY_NAME").cloned());
    push("kernel", c.host.kernel.clone());
    push(
        "addresses",
        (!c.host.ips.is_empty()).then(|| c.host.ips.join(", ")),
    );
    push(
        "root",
        Some(format!(
            "{} ({})",
            c.root,
            match (lang, c.live) {
                (super::Lang::En, true) => "live",
                (super::Lang::En, false) => "mounted/offline",
                (super::Lang::Zh, true) => "在线主机",
                (super::Lang::Zh, false) => "挂载/离线",
            }
        )),
    );
    push(
        "collected",
        Some(format!("{} → {}", c.clock.start_utc, c.clock.end_utc)),
    );
    push("zone", c.clock.local_zone.clone());
    push("boot", c.clock.boot_time_utc.clone());
    push(
        "outcomes",
        Some(
            c.counts
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", "),
        ),
    );
    push("manifest", Some(c.manifest_sha256.clone()));
    push(
        "incomplete",
        c.incomplete.as_ref().map(|i| match lang {
            super::Lang::En => format!(
                "{} ({}) while {} was written: {} existing path(s) not stored",
                i.reason, i.error, i.entry, i.rows_not_stored
            ),
            super::Lang::Zh => format!(
                "{}（{}），写入 {} 时发生：{} 个存在的路径未保存",
                i.reason, i.error, i.entry, i.rows_not_stored
            ),
        }),
    );
    out
}

/// A custody fact's label in the report's language.
pub fn label(key: &str, lang: super::Lang) -> &str {
    use super::Lang::*;
    match (lang, key) {
        (En, "case") => "case id",
        (En, "examiner") => "examiner",
        (En, "collector") => "collector",
        (En, "command") => "command line",
        (En, "host") => "host",
        (En, "machine_id") => "machine id",
        (En, "os") => "operating system",
        (En, "kernel") => "kernel",
        (En, "addresses") => "host addresses",
        (En, "root") => "root collected",
        (En, "collected") => "collection ran (UTC, host clock)",
        (En, "zone") => "host time zone",
        (En, "boot") => "host booted (UTC)",
        (En, "outcomes") => "paths by outcome",
        (En, "manifest") => "manifest sha256",
        (En, "incomplete") => "COLLECTION INCOMPLETE",
        (Zh, "case") => "案件编号",
        (Zh, "examiner") => "取证人员",
        (Zh, "collector") => "采集程序",
        (Zh, "command") => "采集命令",
        (Zh, "host") => "主机名",
        (Zh, "machine_id") => "机器标识",
        (Zh, "os") => "操作系统",
        (Zh, "kernel") => "内核",
        (Zh, "addresses") => "主机地址",
        (Zh, "root") => "采集根目录",
        (Zh, "collected") => "采集时间（UTC，主机时钟）",
        (Zh, "zone") => "主机时区",
        (Zh, "boot") => "主机启动时间（UTC）",
        (Zh, "outcomes") => "各结果的路径数",
        (Zh, "manifest") => "清单 sha256",
        (Zh, "incomplete") => "采集不完整",
        (_, k) => k,
    }
}

/// An input kind's name in the report's language.
pub fn kind_name(kind: Option<InputKind>, lang: super::Lang) -> &'static str {
    use super::Lang::*;
    use InputKind::*;
    match (lang, kind) {
        (En, Some(BundleFolder)) => "mailir bundle (folder)",
        (En, Some(BundleArchive)) => "mailir bundle (archive)",
        (En, Some(MountedRoot)) => "mounted root (no custody record)",
        (En, Some(LogFolder)) => "folder of logs (no custody record)",
        (En, Some(LogFile)) => "log file (no custody record)",
        (En, None) => "unreadable",
        (Zh, Some(BundleFolder)) => "mailir 证据包（目录）",
        (Zh, Some(BundleArchive)) => "mailir 证据包（归档）",
        (Zh, Some(MountedRoot)) => "挂载的根目录（无保管记录）",
        (Zh, Some(LogFolder)) => "日志目录（无保管记录）",
        (Zh, Some(LogFile)) => "日志文件（无保管记录）",
        (Zh, None) => "无法读取",
    }
}

/// The section as indented lines of plain text (depth, text) that both renderers lay out
/// (escaping them for their format): each input with its verification and custody facts,
/// what was not collected, the log files read and how their times were read.
pub fn outline(r: &super::model::Report) -> Vec<(usize, String)> {
    use super::Lang;
    let zh = r.lang == Lang::Zh;
    let say = |en: String, cn: String| if zh { cn } else { en };
    let mut out = Vec::new();
    for c in &r.custody {
        out.push((0, format!("{} — {}", c.input, kind_name(c.kind, r.lang))));
        if let Some(e) = &c.error {
            out.push((1, say(format!("error: {e}"), format!("错误：{e}"))));
        }
        let Some(b) = &c.bundle else { continue };
        let sha = b.sha256.as_deref().unwrap_or("-");
        out.push((
            1,
            match (zh, b.sidecar_found) {
                (false, true) => format!(
                    "bundle sha256 {sha} ({}; checked against the sidecar)",
                    b.format
                ),
                (false, false) => format!(
                    "bundle sha256 {sha} ({}; no sidecar to check it against)",
                    b.format
                ),
                (true, true) => format!("证据包 sha256 {sha}（{}；已与校验文件核对）", b.format),
                (true, false) => format!("证据包 sha256 {sha}（{}；无校验文件可核对）", b.format),
            },
        ));
        out.push((
            1,
            match (zh, b.intact()) {
                (false, true) => format!("verification: intact — {} entries re-hashed against SHA256SUMS, the manifest and the custody record", b.entries),
                (false, false) => format!("verification: {} problem(s) — the evidence may have changed since collection", b.problems.len() as u64 + b.problems_more),
                (true, true) => format!("校验：完好——{} 个条目已按 SHA256SUMS、清单和保管记录重新计算哈希", b.entries),
                (true, false) => format!("校验：发现 {} 处问题——证据自采集后可能已被改动", b.problems.len() as u64 + b.problems_more),
            },
        ));
        for p in b.problems.iter().take(20) {
            out.push((2, p.clone()));
        }
        for n in &b.notes {
            out.push((2, n.clone()));
        }
        if let Some(cu) = &b.custody {
            for (k, v) in facts(cu, r.lang) {
                out.push((1, format!("{}: {v}", label(k, r.lang))));
            }
            for n in &cu.notes {
                out.push((2, say(n.clone(), format!("采集记录（原文）：{n}"))));
            }
        } else {
            out.push((
                1,
                say(
                    "no readable custody record".into(),
                    "无可读的保管记录".into(),
                ),
            ));
        }
        if b.not_collected_total == 0 {
            out.push((
                1,
                say(
                    "not collected: nothing — every existing path considered was copied".into(),
                    "未采集：无——所有存在的路径均已复制".into(),
                ),
            ));
        }
        if b.not_collected_total > 0 {
            out.push((
                1,
                say(
                    format!(
                        "not collected: {} existing path(s) were not copied:",
                        b.not_collected_total
                    ),
                    format!("未采集：{} 个存在的路径未被复制：", b.not_collected_total),
                ),
            ));
            for n in &b.not_collected {
                out.push((
                    2,
                    format!(
                        "{} — {}{}",
                        n.source,
                        n.outcome,
                        n.error
                            .as_deref()
                            .map(|e| format!(": {e}"))
                            .unwrap_or_default()
                    ),
                ));
            }
            if b.not_collected_total > b.not_collected.len() as u64 {
                out.push((
                    2,
                    say(
                        "… the rest are in manifest.jsonl".into(),
                        "……其余见 manifest.jsonl".into(),
                    ),
                ));
            }
        }
    }
    out.push((
        0,
        say(
            format!("local times in the logs read as {}", r.zone),
            format!("日志中的本地时间按 {} 解读", r.zone),
        ),
    ));
    if r.logs_total > 0 {
        out.push((
            0,
            say(
                format!("log files read ({}):", r.logs_total),
                format!("读取的日志文件（{} 个）：", r.logs_total),
            ),
        ));
        for (path, sha) in &r.logs_read {
            out.push((
                1,
                match sha {
                    Some(h) => format!("{path} (sha256 {h})"),
                    None => path.clone(),
                },
            ));
        }
        if r.logs_total > r.logs_read.len() {
            out.push((1, format!("… +{}", r.logs_total - r.logs_read.len())));
        }
    }
    out
}
