//! The unified audit log's records of what was done to mail that are not Exchange cmdlets:
//! mailbox auditing, eDiscovery activities and the directory's application consents
//! (record shapes: the Office 365 Management Activity API schema, `docs/events.md`).
//!
//! | operation | kind | detail |
//! |---|---|---|
//! | `MailItemsAccessed` | `mailbox_access` | `action` `bind`/`sync` (`OperationProperties` `MailAccessType`), `throttled` (`IsThrottled`), `folders` (`Folders[].Path`), `messages` (bind: the `Folders[].FolderItems` named, else the aggregate `OperationCount`; sync: none, the whole folder), `operations` (`OperationCount`), `bytes` (`FolderItems[].SizeInBytes`), `session`, `client`, `app_id`, `logon` |
//! | `HardDelete`, `SoftDelete`, `MoveToDeletedItems` | `mailbox_change` | `action` `hard_delete`/`soft_delete`/`trash`, `messages` (`AffectedItems`), `folders` (`Folder.Path`, the items' `ParentFolder.Path`), `bytes` |
//! | `SearchQueryInitiatedExchange`, `…SharePoint` | `mailbox_search` | `action` `query`, `search` (`QueryText`), `client` (`QuerySource`), `note` (`ScenarioName`) |
//! | `AddFolderPermissions`, `ModifyFolderPermissions`, `RemoveFolderPermissions` | `permission_grant` | `grantee` (`MemberUpn`), `rights` (`MemberRights`), `folders` |
//! | `SearchCreated`, `SearchUpdated`, `SearchStarted`, `SearchPreviewed`, `SearchExported`, `SearchResultsPurged`, `HoldCreated`, `HoldUpdated` | as their cmdlets ([`super::access`]) | `name` (`ExtendedProperties` `SearchName`, else `ObjectId`), `search` (`Query`), `locations` (`ExchangeLocations`), `case` (`Case`), `messages` / `bytes` (`ExtendedProperties` `ItemCount` / `TotalSize`) |
//! | `SearchExportDownloaded` | `mailbox_export` | `action` `download`, `name`, `case`, `messages`, `bytes` |
//! | `Consent to application.`, `Add OAuth2PermissionGrant.`, `Add delegated permission grant.`, `Add app role assignment to service principal.`, `Add service principal credentials.`, `Update application – Certificates and secrets management ` (and their `Remove …`) | `app_consent` | `action` `consent`/`grant`/`role`/`credential`, `app`, `app_id`, `scopes`, `admin_consent`, `app_only` |
//!
//! To read another such operation: an arm in [`record`] and its row here and in the docs.

use super::json::Json;

use super::access::{self, Params};
use super::ual::{outcome, pairs, param, text};
use super::values::truth;
use super::Rec;
use crate::events::record::Kind;
use crate::sanitize::capped;

/// Most folders kept of one record.
const MAX_FOLDERS: usize = 32;
/// Longest text kept of a name, query or scope list (bytes).
const TEXT_CAP: usize = 1024;

/// The events of record `v` when it is one of these operations (`base` holds what every event
/// of the record shares).
pub fn record(v: &Json, base: &Rec) -> Option<Vec<Rec>> {
    let op = base.detail.op.as_deref()?;
    let lower = op.trim().trim_end_matches('.').to_ascii_lowercase();
    let recs = match lower.as_str() {
        "mailitemsaccessed" => vec![accessed(v, base)],
        "harddelete" | "softdelete" | "movetodeleteditems" => vec![deleted(v, base, &lower)],
        "searchqueryinitiatedexchange" | "searchqueryinitiatedsharepoint" => {
            vec![query(v, base, lower.ends_with("exchange"))]
        }
        "addfolderpermissions" | "modifyfolderpermissions" | "removefolderpermissions" => {
            vec![folder_permission(v, base, &lower)]
        }
        "searchcreated"
        | "searchupdated"
        | "searchstarted"
        | "searchpreviewed"
        | "searchexported"
        | "searchresultspurged"
        | "holdcreated"
        | "holdupdated" => ediscovery(v, base, &lower),
        "searchexportdownloaded" => vec![downloaded(v, base)],
        "consent to application"
        | "add oauth2permissiongrant"
        | "add delegated permission grant"
        | "remove delegated permission grant"
        | "add app role assignment to service principal"
        | "remove app role assignment from service principal"
        | "add service principal credentials"
        | "remove service principal credentials" => vec![consent(v, base, &lower)],
        o if o.starts_with("update application") && o.contains("certificates and secrets") => {
            vec![consent(v, base, "add service principal credentials")]
        }
        _ => return None,
    };
    Some(recs)
}

/// A copy of `base` of `kind`, its outcome in the readers' words.
fn of(base: &Rec, kind: Kind) -> Rec {
    let mut r = base.clone();
    r.kind = kind;
    r.status = outcome(base.status.as_deref());
    r
}

/// A number (JSON number or text).
fn number(v: &Json, name: &str) -> Option<u64> {
    text(v, name).and_then(|t| t.parse().ok())
}

/// The items of a JSON array under `name` (none when absent or not an array).
fn items<'v, 'a>(v: &'v Json<'a>, name: &str) -> &'v [Json<'a>] {
    v.key(name).and_then(Json::as_array).unwrap_or(&[])
}

/// `LogonType` in words.
fn logon(v: &Json) -> Option<String> {
    let t = text(v, "LogonType")?;
    Some(
        match t.as_str() {
            "0" => "owner",
            "1" => "admin",
            "2" => "delegate",
            "3" => "transport",
            "4" => "system",
            "5" => "best_access",
            "6" => "delegated_admin",
            other => return Some(capped(other, 64).into_owned()),
        }
        .to_string(),
    )
}

/// `MailItemsAccessed`: the folders and messages one aggregated record stands for.
fn accessed(v: &Json, base: &Rec) -> Rec {
    let mut r = of(base, Kind::MailboxAccess);
    let props = pairs(v, "OperationProperties");
    let d = &mut r.detail;
    d.action = param(&props, "MailAccessType").map(|a| a.to_ascii_lowercase());
    d.throttled = param(&props, "IsThrottled").and_then(truth);
    let (mut named, mut bytes) = (0u64, 0u64);
    for f in items(v, "Folders") {
        if let Some(p) = text(f, "Path").filter(|_| d.folders.len() < MAX_FOLDERS) {
            d.folders.push(capped(&p, TEXT_CAP).into_owned());
        }
        for item in items(f, "FolderItems") {
            named += 1;
            bytes += number(item, "SizeInBytes").unwrap_or(0);
        }
    }
    d.operations = number(v, "OperationCount");
    // Bind: the messages the record names, else the operations it aggregates. Sync: the
    // whole folder was taken; the record gives no count.
    if d.action.as_deref() == Some("bind") {
        d.messages = (named > 0).then_some(named).or(d.operations);
        d.bytes = (bytes > 0).then_some(bytes);
    }
    d.session = text(v, "SessionId");
    d.app_id = text(v, "ClientAppId").or_else(|| text(v, "AppId"));
    if d.client.is_none() {
        d.client = d.app_id.clone();
    }
    d.logon = logon(v);
    r
}

/// `HardDelete`, `SoftDelete`, `MoveToDeletedItems`: the items of one grouped record.
fn deleted(v: &Json, base: &Rec, op: &str) -> Rec {
    let mut r = of(base, Kind::MailboxChange);
    let d = &mut r.detail;
    d.action = Some(
        match op {
            "harddelete" => "hard_delete",
            "softdelete" => "soft_delete",
            _ => "trash",
        }
        .into(),
    );
    let mut folders: Vec<String> = v
        .key("Folder")
        .and_then(|f| text(f, "Path"))
        .into_iter()
        .collect();
    let affected = items(v, "AffectedItems");
    let mut bytes = 0u64;
    for item in affected {
        bytes += number(item, "SizeInBytes").unwrap_or(0);
        if let Some(p) = item.key("ParentFolder").and_then(|f| text(f, "Path")) {
            if !folders.contains(&p) && folders.len() < MAX_FOLDERS {
                folders.push(p);
            }
        }
    }
    d.folders = folders
        .into_iter()
        .map(|f| capped(&f, TEXT_CAP).into_owned())
        .collect();
    d.messages = v
        .key("AffectedItems")
        .and_then(Json::as_array)
        .map(|a| a.len() as u64);
    d.bytes = (bytes > 0).then_some(bytes);
    d.session = text(v, "SessionId");
    d.logon = logon(v);
    r
}

/// `SearchQueryInitiatedExchange` / `…SharePoint`: what a user searched for.
fn query(v: &Json, base: &Rec, exchange: bool) -> Rec {
    let mut r = of(base, Kind::MailboxSearch);
    if exchange && r.mailbox.is_none() {
        r.mailbox = r.actor.clone();
    }
    if !exchange {
        r.mailbox = None;
    }
    let d = &mut r.detail;
    d.action = Some("query".into());
    d.search = text(v, "QueryText").map(|q| capped(&q, TEXT_CAP).into_owned());
    if let Some(s) = text(v, "QuerySource") {
        d.client = Some(s);
    }
    d.note = text(v, "ScenarioName");
    d.mailbox = r.mailbox.clone();
    r
}

/// The folder object of a folder-permission record (`Item.ParentFolder`, `Folder`, or the
/// first of `Folders`).
fn permission_folder<'v, 'a>(v: &'v Json<'a>) -> Option<&'v Json<'a>> {
    v.key("Item")
        .and_then(|i| i.key("ParentFolder"))
        .filter(|f| f.key("MemberUpn").is_some() || f.key("MemberRights").is_some())
        .or_else(|| v.key("Folder"))
        .or_else(|| items(v, "Folders").first())
}

/// `AddFolderPermissions` and its kin: a folder opened to another account.
fn folder_permission(v: &Json, base: &Rec, op: &str) -> Rec {
    let mut r = of(base, Kind::PermissionGrant);
    r.status = Some(
        match (r.status.as_deref(), op) {
            (Some("failure"), _) => "failure",
            (_, "addfolderpermissions") => "created",
            (_, "modifyfolderpermissions") => "changed",
            _ => "removed",
        }
        .into(),
    );
    let d = &mut r.detail;
    if let Some(f) = permission_folder(v) {
        d.grantee = text(f, "MemberUpn");
        d.rights = text(f, "MemberRights")
            .map(|x| access::list(&x))
            .unwrap_or_default();
        d.folders = text(f, "Path").into_iter().collect();
    }
    d.mailbox = r.mailbox.clone();
    r
}

/// An eDiscovery activity's fields as its cmdlet's parameters, classified as that cmdlet.
fn ediscovery(v: &Json, base: &Rec, op: &str) -> Vec<Rec> {
    let ext = pairs(v, "ExtendedProperties");
    let object = text(v, "ObjectId").unwrap_or_default();
    let search = param(&ext, "SearchName")
        .map(str::to_string)
        .unwrap_or_else(|| object.clone());
    let search = ["_Export", "_Purge", "_Preview"]
        .iter()
        .find_map(|s| search.strip_suffix(s))
        .unwrap_or(&search)
        .to_string();
    let mut p = std::collections::BTreeMap::new();
    let mut put = |n: &str, val: Option<String>| {
        if let Some(val) = val.filter(|x| !x.is_empty()) {
            p.insert(n.to_string(), capped(&val, TEXT_CAP).into_owned());
        }
    };
    let locations = locations(v);
    let (cmdlet, switch) = match op {
        "searchcreated" => ("New-ComplianceSearch", None),
        "searchupdated" => ("Set-ComplianceSearch", None),
        "searchstarted" => ("Start-ComplianceSearch", None),
        "searchpreviewed" => ("New-ComplianceSearchAction", Some("Preview")),
        "searchexported" => ("New-ComplianceSearchAction", Some("Export")),
        "searchresultspurged" => ("New-ComplianceSearchAction", Some("Purge")),
        _ => ("New-CaseHoldRule", None),
    };
    match cmdlet {
        "New-ComplianceSearchAction" => put("SearchName", Some(search)),
        "New-CaseHoldRule" => put("Policy", Some(object)),
        "New-ComplianceSearch" => put("Name", Some(object)),
        _ => put("Identity", Some(object)),
    }
    if let Some(s) = switch {
        put(s, Some("True".into()));
    }
    put("ContentMatchQuery", text(v, "Query"));
    put("ExchangeLocation", locations.clone());
    put("Case", case(v));
    let mut r = of(base, Kind::AuditOperation);
    r.detail.params = p;
    let classes = access::classify(cmdlet, Params(&r.detail.params));
    classes
        .into_iter()
        .map(|c| {
            let mut out = access::apply(&r, c);
            // The case applies to every activity of one, whichever the cmdlet.
            if out.detail.case.is_none() {
                out.detail.case = case(v);
            }
            // So do the locations an action's record names (the search's).
            if out.detail.locations.is_empty() {
                out.detail.locations = locations.as_deref().map(access::list).unwrap_or_default();
            }
            sizes(&ext, &mut out);
            out
        })
        .collect()
}

/// What an export or a search's statistics say it held (`ExtendedProperties` `ItemCount`,
/// `TotalSize`), as the messages and bytes of the event.
fn sizes(ext: &[(String, String)], r: &mut Rec) {
    let n = |name: &str| param(ext, name).and_then(|x| x.parse::<u64>().ok());
    if let Some(items) = n("ItemCount") {
        r.detail.messages = Some(items);
    }
    if let Some(bytes) = n("TotalSize") {
        r.detail.bytes = Some(bytes);
    }
}

/// The locations of an eDiscovery record (`ExchangeLocations`: a list or a text), joined.
fn locations(v: &Json) -> Option<String> {
    match v.key("ExchangeLocations")? {
        Json::Arr(a) => {
            let names: Vec<String> = a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect();
            (!names.is_empty()).then(|| names.join(","))
        }
        Json::Str(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    }
}

/// The eDiscovery case of a record (`Case`, `CaseName`, `CaseId`).
fn case(v: &Json) -> Option<String> {
    ["Case", "CaseName", "CaseId"]
        .iter()
        .find_map(|k| text(v, k))
        .map(|c| capped(&c, TEXT_CAP).into_owned())
}

/// `SearchExportDownloaded`: an export's results taken to a computer.
fn downloaded(v: &Json, base: &Rec) -> Rec {
    let mut r = of(base, Kind::MailboxExport);
    let ext = pairs(v, "ExtendedProperties");
    let d = &mut r.detail;
    d.action = Some("download".into());
    d.name = param(&ext, "SearchName")
        .map(str::to_string)
        .or_else(|| text(v, "ObjectId"))
        .map(|o| capped(o.strip_suffix("_Export").unwrap_or(&o), TEXT_CAP).into_owned());
    d.case = case(v);
    sizes(&ext, &mut r);
    r
}

/// The `Name` → `NewValue` pairs of a directory record's `ModifiedProperties`, the values
/// without the quotes and brackets the directory writes around them.
fn modified(v: &Json) -> Vec<(String, String)> {
    items(v, "ModifiedProperties")
        .iter()
        .filter_map(|p| {
            let name = text(p, "Name")?;
            let new = text(p, "NewValue").unwrap_or_default();
            Some((name, clean(&new)))
        })
        .collect()
}

/// `"[\r\n  \"x\"\r\n]"` → `x`; `"\"True\""` → `True`.
fn clean(s: &str) -> String {
    let t = s.trim();
    let t = t
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .filter(|x| !x.contains("=>"))
        .unwrap_or(t);
    capped(t.trim().trim_matches('"').trim(), 4 * TEXT_CAP).into_owned()
}

/// A modified property's value.
fn prop<'a>(m: &'a [(String, String)], name: &str) -> Option<&'a str> {
    m.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// The scopes of a permission text: every `Scope: a b c` of a consent's permission list
/// (`[] => [[Id: …, ConsentType: Principal, Scope: Mail.Read offline_access, …]]`), else the
/// words of a plain scope list.
pub fn scopes(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |words: &str| {
        for w in words.split([' ', ',', ';']).map(str::trim) {
            if !w.is_empty() && out.len() < 64 && !out.iter().any(|x| x == w) {
                out.push(w.to_string());
            }
        }
    };
    if text.contains("Scope:") {
        for part in text.split("Scope:").skip(1) {
            let end = part.find([',', ']']).unwrap_or(part.len());
            add(&part[..end]);
        }
    } else {
        add(text.trim_matches(|c| matches!(c, '[' | ']' | '"')));
    }
    out
}

/// Whether a text is a GUID (`8-4-4-4-12` hex digits).
fn guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The application a directory record names: its display name (a modified property, else
/// the first name among the record's targets) and its application (client) id — the id its
/// sign-ins and `MailItemsAccessed` records carry (`ServicePrincipal.AppId`, the GUID of
/// `TargetId.ServicePrincipalNames`), else the service principal's object id.
fn app(v: &Json, m: &[(String, String)]) -> (Option<String>, Option<String>) {
    let name = [
        "ServicePrincipal.DisplayName",
        "Application.DisplayName",
        "DisplayName",
    ]
    .iter()
    .find_map(|n| prop(m, n).map(str::to_string))
    .or_else(|| {
        items(v, "Target").iter().find_map(|t| {
            let id = text(t, "ID")?;
            (text(t, "Type").as_deref() == Some("1") && !guid(&id) && !id.contains('@'))
                .then_some(id)
        })
    });
    let spn = prop(m, "TargetId.ServicePrincipalNames").and_then(|names| {
        names
            .split([';', ',', ' '])
            .map(|n| n.trim().trim_matches('"'))
            .find(|n| guid(n))
            .map(str::to_string)
    });
    let id = prop(m, "ServicePrincipal.AppId")
        .map(str::to_string)
        .or(spn)
        .or_else(|| prop(m, "ServicePrincipal.ObjectID").map(str::to_string))
        .or_else(|| text(v, "ObjectId").filter(|o| guid(o)));
    (
        name.map(|n| capped(&n, TEXT_CAP).into_owned()),
        id.map(|i| capped(&i, TEXT_CAP).into_owned()),
    )
}

/// A consent, a permission grant, an app role assignment or credentials added to an
/// application: the app, what it may do, and for whom.
fn consent(v: &Json, base: &Rec, op: &str) -> Rec {
    let mut r = of(base, Kind::AppConsent);
    let removed = op.starts_with("remove");
    r.status = Some(
        match (r.status.as_deref(), removed) {
            (Some("failure"), _) => "failure",
            (_, true) => "removed",
            _ => "created",
        }
        .into(),
    );
    r.mailbox = None;
    let m = modified(v);
    let d = &mut r.detail;
    let (app, app_id) = app(v, &m);
    d.app = app;
    d.app_id = app_id;
    let all = |t: &str| t.contains("AllPrincipals");
    if op.contains("app role assignment") {
        d.action = Some("role".into());
        d.scopes = prop(&m, "AppRole.Value").map(scopes).unwrap_or_default();
        // Application permissions are granted by an administrator for the whole tenant.
        d.admin_consent = Some(true);
        d.app_only = Some(true);
    } else if op.contains("credentials") {
        d.action = Some("credential".into());
        d.note = prop(&m, "KeyDescription").map(|k| capped(k, TEXT_CAP).into_owned());
    } else if op == "consent to application" {
        d.action = Some("consent".into());
        let perms = prop(&m, "ConsentAction.Permissions").unwrap_or("");
        d.scopes = scopes(perms);
        d.admin_consent = prop(&m, "ConsentContext.IsAdminConsent")
            .and_then(truth)
            .map(|a| a || all(perms))
            .or_else(|| all(perms).then_some(true));
        d.app_only = prop(&m, "ConsentContext.IsAppOnly").and_then(truth);
    } else {
        d.action = Some("grant".into());
        d.scopes = prop(&m, "DelegatedPermissionGrant.Scope")
            .map(scopes)
            .unwrap_or_default();
        d.admin_consent = prop(&m, "DelegatedPermissionGrant.ConsentType").map(all);
        d.app_only = Some(false);
    }
    r
}

#[cfg(test)]
mod tests;
