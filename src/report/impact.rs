//! What was accessed: per mailbox, what the findings with the [`Role::MailRead`] role say was
//! read, downloaded, listed and deleted — from where, how, when — and which findings say so.
//! The report's "What was accessed" section, the notification drafts' numbers and the
//! `notify.assess_data` step read these rows; nothing here looks at a rule id.
//!
//! Findings of severity *info* (the owner's new phone syncing from the office, a nightly
//! backup job) are context, not impact: they are left out. A count no finding gives stays
//! empty and is shown as unknown, never estimated. To show a new count: a field in
//! [`crate::detect::finding::Accessed`], summed in [`Impact::add`], shown in the renderers.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::detect::catalog::Role;
use crate::detect::finding::{Finding, Severity};

use super::Lang;

/// What happened to one mailbox's mail.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Impact {
    /// The mailbox (account).
    pub mailbox: String,
    /// Who did it, when not the mailbox's own login (an admin, an application).
    pub actors: BTreeSet<String>,
    /// Client addresses.
    pub sources: BTreeSet<String>,
    /// How (`imap`, `pop3`, `webmail`, `m365`, `search`, `export`).
    pub how: BTreeSet<String>,
    /// First time (RFC 3339, UTC).
    pub first: String,
    /// Last time.
    pub last: String,
    /// Message reads the logs count, added over the findings (none: no finding gives a
    /// count). Servers count fetches: a message fetched twice (a targeted look, then the
    /// whole mailbox; IMAP, then POP3) counts twice, so this is the most distinct messages.
    pub messages: Option<u64>,
    /// The most one finding counts: the fewest distinct messages taken.
    pub largest: Option<u64>,
    /// Their bytes.
    pub bytes: Option<u64>,
    /// Messages only listed (headers).
    pub listed: Option<u64>,
    /// Messages deleted.
    pub deleted: Option<u64>,
    /// Folders named.
    pub folders: BTreeSet<String>,
    /// Sessions.
    pub sessions: u64,
    /// The findings that say so (`F3`), in report order.
    pub refs: Vec<String>,
}

fn add_opt(a: &mut Option<u64>, b: Option<u64>) {
    if let Some(b) = b {
        *a = Some(a.unwrap_or(0) + b);
    }
}

impl Impact {
    /// Adds one finding's record for this mailbox.
    fn add(&mut self, a: &crate::detect::finding::Accessed, id: &str) {
        self.actors.extend(a.actor.iter().cloned());
        self.sources.extend(a.sources.iter().cloned());
        self.how.insert(a.how.clone());
        if self.first.is_empty() || (!a.first_seen.is_empty() && a.first_seen < self.first) {
            self.first = a.first_seen.clone();
        }
        if a.last_seen > self.last {
            self.last = a.last_seen.clone();
        }
        add_opt(&mut self.messages, a.messages);
        if a.messages.is_some() {
            self.largest = self.largest.max(a.messages);
        }
        add_opt(&mut self.bytes, a.bytes);
        add_opt(&mut self.listed, a.listed);
        add_opt(&mut self.deleted, a.deleted);
        self.folders.extend(a.folders.iter().cloned());
        self.sessions += a.sessions;
        if !self.refs.iter().any(|r| r == id) {
            self.refs.push(id.to_string());
        }
    }

    /// `3,287–5,118` when findings overlap (the same messages may be counted twice), else the
    /// count.
    pub fn count_text(&self, n: u64) -> String {
        match self.largest {
            Some(l) if l < n => format!("{}–{}", group(l), group(n)),
            _ => group(n),
        }
    }

    /// One line for a step or a draft: `liwei: 3,433 messages (162.6 MiB) read by imap from
    /// 203.0.113.79, 2026-03-03 19:18–20:41 UTC; 78 deleted`.
    pub fn line(&self, lang: Lang) -> String {
        let unknown = match lang {
            Lang::En => "an unknown number of",
            Lang::Zh => "数量不明的",
        };
        let read = match (self.messages, lang) {
            (Some(n), Lang::En) => format!("{} message(s)", self.count_text(n)),
            (Some(n), Lang::Zh) => format!("{} 封邮件", self.count_text(n)),
            (None, Lang::En) => format!("{unknown} messages"),
            (None, Lang::Zh) => format!("{unknown}邮件"),
        };
        let bytes = self
            .bytes
            .map_or(String::new(), |b| format!(" ({})", size(b)));
        let how: Vec<&str> = self.how.iter().map(String::as_str).collect();
        let from: Vec<&str> = self.sources.iter().map(String::as_str).collect();
        let when = span(&self.first, &self.last);
        let mut s = match lang {
            Lang::En => format!(
                "{}: {read}{bytes} read by {} from {}, {when}",
                self.mailbox,
                how.join("/"),
                if from.is_empty() {
                    "an unlogged address".to_string()
                } else {
                    from.join(", ")
                }
            ),
            Lang::Zh => format!(
                "{}：{when} 经 {} 从 {} 读取{read}{bytes}",
                self.mailbox,
                how.join("/"),
                if from.is_empty() {
                    "未记录的地址".to_string()
                } else {
                    from.join("、")
                }
            ),
        };
        if self.messages.is_none() && self.deleted.is_some() {
            // A deletion only: say that, not an unknown read.
            s = match lang {
                Lang::En => format!("{}: from {}, {when}", self.mailbox, from.join(", ")),
                Lang::Zh => format!("{}：{when} 从 {}", self.mailbox, from.join("、")),
            };
        }
        if let Some(d) = self.deleted {
            s.push_str(&match lang {
                Lang::En => format!("; {} deleted", group(d)),
                Lang::Zh => format!("；删除 {} 封", group(d)),
            });
        }
        s
    }
}

/// `3433` → `3,433`.
pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes in the largest binary unit that keeps a number ≥ 1 (`162.6 MiB`).
pub fn size(b: u64) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < units.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} bytes")
    } else {
        format!("{v:.1} {}", units[i])
    }
}

/// `2026-03-03 19:18–20:41 UTC` (the date once when both times share it).
pub fn span(first: &str, last: &str) -> String {
    let short = |t: &str| t.get(..16).unwrap_or(t).replace('T', " ");
    let (a, b) = (short(first), short(last));
    if a == b {
        return format!("{a} UTC");
    }
    match (a.get(..10), b.get(..10), b.get(11..)) {
        (Some(d1), Some(d2), Some(time)) if d1 == d2 => format!("{a}–{time} UTC"),
        _ => format!("{a} – {b} UTC"),
    }
}

/// The impact rows of `findings` (with their report ids), one per mailbox, most messages
/// first.
pub fn of<'a>(findings: impl IntoIterator<Item = (&'a Finding, &'a str)>) -> Vec<Impact> {
    let read: Vec<(&'a Finding, &'a str)> = findings
        .into_iter()
        .filter(|(f, _)| f.has(Role::MailRead) && f.severity > Severity::Info)
        .collect();
    // One mailbox, however many hosts name it and however they spell it: `Carol` on the IMAP
    // host and `carol@lab.example` on the webmail host are counted once.
    let names = one_name_each(
        read.iter()
            .flat_map(|(f, _)| &f.accessed)
            .map(|a| a.mailbox.as_str()),
    );
    let mut by: BTreeMap<String, Impact> = BTreeMap::new();
    for (f, id) in read {
        for a in &f.accessed {
            let name = names
                .get(&a.mailbox.to_lowercase())
                .cloned()
                .unwrap_or_else(|| a.mailbox.clone());
            let row = by.entry(name.to_lowercase()).or_insert_with(|| Impact {
                mailbox: name.clone(),
                ..Impact::default()
            });
            row.add(a, id);
        }
    }
    let mut rows: Vec<Impact> = by.into_values().collect();
    rows.sort_by(|a, b| {
        (b.messages.unwrap_or(0), b.deleted.unwrap_or(0), &a.mailbox).cmp(&(
            a.messages.unwrap_or(0),
            a.deleted.unwrap_or(0),
            &b.mailbox,
        ))
    });
    rows
}

/// Each mailbox name (case folded) → the one name it is counted under: a bare name takes the
/// one full address with its local part, when exactly one is named; else itself.
pub fn one_name_each<'a>(names: impl Iterator<Item = &'a str>) -> BTreeMap<String, String> {
    let all: BTreeMap<String, &str> = names.map(|n| (n.to_lowercase(), n)).collect();
    all.iter()
        .map(|(folded, shown)| {
            let full: Vec<&&str> = if folded.contains('@') {
                Vec::new()
            } else {
                all.iter()
                    .filter(|(k, _)| k.split_once('@').is_some_and(|(l, _)| l == folded))
                    .map(|(_, v)| v)
                    .collect()
            };
            let name = match full.as_slice() {
                [one] => one.to_string(),
                _ => shown.to_string(),
            };
            (folded.clone(), name)
        })
        .collect()
}

/// The table cells of each row, plain text (each renderer escapes them): mailbox, from,
/// how, when, messages read, size, listed only, deleted, findings.
pub fn cells(rows: &[Impact]) -> Vec<[String; 9]> {
    let count = |n: Option<u64>| n.map_or(String::new(), group);
    rows.iter()
        .map(|r| {
            let join = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(", ");
            let mut how = join(&r.how);
            if !r.folders.is_empty() {
                how.push_str(&format!(" ({})", join(&r.folders)));
            }
            let mut from = join(&r.sources);
            if !r.actors.is_empty() {
                from = format!("{} {from}", join(&r.actors)).trim().to_string();
            }
            [
                r.mailbox.clone(),
                from,
                how,
                span(&r.first, &r.last),
                r.messages.map_or(String::new(), |n| r.count_text(n)),
                r.bytes.map_or(String::new(), size),
                count(r.listed),
                count(r.deleted),
                r.refs.join(", "),
            ]
        })
        .collect()
}

/// Over `rows`: the message reads counted (the most distinct messages), the fewest distinct
/// messages (each mailbox's largest single count), and the messages deleted; none when no row
/// gives a count.
pub fn totals(rows: &[Impact]) -> (Option<u64>, Option<u64>, Option<u64>) {
    let mut most = None;
    let mut least = None;
    let mut deleted = None;
    for r in rows {
        add_opt(&mut most, r.messages);
        add_opt(&mut least, r.largest);
        add_opt(&mut deleted, r.deleted);
    }
    (most, least, deleted)
}

/// `3,287–5,118`, or one number when both are the same.
pub fn range(least: Option<u64>, most: u64) -> String {
    match least {
        Some(l) if l < most => format!("{}–{}", group(l), group(most)),
        _ => group(most),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::finding::Accessed;

    fn finding(rule: &'static str, sev: Severity, a: Accessed) -> Finding {
        Finding {
            severity: sev,
            accessed: vec![a],
            ..Finding::of(rule)
        }
    }

    #[test]
    fn one_mailbox_named_by_two_hosts_is_counted_once() {
        let on = |mailbox: &str, n: u64| Accessed {
            mailbox: mailbox.into(),
            how: "imap".into(),
            messages: Some(n),
            ..Accessed::default()
        };
        let f = [
            finding(
                "exfil.mailbox_download",
                Severity::Critical,
                on("Carol", 10),
            ),
            finding(
                "exfil.mailbox_download",
                Severity::High,
                on("carol@lab.example", 5),
            ),
            finding("exfil.mailbox_download", Severity::High, on("dave", 1)),
        ];
        let rows = of(f.iter().zip(["F1", "F2", "F3"]));
        let names: Vec<&str> = rows.iter().map(|r| r.mailbox.as_str()).collect();
        assert_eq!(names, ["carol@lab.example", "dave"], "{rows:#?}");
        assert_eq!(rows[0].messages, Some(15));
        // Two full addresses with one local part are two mailboxes.
        let names = one_name_each(["x@a.example", "x@b.example", "X"].into_iter());
        assert_eq!(names["x"], "X");
    }

    #[test]
    fn rows_add_up_per_mailbox_and_leave_out_context() {
        let read = Accessed {
            mailbox: "liwei".into(),
            sources: vec!["203.0.113.79".into()],
            how: "imap".into(),
            first_seen: "2026-03-03T19:18:40Z".into(),
            last_seen: "2026-03-03T20:41:51Z".into(),
            messages: Some(3433),
            bytes: Some(170_487_153),
            sessions: 3,
            ..Accessed::default()
        };
        let deleted = Accessed {
            messages: None,
            bytes: None,
            deleted: Some(78),
            folders: vec!["INBOX".into()],
            ..read.clone()
        };
        let phone = Accessed {
            mailbox: "wangfang".into(),
            messages: Some(4203),
            ..read.clone()
        };
        let f = [
            finding("exfil.mailbox_download", Severity::Critical, read),
            finding("cleanup.mail_deletion", Severity::High, deleted),
            finding("exfil.mailbox_download", Severity::Info, phone),
            // A rule without the role: never counted.
            finding("auth.new_source", Severity::High, Accessed::default()),
        ];
        let rows = of(f.iter().zip(["F1", "F2", "F3", "F4"]));
        assert_eq!(rows.len(), 1, "{rows:#?}");
        let r = &rows[0];
        assert_eq!((r.messages, r.deleted), (Some(3433), Some(78)));
        assert_eq!(r.refs, ["F1", "F2"]);
        assert_eq!(
            r.line(Lang::En),
            "liwei: 3,433 message(s) (162.6 MiB) read by imap from 203.0.113.79, 2026-03-03 19:18–20:41 UTC; 78 deleted"
        );
        assert_eq!(totals(&rows), (Some(3433), Some(3433), Some(78)));
        // Two reads of the same mailbox: 146 of them the same messages, perhaps.
        let mut twice = rows[0].clone();
        twice.add(
            &Accessed {
                messages: Some(146),
                ..Accessed::default()
            },
            "F5",
        );
        assert!(twice.line(Lang::En).contains("3,433–3,579 message(s)"));
    }
}
