//! `tamper.exchange_log_age` — an Exchange log folder that reaches back far less than the
//! others: its older files were deleted (or the folder was not exported whole).
//!
//! **Why**: `Test-ProxyLogon.ps1` reports the age of each log folder because attackers who
//! used ProxyLogon wiped the HttpProxy and ECP logs that showed them; the folders they did not
//! think of (IIS, message tracking, OAB) keep going back weeks. **How**: Exchange log folders
//! are recognised by path (`HttpProxy/<protocol>`, `ECP/Server`, `OABGeneratorLog`,
//! `MessageTracking`, `W3SVC<n>`); each folder's age is the span from its earliest event to
//! the latest event of any of them. With at least two folders, a folder younger than a
//! quarter of the oldest one and at least `log_age_days` (7) younger is reported, citing its
//! oldest file. **ATT&CK**: T1070.004 (File Deletion). **Phase**: cleanup. **Severity**:
//! medium. **False positives**: a protocol first used recently (a new Outlook version moving
//! to MAPI), a folder copied only in part — check the server's folder before concluding.

use std::collections::BTreeMap;

use super::{Files, Thresholds};
use crate::detect::finding::{ts, Entities, Evidence, Finding, Severity};
use crate::parse::FileSummary;

const DAY_US: i64 = 86_400_000_000;

/// The Exchange log folder a file sits in (`…/HttpProxy/Ecp`), if it is one.
pub fn exchange_folder(path: &str) -> Option<String> {
    let p = path.replace('\\', "/");
    let (dir, _) = p.rsplit_once('/')?;
    let lower = dir.to_ascii_lowercase();
    let last = lower.rsplit('/').next().unwrap_or("");
    let parent = lower.rsplit('/').nth(1).unwrap_or("");
    let known = parent == "httpproxy"
        || (parent == "ecp" && last == "server")
        || last == "oabgeneratorlog"
        || last == "messagetracking"
        || (last.starts_with("w3svc") && last[5..].bytes().all(|b| b.is_ascii_digit()));
    known.then(|| dir.to_string())
}

struct Folder {
    first: i64,
    last: i64,
    oldest: usize,
}

/// The findings over the run's files.
pub fn findings(t: &Thresholds, summaries: &[FileSummary], files: &Files) -> Vec<Finding> {
    let mut folders: BTreeMap<String, Folder> = BTreeMap::new();
    for (i, s) in summaries.iter().enumerate() {
        let (Some(dir), Some(first), Some(last)) =
            (exchange_folder(&s.path), s.stats.first_us, s.stats.last_us)
        else {
            continue;
        };
        let f = folders.entry(dir).or_insert(Folder {
            first,
            last,
            oldest: i,
        });
        if first < f.first {
            f.first = first;
            f.oldest = i;
        }
        f.last = f.last.max(last);
    }
    if folders.len() < 2 {
        return Vec::new();
    }
    let latest = folders.values().map(|f| f.last).max().unwrap_or(0);
    let oldest = folders
        .values()
        .map(|f| latest - f.first)
        .max()
        .unwrap_or(0);
    let mut out = Vec::new();
    for (dir, f) in &folders {
        let age = latest - f.first;
        if age * 4 >= oldest || oldest - age < t.log_age_days * DAY_US {
            continue;
        }
        let s = &summaries[f.oldest];
        let sha = files
            .iter()
            .find(|(p, _)| *p == s.path)
            .and_then(|(_, h)| h.clone());
        out.push(Finding {
            title: format!("Exchange log folder {dir} reaches back only {} day(s)", age / DAY_US),
            severity: Severity::Medium,
            attack: vec!["T1070.004"],
            first_seen: ts(f.first),
            last_seen: ts(f.last),
            count: 1,
            summary: format!(
                "{dir} starts at {} ({} day(s) before the latest Exchange log event) while another Exchange log folder reaches back {} day(s): its older files were deleted, or it was not exported whole",
                ts(f.first),
                age / DAY_US,
                oldest / DAY_US
            ),
            entities: Entities {
                ips: Vec::new(),
                users: Vec::new(),
                files: vec![s.path.clone()],
..Entities::default()
            },
            evidence: vec![Evidence {
                path: s.path.clone(),
                sha256: sha,
                lines: vec![1],
            }],
            remediation: vec!["evidence.preserve_backups", "evidence.remote_logs"],
            ..Finding::of("tamper.exchange_log_age")
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::FileStats;

    fn file(path: &str, first_day: i64, last_day: i64) -> FileSummary {
        FileSummary {
            path: path.into(),
            mtime_us: None,
            stats: FileStats {
                lines: 10,
                first_us: Some(first_day * DAY_US),
                last_us: Some(last_day * DAY_US),
                ..FileStats::default()
            },
        }
    }

    #[test]
    fn a_wiped_folder_stands_out_against_the_others() {
        let s = vec![
            file("Logging/HttpProxy/Ecp/HttpProxy_2026030300-1.LOG", 60, 61),
            file("Logging/HttpProxy/Owa/HttpProxy_2026010100-1.LOG", 20, 40),
            file("Logging/HttpProxy/Owa/HttpProxy_2026020100-1.LOG", 40, 61),
            file("W3SVC1/u_ex260101.log", 21, 61),
            file("var/log/mail.log", 0, 61),
        ];
        let f = findings(&Thresholds::default(), &s, &[]);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert!(f[0].title.contains("HttpProxy/Ecp"));
        assert_eq!(exchange_folder("var/log/mail.log"), None);
        assert_eq!(
            exchange_folder(r"V15\Logging\ECP\Server\ECPServer2026.LOG").as_deref(),
            Some("V15/Logging/ECP/Server")
        );
    }
}
