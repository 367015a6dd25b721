//! `tamper.audit_disabled` — auditing switched off, cut down, or an account exempted from it:
//! `Set-Mailbox -AuditEnabled $false`, `Set-MailboxAuditBypassAssociation -AuditBypassEnabled
//! $true`, `Set-AdminAuditLogConfig -UnifiedAuditLogIngestionEnabled $false` /
//! `-AdminAuditLogEnabled $false`, `Set-OrganizationConfig -AuditDisabled $true`, mailbox audit
//! actions removed (`-AuditOwner @{Remove=…}`, set to none) or retention under a week, from any
//! reader of `audit_setting` events.
//!
//! **Why**: what is not audited leaves no record — no `MailItemsAccessed`, no deletion, no
//! cmdlet — so an intruder who stays switches auditing off first, for the mailbox they read or
//! for the account they act as; the evidence after that moment is silent, not clean. **How**,
//! per setting:
//! - auditing switched off, or an account exempted from it — **high**;
//! - audit actions removed, exclusions added, retention cut under 7 days — **medium**;
//! - by an account taken over (from its takeover on) or from the attacker's address (earlier
//!   findings) — **critical** either way;
//! - a command the log says failed — one step less (an attempt).
//!
//! A setting switched back on later in the evidence is named in the summary (the silent
//! interval), the finding stays. The service's own settings (a Microsoft datacenter account)
//! are not reported. One finding per acting account and severity. **ATT&CK**: T1562.008
//! (Disable or Modify Cloud Logs), T1070 (Indicator Removal). **Phase**: cleanup. **False
//! positives**: a service account exempted from auditing because it touches every mailbox
//! (backup, archiving): Microsoft's own example — check it against the product it serves.

use std::collections::{BTreeMap, BTreeSet};

use super::cloud::{detail_of, some, Group};
use super::mail_actions::{self, Taken};
use super::{Files, Rule, Shared, Thresholds};
use crate::detect::entity::{EntityKind, EntityRole};
use crate::detect::fact::Fact;
use crate::detect::finding::{ts, Finding, Severity};
use crate::events::detail::Detail;
use crate::events::record::Kind;

/// One setting as kept until the end.
struct Setting {
    fact: Fact,
    detail: Detail,
}

/// The rule.
#[derive(Default)]
pub struct AuditDisabled {
    cuts: Vec<Setting>,
    /// Target (lower case; `tenant` for organisation-wide settings) → times auditing was
    /// switched back on.
    restored: BTreeMap<String, Vec<i64>>,
}

impl AuditDisabled {
    /// A new rule.
    pub fn new(_t: &Thresholds) -> Self {
        AuditDisabled::default()
    }
}

/// What a setting concerns: a mailbox, or the organisation.
fn target(f: &Fact) -> String {
    f.mailbox()
        .map(|m| m.to_lowercase())
        .unwrap_or_else(|| "tenant".into())
}

/// A cut's severity: off or bypass high, a reduction medium, the attacker's critical; a
/// failed command one less.
fn severity(action: Option<&str>, attacker: bool, failed: bool) -> Severity {
    let base = match (attacker, action) {
        (true, _) => Severity::Critical,
        (false, Some("reduced")) => Severity::Medium,
        (false, _) => Severity::High,
    };
    match (failed, base) {
        (false, s) => s,
        (true, Severity::Critical) => Severity::High,
        (true, Severity::High) => Severity::Medium,
        (true, _) => Severity::Low,
    }
}

/// One finding's worth.
#[derive(Default)]
struct Judged {
    group: Group,
    firsts: BTreeMap<String, i64>,
    what: BTreeSet<String>,
    targets: BTreeSet<String>,
    attacker: bool,
    failed: u64,
    restored: BTreeSet<String>,
}

impl Rule for AuditDisabled {
    fn kinds(&self) -> super::Kinds {
        super::Kinds::of(&[Kind::AuditSetting])
    }

    fn observe(&mut self, f: &Fact) {
        let Some(d) = detail_of(f, Kind::AuditSetting) else {
            return;
        };
        if d.by_service {
            return;
        }
        match d.action.as_deref() {
            Some("off" | "bypass" | "reduced") => self.cuts.push(Setting {
                fact: f.clone(),
                detail: d,
            }),
            Some("on") if f.status() != Some("failure") => {
                self.restored.entry(target(f)).or_default().push(f.ts_us);
            }
            _ => {}
        }
    }

    fn finish(&mut self, files: &Files, shared: &Shared) -> Vec<Finding> {
        self.finish_with(files, shared, &[])
    }

    fn finish_with(&mut self, files: &Files, shared: &Shared, earlier: &[Finding]) -> Vec<Finding> {
        let taken = Taken::of(earlier);
        let mut judged: BTreeMap<(String, Severity), Judged> = BTreeMap::new();
        for s in std::mem::take(&mut self.cuts) {
            let f = &s.fact;
            let attacker = taken.acted(f.actor(), f.src_ip(), f.ts_us);
            let failed = f.status() == Some("failure");
            let sev = severity(s.detail.action.as_deref(), attacker, failed);
            let actor = f.actor().unwrap_or("unknown").to_string();
            let j = judged.entry((actor, sev)).or_default();
            mail_actions::add(&mut j.group, &mut j.firsts, f);
            j.attacker |= attacker;
            j.failed += u64::from(failed);
            let t = target(f);
            let settings: Vec<String> = s
                .detail
                .settings
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            if j.what.len() < 8 {
                j.what.insert(format!(
                    "{} {} ({})",
                    s.detail.op.as_deref().unwrap_or("?"),
                    if t == "tenant" {
                        "for the organisation"
                    } else {
                        &t
                    },
                    settings.join(", ")
                ));
            }
            if let Some(on) = self
                .restored
                .get(&t)
                .and_then(|v| v.iter().filter(|x| **x > f.ts_us).min())
            {
                j.restored.insert(format!("{t} back on at {}", ts(*on)));
            }
            j.targets.insert(t);
        }
        judged
            .into_iter()
            .map(|((actor, sev), j)| finding(&actor, sev, j, files, shared, &taken))
            .collect()
    }
}

/// The finding of one account's cuts at one severity.
fn finding(
    actor: &str,
    sev: Severity,
    j: Judged,
    files: &Files,
    shared: &Shared,
    taken: &Taken,
) -> Finding {
    let by = if j.attacker {
        " by a taken account"
    } else {
        ""
    };
    let attempt = if j.failed == j.group.count {
        " (the command failed: an attempt)"
    } else {
        ""
    };
    let restored = if j.restored.is_empty() {
        String::new()
    } else {
        format!("; {}", some(&j.restored, 3))
    };
    let mut f = j.group.finding(
        "tamper.audit_disabled",
        sev,
        vec!["T1562.008", "T1070"],
        format!("Auditing switched off or cut by {actor}{by}{attempt}"),
        format!(
            "{} setting(s): {}{restored}; what happened after is not in the audit log",
            j.group.count,
            some(&j.what, 4)
        ),
        vec!["evidence.preserve_backups", "clean.restore_auditing"],
        files,
    );
    mail_actions::tag_actor(&mut f, shared, taken, actor, j.attacker, &j.firsts);
    for t in j.targets.iter().filter(|t| *t != "tenant") {
        if f.entities.role(EntityKind::User, t).is_none() {
            f.entities.tag(EntityKind::User, t, EntityRole::Observed);
        }
    }
    f
}

#[cfg(test)]
mod tests;
