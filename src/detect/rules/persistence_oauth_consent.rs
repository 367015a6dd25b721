//! `persistence.oauth_consent` — an application granted access to mail: a user's or an
//! administrator's consent (`Consent to application.`), a delegated permission grant, an
//! application permission (an app role assigned to a service principal), or credentials added
//! to an application, from any reader of `app_consent` events (the unified audit log's
//! directory records).
//!
//! **Why**: a consented application reads mail with its own token, which a password reset does
//! not revoke; an application permission reads every mailbox of the tenant without a user, and
//! a secret added to an application hands that power to whoever holds the secret (the
//! Nobelium / Midnight Blizzard pattern). **How**, one finding per application:
//! - risky scopes ([`MAIL_SCOPES`]: `Mail.Read`, `Mail.ReadWrite`, `Mail.Send`,
//!   `MailboxSettings.ReadWrite`, `full_access_as_app`, `EWS.AccessAsUser.All`,
//!   `IMAP.AccessAsUser.All` …; [`OTHER_SCOPES`]: `Files.Read.All`, `Sites.Read.All`,
//!   `Directory.ReadWrite.All` …; `offline_access` only beside a mail scope, which it keeps
//!   alive): granted as an application permission — **critical**; by an administrator for the
//!   whole organisation — **high**; by a user for themself — **medium**;
//! - credentials added to an application — **medium**, **high** when the same application was
//!   granted risky scopes in the evidence;
//! - anything by an account taken over (from its takeover on) or from the attacker's address —
//!   at least **high** (a consent without risky scopes included);
//! - a user's consent to sign-in scopes (`User.Read`, `openid`, `profile`) — nothing.
//!
//! Removals and failed grants are not reported. The finding names the application, its id, the
//! scopes (the risky ones first), who consented and for whom. **ATT&CK**: T1528 (Steal
//! Application Access Token), T1098.003 (Additional Cloud Roles: an app role assigned).
//! **Phase**: persistence. **False positives**: a mail archiving, backup or CRM product an
//! administrator approved — its publisher and the change record tell.

use std::collections::{BTreeMap, BTreeSet};

use super::cloud::{detail_of, some, Group};
use super::mail_actions::{self, Taken};
use super::{Files, Rule, Shared, Thresholds};
use crate::detect::fact::Fact;
use crate::detect::finding::{Finding, Severity};
use crate::events::detail::Detail;
use crate::events::record::Kind;

/// Scopes that read, send or keep mail (case-insensitive).
pub const MAIL_SCOPES: &[&str] = &[
    "Mail.Read",
    "Mail.ReadWrite",
    "Mail.Send",
    "Mail.Read.Shared",
    "Mail.ReadWrite.Shared",
    "Mail.Send.Shared",
    "MailboxSettings.ReadWrite",
    "full_access_as_app",
    "full_access_as_user",
    "EWS.AccessAsUser.All",
    "EWS.full_access_as_app",
    "IMAP.AccessAsUser.All",
    "POP.AccessAsUser.All",
    "SMTP.Send",
    "Exchange.ManageAsApp",
];

/// Other scopes that read an organisation's data or take over its directory.
pub const OTHER_SCOPES: &[&str] = &[
    "Files.Read.All",
    "Files.ReadWrite.All",
    "Sites.Read.All",
    "Sites.ReadWrite.All",
    "Sites.FullControl.All",
    "Notes.Read.All",
    "Directory.ReadWrite.All",
    "RoleManagement.ReadWrite.Directory",
    "Application.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
    "User.ReadWrite.All",
];

/// The risky scopes among `scopes`, mail first; `offline_access` only beside a mail scope.
pub fn risky(scopes: &[String]) -> Vec<String> {
    let has = |list: &[&str], s: &str| list.iter().any(|x| x.eq_ignore_ascii_case(s));
    let mail: Vec<String> = scopes
        .iter()
        .filter(|s| has(MAIL_SCOPES, s))
        .cloned()
        .collect();
    let mut out = mail.clone();
    out.extend(scopes.iter().filter(|s| has(OTHER_SCOPES, s)).cloned());
    if !mail.is_empty() {
        out.extend(
            scopes
                .iter()
                .filter(|s| s.eq_ignore_ascii_case("offline_access"))
                .cloned(),
        );
    }
    out
}

/// Everything one application was given.
#[derive(Default)]
struct App {
    name: Option<String>,
    ids: BTreeSet<String>,
    group: Group,
    firsts: BTreeMap<String, i64>,
    actors: BTreeSet<String>,
    scopes: BTreeSet<String>,
    risky: BTreeSet<String>,
    what: BTreeSet<&'static str>,
    severity: Option<Severity>,
    attacker: bool,
}

/// The rule.
#[derive(Default)]
pub struct OauthConsent {
    grants: Vec<(Fact, Detail)>,
}

impl OauthConsent {
    /// A new rule.
    pub fn new(_t: &Thresholds) -> Self {
        OauthConsent::default()
    }
}

/// A grant's severity (before the application's other grants are known) and its words.
fn judge(d: &Detail, by_attacker: bool) -> Option<(Severity, &'static str)> {
    let risky = !risky(&d.scopes).is_empty();
    let action = d.action.as_deref().unwrap_or("");
    let (sev, what) = match action {
        "credential" => (Some(Severity::Medium), "credentials added"),
        _ if risky && (d.app_only == Some(true) || action == "role") => {
            (Some(Severity::Critical), "application permission")
        }
        _ if risky && d.admin_consent == Some(true) => {
            (Some(Severity::High), "admin consent for the organisation")
        }
        _ if risky => (Some(Severity::Medium), "a user's consent"),
        "role" => (None, "application permission"),
        _ if d.admin_consent == Some(true) => (None, "admin consent for the organisation"),
        _ => (None, "a user's consent"),
    };
    match (sev, by_attacker) {
        (Some(s), true) => Some((s.max(Severity::High), what)),
        (Some(s), false) => Some((s, what)),
        (None, true) => Some((Severity::High, what)),
        (None, false) => None,
    }
}

impl Rule for OauthConsent {
    fn kinds(&self) -> super::Kinds {
        super::Kinds::of(&[Kind::AppConsent])
    }

    fn observe(&mut self, f: &Fact) {
        let Some(d) = detail_of(f, Kind::AppConsent) else {
            return;
        };
        if f.status() == Some("created") && !d.by_service {
            self.grants.push((f.clone(), d));
        }
    }

    fn finish(&mut self, files: &Files, shared: &Shared) -> Vec<Finding> {
        self.finish_with(files, shared, &[])
    }

    fn finish_with(&mut self, files: &Files, shared: &Shared, earlier: &[Finding]) -> Vec<Finding> {
        let taken = Taken::of(earlier);
        let grants = std::mem::take(&mut self.grants);
        // One application's records name it by its object id or by its app id: grouped by
        // display name when there is one.
        let key = |d: &Detail| {
            d.app
                .as_deref()
                .or(d.app_id.as_deref())
                .unwrap_or("unknown")
                .to_lowercase()
        };
        let mut apps: BTreeMap<String, App> = BTreeMap::new();
        for (f, d) in &grants {
            let attacker = taken.acted(f.actor(), f.src_ip(), f.ts_us);
            let a = apps.entry(key(d)).or_default();
            a.risky.extend(risky(&d.scopes));
            let Some((sev, what)) = judge(d, attacker) else {
                continue;
            };
            a.name = a.name.take().or_else(|| d.app.clone());
            a.ids.extend(d.app_id.iter().cloned());
            mail_actions::add(&mut a.group, &mut a.firsts, f);
            a.actors.insert(f.actor().unwrap_or("unknown").to_string());
            a.scopes.extend(d.scopes.iter().take(32).cloned());
            a.what.insert(what);
            a.attacker |= attacker;
            a.severity = a.severity.max(Some(sev));
        }
        apps.into_values()
            .filter_map(|mut a| {
                let mut sev = a.severity?;
                // A secret added to an application that holds risky scopes.
                if a.what.contains("credentials added") && !a.risky.is_empty() {
                    sev = sev.max(Severity::High);
                }
                a.severity = Some(sev);
                Some(finding(a, files, shared, &taken))
            })
            .collect()
    }
}

/// The finding of one application.
fn finding(a: App, files: &Files, shared: &Shared, taken: &Taken) -> Finding {
    let sev = a.severity.unwrap_or(Severity::Medium);
    let name = a
        .name
        .clone()
        .or_else(|| a.ids.iter().next().cloned())
        .unwrap_or_else(|| "an application".into());
    let scopes: Vec<&String> = a
        .risky
        .iter()
        .chain(a.scopes.iter().filter(|s| !a.risky.contains(*s)))
        .collect();
    let risky = if a.risky.is_empty() {
        String::new()
    } else {
        format!(": {}", some(&a.risky, 6))
    };
    let mut f = a.group.finding(
        "persistence.oauth_consent",
        sev,
        vec!["T1528", "T1098.003"],
        format!("Application {name:?} granted access{risky}"),
        format!(
            "{} grant(s) to {name} ({}; id {}) by {}: scopes {}",
            a.group.count,
            some(&a.what, 4),
            some(&a.ids, 2),
            some(&a.actors, 3),
            some(scopes, 10),
        ),
        vec!["clean.revoke_app_consent", "notify.assess_data"],
        files,
    );
    for actor in &a.actors {
        let by = taken.account(actor, i64::MAX) || (a.attacker && a.actors.len() == 1);
        mail_actions::tag_actor(&mut f, shared, taken, actor, by, &a.firsts);
    }
    f
}

#[cfg(test)]
mod tests;
