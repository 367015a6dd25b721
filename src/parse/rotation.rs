//! Rotation chains: which files are rotations of one log, in which order, and the year
//! anchor each gets.
//!
//! `mail.log`, `mail.log.1`, `mail.log.2.gz` … and dateext `maillog-20260301[.gz]` share a
//! *stem*. Within a chain, files are ordered newest first (the live file, then `.1`, `.2` …,
//! dateext by date descending); a file's anchor is its own mtime, but never later than the
//! anchor of the newer file before it: a rotated file cannot hold lines newer than its
//! successor's (copies that reset mtimes would otherwise break the years).
//!
//! [`chain_rank`] is the one place that says which chain a path belongs to: everything that
//! groups a log with its rotations (the read order here, the syslog copies, the
//! log-integrity rules, Exim's log roles) asks it.

use chrono::{DateTime, Utc};

/// Splits a file name into (stem, rotation rank): rank 0 is the live file, `.N` gives N,
/// dateext `-YYYYMMDD` gives a rank that sorts newer dates first.
fn stem_rank(name: &str) -> (String, i64) {
    let mut s = name;
    for ext in [".gz", ".xz", ".bz2", ".zst"] {
        if let Some(t) = s.strip_suffix(ext) {
            s = t;
            break;
        }
    }
    if let Some((stem, tail)) = s.rsplit_once('.') {
        if !tail.is_empty() && tail.len() <= 4 && tail.bytes().all(|b| b.is_ascii_digit()) {
            return (stem.to_string(), tail.parse().unwrap_or(0));
        }
    }
    if let Some((stem, tail)) = s.rsplit_once('-') {
        if tail.len() >= 8 && tail.bytes().all(|b| b.is_ascii_digit()) {
            // Newer dates rank lower (closer to the live file).
            return (
                stem.to_string(),
                1_000_000_000 - tail[..8].parse::<i64>().unwrap_or(0),
            );
        }
    }
    (s.to_string(), 0)
}

/// The rotation chain of a log file and its rank in it. The chain is the path of the live
/// file (the folder kept as the path writes it, the name cut to its stem):
/// `var/log/mail.log.2.gz` → (`var/log/mail.log`, 2), Exim's `exim4/mainlog.1` →
/// (`exim4/mainlog`, 1), dateext `maillog-20261201.gz` → (`maillog`, a rank that sorts newer
/// dates first); the live file has rank 0.
pub fn chain_rank(path: &str) -> (String, i64) {
    let name = path.rsplit('/').next().unwrap_or(path);
    let (stem, rank) = stem_rank(name);
    (format!("{}{stem}", &path[..path.len() - name.len()]), rank)
}

/// The rotation chain of a log file (see [`chain_rank`]).
pub fn chain(path: &str) -> String {
    chain_rank(path).0
}

/// Which of Exim's own logs a file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EximLog {
    /// `mainlog` (any rotation; cPanel's `exim_mainlog`), with its pairing key.
    Main(String),
    /// `rejectlog`, every line of which Exim writes to the mainlog too, with its pairing key.
    Reject(String),
    /// `paniclog` (cPanel's `exim_paniclog`), with its pairing key. Most of its lines are in
    /// the mainlog too, but not all (a configuration error found at start is written here
    /// only): it is read as a log of its own, not as a copy.
    Panic(String),
}

/// Whether a file is one of Exim's own logs, by its chain: the key that pairs one Exim's
/// mainlog, rejectlog and paniclog is the chain before the name (`var/log/exim4/`, cPanel's
/// `var/log/exim_`).
pub fn exim_log(path: &str) -> Option<EximLog> {
    let chain = chain(path);
    if let Some(key) = chain.strip_suffix("mainlog") {
        Some(EximLog::Main(key.to_string()))
    } else if let Some(key) = chain.strip_suffix("rejectlog") {
        Some(EximLog::Reject(key.to_string()))
    } else {
        chain
            .strip_suffix("paniclog")
            .map(|key| EximLog::Panic(key.to_string()))
    }
}

/// Whether a log repeats lines of another log that is read too: Exim's `rejectlog`, whose
/// lines are all in the `mainlog`. Its events are marked ([`crate::detect::fact::Fact::copy`])
/// so that only the rules comparing the two read them.
pub fn repeats_another_log(path: &str) -> bool {
    matches!(exim_log(path), Some(EximLog::Reject(_)))
}

/// Chains of mail-facility lines: where syslog writes `mail.*` on its own.
const MAIL_CHAINS: [&str; 2] = ["mail.log", "maillog"];

/// Chains that repeat those lines when a mail chain sits beside them: Debian's rsyslog writes
/// `*.*` to `syslog` and `mail.*` to `mail.log` (and, before Debian 12, `mail.err`,
/// `mail.warn`, `mail.info` too); RHEL's `messages` excludes mail by default, but a changed
/// rule repeats it.
const COPY_CHAINS: [&str; 5] = ["syslog", "messages", "mail.err", "mail.warn", "mail.info"];

/// For each path, the mail chain (`var/log/mail.log`) whose lines it repeats, when it is a
/// syslog-style chain beside one in the same folder.
pub fn copies(paths: &[&str]) -> Vec<Option<String>> {
    let chains: Vec<String> = paths.iter().map(|p| chain(p)).collect();
    // The folder part of a chain whose stem is one of `stems` (`var/log/` of
    // `var/log/syslog`).
    let folder = |c: &'_ str, stems: &[&str]| -> Option<usize> {
        stems.iter().find_map(|s| {
            let f = c.strip_suffix(s)?;
            (f.is_empty() || f.ends_with('/')).then_some(f.len())
        })
    };
    chains
        .iter()
        .map(|c| {
            let dir = &c[..folder(c, &COPY_CHAINS)?];
            chains
                .iter()
                .find(|m| folder(m, &MAIL_CHAINS).is_some_and(|n| &m[..n] == dir))
                .cloned()
        })
        .collect()
}

/// Orders `files` (index, path, mtime) into chains and returns, for each index, its anchor.
/// Chains are listed oldest file first so that processing order is chronological.
pub fn plan(
    files: &[(String, Option<DateTime<Utc>>)],
    now: DateTime<Utc>,
) -> (Vec<usize>, Vec<DateTime<Utc>>) {
    let mut keyed: Vec<(String, i64, usize)> = files
        .iter()
        .enumerate()
        .map(|(i, (path, _))| {
            let (chain, rank) = chain_rank(path);
            (chain, rank, i)
        })
        .collect();
    // Newest first within a chain.
    keyed.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut anchors = vec![now; files.len()];
    let mut prev: Option<(String, DateTime<Utc>)> = None;
    for (stem, _, i) in &keyed {
        let own = files[*i].1.unwrap_or(now);
        let anchor = match &prev {
            Some((s, newer)) if s == stem => own.min(*newer),
            _ => own,
        };
        anchors[*i] = anchor;
        prev = Some((stem.clone(), anchor));
    }
    // Processing order: chain by chain, oldest file first.
    let mut order = Vec::with_capacity(files.len());
    let mut start = 0;
    while start < keyed.len() {
        let end = keyed[start..]
            .iter()
            .position(|k| k.0 != keyed[start].0)
            .map_or(keyed.len(), |p| start + p);
        order.extend(keyed[start..end].iter().rev().map(|k| k.2));
        start = end;
    }
    (order, anchors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Option<DateTime<Utc>> {
        Some(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc))
    }

    #[test]
    fn stems_and_ranks() {
        assert_eq!(stem_rank("mail.log"), ("mail.log".into(), 0));
        assert_eq!(stem_rank("mail.log.1"), ("mail.log".into(), 1));
        assert_eq!(stem_rank("mail.log.12.gz"), ("mail.log".into(), 12));
        assert!(stem_rank("maillog-20260301.gz").1 > stem_rank("maillog-20260302").1);
        assert_eq!(stem_rank("maillog-20260301").0, "maillog");
    }

    #[test]
    fn each_suffix_form_finds_its_chain() {
        for (path, chain, rank) in [
            ("var/log/mail.log", "var/log/mail.log", 0),
            ("var/log/mail.log.1", "var/log/mail.log", 1),
            ("var/log/mail.log.2.gz", "var/log/mail.log", 2),
            ("var/log/syslog.7.xz", "var/log/syslog", 7),
            ("var/log/mail.log.3.bz2", "var/log/mail.log", 3),
            ("var/log/mail.log.4.zst", "var/log/mail.log", 4),
            ("var/log/exim4/mainlog", "var/log/exim4/mainlog", 0),
            ("var/log/exim4/mainlog.1", "var/log/exim4/mainlog", 1),
            ("var/log/exim4/rejectlog.2.gz", "var/log/exim4/rejectlog", 2),
            ("var/log/exim_mainlog.1", "var/log/exim_mainlog", 1),
            ("/var/log/maillog", "/var/log/maillog", 0),
            ("mail.log.1", "mail.log", 1),
            ("/mail.log.1", "/mail.log", 1),
            // A compressed live file is still the live file.
            ("var/log/mail.log.gz", "var/log/mail.log", 0),
            // Not a rotation: a name with a dot in it, a long number.
            ("var/log/mail.err", "var/log/mail.err", 0),
            ("var/log/app.12345", "var/log/app.12345", 0),
        ] {
            assert_eq!(chain_rank(path), (chain.to_string(), rank), "{path}");
        }
        // Dateext: one chain, newer dates first, before any numbered rotation of another.
        let (c1, r1) = chain_rank("var/log/maillog-20261201");
        let (c2, r2) = chain_rank("var/log/maillog-20261124.gz");
        assert_eq!(
            (c1.as_str(), c2.as_str()),
            ("var/log/maillog", "var/log/maillog")
        );
        assert!(0 < r1 && r1 < r2);
        // A dash that is not a date is part of the name.
        assert_eq!(chain("var/log/php-fpm.log"), "var/log/php-fpm.log");
        assert_eq!(chain("var/log/exim-2026"), "var/log/exim-2026");
    }

    #[test]
    fn exims_logs_pair_by_folder_and_prefix() {
        assert_eq!(
            exim_log("var/log/exim4/mainlog.1"),
            Some(EximLog::Main("var/log/exim4/".into()))
        );
        assert_eq!(
            exim_log("var/log/exim_rejectlog.1.gz"),
            Some(EximLog::Reject("var/log/exim_".into()))
        );
        assert_eq!(exim_log("rejectlog"), Some(EximLog::Reject(String::new())));
        assert_eq!(
            exim_log("var/log/exim4/paniclog.1.gz"),
            Some(EximLog::Panic("var/log/exim4/".into()))
        );
        assert_eq!(
            exim_log("var/log/exim_paniclog-20261201"),
            Some(EximLog::Panic("var/log/exim_".into()))
        );
        assert_eq!(exim_log("var/log/exim4/panic.log"), None);
        assert!(!repeats_another_log("var/log/exim4/paniclog"));
        assert!(repeats_another_log("var/log/exim4/rejectlog.2.gz"));
        assert!(!repeats_another_log("var/log/exim4/mainlog"));
        assert!(!repeats_another_log("var/log/mail.log"));
    }

    #[test]
    fn syslog_beside_mail_log_repeats_it() {
        let c = copies(&[
            "files/var/log/mail.log",
            "files/var/log/mail.log.1",
            "files/var/log/syslog",
            "files/var/log/syslog.2.gz",
            "files/var/log/mail.err",
            "other/syslog",
            "other/dovecot.log",
        ]);
        let want = Some("files/var/log/mail.log".to_string());
        assert_eq!(
            c,
            [None, None, want.clone(), want.clone(), want, None, None]
        );
    }

    #[test]
    fn chains_are_chronological_and_anchors_never_pass_the_newer_file() {
        let now = t("2026-11-27T00:00:00Z").unwrap();
        let files = vec![
            ("var/log/mail.log".to_string(), t("2026-03-05T03:00:00Z")),
            (
                "var/log/mail.log.2.gz".to_string(),
                t("2026-11-01T00:00:00Z"),
            ), // a copy reset its mtime
            ("var/log/mail.log.1".to_string(), t("2026-03-04T16:00:02Z")),
            ("var/log/auth.log".to_string(), None),
        ];
        let (order, anchors) = plan(&files, now);
        assert_eq!(order, vec![3, 1, 2, 0]);
        assert_eq!(anchors[1], t("2026-03-04T16:00:02Z").unwrap());
        assert_eq!(anchors[3], now);
    }
}
