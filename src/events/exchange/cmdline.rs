//! PowerShell command text: parameter lists split into name/value pairs, and the Exchange
//! cmdlets found in a script block.
//!
//! Exchange 2013 and later log a cmdlet's parameters as typed (`-Name "Evil" -AssemblyPath
//! ".\x.dll"`), Exchange 2010 as a property bag (`{MailboxServer=SCEX02, Identity=DAG1}`);
//! [`params`] reads both. [`exchange_commands`] finds `Verb-Noun` calls of Exchange cmdlets
//! in free script text (PowerShell 4104 script blocks). Which nouns count as Exchange is the
//! list in [`is_exchange`]: extend it there.

use std::collections::BTreeMap;

use crate::sanitize::capped;

/// Longest parameter value kept (bytes).
const VALUE_CAP: usize = 4096;
/// Most parameters kept of one command.
const MAX_PARAMS: usize = 64;
/// Most commands taken from one script block.
pub const MAX_COMMANDS: usize = 32;

/// Key of positional arguments.
pub const POSITIONAL: &str = "_positional";

/// Splits a parameter text into tokens: whitespace separates; quotes (`'…'`, `"…"`, doubled
/// inside), braces, brackets and parentheses group (kept as written, nesting counted).
fn tokens(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => {
                if chars.peek() == Some(&q) {
                    cur.push(q);
                    chars.next();
                } else {
                    quote = None;
                    if depth > 0 {
                        cur.push(c);
                    }
                }
            }
            Some(_) if c == '`' => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            Some(_) => cur.push(c),
            None => match c {
                '"' | '\'' => {
                    quote = Some(c);
                    if depth > 0 {
                        cur.push(c);
                    }
                }
                '{' | '(' | '[' => {
                    depth += 1;
                    cur.push(c);
                }
                '}' | ')' | ']' => {
                    depth = depth.saturating_sub(1);
                    cur.push(c);
                }
                c if c.is_whitespace() && depth == 0 => {
                    if !cur.is_empty() {
                        out.push(std::mem::take(&mut cur));
                    }
                }
                c => cur.push(c),
            },
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Whether a token names a parameter (`-Name`, `-Name:value`), not a negative number.
fn param_name(t: &str) -> Option<(&str, Option<&str>)> {
    let rest = t.strip_prefix('-')?;
    if !rest.chars().next()?.is_ascii_alphabetic() {
        return None;
    }
    Some(match rest.split_once(':') {
        Some((n, v)) => (n, Some(v)),
        None => (rest, None),
    })
}

/// The parameters of a cmdlet's parameter text, typed (`-Name "x" -Switch`) or Exchange
/// 2010's property bag (`{Name=x, Identity=y}`).
pub fn params(text: &str) -> BTreeMap<String, String> {
    let t = text.trim();
    if t.starts_with('{') && t.ends_with('}') && !t.contains(" -") {
        return bag(&t[1..t.len() - 1]);
    }
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let mut name: Option<String> = None;
    let mut value: Vec<String> = Vec::new();
    let put = |out: &mut BTreeMap<String, String>, n: Option<String>, v: &mut Vec<String>| {
        let joined = if v.is_empty() && n.is_some() {
            "True".to_string()
        } else {
            v.join(" ")
        };
        v.clear();
        let key = n.unwrap_or_else(|| POSITIONAL.to_string());
        if (joined.is_empty() && key == POSITIONAL) || out.len() >= MAX_PARAMS {
            return;
        }
        out.insert(key, capped(&joined, VALUE_CAP).into_owned());
    };
    for tok in tokens(t) {
        if let Some((n, attached)) = param_name(&tok) {
            put(&mut out, name.take(), &mut value);
            name = Some(n.to_string());
            if let Some(v) = attached {
                value.push(v.to_string());
                put(&mut out, name.take(), &mut value);
            }
        } else {
            value.push(tok);
        }
    }
    put(&mut out, name, &mut value);
    out
}

/// The parameters of an ECP server log command (`Set-Mailbox.Identity='x'.AuditEnabled=$false`,
/// its doubled quotes already undone): after the cmdlet, `.Name=value` pairs, a value quoted
/// with `'` (running to the quote that ends the command or precedes the next `.Name=`) or
/// bare (`$true`, `$null`, running to the next `.Name=`).
pub fn ecp_params(cmd: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let body = cmd.trim_start_matches("Pipeline.1|");
    let Some(dot) = body.find('.') else {
        return out;
    };
    let mut rest = &body[dot..];
    while let Some(after) = rest.strip_prefix('.') {
        let Some(eq) = after.find('=') else { break };
        let name = &after[..eq];
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
            break;
        }
        let value_text = &after[eq + 1..];
        let (value, next) = if let Some(q) = value_text.strip_prefix('\'') {
            // The closing quote is the last one before the next `.Name=` (or the end).
            let end = next_param(q).unwrap_or(q.len());
            let v = &q[..end];
            (v.strip_suffix('\'').unwrap_or(v), &q[end..])
        } else {
            let end = next_param(value_text).unwrap_or(value_text.len());
            (&value_text[..end], &value_text[end..])
        };
        if out.len() < MAX_PARAMS {
            out.insert(name.to_string(), capped(value, VALUE_CAP).into_owned());
        }
        rest = next;
    }
    out
}

/// Where the next `.Name=` of an ECP command starts in `s`.
fn next_param(s: &str) -> Option<usize> {
    s.match_indices('.').map(|(i, _)| i).find(|&i| {
        let tail = &s[i + 1..];
        tail.find('=')
            .is_some_and(|eq| eq > 0 && tail[..eq].bytes().all(|b| b.is_ascii_alphanumeric()))
    })
}

/// Exchange 2010's `Name=value, Name=value` (values may hold commas inside braces).
fn bag(inner: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut depth = 0usize;
    let mut start = 0usize;
    let mut parts = Vec::new();
    for (i, c) in inner.char_indices() {
        match c {
            '{' | '(' => depth += 1,
            '}' | ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    for p in parts {
        if let Some((n, v)) = p.split_once('=') {
            let n = n.trim();
            if !n.is_empty() && out.len() < MAX_PARAMS {
                out.insert(n.to_string(), capped(v.trim(), VALUE_CAP).into_owned());
            }
        }
    }
    out
}

/// Whether `Verb-Noun` is an Exchange management cmdlet.
pub fn is_exchange(cmdlet: &str) -> bool {
    let Some((verb, noun)) = cmdlet.split_once('-') else {
        return false;
    };
    const VERBS: &[&str] = &[
        "add",
        "clear",
        "disable",
        "enable",
        "export",
        "get",
        "import",
        "install",
        "new",
        "remove",
        "restore",
        "resume",
        "search",
        "set",
        "start",
        "stop",
        "suspend",
        "test",
        "uninstall",
        "update",
    ];
    const NOUN_PREFIXES: &[&str] = &[
        "mailbox",
        "casmailbox",
        "remotemailbox",
        "mailuser",
        "mailcontact",
        "mailpublicfolder",
        "inboxrule",
        "transport",
        "managementrole",
        "rolegroup",
        "exchange",
        "recipient",
        "adpermission",
        "compliancesearch",
        "casehold",
        "receiveconnector",
        "sendconnector",
        "accepteddomain",
        "adminauditlog",
        "distributiongroup",
        "journalrule",
        "messagetracking",
        "organizationconfig",
        "owamailboxpolicy",
        "activesync",
        "mobiledevice",
    ];
    let (verb, noun) = (verb.to_ascii_lowercase(), noun.to_ascii_lowercase());
    VERBS.contains(&verb.as_str())
        && !noun.is_empty()
        && noun.bytes().all(|b| b.is_ascii_alphanumeric())
        && (noun.ends_with("virtualdirectory") || NOUN_PREFIXES.iter().any(|p| noun.starts_with(p)))
}

/// The Exchange cmdlet calls in a script: each call's cmdlet and its parameter text (to the
/// end of its statement: a line end, or an unquoted `;` or `|`). At most [`MAX_COMMANDS`].
pub fn exchange_commands(script: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in script.lines() {
        let mut rest = line;
        while let Some((stmt, next)) = statement(rest) {
            let s = stmt.trim_start_matches(|c: char| {
                c.is_whitespace() || matches!(c, '(' | '{' | '&' | '.' | '=')
            });
            let word_end = s.find(|c: char| c.is_whitespace()).unwrap_or(s.len());
            let word = &s[..word_end];
            if is_exchange(word) && out.len() < MAX_COMMANDS {
                out.push((word.to_string(), s[word_end..].trim().to_string()));
            }
            rest = next;
        }
    }
    out
}

/// The first statement of `s` and what follows its separator (`;` or `|` outside quotes).
fn statement(s: &str) -> Option<(&str, &str)> {
    if s.trim().is_empty() {
        return None;
    }
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, ';' | '|') => return Some((&s[..i], &s[i + 1..])),
            _ => {}
        }
    }
    Some((s, ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_parameters_of_exchange_2016() {
        // Data[1] of the MSExchange Management event in tests/fixtures/evtx.
        let p = params(
            r#"-Name "Evil" -AssemblyPath ".\NetshHelperBeacon.dll" -TransportAgentFactory "hack""#,
        );
        assert_eq!(p["Name"], "Evil");
        assert_eq!(p["AssemblyPath"], r".\NetshHelperBeacon.dll");
        assert_eq!(p["TransportAgentFactory"], "hack");
        let p = params(
            r#"-Mailbox "ceo" -FilePath "\\10.0.0.5\c$\users\public\a.aspx" -IsArchive -Confirm:$false"#,
        );
        assert_eq!(p["FilePath"], r"\\10.0.0.5\c$\users\public\a.aspx");
        assert_eq!(p["IsArchive"], "True");
        assert_eq!(p["Confirm"], "$false");
        let p = params(r#"-ContentFilter {Received -lt "01/01/2014"} -Name 'it''s'"#);
        assert_eq!(p["ContentFilter"], r#"{Received -lt "01/01/2014"}"#);
        assert_eq!(p["Name"], "it's");
        assert_eq!(
            params("ceo@contoso.example")[POSITIONAL],
            "ceo@contoso.example"
        );
    }

    #[test]
    fn ecp_server_log_commands() {
        // The sample's ECP lines (samples/exchange-exports), doubled quotes undone.
        let p = ecp_params(
            r"Set-OabVirtualDirectory.ExternalUrl=$null.Identity='7c1e3b52-2d1a-4b1e-9f3a-0d3c2b1a9e77'",
        );
        assert_eq!(p["ExternalUrl"], "$null");
        assert_eq!(p["Identity"], "7c1e3b52-2d1a-4b1e-9f3a-0d3c2b1a9e77");
        let p = ecp_params(
            r"New-OABVirtualDirectory.WebSiteName='Default Web Site'.Server='EXCH01'.Role='ClientAccess'.Path='C:\inetpub\wwwroot\aspnet_client\system_web\Xs9t2k.aspx'",
        );
        assert_eq!(p["WebSiteName"], "Default Web Site");
        assert_eq!(
            p["Path"],
            r"C:\inetpub\wwwroot\aspnet_client\system_web\Xs9t2k.aspx"
        );
        let p = ecp_params("Get-Mailbox.Identity='sun.hao@oceanlab.example.org'");
        assert_eq!(p["Identity"], "sun.hao@oceanlab.example.org");
        let p = ecp_params("Set-CASMailbox.ImapEnabled=$true.Identity='ceo@corp.example'");
        assert_eq!(p["ImapEnabled"], "$true");
        assert_eq!(p["Identity"], "ceo@corp.example");
        assert!(ecp_params("Get-Mailbox").is_empty());
    }

    #[test]
    fn property_bag_of_exchange_2010() {
        // Exchange 2010 SP1, MSExchange Management event 6 (see the fixture README).
        let p = params("{MailboxServer=SCEX02, Identity=DAG1}");
        assert_eq!(p["MailboxServer"], "SCEX02");
        assert_eq!(p["Identity"], "DAG1");
    }

    #[test]
    fn exchange_cmdlets_in_scripts() {
        assert!(is_exchange("New-MailboxExportRequest"));
        assert!(is_exchange("set-OabVirtualDirectory"));
        assert!(is_exchange("New-ManagementRoleAssignment"));
        assert!(is_exchange("Install-TransportAgent"));
        assert!(is_exchange("New-CaseHoldPolicy"));
        assert!(is_exchange("Set-MailboxAuditBypassAssociation"));
        assert!(!is_exchange("Send-MailMessage"));
        assert!(!is_exchange("Clear-EventLog"));
        assert!(!is_exchange("Invoke-Expression"));
        let script = "Add-PSSnapin Microsoft.Exchange.Management.PowerShell.SnapIn;\r\nNew-ManagementRoleAssignment -Role \"Mailbox Import Export\" -User x; Get-Mailbox | New-MailboxExportRequest -FilePath \"\\\\h\\s\\a.pst\"\nWrite-Host 'Set-Mailbox -x'";
        let c = exchange_commands(script);
        assert_eq!(c.len(), 3, "{c:?}");
        assert_eq!(c[0].0, "New-ManagementRoleAssignment");
        assert_eq!(params(&c[0].1)["Role"], "Mailbox Import Export");
        assert_eq!(c[1].0, "Get-Mailbox");
        assert_eq!(c[2].0, "New-MailboxExportRequest");
        assert_eq!(params(&c[2].1)["FilePath"], r"\\h\s\a.pst");
    }
}
