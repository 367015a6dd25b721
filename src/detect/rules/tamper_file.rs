//! `tamper.truncated`, `tamper.nul_bytes`, `tamper.mtime_mismatch` — what a log file itself
//! shows of having been tampered with, from the parse layer's per-file summary.
//!
//! - **truncated**: a compressed rotation that breaks off (corrupt or cut gzip: the events before
//!   the damage were kept), or a *rotated* file whose last line has no newline (a live log may
//!   be mid-write; a rotation never is).
//! - **nul_bytes**: lines holding NUL bytes — a region zeroed in place, the trace of "wiping"
//!   lines without changing the file's size.
//! - **rotation_gap**: a missing rotation index, or ≥ 6 hours between the end of `.N+1` and the
//!   start of `.N`. A rotation that is there but holds no mail line (emptied: `> mail.log.2`,
//!   `truncate -s 0`) is named as emptied, with its size and modification time, not as missing.
//! - **mtime_mismatch**: the file's modification time (bundle manifest or file system) is more
//!   than `reversal_minutes` earlier than its last event: its time was set back (`touch -d`).
//!
//! **ATT&CK**: T1070.002 (log clearing), T1070.006 (timestomp) for mtime. **Phase**: cleanup.
//! **Severity**: high (truncated, nul bytes), medium (mtime). **False positives**: a gzip cut by
//! a full disk during rotation; NULs after a crash on some file systems (ext4 delayed
//! allocation); an mtime set by a copy that did not preserve times (`cp` without `-p`) —
//! mailir's own bundles keep the source's times.

use crate::detect::finding::{ts, Entities, Evidence, Finding, Severity};
use crate::parse::rotation::chain_rank;
use crate::parse::FileSummary;

use super::Thresholds;

fn finding(
    rule: &'static str,
    sev: Severity,
    attack: Vec<&'static str>,
    f: &FileSummary,
    sha: Option<String>,
    title: String,
    summary: String,
) -> Finding {
    let at = f.stats.last_us.unwrap_or(0);
    Finding {
        title,
        severity: sev,
        attack,
        first_seen: ts(f.stats.first_us.unwrap_or(at)),
        last_seen: ts(at),
        count: 1,
        summary,
        entities: Entities {
            ips: Vec::new(),
            users: Vec::new(),
            files: vec![f.path.clone()],
            ..Entities::default()
        },
        evidence: vec![Evidence {
            path: f.path.clone(),
            sha256: sha,
            lines: vec![f.stats.lines.max(1)],
        }],
        remediation: vec!["evidence.preserve_backups", "evidence.remote_logs"],
        ..Finding::of(rule)
    }
}

fn rotated(path: &str) -> bool {
    chain_rank(path).1 != 0 || path.ends_with(".gz")
}

/// Hours between the end of a rotation and the start of the next newer one that make a hole.
const ROTATION_HOLE_HOURS: i64 = 6;

/// A file among the inputs that was not read as a mail log: path, size, modification time (µs).
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Path as the inputs show it.
    pub path: String,
    /// Size in bytes, when known.
    pub size: Option<u64>,
    /// Modification time, when known.
    pub mtime_us: Option<i64>,
    /// Whether the time was recorded at collection (a bundle's manifest), not read from the
    /// file system of the copy.
    pub mtime_recorded: bool,
}

/// `tamper.rotation_gap`: a missing rotation index (`.1` and `.3.gz` but no `.2`) — or one
/// present among `candidates` but with no mail line, named as emptied — or a hole of ≥ 6 hours
/// between the last event of `.N+1` and the first of `.N`.
fn rotation_gaps(
    summaries: &[FileSummary],
    files: &[(String, Option<String>)],
    candidates: &[Candidate],
) -> Vec<Finding> {
    use std::collections::BTreeMap;
    let mut chains: BTreeMap<String, Vec<(i64, &FileSummary)>> = BTreeMap::new();
    for f in summaries {
        let (chain, rank) = chain_rank(&f.path);
        chains.entry(chain).or_default().push((rank, f));
    }
    let mut out = Vec::new();
    for (key, mut chain) in chains {
        let stem = key.trim_start_matches('/').to_string();
        chain.sort_by_key(|(rank, _)| *rank);
        for pair in chain.windows(2) {
            let ((newer_rank, newer), (older_rank, older)) = (pair[0], pair[1]);
            let numbered = older_rank < 1_000_000;
            let sha = files
                .iter()
                .find(|(p, _)| *p == newer.path)
                .and_then(|(_, s)| s.clone());
            if numbered && older_rank > newer_rank + 1 {
                let mut absent = Vec::new();
                for rank in newer_rank + 1..older_rank {
                    let emptied = candidates
                        .iter()
                        .find(|c| chain_rank(&c.path) == (key.clone(), rank));
                    match emptied {
                        Some(c) => out.push(emptied_finding(c, newer, older, sha.clone())),
                        None => absent.push(rank),
                    }
                }
                if let Some(first) = absent.first() {
                    out.push(finding(
                        "tamper.rotation_gap",
                        Severity::High,
                        vec!["T1070.002"],
                        newer,
                        sha.clone(),
                        format!("Rotation {stem}.{first} missing"),
                        format!(
                            "{} is followed by {} with no rotation in between",
                            older.path, newer.path
                        ),
                    ));
                }
            }
            if let (Some(end), Some(start)) = (older.stats.last_us, newer.stats.first_us) {
                if start - end >= ROTATION_HOLE_HOURS * 3_600_000_000 {
                    out.push(finding(
                        "tamper.rotation_gap",
                        Severity::High,
                        vec!["T1070.002"],
                        newer,
                        sha,
                        format!(
                            "{} hours missing between {} and {}",
                            (start - end) / 3_600_000_000,
                            older.path,
                            newer.path
                        ),
                        format!(
                            "{} ends at {}, {} starts at {}",
                            older.path,
                            ts(end),
                            newer.path,
                            ts(start)
                        ),
                    ));
                }
            }
        }
    }
    out
}

/// A rotation that is there but holds no mail line, between `newer` and `older`.
fn emptied_finding(
    c: &Candidate,
    newer: &FileSummary,
    older: &FileSummary,
    sha: Option<String>,
) -> Finding {
    let size = c
        .size
        .map_or("of unknown size".to_string(), |s| format!("{s} bytes"));
    let mtime = c.mtime_us.map_or("unknown".to_string(), ts);
    let mut f = finding(
        "tamper.rotation_gap",
        Severity::High,
        vec!["T1070.002"],
        newer,
        sha,
        format!("Rotation {} emptied", c.path),
        format!(
            "{} is there but holds no mail line ({size}, modified {mtime}), between {} and {}",
            c.path, older.path, newer.path
        ),
    );
    f.entities.files = vec![c.path.clone()];
    // The evidence is the empty file itself: no line to cite.
    f.evidence = vec![Evidence {
        path: c.path.clone(),
        sha256: None,
        lines: Vec::new(),
    }];
    if let Some(m) = c.mtime_us {
        f.first_seen = ts(m);
        f.last_seen = ts(m);
        f.time_source = if c.mtime_recorded {
            crate::detect::finding::TimeSource::RecordedMtime
        } else {
            crate::detect::finding::TimeSource::FileMtime
        };
    }
    f
}

/// The findings of every parsed file (`candidates`: the input files not read as mail logs).
pub fn findings(
    t: &Thresholds,
    summaries: &[FileSummary],
    files: &[(String, Option<String>)],
    candidates: &[Candidate],
) -> Vec<Finding> {
    let mut out = rotation_gaps(summaries, files, candidates);
    for f in summaries {
        let sha = files
            .iter()
            .find(|(p, _)| *p == f.path)
            .and_then(|(_, s)| s.clone());
        let s = &f.stats;
        if let Some(w) = s
            .warning
            .as_deref()
            .filter(|w| w.starts_with("read failed"))
        {
            out.push(finding(
                "tamper.truncated",
                Severity::High,
                vec!["T1070.002"],
                f,
                sha.clone(),
                format!("{} is damaged or cut short", f.path),
                format!("{w}; the {} lines before the damage were read", s.lines),
            ));
        } else if s.ends_mid_line && rotated(&f.path) {
            out.push(finding(
                "tamper.truncated",
                Severity::High,
                vec!["T1070.002"],
                f,
                sha.clone(),
                format!("{} ends in the middle of a line", f.path),
                format!(
                    "the rotated file's last line (line {}) has no newline",
                    s.lines
                ),
            ));
        }
        if s.nul_lines > 0 {
            out.push(finding(
                "tamper.nul_bytes",
                Severity::High,
                vec!["T1070.002"],
                f,
                sha.clone(),
                format!("{} holds zeroed bytes", f.path),
                format!("{} line(s) contain NUL bytes", s.nul_lines),
            ));
        }
        if let (Some(mtime), Some(last)) = (f.mtime_us, s.last_us) {
            if mtime + t.reversal_minutes * 60_000_000 < last {
                out.push(finding(
                    "tamper.mtime_mismatch",
                    Severity::Medium,
                    vec!["T1070.006"],
                    f,
                    sha,
                    format!("{} was modified before its last line was written", f.path),
                    format!(
                        "mtime {} is earlier than its last event {}",
                        ts(mtime),
                        ts(last)
                    ),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::FileStats;

    fn summary(path: &str, stats: FileStats, mtime_us: Option<i64>) -> FileSummary {
        FileSummary {
            path: path.into(),
            mtime_us,
            stats,
        }
    }

    #[test]
    fn damaged_zeroed_and_backdated_files_are_found_a_clean_live_log_is_not() {
        let t = Thresholds::default();
        let base = FileStats {
            lines: 100,
            first_us: Some(0),
            last_us: Some(3_600_000_000),
            ..FileStats::default()
        };
        let files = vec![
            summary(
                "var/log/mail.log.2.gz",
                FileStats {
                    warning: Some(
                        "read failed after line 99 (byte 9000): corrupt deflate stream".into(),
                    ),
                    ..base.clone()
                },
                Some(3_700_000_000),
            ),
            summary(
                "var/log/mail.log.1",
                FileStats {
                    nul_lines: 3,
                    ..base.clone()
                },
                Some(3_700_000_000),
            ),
            summary(
                "var/log/maillog-20260301",
                base.clone(),
                Some(1_000_000_000),
            ),
            // The live log being written: no newline at the end yet, mtime after its last line.
            summary(
                "var/log/mail.log",
                FileStats {
                    ends_mid_line: true,
                    ..base.clone()
                },
                Some(3_700_000_000),
            ),
        ];
        let f = findings(&t, &files, &[], &[]);
        let rules: Vec<&str> = f.iter().map(|x| x.rule).collect();
        assert_eq!(
            rules,
            [
                "tamper.truncated",
                "tamper.nul_bytes",
                "tamper.mtime_mismatch"
            ],
            "{f:?}"
        );
    }

    #[test]
    fn missing_rotations_and_holes_are_found_a_continuous_chain_is_not() {
        const H: i64 = 3_600_000_000;
        let day = |d: i64| FileStats {
            lines: 10,
            first_us: Some(d * 24 * H),
            last_us: Some(d * 24 * H + 23 * H),
            ..FileStats::default()
        };
        let t = Thresholds::default();
        let chain = vec![
            summary("var/log/mail.log", day(5), None),
            summary("var/log/mail.log.1", day(4), None),
            summary("var/log/mail.log.2.gz", day(3), None),
        ];
        assert!(findings(&t, &chain, &[], &[]).is_empty());
        let holes = vec![
            summary("var/log/mail.log", day(5), None),
            summary("var/log/mail.log.1", day(4), None),
            summary("var/log/mail.log.3.gz", day(1), None),
        ];
        let f = findings(&t, &holes, &[], &[]);
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(f.iter().all(|x| x.rule == "tamper.rotation_gap"));
        assert!(f[0].title.contains("mail.log.2"), "{}", f[0].title);
    }

    #[test]
    fn an_emptied_rotation_is_named_as_emptied_not_missing() {
        const H: i64 = 3_600_000_000;
        let day = |d: i64| FileStats {
            lines: 10,
            first_us: Some(d * 24 * H),
            last_us: Some(d * 24 * H + 23 * H),
            ..FileStats::default()
        };
        let chain = vec![
            summary("var/log/mail.log", day(5), None),
            summary("var/log/mail.log.2.gz", day(3), None),
        ];
        let emptied = Candidate {
            path: "var/log/mail.log.1".into(),
            size: Some(0),
            mtime_us: Some(5 * 24 * H),
            mtime_recorded: true,
        };
        let f = findings(&Thresholds::default(), &chain, &[], &[emptied]);
        let titles: Vec<&str> = f.iter().map(|x| x.title.as_str()).collect();
        assert!(
            titles.contains(&"Rotation var/log/mail.log.1 emptied"),
            "{titles:?}"
        );
        assert!(
            !titles
                .iter()
                .any(|t| t.contains("missing") && t.contains("mail.log.1")),
            "{titles:?}"
        );
        let e = f.iter().find(|x| x.title.ends_with("emptied")).unwrap();
        assert!(e.summary.contains("0 bytes"), "{}", e.summary);
        assert_eq!(e.evidence[0].path, "var/log/mail.log.1");
    }
}
