//! `persistence.transport_rule` — an organisation-wide transport (mail flow) rule that
//! redirects, blind-copies or copies messages to an address outside the organisation.
//!
//! **Why**: an attacker with admin rights (or a stolen admin session) gets a copy of all
//! mail, or of a chosen sender's mail, without touching any mailbox; no user ever sees it.
//! **How**: a `transport_rule` event (created, changed, enabled or present) whose
//! `RedirectMessageTo`, `BlindCopyTo`, `CopyTo` or `AddToRecipients` (or, in an inventory
//! without those columns, the actions of its description) names an address outside the
//! organisation's domains. One finding per rule. **ATT&CK**: T1114.003 (Email Forwarding
//! Rule). **Phase**: persistence. **Severity**: critical for a redirect (mail no longer
//! reaches its recipients), high for a copy; one level lower when the rule is disabled.
//! **False positives**: a journaling or archiving service outside the domains (add it to the
//! case's accepted targets after checking the contract).

use std::collections::BTreeMap;

use super::cloud::{detail_of, some, Group};
use super::{Files, Rule, Shared, Thresholds};
use crate::detect::fact::Fact;
use crate::detect::finding::{Finding, Severity};
use crate::events::detail::Detail;
use crate::events::record::Kind;

/// The rule.
pub struct TransportRule {
    seen: Vec<(Fact, Detail)>,
}

impl TransportRule {
    /// A new rule.
    pub fn new(_t: &Thresholds) -> Self {
        TransportRule { seen: Vec::new() }
    }
}

#[derive(Default)]
struct Verdict {
    group: Group,
    redirect: std::collections::BTreeSet<String>,
    copy: std::collections::BTreeSet<String>,
    disabled: bool,
}

impl Rule for TransportRule {
    fn kinds(&self) -> super::Kinds {
        super::Kinds::of(&[Kind::TransportRule])
    }

    fn observe(&mut self, f: &Fact) {
        if matches!(f.status(), Some("removed" | "disabled")) {
            return;
        }
        if let Some(d) = detail_of(f, Kind::TransportRule) {
            if !d.redirect_to.is_empty() || !d.copy_to.is_empty() {
                self.seen.push((f.clone(), d));
            }
        }
    }

    fn finish(&mut self, files: &Files, shared: &Shared) -> Vec<Finding> {
        let mut by_rule: BTreeMap<String, Verdict> = BTreeMap::new();
        for (f, d) in std::mem::take(&mut self.seen) {
            let out = |v: &[String]| -> Vec<String> {
                v.iter()
                    .filter(|t| shared.tenant.outside(t))
                    .cloned()
                    .collect()
            };
            let (redirect, copy) = (out(&d.redirect_to), out(&d.copy_to));
            if redirect.is_empty() && copy.is_empty() {
                continue;
            }
            let name = d.name.clone().unwrap_or_else(|| "(unnamed)".into());
            let v = by_rule.entry(name).or_default();
            v.group.add_timed(&f, !d.time_is_export);
            if let Some(u) = f.actor() {
                v.group.users.insert(u.to_string());
            }
            v.redirect.extend(redirect);
            v.copy.extend(copy);
            v.disabled = d.enabled == Some(false);
        }
        by_rule
            .into_iter()
            .map(|(name, v)| {
                let mut sev = if v.redirect.is_empty() {
                    Severity::High
                } else {
                    Severity::Critical
                };
                if v.disabled {
                    sev = if sev == Severity::Critical {
                        Severity::High
                    } else {
                        Severity::Medium
                    };
                }
                let targets: Vec<&String> = v.redirect.iter().chain(&v.copy).collect();
                let creators = if v.group.users.is_empty() {
                    String::new()
                } else {
                    format!(" by {}", some(&v.group.users, 3))
                };
                v.group.finding(
                    "persistence.transport_rule",
                    sev,
                    vec!["T1114.003"],
                    format!(
                        "Transport rule {name:?} sends mail to {}",
                        some(&targets, 3)
                    ),
                    format!(
                        "transport rule {name:?}{creators} {} to {}{}",
                        if v.redirect.is_empty() {
                            "copies messages"
                        } else {
                            "redirects messages"
                        },
                        some(&targets, 5),
                        if v.disabled {
                            "; the rule is disabled"
                        } else {
                            ""
                        }
                    ),
                    vec!["clean.remove_transport_rules", "notify.assess_data"],
                    files,
                )
            })
            .collect()
    }
}
