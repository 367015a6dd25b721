//! `persistence.mailbox_forwarding` — a mailbox set to forward all its mail outside the
//! organisation (`ForwardingSmtpAddress`, `ForwardingAddress`), by `Set-Mailbox` in the
//! audit log or as a `Get-Mailbox` inventory shows it.
//!
//! **Why**: one parameter copies every message the mailbox receives, invisibly to its owner
//! (no rule in Outlook shows it). **How**: a `mailbox_forwarding` event (changed or present)
//! whose forward target is outside the organisation's domains (learned from the evidence,
//! see `cloud.rs`); a target that is a recipient object without an address
//! (`ForwardingAddress: Peter Griffin`) cannot be placed and is reported at low severity. One
//! finding per mailbox. **ATT&CK**: T1114.003 (Email Forwarding Rule). **Phase**:
//! persistence. **Severity**: critical when the mailbox keeps no copy
//! (`DeliverToMailboxAndForward: False`), else high. **False positives**: a sanctioned
//! forward to a partner or a personal address — check against policy.

use std::collections::BTreeMap;

use super::cloud::{detail_of, some, Group};
use super::{Files, Rule, Shared, Thresholds};
use crate::detect::fact::{domain, Fact};
use crate::detect::finding::{Finding, Severity};
use crate::events::detail::Detail;
use crate::events::record::Kind;

/// The rule.
pub struct MailboxForwarding {
    seen: Vec<(Fact, Detail)>,
}

impl MailboxForwarding {
    /// A new rule.
    pub fn new(_t: &Thresholds) -> Self {
        MailboxForwarding { seen: Vec::new() }
    }
}

#[derive(Default)]
struct Verdict {
    group: Group,
    targets: std::collections::BTreeSet<String>,
    /// The targets that are outside addresses.
    outside: std::collections::BTreeSet<String>,
    no_copy: bool,
    objects_only: bool,
}

impl Rule for MailboxForwarding {
    fn kinds(&self) -> super::Kinds {
        super::Kinds::of(&[Kind::MailboxForwarding])
    }

    fn observe(&mut self, f: &Fact) {
        if let Some(d) = detail_of(f, Kind::MailboxForwarding) {
            if !d.forward_to.is_empty() {
                self.seen.push((f.clone(), d));
            }
        }
    }

    fn finish(&mut self, files: &Files, shared: &Shared) -> Vec<Finding> {
        let mut by_mailbox: BTreeMap<String, Verdict> = BTreeMap::new();
        for (f, d) in std::mem::take(&mut self.seen) {
            let outside: Vec<&str> = d
                .forward_to
                .iter()
                .map(String::as_str)
                .filter(|t| shared.tenant.outside(t))
                .collect();
            let objects: Vec<&str> = d
                .forward_to
                .iter()
                .map(String::as_str)
                .filter(|t| domain(t).is_none())
                .collect();
            if outside.is_empty() && objects.is_empty() {
                continue;
            }
            let mailbox = d
                .mailbox
                .clone()
                .or_else(|| f.mailbox().map(str::to_string))
                .unwrap_or_else(|| "unknown mailbox".into());
            let v = by_mailbox
                .entry(mailbox.clone())
                .or_insert_with(|| Verdict {
                    objects_only: true,
                    ..Verdict::default()
                });
            v.group.add_timed(&f, !d.time_is_export);
            v.group.users.insert(mailbox);
            if let Some(u) = f.actor() {
                v.group.users.insert(u.to_string());
            }
            v.objects_only &= outside.is_empty();
            v.targets
                .extend(outside.iter().chain(&objects).map(|s| s.to_string()));
            v.outside.extend(outside.iter().map(|s| s.to_string()));
            v.no_copy |= d.keep_copy == Some(false);
        }
        by_mailbox
            .into_iter()
            .map(|(mailbox, v)| {
                let sev = match (v.objects_only, v.no_copy) {
                    (true, _) => Severity::Low,
                    (false, true) => Severity::Critical,
                    (false, false) => Severity::High,
                };
                let mut f = v.group.finding(
                    "persistence.mailbox_forwarding",
                    sev,
                    vec!["T1114.003"],
                    format!("Mailbox {mailbox} forwards its mail to {}", some(&v.targets, 3)),
                    format!(
                        "{} forwarding setting(s) on {mailbox} to {}{}{}",
                        v.group.count,
                        some(&v.targets, 5),
                        if v.no_copy { "; the mailbox keeps no copy" } else { "" },
                        if v.objects_only {
                            "; the target is a recipient object — check whether it is a contact outside"
                        } else {
                            ""
                        }
                    ),
                    vec![
                        "clean.clear_forwarding",
                        "clean.block_auto_forwarding",
                        "notify.assess_data",
                    ],
                    files,
                );
                // Outside addresses (recipient objects are named, not addresses).
                f.entities.recipients = v.outside.iter().cloned().collect();
                f
            })
            .collect()
    }
}
