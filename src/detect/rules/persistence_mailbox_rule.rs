//! `persistence.mailbox_rule` — an inbox rule that sends a mailbox's mail outside the
//! organisation, or hides it from its owner: the standard persistence after a mailbox
//! takeover and the core of business e-mail compromise.
//!
//! **Why**: the seed articles' "malicious forwarding rules"; in Microsoft 365 the attacker
//! adds them with `New-InboxRule` or an Outlook client (`UpdateInboxRules`), so that replies
//! about the fraud never reach the victim. **How**: every `mailbox_rule` event that is
//! created, changed, enabled or present (an inventory row):
//! - *forwarding*: `ForwardTo`, `ForwardAsAttachmentTo` or `RedirectTo` names an address
//!   outside the organisation's domains (learned from the evidence, see `cloud.rs`);
//! - *hiding*: `DeleteMessage`/`SoftDeleteMessage`, or `MoveToFolder` to a folder the owner
//!   does not look at (RSS Feeds, RSS Subscriptions, Deleted Items, Conversation History,
//!   Junk Email, Notes; Archive only with a fraud keyword condition, since people file mail
//!   there).
//!
//! Rules that only move mail to an ordinary folder, or forward inside the organisation, are
//! not reported; a rule that marks a sender's mail read is added to an actor's hiding rules
//! made within the hour around it (an attacker's rule set), never reported alone. One finding per mailbox, acting account and kind, listing the rule names.
//! **ATT&CK**: T1114.003 (Email Forwarding Rule), T1564.008 (Email Hiding Rules).
//! **Phase**: persistence. **Severity**: critical for forwarding plus hiding; high for
//! forwarding, or hiding with `MarkAsRead` or a fraud keyword condition (invoice, payment,
//! password …); medium for other hiding; one level lower when an inventory says the rule is
//! disabled. **False positives**: a user's own forward to a private mailbox; a user who files
//! newsletters into Archive — the rule name and its creator's address tell.

use std::collections::BTreeMap;

use super::cloud::{some, Group};
use super::{Files, Rule, Shared, Thresholds};
use crate::detect::fact::Fact;
use crate::detect::finding::{Finding, Severity};
use crate::events::detail::Detail;
use crate::events::record::Kind;

/// Folders a mailbox owner does not look at (last path component, lower-case).
const HIDDEN_FOLDERS: &[&str] = &[
    "rss feeds",
    "rss subscriptions",
    "deleted items",
    "conversation history",
    "junk email",
    "notes",
];

/// How close to an actor's hiding rules a rule that only marks mail read counts as part of
/// the same set (µs).
const BURST_US: i64 = 3_600_000_000;

/// Conditions that mark a rule as fraud-related.
const KEYWORDS: &[&str] = &[
    "invoice",
    "payment",
    "password",
    "bank",
    "wire",
    "transfer",
    "remittance",
    "paypal",
    "hack",
    "phish",
    "compromise",
    "suspicious",
    "security",
    "fraud",
    "helpdesk",
    "发票",
    "付款",
    "汇款",
    "密码",
    "银行",
];

/// Whether a folder is one the owner does not look at.
pub fn hidden_folder(folder: &str) -> bool {
    let last = folder
        .rsplit(['\\', '/'])
        .next()
        .unwrap_or(folder)
        .trim()
        .to_lowercase();
    HIDDEN_FOLDERS.contains(&last.as_str())
}

/// Whether a rule's conditions name a fraud keyword.
pub fn fraud_words(d: &Detail) -> bool {
    d.words.iter().chain(&d.from).any(|w| {
        let w = w.to_lowercase();
        KEYWORDS.iter().any(|k| w.contains(k))
    })
}

struct Seen {
    ts_us: i64,
    file: u32,
    line: u64,
    src_ip: Option<String>,
    actor: Option<String>,
    detail: Detail,
}

impl Seen {
    /// The time, address and line of the rule event, as a fact for a [`Group`].
    fn fact(&self) -> Fact {
        Fact::at(
            self.ts_us,
            Kind::MailboxRule,
            self.src_ip.as_deref(),
            self.file,
            self.line,
        )
    }
}

/// The rule.
pub struct MailboxRule {
    seen: Vec<Seen>,
}

impl MailboxRule {
    /// A new rule.
    pub fn new(_t: &Thresholds) -> Self {
        MailboxRule { seen: Vec::new() }
    }
}

#[derive(Default)]
struct Verdict {
    group: Group,
    outside: std::collections::BTreeSet<String>,
    mark_read: bool,
    words: bool,
    disabled_only: bool,
}

fn lower(s: Severity) -> Severity {
    match s {
        Severity::Critical => Severity::High,
        Severity::High => Severity::Medium,
        Severity::Medium => Severity::Low,
        other => other,
    }
}

impl Rule for MailboxRule {
    fn kinds(&self) -> super::Kinds {
        super::Kinds::of(&[Kind::MailboxRule])
    }

    fn observe(&mut self, f: &Fact) {
        if f.kind != Kind::MailboxRule || matches!(f.status(), Some("removed" | "disabled")) {
            return;
        }
        let Some(mut detail) = f.detail().and_then(Detail::from_text) else {
            return;
        };
        if detail.mailbox.is_none() {
            detail.mailbox = f.mailbox().map(str::to_string);
        }
        self.seen.push(Seen {
            ts_us: f.ts_us,
            file: f.file,
            line: f.line,
            src_ip: f.src_ip().map(str::to_string),
            actor: f.actor().map(str::to_string),
            detail,
        });
    }

    fn finish(&mut self, files: &Files, shared: &Shared) -> Vec<Finding> {
        // (mailbox, actor, forwards?) → verdict
        let mut groups: BTreeMap<(String, String, bool, bool), Verdict> = BTreeMap::new();
        let mut weak: Vec<Seen> = Vec::new();
        for s in std::mem::take(&mut self.seen) {
            let d = &s.detail;
            let outside: Vec<String> = shared
                .tenant
                .outside_of(&d.targets())
                .into_iter()
                .map(str::to_string)
                .collect();
            // Archive is where people file mail too: hiding only with a fraud keyword.
            let archive = d
                .move_to
                .as_deref()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("archive"));
            let hides = d.delete == Some(true)
                || d.move_to.as_deref().is_some_and(hidden_folder)
                || (archive && fraud_words(d));
            if outside.is_empty() && !hides {
                // A rule that only marks a sender's mail read is weak alone; in the same burst
                // as an actor's hiding rules it is part of the set (kept for below).
                if d.mark_read == Some(true) && !(d.from.is_empty() && d.words.is_empty()) {
                    weak.push(s);
                }
                continue;
            }
            let mailbox = d
                .mailbox
                .clone()
                .or_else(|| s.actor.clone())
                .unwrap_or_else(|| "unknown mailbox".into());
            let actor = s.actor.clone().unwrap_or_default();
            let v = groups
                .entry((mailbox.clone(), actor.clone(), !outside.is_empty(), hides))
                .or_insert_with(|| Verdict {
                    disabled_only: true,
                    ..Verdict::default()
                });
            v.group.add_timed(&s.fact(), !s.detail.time_is_export);
            v.group.users.insert(mailbox);
            if !actor.is_empty() {
                v.group.users.insert(actor);
            }
            v.group
                .names
                .insert(d.name.clone().unwrap_or_else(|| "(unnamed)".into()));
            v.outside.extend(outside);
            v.mark_read |= d.mark_read == Some(true);
            v.words |= fraud_words(d);
            v.disabled_only &= d.enabled == Some(false);
        }
        for s in weak {
            let mailbox = s.detail.mailbox.clone().or_else(|| s.actor.clone());
            let actor = s.actor.clone().unwrap_or_default();
            if let Some(v) = groups.iter_mut().find_map(|((m, a, _, _), v)| {
                (Some(m) == mailbox.as_ref()
                    && *a == actor
                    && s.ts_us >= v.group.first - BURST_US
                    && s.ts_us <= v.group.last + BURST_US)
                    .then_some(v)
            }) {
                v.group.add_timed(&s.fact(), !s.detail.time_is_export);
                v.group
                    .names
                    .insert(s.detail.name.clone().unwrap_or_else(|| "(unnamed)".into()));
            }
        }
        groups
            .into_iter()
            .map(|((mailbox, actor, forwards, hides), v)| {
                let mut sev = match (forwards, hides) {
                    (true, true) => Severity::Critical,
                    (true, false) => Severity::High,
                    _ if v.mark_read || v.words => Severity::High,
                    _ => Severity::Medium,
                };
                if v.disabled_only {
                    sev = lower(sev);
                }
                let by = if actor.is_empty() || actor.eq_ignore_ascii_case(&mailbox) {
                    String::new()
                } else {
                    format!(" by {actor}")
                };
                let from = if v.group.ips.is_empty() {
                    String::new()
                } else {
                    format!(" from {}", some(&v.group.ips, 3))
                };
                let what = match (forwards, hides) {
                    (true, true) => "forward mail outside and hide it",
                    (true, false) => "forward mail outside the organisation",
                    _ => "hide incoming mail from the owner",
                };
                let mut attack = Vec::new();
                if forwards {
                    attack.push("T1114.003");
                }
                if hides {
                    attack.push("T1564.008");
                }
                let targets = if v.outside.is_empty() {
                    String::new()
                } else {
                    format!(" to {}", some(&v.outside, 4))
                };
                let mut f = v.group.finding(
                    "persistence.mailbox_rule",
                    sev,
                    attack,
                    format!("Inbox rules in {mailbox} {what}"),
                    format!(
                        "{} rule event(s){by}{from} that {what}{targets}: {}{}{}",
                        v.group.count,
                        some(&v.group.names, 8),
                        if v.words {
                            "; conditions name fraud keywords"
                        } else {
                            ""
                        },
                        if v.disabled_only {
                            "; the rule is disabled"
                        } else {
                            ""
                        },
                    ),
                    vec![
                        "clean.remove_mailbox_rules",
                        "clean.reset_credentials",
                        "notify.assess_data",
                    ],
                    files,
                );
                f.entities.users.sort();
                f
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::fact::Field;
    use crate::detect::rules::tests::fact;

    fn rule_fact(secs: i64, actor: &str, d: Detail) -> Fact {
        fact(Kind::MailboxRule, secs, "203.0.113.5", actor)
            .with(Field::Status, Some("created"))
            .with(Field::Detail, Some(&d.to_text()))
    }

    fn run(facts: &[Fact]) -> Vec<Finding> {
        let mut rule = MailboxRule::new(&Thresholds::default());
        let mut shared = Shared::default();
        for f in facts {
            shared.observe(f);
            rule.observe(f);
        }
        rule.finish(&[("ual.csv".to_string(), None)], &shared)
    }

    #[test]
    fn outside_forward_and_hiding_are_found_inside_and_plain_moves_are_not() {
        let org = Some("corp.example".to_string());
        let fwd = Detail {
            org: org.clone(),
            name: Some("fw".into()),
            forward_to: vec!["drop@evil.example".into()],
            delete: Some(true),
            ..Detail::default()
        };
        let hide = Detail {
            org: org.clone(),
            name: Some("x".into()),
            move_to: Some("RSS Feeds".into()),
            words: vec!["invoice".into()],
            ..Detail::default()
        };
        let inside = Detail {
            org: org.clone(),
            name: Some("to my deputy".into()),
            forward_to: vec!["deputy@corp.example".into()],
            ..Detail::default()
        };
        let plain = Detail {
            org,
            name: Some("newsletters".into()),
            move_to: Some("Newsletters".into()),
            ..Detail::default()
        };
        let f = run(&[
            rule_fact(0, "ana@corp.example", fwd),
            rule_fact(10, "ana@corp.example", hide),
            rule_fact(20, "bo@corp.example", inside),
            rule_fact(30, "bo@corp.example", plain),
        ]);
        assert_eq!(f.len(), 2, "{f:#?}");
        let fwd = f.iter().find(|f| f.severity == Severity::Critical).unwrap();
        assert!(fwd.summary.contains("drop@evil.example"));
        let hide = f.iter().find(|f| f.severity == Severity::High).unwrap();
        assert_eq!(hide.attack, vec!["T1564.008"]);
    }
}
