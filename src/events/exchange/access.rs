//! The one classifier of what an Exchange / Microsoft 365 command did to mail, whichever log
//! recorded it: the unified audit log (an Exchange admin record's `Parameters`, a Security &
//! Compliance record's parameter text, an eDiscovery record mapped to its cmdlet by
//! [`super::ual_mail`]), the ECP server log (`S:CMD=`), the MSExchange Management event log
//! and PowerShell's logs (4103, 4104, 800). Every reader gives a cmdlet name and its
//! parameters (name → value, as [`super::cmdline::params`] reads them); [`classify`] turns them
//! into the same event kind and structured detail, so `Add-MailboxPermission` is one
//! `permission_grant` whether Exchange Online or an on-premises server logged it.
//!
//! | cmdlet | kind | detail |
//! |---|---|---|
//! | `Add-`/`Remove-MailboxPermission`, `Add-`/`Remove-RecipientPermission`, `Add-`/`Set-`/`Remove-MailboxFolderPermission`, `Add-`/`Remove-ADPermission` (`Send-As`, `Receive-As`), `Set-Mailbox -GrantSendOnBehalfTo` | `permission_grant` | `grantee`, `rights`, `folders`; status `created` / `changed` / `removed` (`denied` for `-Deny`) |
//! | `Set-Mailbox -AuditEnabled`/`-AuditOwner`/`-AuditDelegate`/`-AuditAdmin`/`-AuditLogAgeLimit`, `Set-MailboxAuditBypassAssociation`, `Set-AdminAuditLogConfig`, `Set-OrganizationConfig -AuditDisabled` | `audit_setting` | `action` `off` / `bypass` / `reduced` / `changed` / `on`, `settings` |
//! | `Set-CASMailbox` (protocol switches, EWS lists) | `access_setting` | `action` `on` / `off` / `changed`, `settings` (`imap` → `on` …) |
//! | `New-`/`Set-`/`Start-ComplianceSearch`, `New-`/`Start-MailboxSearch`, `Search-Mailbox`, `New-ComplianceSearchAction -Preview`, `New-CaseHoldPolicy`, `New-CaseHoldRule` | `mailbox_search` | `action` `create` / `change` / `start` / `preview` / `hold`, `name`, `search`, `locations`, `case` |
//! | `New-MailboxExportRequest`, `New-ComplianceSearchAction -Export`, `Search-Mailbox -TargetMailbox` | `mailbox_export` | `action` `request` / `export` / `copy`, `path`, `name`, `search`, `folders` |
//! | `New-ComplianceSearchAction -Purge`, `Search-Mailbox -DeleteContent` | `mailbox_change` | `action` `purge`, `name`, `search` |
//!
//! A command the table does not name keeps its reader's kind (`admin_command`,
//! `audit_operation`); `New-Mailbox` / `New-MailUser` / `New-RemoteMailbox` only gain
//! `created`. To classify another cmdlet: an arm in [`classify`] and its row here and in
//! `docs/events.md`.

use std::collections::BTreeMap;

use super::detail::Detail;
use super::values::{is_null, truth};
use super::Rec;
use crate::events::record::Kind;
use crate::sanitize::capped;

/// Most values kept of one multi-valued parameter.
const MAX_VALUES: usize = 32;
/// Longest value kept (bytes).
const VALUE_CAP: usize = 1024;

/// A command's parameters, looked up without regard to case.
#[derive(Clone, Copy)]
pub struct Params<'a>(pub &'a BTreeMap<String, String>);

impl Params<'_> {
    /// A parameter's value, trimmed, unless it says nothing (`$null`, empty).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.raw(name).filter(|v| !is_null(v))
    }

    /// A parameter's value as written (`$null` included), trimmed.
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }

    /// A switch or boolean parameter.
    pub fn flag(&self, name: &str) -> Option<bool> {
        self.raw(name).and_then(truth)
    }

    /// The first of several names that is set.
    fn any(&self, names: &[&str]) -> Option<String> {
        names
            .iter()
            .find_map(|n| self.get(n))
            .map(|v| capped(v, VALUE_CAP).into_owned())
    }

    /// A multi-valued parameter as a plain list.
    fn list(&self, name: &str) -> Vec<String> {
        self.get(name).map(list).unwrap_or_default()
    }
}

/// What one command is.
#[derive(Debug, Clone)]
pub struct Class {
    /// The event kind.
    pub kind: Kind,
    /// `created`, `changed`, `removed`, `denied` (grants), else None.
    pub status: Option<&'static str>,
    /// The mailbox it concerns.
    pub mailbox: Option<String>,
    /// The fields it sets.
    pub detail: Detail,
}

impl Class {
    fn new(kind: Kind, status: Option<&'static str>, mailbox: Option<String>) -> Class {
        Class {
            kind,
            status,
            mailbox: mailbox.clone(),
            detail: Detail {
                mailbox,
                ..Detail::default()
            },
        }
    }
}

/// A value without the quotes around it.
fn unquote(v: &str) -> &str {
    v.trim().trim_matches(|c| matches!(c, '"' | '\'' | '`'))
}

/// A multi-valued parameter's values: `a,b`, `"a","b"`, `{a, b}`, `a;b`.
pub fn list(v: &str) -> Vec<String> {
    let v = v.trim();
    let v = v
        .strip_prefix('{')
        .and_then(|x| x.strip_suffix('}'))
        .or_else(|| v.strip_prefix('(').and_then(|x| x.strip_suffix(')')))
        .unwrap_or(v);
    v.split([',', ';'])
        .map(|x| unquote(x).trim())
        .filter(|x| !x.is_empty() && !is_null(x))
        .take(MAX_VALUES)
        .map(|x| capped(x, VALUE_CAP).into_owned())
        .collect()
}

/// A multi-valued parameter's change: `@{Add="a","b"; Remove="c"}` gives the values added and
/// removed; a plain value replaces the list (`Some`, empty for `$null`).
pub fn change(v: &str) -> (Vec<String>, Vec<String>, Option<Vec<String>>) {
    let t = v.trim();
    let Some(inner) = t.strip_prefix("@{").and_then(|x| x.strip_suffix('}')) else {
        return (Vec::new(), Vec::new(), Some(list(t)));
    };
    let (mut add, mut remove) = (Vec::new(), Vec::new());
    for part in inner.split(';') {
        let Some((k, vals)) = part.split_once('=') else {
            continue;
        };
        match k.trim().to_ascii_lowercase().as_str() {
            "add" => add.extend(list(vals)),
            "remove" => remove.extend(list(vals)),
            _ => {}
        }
    }
    (add, remove, None)
}

/// `add-…` → created, `set-…` → changed, `remove-…` → removed.
fn verb_status(op: &str) -> &'static str {
    match op.split('-').next() {
        Some("add" | "new" | "enable") => "created",
        Some("remove" | "disable") => "removed",
        _ => "changed",
    }
}

/// What command `op` with parameters `p` did, one class per thing it did (a `Set-Mailbox` can
/// switch auditing off and give send-on-behalf in one go); empty when it is none of these.
pub fn classify(op: &str, p: Params) -> Vec<Class> {
    let lower = op.trim().to_ascii_lowercase();
    match lower.as_str() {
        "add-mailboxpermission" | "remove-mailboxpermission" => grant(&lower, p, &["User"]),
        "add-recipientpermission" | "remove-recipientpermission" => {
            grant(&lower, p, &["Trustee", "User"])
        }
        "add-mailboxfolderpermission"
        | "set-mailboxfolderpermission"
        | "remove-mailboxfolderpermission" => folder_grant(&lower, p),
        "add-adpermission" | "remove-adpermission" => ad_grant(&lower, p),
        "set-mailbox" => set_mailbox(p),
        "set-mailboxauditbypassassociation" => bypass(p),
        "set-adminauditlogconfig" => admin_audit(p),
        "set-organizationconfig" => org_audit(p),
        "set-casmailbox" => cas(p),
        "new-compliancesearch"
        | "set-compliancesearch"
        | "start-compliancesearch"
        | "new-mailboxsearch"
        | "start-mailboxsearch" => search(&lower, p),
        "new-caseholdpolicy" | "new-caseholdrule" => hold(&lower, p),
        "search-mailbox" => search_mailbox(p),
        "new-compliancesearchaction" => search_action(p),
        "new-mailboxexportrequest" => export_request(p),
        _ => Vec::new(),
    }
}

/// The account a command created, if it creates one.
pub fn created_account(op: &str, p: Params) -> Option<String> {
    match op.trim().to_ascii_lowercase().as_str() {
        "new-mailbox" | "new-mailuser" | "new-remotemailbox" => p.any(&[
            "UserPrincipalName",
            "MicrosoftOnlineServicesID",
            "PrimarySmtpAddress",
            "Name",
            super::cmdline::POSITIONAL,
        ]),
        _ => None,
    }
}

/// The mailbox a command names (`Identity`, or the first positional argument).
fn identity(p: Params) -> Option<String> {
    p.any(&["Identity", super::cmdline::POSITIONAL])
}

/// `Add-`/`Remove-MailboxPermission`, `…-RecipientPermission`.
fn grant(op: &str, p: Params, grantee: &[&str]) -> Vec<Class> {
    let status = if p.flag("Deny") == Some(true) {
        "denied"
    } else {
        verb_status(op)
    };
    let mut c = Class::new(Kind::PermissionGrant, Some(status), identity(p));
    c.detail.grantee = p.any(grantee);
    c.detail.rights = p.list("AccessRights");
    // `-Owner` alone changes the object's owner: nobody is given access to the mail.
    if c.detail.grantee.is_none() && c.detail.rights.is_empty() {
        return Vec::new();
    }
    vec![c]
}

/// `…-MailboxFolderPermission`: the identity is `mailbox:\Folder`.
fn folder_grant(op: &str, p: Params) -> Vec<Class> {
    let id = identity(p).unwrap_or_default();
    let (mailbox, folder) = match id.split_once(":\\") {
        Some((m, f)) => (m.to_string(), Some(format!("\\{f}"))),
        None => (id, None),
    };
    let mut c = Class::new(
        Kind::PermissionGrant,
        Some(verb_status(op)),
        (!mailbox.is_empty()).then_some(mailbox),
    );
    c.detail.grantee = p.any(&["User"]);
    c.detail.rights = p.list("AccessRights");
    c.detail.folders = folder.into_iter().collect();
    vec![c]
}

/// `Add-ADPermission -ExtendedRights Send-As` (or `Receive-As`: read every message).
fn ad_grant(op: &str, p: Params) -> Vec<Class> {
    let rights: Vec<String> = p
        .list("ExtendedRights")
        .into_iter()
        .filter_map(
            |r| match r.to_ascii_lowercase().replace(['-', ' '], "").as_str() {
                "sendas" => Some("SendAs".to_string()),
                "receiveas" => Some("ReceiveAs".to_string()),
                _ => None,
            },
        )
        .collect();
    if rights.is_empty() {
        return Vec::new();
    }
    let mut c = Class::new(
        Kind::PermissionGrant,
        Some(if p.flag("Deny") == Some(true) {
            "denied"
        } else {
            verb_status(op)
        }),
        identity(p),
    );
    c.detail.grantee = p.any(&["User"]);
    c.detail.rights = rights;
    vec![c]
}

/// `Set-Mailbox`: send-on-behalf grants and audit settings (forwarding is read by the
/// readers themselves: `mailbox_forwarding`).
fn set_mailbox(p: Params) -> Vec<Class> {
    let mut out = Vec::new();
    if let Some(v) = p.raw("GrantSendOnBehalfTo") {
        let (add, remove, set) = change(v);
        let mut one = |who: Option<String>, status: &'static str| {
            let mut c = Class::new(Kind::PermissionGrant, Some(status), identity(p));
            c.detail.grantee = who;
            c.detail.rights = vec!["SendOnBehalf".into()];
            out.push(c);
        };
        match set {
            Some(list) if list.is_empty() => one(None, "removed"),
            Some(list) => list.into_iter().for_each(|g| one(Some(g), "created")),
            None => {
                add.into_iter().for_each(|g| one(Some(g), "created"));
                remove.into_iter().for_each(|g| one(Some(g), "removed"));
            }
        }
    }
    let mut audit = Audit::default();
    if let Some(on) = p.flag("AuditEnabled") {
        audit.set("AuditEnabled", on_off(on), if on { "on" } else { "off" });
    }
    for name in ["AuditOwner", "AuditDelegate", "AuditAdmin"] {
        let Some(v) = p.raw(name) else { continue };
        let (add, remove, set) = change(v);
        let what = match &set {
            Some(l) if l.is_empty() || l.iter().any(|x| x.eq_ignore_ascii_case("none")) => {
                "reduced"
            }
            Some(_) => "changed",
            None if !remove.is_empty() => "reduced",
            None if !add.is_empty() => "on",
            None => "changed",
        };
        audit.set(name, capped(v, VALUE_CAP).into_owned(), what);
    }
    if let Some(v) = p.get("AuditLogAgeLimit") {
        audit.set("AuditLogAgeLimit", v.to_string(), age_limit(v));
    }
    if p.get("DefaultAuditSet").is_some() {
        audit.set(
            "DefaultAuditSet",
            p.any(&["DefaultAuditSet"]).unwrap_or_default(),
            "on",
        );
    }
    out.extend(audit.class(identity(p)));
    out
}

/// `on` / `off` of a switch.
fn on_off(on: bool) -> String {
    if on { "on" } else { "off" }.to_string()
}

/// An audit retention limit under a week is a reduction (`d.hh:mm:ss`, or a number of days).
fn age_limit(v: &str) -> &'static str {
    let days = unquote(v)
        .split(['.', ':'])
        .next()
        .and_then(|d| d.trim().parse::<u64>().ok());
    match days {
        Some(d) if d < 7 => "reduced",
        _ => "changed",
    }
}

/// The audit settings of one command and how much they cut.
#[derive(Default)]
struct Audit {
    settings: BTreeMap<String, String>,
    /// The gravest of what was set.
    action: Option<&'static str>,
}

impl Audit {
    fn set(&mut self, name: &str, value: String, what: &'static str) {
        const ORDER: [&str; 5] = ["on", "changed", "reduced", "bypass", "off"];
        let rank = |a: &str| ORDER.iter().position(|x| *x == a).unwrap_or(0);
        self.settings.insert(name.to_string(), value);
        if self.action.is_none_or(|a| rank(what) > rank(a)) {
            self.action = Some(what);
        }
    }

    fn class(self, mailbox: Option<String>) -> Option<Class> {
        let action = self.action?;
        let mut c = Class::new(Kind::AuditSetting, Some("changed"), mailbox);
        c.detail.action = Some(action.into());
        c.detail.settings = self.settings;
        Some(c)
    }
}

/// `Set-MailboxAuditBypassAssociation -AuditBypassEnabled`.
fn bypass(p: Params) -> Vec<Class> {
    let mut a = Audit::default();
    if let Some(on) = p.flag("AuditBypassEnabled") {
        a.set(
            "AuditBypassEnabled",
            on_off(on),
            if on { "bypass" } else { "on" },
        );
    }
    a.class(identity(p)).into_iter().collect()
}

/// `Set-AdminAuditLogConfig`: unified audit log ingestion, the admin audit log, its
/// exclusions and retention.
fn admin_audit(p: Params) -> Vec<Class> {
    let mut a = Audit::default();
    for name in ["UnifiedAuditLogIngestionEnabled", "AdminAuditLogEnabled"] {
        if let Some(on) = p.flag(name) {
            a.set(name, on_off(on), if on { "on" } else { "off" });
        }
    }
    if let Some(v) = p.get("AdminAuditLogExcludedCmdlets") {
        // Leaving the read-only `Get-` cmdlets out (Microsoft's own example) hides no change.
        let hides = list(v)
            .iter()
            .any(|c| !c.to_ascii_lowercase().starts_with("get-"));
        a.set(
            "AdminAuditLogExcludedCmdlets",
            capped(v, VALUE_CAP).into_owned(),
            if hides { "reduced" } else { "changed" },
        );
    }
    if let Some(v) = p.get("AdminAuditLogAgeLimit") {
        a.set("AdminAuditLogAgeLimit", v.to_string(), age_limit(v));
    }
    a.class(None).into_iter().collect()
}

/// `Set-OrganizationConfig -AuditDisabled`: mailbox auditing for the whole organisation.
fn org_audit(p: Params) -> Vec<Class> {
    let mut a = Audit::default();
    if let Some(disabled) = p.flag("AuditDisabled") {
        a.set(
            "AuditDisabled",
            disabled.to_string(),
            if disabled { "off" } else { "on" },
        );
    }
    a.class(None).into_iter().collect()
}

/// `Set-CASMailbox` switches: parameter, normalised name, whether `true` means off.
const CAS_SWITCHES: &[(&str, &str, bool)] = &[
    ("ImapEnabled", "imap", false),
    ("PopEnabled", "pop", false),
    ("EwsEnabled", "ews", false),
    ("ActiveSyncEnabled", "activesync", false),
    ("MAPIEnabled", "mapi", false),
    ("OWAEnabled", "owa", false),
    ("SmtpClientAuthenticationDisabled", "smtp_auth", true),
    ("EwsAllowOutlook", "ews_outlook", false),
    ("EwsAllowMacOutlook", "ews_mac_outlook", false),
    ("OutlookMobileEnabled", "outlook_mobile", false),
    ("UniversalOutlookEnabled", "universal_outlook", false),
    ("MacOutlookEnabled", "mac_outlook", false),
    ("OneWinNativeOutlookEnabled", "new_outlook", false),
];

/// `Set-CASMailbox` lists: parameter, normalised name.
const CAS_LISTS: &[(&str, &str)] = &[
    ("EwsAllowList", "ews_allow_list"),
    ("EwsBlockList", "ews_block_list"),
    ("EwsApplicationAccessPolicy", "ews_access_policy"),
    ("ActiveSyncAllowedDeviceIDs", "activesync_allowed_devices"),
];

/// The protocols that pull mail out of a mailbox with a password or a token.
pub const MAIL_PROTOCOLS: &[&str] = &["imap", "pop", "ews", "activesync", "mapi", "smtp_auth"];

/// `Set-CASMailbox`: which protocols were switched to what.
fn cas(p: Params) -> Vec<Class> {
    let mut settings = BTreeMap::new();
    for (param, name, inverted) in CAS_SWITCHES {
        match p.raw(param) {
            Some(v) if is_null(v) => {
                settings.insert(name.to_string(), "default".to_string());
            }
            Some(v) => {
                if let Some(b) = truth(v) {
                    settings.insert(name.to_string(), on_off(b != *inverted));
                }
            }
            None => {}
        }
    }
    for (param, name) in CAS_LISTS {
        if let Some(v) = p.raw(param) {
            settings.insert(name.to_string(), capped(v, VALUE_CAP).into_owned());
        }
    }
    if settings.is_empty() {
        return Vec::new();
    }
    let switched = |to: &str| {
        MAIL_PROTOCOLS
            .iter()
            .any(|m| settings.get(*m).is_some_and(|v| v == to))
    };
    let action = if switched("on") {
        "on"
    } else if switched("off") {
        "off"
    } else {
        "changed"
    };
    let mut c = Class::new(Kind::AccessSetting, Some("changed"), identity(p));
    c.detail.action = Some(action.into());
    c.detail.settings = settings;
    vec![c]
}

/// Content searches and In-Place eDiscovery searches.
fn search(op: &str, p: Params) -> Vec<Class> {
    let (action, name, query, locations) = match op {
        "new-compliancesearch" => ("create", "Name", "ContentMatchQuery", "ExchangeLocation"),
        "set-compliancesearch" => (
            "change",
            "Identity",
            "ContentMatchQuery",
            "AddExchangeLocation",
        ),
        "start-compliancesearch" | "start-mailboxsearch" => ("start", "Identity", "", ""),
        _ if p.flag("InPlaceHoldEnabled") == Some(true) => {
            ("hold", "Name", "SearchQuery", "SourceMailboxes")
        }
        _ => ("create", "Name", "SearchQuery", "SourceMailboxes"),
    };
    let mut c = Class::new(Kind::MailboxSearch, None, None);
    c.detail.action = Some(action.into());
    c.detail.name = p.any(&[name, super::cmdline::POSITIONAL]);
    c.detail.search = p.any(&[query]);
    c.detail.locations = p.list(locations);
    if c.detail.locations.is_empty() && op == "set-compliancesearch" {
        c.detail.locations = p.list("ExchangeLocation");
    }
    c.detail.case = p.any(&["Case"]);
    vec![c]
}

/// Case holds: the mailboxes and the query preserved for a case.
fn hold(op: &str, p: Params) -> Vec<Class> {
    let mut c = Class::new(Kind::MailboxSearch, None, None);
    c.detail.action = Some("hold".into());
    if op == "new-caseholdpolicy" {
        c.detail.name = p.any(&["Name", super::cmdline::POSITIONAL]);
    } else {
        c.detail.name = p.any(&["Policy"]);
        c.detail.search = p.any(&["ContentMatchQuery"]);
    }
    // The audit log's hold records name the held mailboxes beside the query.
    c.detail.locations = p.list("ExchangeLocation");
    c.detail.case = p.any(&["Case"]);
    vec![c]
}

/// `Search-Mailbox`: a purge with `-DeleteContent`, a copy into another mailbox with
/// `-TargetMailbox`, else a search.
fn search_mailbox(p: Params) -> Vec<Class> {
    let mailbox = identity(p);
    let query = p.any(&["SearchQuery"]);
    let mut c = if p.flag("DeleteContent") == Some(true) {
        let mut c = Class::new(Kind::MailboxChange, None, mailbox.clone());
        c.detail.action = Some("purge".into());
        c
    } else if let Some(target) = p.any(&["TargetMailbox"]) {
        let mut c = Class::new(Kind::MailboxExport, None, mailbox.clone());
        c.detail.action = Some("copy".into());
        c.detail.path = Some(match p.any(&["TargetFolder"]) {
            Some(f) => format!("{target}\\{f}"),
            None => target,
        });
        c
    } else {
        let mut c = Class::new(Kind::MailboxSearch, None, mailbox.clone());
        c.detail.action = Some("create".into());
        c
    };
    c.detail.search = query;
    c.detail.locations = mailbox.into_iter().collect();
    vec![c]
}

/// `New-ComplianceSearchAction`: export, purge or preview a search's results.
fn search_action(p: Params) -> Vec<Class> {
    let name = p.any(&["SearchName", super::cmdline::POSITIONAL]);
    let (kind, action) = if p.flag("Export") == Some(true) {
        (Kind::MailboxExport, "export")
    } else if p.flag("Purge") == Some(true) {
        (Kind::MailboxChange, "purge")
    } else if p.flag("Preview") == Some(true) {
        (Kind::MailboxSearch, "preview")
    } else {
        return Vec::new();
    };
    let mut c = Class::new(kind, None, None);
    c.detail.action = Some(action.into());
    c.detail.name = name;
    c.detail.note = p.any(&["PurgeType", "Format", "ExchangeArchiveFormat"]);
    vec![c]
}

/// `New-MailboxExportRequest`: a mailbox (or its matching part) written to a `.pst`.
fn export_request(p: Params) -> Vec<Class> {
    let mut c = Class::new(
        Kind::MailboxExport,
        None,
        p.any(&["Mailbox", super::cmdline::POSITIONAL]),
    );
    c.detail.action = Some("request".into());
    c.detail.path = p.any(&["FilePath"]);
    c.detail.name = p.any(&["Name"]);
    c.detail.search = p.any(&["ContentFilter"]);
    c.detail.folders = p.list("IncludeFolders");
    vec![c]
}

/// The fields a class sets, copied into a reader's detail.
fn merge(into: &mut Detail, from: Detail) {
    macro_rules! some {
        ($($f:ident),*) => { $( if from.$f.is_some() { into.$f = from.$f; } )* };
    }
    macro_rules! many {
        ($($f:ident),*) => { $( if !from.$f.is_empty() { into.$f = from.$f; } )* };
    }
    some!(action, mailbox, name, path, search, case, grantee, note);
    many!(locations, rights, folders, settings);
}

/// A reader's `admin_command` / `audit_operation` record (cmdlet in `detail.op`, parameters in
/// `detail.params`) as the classes of what it did: one record per class, with the reader's
/// time, actor, address and command; the reader's `failure` outcome is kept in `status`
/// (an attempt), else the class's. A command of no class is kept as it is.
pub fn retype(mut r: Rec) -> Vec<Rec> {
    let Some(op) = r.detail.op.clone() else {
        return vec![r];
    };
    let params = std::mem::take(&mut r.detail.params);
    let p = Params(&params);
    let classes = classify(&op, p);
    if classes.is_empty() {
        r.detail.created = created_account(&op, p);
        r.detail.params = params;
        return vec![r];
    }
    r.detail.params = params;
    classes.into_iter().map(|c| apply(&r, c)).collect()
}

/// Record `r` as class `c`: its kind, status (a `failure` of the reader's is kept: an attempt)
/// and mailbox, and the fields the class sets.
pub fn apply(r: &Rec, c: Class) -> Rec {
    let mut out = r.clone();
    out.kind = c.kind;
    out.status = match r.status.as_deref() {
        Some("failure") => Some("failure".into()),
        s => c
            .status
            .map(str::to_string)
            .or_else(|| s.map(str::to_string)),
    };
    if let Some(m) = &c.mailbox {
        out.mailbox = Some(m.clone());
    }
    merge(&mut out.detail, c.detail);
    out
}

/// [`retype`] over several records.
pub fn retype_all(recs: Vec<Rec>) -> Vec<Rec> {
    recs.into_iter().flat_map(retype).collect()
}

#[cfg(test)]
mod tests;
