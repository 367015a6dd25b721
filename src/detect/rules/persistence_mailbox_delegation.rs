//! `persistence.mailbox_delegation` — a mailbox or one of its folders opened to another
//! account: FullAccess (`Add-MailboxPermission`), SendAs (`Add-RecipientPermission`,
//! `Add-ADPermission -ExtendedRights Send-As`), ReceiveAs, SendOnBehalf (`Set-Mailbox
//! -GrantSendOnBehalfTo`), folder permissions (`Add-`/`Set-MailboxFolderPermission`, the
//! mailbox audit's `AddFolderPermissions`), from any reader of `permission_grant` events.
//!
//! **Why**: a delegation outlives a password reset — the attacker, or an account they hold,
//! keeps reading the mailbox through its own login, and a folder opened to `Default` is open to
//! everyone in the organisation. **How**, per permission given (removals, refusals and failed
//! commands aside):
//! - by an account taken over (from its takeover on) or from the attacker's address (earlier
//!   findings) — **critical**;
//! - a mail folder (not the calendar, contacts, tasks or notes) opened to `Default` or
//!   `Anonymous` with more than free/busy rights — **high**;
//! - to an account taken over, to an account outside the organisation (its domain is none of
//!   the tenant's, [`super::cloud::Tenant`]), or to an account created in the week before
//!   (`New-Mailbox`, `New-MailUser`, directory `Add user.`) — **high**;
//! - from a network new to the actor, or at an hour outside its usual ones (the stretch of the
//!   day its earlier sightings from its usual networks fell in, widened by `off_hours_margin`:
//!   [`super::sources`]) — **medium**; a calendar or contacts folder opened to `Default` —
//!   medium;
//! - otherwise — **low**: an administrator's delegation (a shared mailbox given to its team),
//!   to check against the change record.
//!
//! Free/busy folder rights (`None`, `AvailabilityOnly`, `LimitedDetails`), grants to the
//! mailbox's own account (`NT AUTHORITY\SELF`) and the service's own provisioning (records of a
//! Microsoft datacenter account, system and discovery mailboxes) are not reported. One finding
//! per acting account and severity. **ATT&CK**: T1098.002 (Additional Email Delegate
//! Permissions). **Phase**: persistence. **False positives**: assistants given their manager's
//! mailbox, shared mailboxes given to a team — the low findings; a migration tool's service
//! account given FullAccess everywhere.

use std::collections::{BTreeMap, BTreeSet};

use super::cloud::{detail_of, some, Group};
use super::failures::HOUR_US;
use super::mail_actions::{self, Taken};
use super::{Files, Rule, Shared, Thresholds};
use crate::detect::entity::{EntityKind, EntityRole};
use crate::detect::fact::Fact;
use crate::detect::finding::{Finding, Severity};
use crate::events::detail::Detail;
use crate::events::record::Kind;

/// How long an account counts as newly created (hours).
const NEW_ACCOUNT_HOURS: i64 = 7 * 24;

/// Folder rights that show only free/busy times.
const FREE_BUSY: &[&str] = &["none", "availabilityonly", "limiteddetails"];

/// Folders that hold no mail.
const NOT_MAIL: &[&str] = &["calendar", "contacts", "tasks", "notes", "journal"];

/// One grant as kept until the end.
struct Grant {
    fact: Fact,
    detail: Detail,
}

/// The rule.
pub struct MailboxDelegation {
    margin: i64,
    grants: Vec<Grant>,
    /// Accounts created (lower case) → when.
    created: BTreeMap<String, i64>,
}

impl MailboxDelegation {
    /// A new rule.
    pub fn new(t: &Thresholds) -> Self {
        MailboxDelegation {
            margin: t.off_hours_margin,
            grants: Vec::new(),
            created: BTreeMap::new(),
        }
    }

    /// Whether `who` was created in the week before `ts`.
    fn new_account(&self, who: &str, ts: i64) -> bool {
        self.created.iter().any(|(c, at)| {
            mail_actions::same_account(c, who)
                && *at <= ts
                && ts - at <= NEW_ACCOUNT_HOURS * HOUR_US
        })
    }

    /// A grant's severity and reason.
    fn judge(&self, g: &Grant, shared: &Shared, taken: &Taken) -> (Severity, &'static str, bool) {
        let f = &g.fact;
        let actor = f.actor().unwrap_or("unknown");
        let grantee = g.detail.grantee.as_deref().unwrap_or("");
        let everyone = matches!(
            grantee.to_ascii_lowercase().as_str(),
            "default" | "anonymous"
        );
        let mail_folder = g.detail.folders.iter().any(|p| {
            let leaf = p.trim_matches('\\').to_ascii_lowercase();
            !NOT_MAIL.iter().any(|n| leaf.starts_with(n))
        });
        if taken.acted(f.actor(), f.src_ip(), f.ts_us) {
            (Severity::Critical, "by a taken account", true)
        } else if everyone && mail_folder {
            (Severity::High, "a mail folder opened to everyone", false)
        } else if !grantee.is_empty() && taken.account(grantee, f.ts_us) {
            (Severity::High, "to a taken account", false)
        } else if shared.tenant.known() && shared.tenant.outside(grantee) {
            (
                Severity::High,
                "to an account outside the organisation",
                false,
            )
        } else if self.new_account(grantee, f.ts_us) {
            (Severity::High, "to an account created days before", false)
        } else if f
            .src_ip()
            .is_some_and(|ip| shared.sources.is_new(actor, ip, f.ts_us))
        {
            (Severity::Medium, "from a network new to the actor", false)
        } else if shared.sources.off_hours(actor, f.ts_us, self.margin) {
            (Severity::Medium, "outside the actor's usual hours", false)
        } else if everyone {
            (Severity::Medium, "a folder opened to everyone", false)
        } else {
            (Severity::Low, "an administrator's delegation", false)
        }
    }
}

/// Whether a grant is none of this rule's: removed or refused or failed, free/busy only,
/// to the mailbox itself, or the service provisioning its own mailboxes.
fn ignored(f: &Fact, d: &Detail) -> bool {
    if !matches!(f.status(), Some("created" | "changed")) || d.by_service {
        return true;
    }
    let grantee = d.grantee.as_deref().unwrap_or("").to_ascii_lowercase();
    if grantee.contains("nt authority\\self") {
        return true;
    }
    if !d.rights.is_empty()
        && d.rights
            .iter()
            .all(|r| FREE_BUSY.contains(&r.to_ascii_lowercase().as_str()))
    {
        return true;
    }
    let mailbox = f.mailbox().unwrap_or("").to_ascii_lowercase();
    [
        "discoverysearchmailbox",
        "systemmailbox{",
        "federatedemail.",
        "migration.",
    ]
    .iter()
    .any(|s| mailbox.contains(s))
}

/// One finding's worth.
#[derive(Default)]
struct Judged {
    group: Group,
    firsts: BTreeMap<String, i64>,
    grants: BTreeSet<String>,
    mailboxes: BTreeSet<String>,
    grantees: BTreeSet<String>,
    why: BTreeSet<&'static str>,
    attacker: bool,
}

impl Rule for MailboxDelegation {
    fn observe(&mut self, f: &Fact) {
        if matches!(f.kind, Kind::AdminCommand | Kind::AuditOperation) {
            if let Some(c) = f
                .detail()
                .and_then(Detail::from_text)
                .and_then(|d| d.created)
            {
                let e = self
                    .created
                    .entry(c.to_ascii_lowercase())
                    .or_insert(f.ts_us);
                *e = (*e).min(f.ts_us);
            }
            return;
        }
        let Some(d) = detail_of(f, Kind::PermissionGrant) else {
            return;
        };
        if !ignored(f, &d) {
            self.grants.push(Grant {
                fact: f.clone(),
                detail: d,
            });
        }
    }

    fn finish(&mut self, files: &Files, shared: &Shared) -> Vec<Finding> {
        self.finish_with(files, shared, &[])
    }

    fn finish_with(&mut self, files: &Files, shared: &Shared, earlier: &[Finding]) -> Vec<Finding> {
        let taken = Taken::of(earlier);
        let mut judged: BTreeMap<(String, Severity), Judged> = BTreeMap::new();
        for g in std::mem::take(&mut self.grants) {
            let (sev, why, attacker) = self.judge(&g, shared, &taken);
            let actor = g.fact.actor().unwrap_or("unknown").to_string();
            let j = judged.entry((actor, sev)).or_default();
            mail_actions::add(&mut j.group, &mut j.firsts, &g.fact);
            j.why.insert(why);
            j.attacker |= attacker;
            let mailbox = g.fact.mailbox().unwrap_or("?").to_string();
            let grantee = g.detail.grantee.clone().unwrap_or_else(|| "?".into());
            let folder = g.detail.folders.first().cloned().unwrap_or_default();
            let rights = if g.detail.rights.is_empty() {
                "rights".to_string()
            } else {
                g.detail.rights.join("+")
            };
            if j.grants.len() < 8 {
                j.grants
                    .insert(format!("{mailbox}{folder}: {rights} to {grantee}"));
            }
            if j.mailboxes.len() < 64 {
                j.mailboxes.insert(mailbox);
            }
            if j.grantees.len() < 64 {
                j.grantees.insert(grantee);
            }
        }
        judged
            .into_iter()
            .map(|((actor, sev), j)| finding(&actor, sev, j, files, shared, &taken))
            .collect()
    }
}

/// The finding of one account's grants at one severity.
fn finding(
    actor: &str,
    sev: Severity,
    j: Judged,
    files: &Files,
    shared: &Shared,
    taken: &Taken,
) -> Finding {
    let why = some(&j.why, 3);
    let mut f = j.group.finding(
        "persistence.mailbox_delegation",
        sev,
        vec!["T1098.002"],
        format!("Mailbox access given to another account by {actor} ({why})"),
        format!("{} permission(s): {}", j.group.count, some(&j.grants, 4)),
        vec!["clean.review_mailbox_permissions", "notify.assess_data"],
        files,
    );
    mail_actions::tag_actor(&mut f, shared, taken, actor, j.attacker, &j.firsts);
    let victim = if sev >= Severity::Medium {
        EntityRole::VictimAccount
    } else {
        EntityRole::Observed
    };
    for m in j.mailboxes.iter().filter(|m| *m != "?") {
        f.entities.tag(EntityKind::User, m, victim);
    }
    // `Default` and `Anonymous` are everyone, not an account.
    let account = |g: &&String| {
        !matches!(
            g.to_ascii_lowercase().as_str(),
            "?" | "default" | "anonymous"
        )
    };
    for g in j.grantees.iter().filter(account) {
        if shared.tenant.known() && shared.tenant.outside(g) {
            f.entities
                .tag(EntityKind::Recipient, g, EntityRole::OutsideRecipient);
        } else if f.entities.role(EntityKind::User, g).is_none() {
            let role = if taken.account(g, i64::MAX) {
                EntityRole::VictimAccount
            } else {
                EntityRole::Observed
            };
            f.entities.tag(EntityKind::User, g, role);
        }
    }
    f
}

#[cfg(test)]
mod tests;
