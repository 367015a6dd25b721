//! The Microsoft 365 unified audit log: Purview's CSV export (an `AuditData` JSON column),
//! raw JSON records (an array, or one per line), and SIEM-normalised records with lower-case
//! keys (Panther's `Microsoft365.Audit.*`). Keys are matched without regard to case.
//!
//! Operations and their events:
//! - `UserLoggedIn` / `UserLoginFailed` → `auth_success` / `auth_failure` (`proto: m365`);
//! - `New-`/`Set-`/`Enable-`/`Disable-`/`Remove-InboxRule`, `UpdateInboxRules` →
//!   `mailbox_rule` (the rule's actions and conditions in the detail);
//! - `Set-Mailbox`, `Set-MailUser`, `Set-RemoteMailbox`, `Enable-RemoteMailbox` →
//!   `mailbox_forwarding` (forwarding parameters, when set);
//! - `New-`/`Set-`/`Enable-`/`Disable-`/`Remove-TransportRule` → `transport_rule`;
//! - `MailItemsAccessed`, deletions, folder permissions, searches, eDiscovery activities and
//!   application consents → their kinds ([`super::ual_mail`]);
//! - any other cmdlet: its `Parameters` (a `Name`/`Value` list, or the Security & Compliance
//!   parameter text) in `detail.params` and classified by [`super::access`] like the same
//!   cmdlet in any other log (`permission_grant`, `mailbox_search`, `mailbox_export`,
//!   `access_setting`, `audit_setting` …; a `Set-Mailbox` that also sets forwarding gives both);
//! - anything else → `audit_operation`, so the timeline still has it.
//!
//! `user` is the actor (`UserId`), `src_ip` its address (`ClientIP`, `ClientIPAddress`,
//! `ActorIpAddress`, normalised), `status` says `created`, `changed`, `removed`, `enabled`,
//! `disabled`, or the record's result for other operations.

use std::collections::BTreeMap;
use std::io::{self, Read};

use super::json::Json;

use super::values::{addresses, client_ip, recipients, time_us, truth, Row};
use super::{At, Got, Rec};
use crate::events::record::Kind;
use crate::sanitize::capped;

/// A key's text (numbers rendered), non-empty.
pub(super) fn text(v: &Json, name: &str) -> Option<String> {
    match v.key(name)? {
        Json::Str(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Json::Num(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The `Name`/`Value` pairs of `Parameters`, `OperationProperties` or `ExtendedProperties`.
pub(super) fn pairs(v: &Json, name: &str) -> Vec<(String, String)> {
    let Some(list) = v.key(name) else {
        return Vec::new();
    };
    // A SIEM may have stored the list as a JSON string.
    let parsed;
    let list = match list {
        Json::Str(s) => {
            parsed = Json::parse(s).unwrap_or(Json::Null);
            &parsed
        }
        l => l,
    };
    list.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| {
                    let n = text(p, "Name")?;
                    let v = match p.key("Value") {
                        Some(Json::Str(s)) => s.to_string(),
                        Some(Json::Null) | None => String::new(),
                        Some(other) => other.to_string(),
                    };
                    Some((n, v))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A pair's value, trimmed, unless it says nothing.
pub(super) fn param<'a>(p: &'a [(String, String)], name: &str) -> Option<&'a str> {
    p.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .filter(|v| !super::values::is_null(v))
}

fn words(p: &[(String, String)], names: &[&str]) -> Vec<String> {
    names
        .iter()
        .filter_map(|n| param(p, n))
        .flat_map(|v| v.split([';', ',']).map(|w| w.trim().to_string()))
        .filter(|w| !w.is_empty())
        .collect()
}

/// One audit record (the `AuditData` object, or a whole SIEM record); `fallback_ts` gives the
/// time of a record without its own `CreationTime` (a CSV row's column: read only then).
pub fn record(v: &Json, fallback_ts: impl FnOnce() -> Option<i64>) -> Got {
    let Some(op) = text(v, "Operation") else {
        return Got::Unparsed;
    };
    let Some(ts) = text(v, "CreationTime")
        .and_then(|t| time_us(&t))
        .or_else(fallback_ts)
    else {
        return Got::Unparsed;
    };
    let workload = text(v, "Workload").unwrap_or_else(|| "unknown".into());
    let base = base(v, &op, ts, &workload);
    // Mailbox auditing, eDiscovery and application consents: what was done to mail.
    if let Some(recs) = super::ual_mail::record(v, &base) {
        return Got::Events(recs);
    }
    let params = pairs(v, "Parameters");
    let lower = op.to_ascii_lowercase();
    let verb = lower.split('-').next().unwrap_or("");
    let change = match verb {
        "new" => "created",
        "set" => "changed",
        "remove" => "removed",
        "enable" => "enabled",
        "disable" => "disabled",
        _ => "changed",
    };
    let (kind, status) = match lower.as_str() {
        "userloggedin" => (Kind::AuthSuccess, None),
        "userloginfailed" => (Kind::AuthFailure, None),
        "updateinboxrules" => (Kind::MailboxRule, Some("changed")),
        o if o.ends_with("-inboxrule") => (Kind::MailboxRule, Some(change)),
        "set-mailbox" | "set-mailuser" | "set-remotemailbox" | "enable-remotemailbox" => {
            (Kind::MailboxForwarding, Some(change))
        }
        o if o.ends_with("-transportrule") => (Kind::TransportRule, Some(change)),
        _ => (Kind::AuditOperation, None),
    };
    let mut r = base.clone();
    r.kind = kind;
    r.status = status
        .map(str::to_string)
        .or_else(|| text(v, "ResultStatus"));
    let d = &mut r.detail;
    match kind {
        Kind::AuthSuccess | Kind::AuthFailure => {
            let ext = pairs(v, "ExtendedProperties");
            d.ua = param(&ext, "UserAgent").map(str::to_string);
            d.note = text(v, "LogonError");
            d.client = Some(workload);
        }
        Kind::MailboxRule if lower == "updateinboxrules" => {
            // Client (Outlook / EWS) rules: the actions come as text in OperationProperties.
            let props = pairs(v, "OperationProperties");
            d.name = param(&props, "Name")
                .or_else(|| param(&props, "RuleName"))
                .map(str::to_string);
            let actions = param(&props, "Actions")
                .or_else(|| param(&props, "RuleActions"))
                .unwrap_or("");
            let all: String = props.iter().map(|(_, v)| format!("{v} ")).collect();
            let a = actions.to_ascii_lowercase();
            if a.contains("forward") || a.contains("redirect") || all.contains("Recipients") {
                d.forward_to = addresses(&all);
            }
            if a.contains("delete") {
                d.delete = Some(true);
            }
            if a.contains("markasread") {
                d.mark_read = Some(true);
            }
            d.note = (!actions.is_empty()).then(|| actions.to_string());
            d.mailbox = text(v, "MailboxOwnerUPN").or_else(|| r.actor.clone());
        }
        Kind::MailboxRule => {
            d.name = param(&params, "Name").map(str::to_string);
            d.mailbox = param(&params, "Mailbox")
                .or_else(|| param(&params, "Identity").filter(|i| i.contains('@')))
                .map(str::to_string)
                .or_else(|| r.actor.clone());
            d.forward_to = param(&params, "ForwardTo")
                .map(recipients)
                .unwrap_or_default();
            d.forward_attach_to = param(&params, "ForwardAsAttachmentTo")
                .map(recipients)
                .unwrap_or_default();
            d.redirect_to = param(&params, "RedirectTo")
                .map(recipients)
                .unwrap_or_default();
            d.delete = param(&params, "DeleteMessage").and_then(truth).or(param(
                &params,
                "SoftDeleteMessage",
            )
            .and_then(truth));
            d.mark_read = param(&params, "MarkAsRead").and_then(truth);
            d.move_to = param(&params, "MoveToFolder").map(str::to_string);
            d.stop = param(&params, "StopProcessingRules").and_then(truth);
            d.from = words(&params, &["From", "FromAddressContainsWords"]);
            d.words = words(
                &params,
                &[
                    "SubjectContainsWords",
                    "SubjectOrBodyContainsWords",
                    "BodyContainsWords",
                ],
            );
            if lower.starts_with("enable") || lower.starts_with("disable") {
                d.enabled = Some(lower.starts_with("enable"));
            }
        }
        Kind::MailboxForwarding => {
            d.mailbox = param(&params, "Identity")
                .map(str::to_string)
                .or_else(|| text(v, "ObjectId"));
            let mut fwd = param(&params, "ForwardingSmtpAddress")
                .map(recipients)
                .unwrap_or_default();
            fwd.extend(
                param(&params, "ForwardingAddress")
                    .map(recipients)
                    .unwrap_or_default(),
            );
            d.forward_to = fwd;
            d.keep_copy = param(&params, "DeliverToMailboxAndForward")
                .or_else(|| param(&params, "DeliverToAndForward"))
                .and_then(truth);
        }
        Kind::TransportRule => {
            d.name = param(&params, "Name")
                .or_else(|| param(&params, "Identity"))
                .map(str::to_string);
            d.redirect_to = param(&params, "RedirectMessageTo")
                .map(addresses)
                .unwrap_or_default();
            for p in ["BlindCopyTo", "CopyTo", "AddToRecipients"] {
                d.copy_to
                    .extend(param(&params, p).map(addresses).unwrap_or_default());
            }
            d.delete = param(&params, "DeleteMessage").and_then(truth);
            d.words = words(
                &params,
                &["SubjectContainsWords", "SubjectOrBodyContainsWords"],
            );
            d.enabled = param(&params, "Enabled").and_then(truth);
        }
        _ => {
            d.note = text(v, "ObjectId");
            if lower == "add user." {
                d.created = text(v, "ObjectId");
            }
        }
    }
    // The mailbox the operation concerns: a rule's or a forwarding's target (the actor may be
    // an administrator or a delegate), else the audited mailbox's owner.
    if let Some(m) = d.mailbox.clone() {
        r.mailbox = Some(m);
    }
    if matches!(kind, Kind::AuditOperation | Kind::MailboxForwarding) {
        return Got::Events(command(v, &op, &base, r));
    }
    Got::Events(vec![r])
}

/// What every event of a record shares: time, service, actor, address, the audited
/// mailbox's owner, the operation, the tenant, the client, and whether the service itself
/// acted (`UserType` 3 or 4: a datacenter account).
fn base(v: &Json, op: &str, ts: i64, workload: &str) -> Rec {
    let mut r = Rec::new(
        Kind::AuditOperation,
        ts,
        format!("m365/{}", workload.to_ascii_lowercase()),
    );
    r.proto = Some("m365");
    r.actor = text(v, "UserId");
    r.mailbox = text(v, "MailboxOwnerUPN");
    r.src_ip = ["ClientIP", "ClientIPAddress", "ActorIpAddress"]
        .iter()
        .find_map(|k| text(v, k).and_then(|s| client_ip(&s)));
    r.status = text(v, "ResultStatus");
    let d = &mut r.detail;
    d.op = Some(op.to_string());
    d.org = text(v, "OrganizationName").map(|s| s.to_ascii_lowercase());
    d.client = text(v, "ClientInfoString");
    d.by_service = matches!(text(v, "UserType").as_deref(), Some("3" | "4"));
    r
}

/// A record's outcome in the readers' words: `success` / `failure` (`True`, `Succeeded`,
/// `PartiallySucceeded` / `False`, `Failed`), else as recorded.
pub(super) fn outcome(status: Option<&str>) -> Option<String> {
    let s = status?;
    Some(match s.to_ascii_lowercase().as_str() {
        "true" | "succeeded" | "success" | "partiallysucceeded" => "success".into(),
        "false" | "failed" | "failure" => "failure".into(),
        _ => s.to_string(),
    })
}

/// The parameters of a cmdlet record: Exchange's `Name`/`Value` list, or the Security &
/// Compliance schema's parameter text (`-Name "x" -ContentMatchQuery "…"`).
fn param_map(v: &Json) -> BTreeMap<String, String> {
    if let Some(Json::Str(s)) = v.key("Parameters") {
        if !s.trim_start().starts_with('[') {
            return super::cmdline::params(s);
        }
    }
    pairs(v, "Parameters")
        .into_iter()
        .take(64)
        .map(|(n, val)| (n, capped(&val, 1024).into_owned()))
        .collect()
}

/// A cmdlet record through the classifier every reader shares ([`super::access`]): its
/// parameters and command line kept; a grant, search, export, purge or setting becomes its
/// kind. `r` is the record as read so far: kept when nothing is classified, and kept beside
/// the classes when it carries forwarding.
fn command(v: &Json, op: &str, base: &Rec, r: Rec) -> Vec<Rec> {
    let params = param_map(v);
    if params.is_empty() || !op.contains('-') {
        return vec![r];
    }
    let forwarding = params.keys().any(|k| {
        let k = k.to_ascii_lowercase();
        k.starts_with("forwarding") || k == "delivertomailboxandforward"
    });
    let mut c = base.clone();
    c.status = outcome(base.status.as_deref());
    c.detail.cmd = Some(command_line(op, &params));
    c.detail.params = params;
    let typed = super::access::retype(c);
    if typed.iter().all(|t| t.kind == Kind::AuditOperation) {
        let mut r = r;
        r.detail.params = typed
            .into_iter()
            .next()
            .map(|t| {
                r.detail.created = t.detail.created;
                r.detail.cmd = t.detail.cmd;
                t.detail.params
            })
            .unwrap_or_default();
        return vec![r];
    }
    let forwards = r.kind == Kind::MailboxForwarding && forwarding;
    let mut out: Vec<Rec> = typed
        .into_iter()
        .filter(|t| t.kind != Kind::AuditOperation)
        .collect();
    if forwards {
        out.insert(0, r);
    }
    out
}

/// `Cmdlet -Name "value" …` of a record's parameters (capped).
fn command_line(op: &str, params: &BTreeMap<String, String>) -> String {
    let mut s = op.to_string();
    for (n, v) in params {
        s.push_str(&format!(" -{n} \"{v}\""));
        if s.len() > 16 * 1024 {
            break;
        }
    }
    capped(&s, 16 * 1024).into_owned()
}

/// One row of Purview's CSV export.
pub fn csv_row<C: AsRef<str>>(row: &Row<C>) -> Got {
    // The row's own time is read only when the record has none of its own (the column is
    // often US-style text, the slowest to read).
    let fallback = || row.get(&["creationdate", "creationtime"]).and_then(time_us);
    match row.get(&["auditdata"]).and_then(|a| Json::parse(a).ok()) {
        Some(v) => record(&v, fallback),
        None => {
            // No usable AuditData: what the columns say.
            let mut o = Vec::new();
            for (k, names) in [
                ("Operation", &["operation", "operations"][..]),
                ("UserId", &["userid", "userids"][..]),
            ] {
                if let Some(s) = row.get(names) {
                    o.push((k.into(), Json::Str(s.into())));
                }
            }
            record(&Json::Obj(o), fallback)
        }
    }
}

/// Reads JSON audit records: a top-level array of objects, or objects one after another
/// (JSON lines, or concatenated). Objects are cut out of the stream by a small scanner
/// (strings and nesting tracked), so a large export is never held whole; each keeps the
/// line it starts on.
pub fn read_json(
    r: &mut dyn Read,
    emit: &mut dyn FnMut(At, &str, Got, bool) -> bool,
) -> (u64, Option<String>) {
    let mut br = io::BufReader::with_capacity(1 << 20, r);
    let mut obj: Vec<u8> = Vec::new();
    let (mut line, mut offset) = (1u64, 0u64);
    let mut depth = 0usize; // object nesting (arrays at the top are transparent)
    let mut arrays = 0usize; // arrays open outside any object
    let (mut in_str, mut esc) = (false, false);
    let mut start = At::default();
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = match br.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return (line, Some(format!("read failed after line {line}: {e}"))),
        };
        for &b in &buf[..n] {
            if depth > 0 {
                obj.push(b);
                if in_str {
                    match (esc, b) {
                        (true, _) => esc = false,
                        (false, b'\\') => esc = true,
                        (false, b'"') => in_str = false,
                        _ => {}
                    }
                } else {
                    match b {
                        b'"' => in_str = true,
                        b'{' => depth += 1,
                        b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                let got = match Json::parse_bytes(&obj) {
                                    Ok(v) => record(&v, || None),
                                    Err(_) => Got::Unparsed,
                                };
                                let text = String::from_utf8_lossy(&obj).into_owned();
                                if !emit(start, &text, got, false) {
                                    return (line, None);
                                }
                                obj.clear();
                            }
                        }
                        _ => {}
                    }
                }
            } else {
                match b {
                    b'{' => {
                        depth = 1;
                        start = At { line, offset };
                        obj.push(b);
                    }
                    b'[' => arrays += 1,
                    b']' => arrays = arrays.saturating_sub(1),
                    _ => {}
                }
            }
            if b == b'\n' {
                line += 1;
            }
            offset += 1;
        }
    }
    if depth > 0 && !emit(start, "", Got::Unparsed, false) {
        return (line, None);
    }
    let _ = arrays;
    (line, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_inbox_rule_from_audit_data() {
        let v = Json::parse(r#"{"CreationTime":"2023-09-26T01:56:15","Operation":"New-InboxRule","ResultStatus":"True","Workload":"Exchange","ClientIP":"185.73.124.135:19823","UserId":"DebraB@M365B132131.OnMicrosoft.com","OrganizationName":"M365B132131.onmicrosoft.com","Parameters":[{"Name":"From","Value":"flag@ctf.com"},{"Name":"MoveToFolder","Value":"Conversation History"},{"Name":"Name","Value":"f"},{"Name":"MarkAsRead","Value":"True"},{"Name":"StopProcessingRules","Value":"True"}]}"#).unwrap();
        let Got::Events(e) = record(&v, || None) else {
            panic!()
        };
        let r = &e[0];
        assert_eq!(r.kind, Kind::MailboxRule);
        assert_eq!(r.src_ip.as_deref(), Some("185.73.124.135"));
        assert_eq!(r.status.as_deref(), Some("created"));
        assert_eq!(r.detail.move_to.as_deref(), Some("Conversation History"));
        assert_eq!(r.detail.mark_read, Some(true));
        assert_eq!(r.detail.from, vec!["flag@ctf.com"]);
        assert_eq!(r.detail.org.as_deref(), Some("m365b132131.onmicrosoft.com"));
        // The user made a rule in her own mailbox: actor and mailbox are both hers.
        let debra = Some("DebraB@M365B132131.OnMicrosoft.com");
        assert_eq!((r.actor.as_deref(), r.mailbox.as_deref()), (debra, debra));
    }

    /// An administrator (or a stolen admin session) changing another mailbox: the actor is
    /// who did it, the mailbox whose mail it concerns. Record shape as the unified audit log's
    /// `Set-Mailbox` / `New-InboxRule` (`Identity`, `Mailbox` parameters).
    #[test]
    fn actor_and_mailbox_differ_when_an_admin_acts_on_another_mailbox() {
        for (op, param) in [("Set-Mailbox", "Identity"), ("New-InboxRule", "Mailbox")] {
            let text = format!(
                r#"{{"CreationTime":"2024-02-01T09:00:00","Operation":"{op}","Workload":"Exchange","UserId":"admin@contoso.example","ClientIP":"198.51.100.7","Parameters":[{{"Name":"{param}","Value":"cfo@contoso.example"}},{{"Name":"ForwardingSmtpAddress","Value":"smtp:x@evil.example"}},{{"Name":"ForwardTo","Value":"x@evil.example"}}]}}"#
            );
            let v = Json::parse(&text).unwrap();
            let Got::Events(e) = record(&v, || None) else {
                panic!("{op}")
            };
            assert_eq!(
                (e[0].actor.as_deref(), e[0].mailbox.as_deref()),
                (Some("admin@contoso.example"), Some("cfo@contoso.example")),
                "{op}"
            );
        }
    }

    #[test]
    fn lower_case_siem_record_and_forwarding() {
        let v = Json::parse(r#"{"clientip": "1.2.3.4", "creationtime": "2022-12-12 22:19:00", "operation": "Set-Mailbox", "organizationname": "simpsons.onmicrosoft.com", "parameters": [{"Name": "Identity", "Value": "homer.simpson@simpsons.onmicrosoft.com"}, {"Name": "ForwardingSmtpAddress", "Value": "smtp:peter.griffin@familyguy.com"}, {"Name": "DeliverToMailboxAndForward", "Value": "False"}], "userid": "homer.simpson@simpsons.onmicrosoft.com", "workload": "Exchange"}"#).unwrap();
        let Got::Events(e) = record(&v, || None) else {
            panic!()
        };
        assert_eq!(e[0].kind, Kind::MailboxForwarding);
        assert_eq!(e[0].detail.forward_to, vec!["peter.griffin@familyguy.com"]);
        assert_eq!(e[0].detail.keep_copy, Some(false));
    }

    #[test]
    fn json_array_and_lines_are_streamed_with_line_numbers() {
        let text = "[\n {\"Operation\":\"UserLoggedIn\",\"CreationTime\":\"2023-09-26T01:51:34\",\"UserId\":\"a@b.example\",\"ClientIP\":\"192.0.2.1\",\"note\":\"a } in a string\"},\n {\"Operation\":\"UserLoginFailed\",\"CreationTime\":\"2023-09-26T01:52:00\"}\n]\n";
        let mut got = Vec::new();
        read_json(&mut text.as_bytes(), &mut |at, _, g, _| {
            if let Got::Events(e) = g {
                got.push((at.line, e[0].kind));
            }
            true
        });
        assert_eq!(got, vec![(2, Kind::AuthSuccess), (3, Kind::AuthFailure)]);
    }
}
