//! Windows event log records (rendered as JSON by the `evtx` crate, see [`super::evtx`])
//! → events.
//!
//! | Provider | Event ID | Kind | Service |
//! |---|---|---|---|
//! | `MSExchange CmdletLogs` (channel MSExchange Management) | 1 (succeeded), 6 (failed) | `admin_command` | `exchange/management` |
//! | `Microsoft-Windows-PowerShell` | 4104 (script block) with Exchange cmdlets | `admin_command`, one per call | `windows/powershell/4104` |
//! | `Microsoft-Windows-PowerShell` | 4103 (module logging) of an Exchange cmdlet | `admin_command` | `windows/powershell/4103` |
//! | `PowerShell` (Windows PowerShell.evtx) | 800 (pipeline) of an Exchange cmdlet | `admin_command` | `windows/powershell/800` |
//! | `Microsoft-Windows-Security-Auditing` | 4624 / 4625 | `auth_success` / `auth_failure` | `windows/logon` |
//!
//! Every other record is ignored (counted, no event). An `admin_command` has the cmdlet in
//! `detail.op`, the command line in `detail.cmd`, its parameters in `detail.params`, the
//! calling account in `actor` and `success` / `failure` in `status` (when the log says). A
//! command that grants, searches, exports, purges or changes a protocol or audit setting is
//! given its kind by [`super::access`] (`permission_grant`, `mailbox_search` …), as the same
//! command in the unified audit log or the ECP log is.
//! To map another event: a match arm in [`record`] and a function beside the others.

use serde_json::Value;

use super::access;
use super::cmdline::{self, exchange_commands, is_exchange};
use super::values::{client_ip, time_us};
use super::{Got, Rec};
use crate::events::record::Kind;
use crate::sanitize::capped;

/// Longest command text kept (bytes).
const CMD_CAP: usize = 16 * 1024;
/// Longest other text kept (bytes).
const TEXT_CAP: usize = 1024;

/// A rendered value as text (numbers rendered), non-empty, trimmed.
fn text(v: Option<&Value>) -> Option<String> {
    let s = match v? {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        Value::Object(o) => return text(o.get("#text")),
        _ => return None,
    };
    (!s.is_empty() && s != "-").then_some(s)
}

/// The parts of a record mailir reads.
struct Header<'a> {
    provider: String,
    id: u64,
    ts: i64,
    host: Option<String>,
    /// `System/Security/@UserID`.
    user_sid: Option<String>,
    data: Option<&'a Value>,
}

fn header(v: &Value) -> Option<Header<'_>> {
    let ev = v.get("Event")?;
    let sys = ev.get("System")?;
    let provider = sys
        .get("Provider")?
        .get("#attributes")?
        .get("Name")?
        .as_str()?
        .to_string();
    let id = text(sys.get("EventID"))?.parse().ok()?;
    let ts = sys
        .get("TimeCreated")
        .and_then(|t| t.get("#attributes"))
        .and_then(|a| text(a.get("SystemTime")))
        .and_then(|t| time_us(&t))?;
    let host = text(sys.get("Computer")).map(|h| capped(&h, 255).into_owned());
    let user_sid = sys
        .get("Security")
        .and_then(|s| s.get("#attributes"))
        .and_then(|a| text(a.get("UserID")));
    Some(Header {
        provider,
        id,
        ts,
        host,
        user_sid,
        data: ev.get("EventData"),
    })
}

/// A named `EventData` field.
fn field(h: &Header, name: &str) -> Option<String> {
    text(h.data?.get(name))
}

/// The unnamed `<Data>` elements of `EventData`, in order.
fn data_list(h: &Header) -> Vec<String> {
    let Some(d) = h.data.and_then(|d| d.get("Data")) else {
        return Vec::new();
    };
    let d = d.get("#text").unwrap_or(d);
    match d {
        Value::Array(a) => a
            .iter()
            .map(|x| match x {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            })
            .collect(),
        Value::String(s) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// One record: what it became, and a short text naming it (for the unparsed list).
pub fn record(v: &Value) -> (Got, String) {
    let Some(h) = header(v) else {
        return (Got::Unparsed, "EVTX record without System header".into());
    };
    let name = format!("{} event {}", h.provider, h.id);
    let got = match (h.provider.as_str(), h.id) {
        ("MSExchange CmdletLogs", 1 | 6) => exchange_cmdlet(&h),
        ("Microsoft-Windows-PowerShell", 4104) => script_block(&h),
        ("Microsoft-Windows-PowerShell", 4103) => pipeline(
            &h,
            field(&h, "Payload"),
            context_user(field(&h, "ContextInfo").as_deref()),
        ),
        ("PowerShell", 800) => {
            let d = data_list(&h);
            let user = d.get(1).and_then(|s| detail_value(s, "UserId"));
            pipeline(&h, d.get(2).cloned(), user)
        }
        ("Microsoft-Windows-Security-Auditing", 4624 | 4625) => logon(&h),
        _ => Got::Ignored,
    };
    (got, name)
}

fn rec(h: &Header, kind: Kind, service: &str) -> Rec {
    let mut r = Rec::new(kind, h.ts, service.to_string());
    r.host = h.host.clone();
    r
}

/// MSExchange Management 1 / 6: `Data[0]` cmdlet, `[1]` parameters, `[2]` caller, `[3]`
/// caller SID, `[4]` run-as SID, `[5]` client application, `[6]` process; for 6 the error
/// is the first later element naming an exception.
fn exchange_cmdlet(h: &Header) -> Got {
    let d = data_list(h);
    let Some(cmdlet) = d.first().map(|c| c.trim()).filter(|c| !c.is_empty()) else {
        return Got::Unparsed;
    };
    let args = d.get(1).map(|s| s.trim()).unwrap_or("");
    let mut r = rec(h, Kind::AdminCommand, "exchange/management");
    r.actor = d.get(2).filter(|s| !s.is_empty()).map(|s| cap(s));
    r.status = Some(if h.id == 1 { "success" } else { "failure" }.into());
    let det = &mut r.detail;
    det.op = Some(cap(cmdlet));
    det.cmd = Some(command(cmdlet, args));
    det.params = cmdline::params(args);
    det.run_as = d.get(4).filter(|s| !s.is_empty()).map(|s| cap(s));
    det.client = d.get(5).filter(|s| !s.is_empty()).map(|s| cap(s));
    if h.id == 6 {
        det.note = d
            .iter()
            .skip(7)
            .find(|s| s.contains("Exception"))
            .map(|s| cap(s.lines().next().unwrap_or("")));
    }
    r.mailbox = det.param("Mailbox").map(cap);
    Got::Events(access::retype(r))
}

/// PowerShell 4104: one `admin_command` per Exchange cmdlet call in the script block.
fn script_block(h: &Header) -> Got {
    let Some(script) = field(h, "ScriptBlockText") else {
        return Got::Ignored;
    };
    let calls = exchange_commands(&script);
    if calls.is_empty() {
        return Got::Ignored;
    }
    let path = field(h, "Path");
    let recs = calls
        .into_iter()
        .map(|(cmdlet, args)| {
            let mut r = rec(h, Kind::AdminCommand, "windows/powershell/4104");
            r.actor = h.user_sid.clone();
            r.detail.params = cmdline::params(&args);
            r.detail.cmd = Some(command(&cmdlet, &args));
            r.mailbox = r.detail.param("Mailbox").map(cap);
            r.detail.path = path.as_deref().map(cap);
            r.detail.op = Some(cmdlet);
            r
        })
        .collect();
    Got::Events(access::retype_all(recs))
}

/// PowerShell 4103 / 800: the `CommandInvocation(X)` and `ParameterBinding(X): name="n";
/// value="v"` lines of the payload; one `admin_command` per Exchange cmdlet invoked.
fn pipeline(h: &Header, payload: Option<String>, user: Option<String>) -> Got {
    let Some(payload) = payload else {
        return Got::Ignored;
    };
    let service = format!("windows/powershell/{}", h.id);
    let mut recs: Vec<Rec> = Vec::new();
    for line in payload.lines() {
        if let Some(name) = invocation(line, "CommandInvocation(") {
            if is_exchange(name) && recs.len() < cmdline::MAX_COMMANDS {
                let mut r = rec(h, Kind::AdminCommand, &service);
                r.actor = user.clone().or_else(|| h.user_sid.clone());
                r.detail.op = Some(name.to_string());
                recs.push(r);
            }
        } else if let Some(name) = invocation(line, "ParameterBinding(") {
            let Some(r) = recs
                .last_mut()
                .filter(|r| r.detail.op.as_deref() == Some(name))
            else {
                continue;
            };
            if let Some((n, v)) = binding(line) {
                if r.detail.params.len() < 64 {
                    r.detail.params.insert(n, capped(&v, 4096).into_owned());
                }
            }
        }
    }
    for r in &mut recs {
        let args: Vec<String> = r
            .detail
            .params
            .iter()
            .map(|(n, v)| format!("-{n} \"{v}\""))
            .collect();
        r.detail.cmd = Some(command(
            r.detail.op.as_deref().unwrap_or(""),
            &args.join(" "),
        ));
        r.mailbox = r.detail.param("Mailbox").map(cap);
    }
    if recs.is_empty() {
        Got::Ignored
    } else {
        Got::Events(access::retype_all(recs))
    }
}

/// The command name of a `Prefix(Name): …` payload line.
fn invocation<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = line.trim_start().strip_prefix(prefix)?;
    rest.split_once("):").map(|(n, _)| n.trim())
}

/// `name="n"; value="v"` of a `ParameterBinding` line.
fn binding(line: &str) -> Option<(String, String)> {
    let rest = &line[line.find("name=\"")? + 6..];
    let (name, rest) = rest.split_once("\"; value=\"")?;
    let value = rest.strip_suffix('"').unwrap_or(rest);
    Some((name.to_string(), value.to_string()))
}

/// `User = DOMAIN\user` of a 4103 `ContextInfo`.
fn context_user(ctx: Option<&str>) -> Option<String> {
    ctx?.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == "User" && !v.trim().is_empty()).then(|| cap(v.trim()))
    })
}

/// `Key=value` of an 800 event's detail text (tab-indented lines).
fn detail_value(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (k, v) = l.trim().split_once('=')?;
        (k == key && !v.trim().is_empty()).then(|| cap(v.trim()))
    })
}

/// Security 4624 / 4625. Logons of the machine's own service accounts (SYSTEM, LOCAL
/// SERVICE, NETWORK SERVICE) are ignored: thousands a day, never a person.
fn logon(h: &Header) -> Got {
    let sid = field(h, "TargetUserSid").unwrap_or_default();
    if h.id == 4624 && matches!(sid.as_str(), "S-1-5-18" | "S-1-5-19" | "S-1-5-20") {
        return Got::Ignored;
    }
    let kind = if h.id == 4624 {
        Kind::AuthSuccess
    } else {
        Kind::AuthFailure
    };
    let mut r = rec(h, kind, "windows/logon");
    let user = field(h, "TargetUserName");
    let domain = field(h, "TargetDomainName");
    r.actor = match (domain, user) {
        (Some(d), Some(u)) if !u.ends_with('$') => Some(cap(&format!("{d}\\{u}"))),
        (_, u) => u.map(|u| cap(&u)),
    };
    r.src_ip = field(h, "IpAddress").and_then(|ip| client_ip(&ip));
    r.src_host = field(h, "WorkstationName").map(|w| cap(&w));
    let logon_type = field(h, "LogonType");
    r.proto = match logon_type.as_deref() {
        Some("10") => Some("rdp"),
        Some("3") => Some("network"),
        Some("2") => Some("interactive"),
        Some("8") => Some("network_cleartext"),
        _ => None,
    };
    if h.id == 4625 {
        r.status = field(h, "SubStatus")
            .filter(|s| s != "0x0")
            .or_else(|| field(h, "Status"));
    }
    let mut note = Vec::new();
    if let Some(t) = logon_type {
        note.push(format!("logon type {t}"));
    }
    for (label, name) in [
        ("package", "AuthenticationPackageName"),
        ("process", "LogonProcessName"),
        ("status", "Status"),
    ] {
        if let Some(v) = field(h, name) {
            note.push(format!("{label} {}", cap(&v)));
        }
    }
    r.detail.note = Some(note.join(", "));
    r.detail.client = field(h, "ProcessName").map(|p| cap(&p));
    Got::Events(vec![r])
}

fn cap(s: &str) -> String {
    capped(s, TEXT_CAP).into_owned()
}

/// `Cmdlet args`, capped.
fn command(cmdlet: &str, args: &str) -> String {
    let c = if args.is_empty() {
        cmdlet.to_string()
    } else {
        format!("{cmdlet} {args}")
    };
    capped(&c, CMD_CAP).into_owned()
}

#[cfg(test)]
mod tests;
