//! `exchange.admin_cmdlet` — Exchange management cmdlets attackers run once they hold the
//! server or an admin login (ProxyShell's last steps, Hafnium's and later groups' playbooks),
//! from the MSExchange Management event log, PowerShell's logs, the ECP server log or the
//! unified audit log (every reader gives an `admin_command` with the cmdlet and its line; an
//! export request is a `mailbox_export`, classified alike by every reader).
//!
//! **Why**: the cmdlets are how a foothold becomes a web shell, a mailbox copy or a
//! persistent agent, and the event log keeps them after the IIS logs are gone. **How**, by
//! cmdlet, each judged on its parameters:
//! - `New-MailboxExportRequest` whose `-FilePath` is a script (`.aspx`, `.asp`, `.ashx`,
//!   `.php`, `.jsp`) or lies in a web folder (`inetpub`, `aspnet_client`,
//!   `FrontEnd\HttpProxy`, `ClientAccess`, `owa\auth`, `ecp\auth`): a web shell written by
//!   exporting a mailbox holding it (ProxyShell, CVE-2021-31207) — **critical**, T1505.003;
//! - `New-ManagementRoleAssignment` granting `Mailbox Import Export` (the role the export
//!   needs, which no one holds by default) — **high**, T1098;
//! - `Install-TransportAgent` / `Enable-TransportAgent` — code in the transport pipeline that
//!   sees every message — **high**, T1505.002;
//! - `Remove-MailboxExportRequest` — clearing the trace of an export — **medium**, T1070.
//!
//! An export to a share or a local folder is `exfil.mailbox_export`'s, and FullAccess given to
//! a mailbox `persistence.mailbox_delegation`'s: each use is reported by one rule.
//!
//! One finding per kind of use and acting account. **Phase**: persistence. **False
//! positives**: anti-spam and archiving products install transport agents (check the agent's
//! assembly path and vendor); administrators grant the export role before planned exports
//! (`exfil.mailbox_export`'s low finding for the export says where the copy went).

use std::collections::BTreeMap;

use super::cloud::{detail_of, Group};
use super::{Files, Rule, Shared, Thresholds};
use crate::detect::entity::{EntityKind, EntityRole};
use crate::detect::fact::Fact;
use crate::detect::finding::{Finding, Severity};
use crate::events::record::Kind;

/// What a cmdlet use is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Use {
    /// A mailbox exported as a script into a web folder.
    ExportToScript,
    /// The Mailbox Import Export role granted.
    RoleGrant,
    /// A transport agent installed or enabled.
    TransportAgent,
    /// Export requests removed.
    ExportCleanup,
}

impl Use {
    fn severity(self) -> Severity {
        match self {
            Use::ExportToScript => Severity::Critical,
            Use::RoleGrant | Use::TransportAgent => Severity::High,
            Use::ExportCleanup => Severity::Medium,
        }
    }

    fn attack(self) -> &'static str {
        match self {
            Use::ExportToScript => "T1505.003",
            Use::RoleGrant => "T1098",
            Use::TransportAgent => "T1505.002",
            Use::ExportCleanup => "T1070",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Use::ExportToScript => "mailbox export written as a web script (ProxyShell's web-shell step, CVE-2021-31207)",
            Use::RoleGrant => "Mailbox Import Export role granted",
            Use::TransportAgent => "transport agent installed or enabled",
            Use::ExportCleanup => "mailbox export requests removed",
        }
    }
}

/// Script extensions a web folder runs.
const SCRIPTS: &[&str] = &[".aspx", ".asp", ".ashx", ".asmx", ".php", ".jsp"];

/// Web folders of an Exchange server (lower case, backslashes).
const WEB_DIRS: &[&str] = &[
    "\\inetpub\\",
    "\\aspnet_client\\",
    "\\frontend\\httpproxy\\",
    "\\clientaccess\\",
    "\\owa\\auth\\",
    "\\ecp\\auth\\",
];

/// The value after parameter `name` in a command line, PowerShell (`-FilePath "x"`) or ECP
/// (`.FilePath='x'`) style (lower-case `line` and `name`).
pub fn param<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let at = line.find(name)? + name.len();
    let rest = line[at..].trim_start_matches([' ', '=', ':', '\t']);
    let quote = rest.chars().next().filter(|c| matches!(c, '\'' | '"'))?;
    let rest = &rest[1..];
    Some(&rest[..rest.find(quote).unwrap_or(rest.len())])
}

/// The value after `name`, quoted or not.
fn value<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    param(line, name).or_else(|| {
        let at = line.find(name)? + name.len();
        line[at..]
            .trim_start_matches([' ', '=', ':', '\t'])
            .split_whitespace()
            .next()
    })
}

/// Whether an export's file path is a script or in a web folder.
pub fn web_path(path: &str) -> bool {
    let p = path.to_ascii_lowercase().replace('/', "\\");
    SCRIPTS.iter().any(|s| p.ends_with(s)) || WEB_DIRS.iter().any(|d| p.contains(d))
}

/// What a cmdlet (`op`) with its command line (`cmd`) is, if one this rule judges;
/// `file_path` is the `-FilePath` a reader already parsed (the event log's parameters), else
/// it is read from the command line (ECP and audit-log commands).
pub fn classify(op: &str, cmd: &str, file_path: Option<&str>) -> Option<Use> {
    let op = op.to_ascii_lowercase();
    let line = cmd.to_ascii_lowercase();
    match op.as_str() {
        "new-mailboxexportrequest" => {
            let path = file_path.or_else(|| value(&line, "filepath")).unwrap_or("");
            web_path(path).then_some(Use::ExportToScript)
        }
        "new-managementroleassignment" => line
            .contains("mailbox import export")
            .then_some(Use::RoleGrant),
        "install-transportagent" | "enable-transportagent" => Some(Use::TransportAgent),
        "remove-mailboxexportrequest" => Some(Use::ExportCleanup),
        _ => None,
    }
}

/// One use of one account: the evidence and the mailboxes named.
#[derive(Default)]
struct Uses {
    group: Group,
    mailboxes: std::collections::BTreeSet<String>,
}

/// The rule.
pub struct AdminCmdlet {
    /// By use, acting account, and whether the commands failed.
    by_use: BTreeMap<(Use, String, bool), Uses>,
}

impl AdminCmdlet {
    /// A new rule.
    pub fn new(_t: &Thresholds) -> Self {
        AdminCmdlet {
            by_use: BTreeMap::new(),
        }
    }
}

impl Rule for AdminCmdlet {
    fn kinds(&self) -> super::Kinds {
        super::Kinds::of(&[
            Kind::AdminCommand,
            Kind::AuditOperation,
            Kind::MailboxExport,
        ])
    }

    fn observe(&mut self, f: &Fact) {
        let Some(d) = detail_of(f, Kind::AdminCommand)
            .or_else(|| detail_of(f, Kind::AuditOperation))
            .or_else(|| detail_of(f, Kind::MailboxExport))
        else {
            return;
        };
        let Some(op) = d.op.as_deref() else { return };
        let cmd = d.cmd.as_deref().unwrap_or("");
        let path = d.param("FilePath").or(d.path.as_deref());
        let Some(u) = classify(op, cmd, path) else {
            return;
        };
        let actor = f.actor().unwrap_or("unknown").to_string();
        // MSExchange Management's event 6: the cmdlet ran and failed.
        let failed = f.status() == Some("failure");
        let e = self.by_use.entry((u, actor, failed)).or_default();
        e.group.add(f);
        if e.group.names.len() < 4 {
            let shown = if cmd.is_empty() { op } else { cmd };
            e.group
                .names
                .insert(crate::sanitize::capped(shown, 240).into_owned());
        }
        if let Some(m) = f.mailbox().filter(|_| e.mailboxes.len() < 32) {
            e.mailboxes.insert(m.to_string());
        }
    }

    fn finish(&mut self, files: &Files, _shared: &Shared) -> Vec<Finding> {
        std::mem::take(&mut self.by_use)
            .into_iter()
            .map(|((u, actor, failed), e)| finding(u, &actor, failed, e, files))
            .collect()
    }
}

/// The finding of one use: a failed command one step less severe; the account that ran it is
/// the abused one.
fn finding(u: Use, actor: &str, failed: bool, e: Uses, files: &Files) -> Finding {
    let mut g = e.group;
    let severity = match (failed, u.severity()) {
        (false, s) => s,
        (true, Severity::Critical) => Severity::High,
        (true, Severity::High) => Severity::Medium,
        (true, _) => Severity::Low,
    };
    let mailboxes = if e.mailboxes.is_empty() {
        String::new()
    } else {
        format!("; mailbox(es) {}", super::cloud::some(&e.mailboxes, 5))
    };
    let outcome = if failed {
        " (the cmdlet failed: an attempt)"
    } else {
        ""
    };
    let mut f = g.finding(
        "exchange.admin_cmdlet",
        severity,
        vec![u.attack()],
        format!("{}{outcome} by {actor}", capitalised(u.what())),
        format!(
            "{} command(s): {}{mailboxes}",
            g.count,
            super::cloud::some(&g.names, 3)
        ),
        steps(u),
        files,
    );
    if actor != "unknown" {
        f.entities
            .tag(EntityKind::User, actor, EntityRole::VictimAccount);
    }
    g.users.clear();
    f
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn steps(u: Use) -> Vec<&'static str> {
    match u {
        Use::ExportToScript => vec![
            "clean.remove_webshells",
            "clean.patch_exchange",
            "clean.review_exchange_roles",
        ],
        Use::RoleGrant | Use::ExportCleanup => vec!["clean.review_exchange_roles"],
        Use::TransportAgent => vec!["clean.review_transport_agents"],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_in_both_syntaxes() {
        let ps = r#"new-mailboxexportrequest -mailbox "administrator" -filepath "\\127.0.0.1\c$\inetpub\wwwroot\aspnet_client\shell.aspx" -contentfilter "subject -eq 'x'""#;
        assert_eq!(
            param(ps, "filepath"),
            Some(r"\\127.0.0.1\c$\inetpub\wwwroot\aspnet_client\shell.aspx")
        );
        let ecp =
            r"s:cmd=new-mailboxexportrequest.mailbox='alice'.filepath='\\backup01\pst\alice.pst'";
        assert_eq!(param(ecp, "filepath"), Some(r"\\backup01\pst\alice.pst"));
        assert_eq!(
            value("-filepath c:\\x.pst -x", "filepath"),
            Some("c:\\x.pst")
        );
    }

    #[test]
    fn what_each_use_is() {
        // ProxyShell's export (the public exploit's command line).
        assert_eq!(
            classify(
                "New-MailboxExportRequest",
                r##"New-MailboxExportRequest -Mailbox "administrator@corp.example" -IncludeFolders ("#Drafts#") -ContentFilter "(Subject -eq 'x')" -ExcludeDumpster -FilePath "\\localhost\C$\Program Files\Microsoft\Exchange Server\V15\FrontEnd\HttpProxy\owa\auth\x.aspx""##,
                None
            ),
            Some(Use::ExportToScript)
        );
        // A backup to a share in a maintenance window: exfil.mailbox_export's, not this rule's.
        assert_eq!(
            classify(
                "New-MailboxExportRequest",
                r#"New-MailboxExportRequest -Mailbox "alice" -FilePath "\\backup01\pst$\alice-2026-11.pst""#,
                None
            ),
            None
        );
        // FullAccess is persistence.mailbox_delegation's.
        assert_eq!(
            classify(
                "Add-MailboxPermission",
                "-Identity ceo -User x -AccessRights FullAccess",
                None
            ),
            None
        );
        assert_eq!(
            classify(
                "New-ManagementRoleAssignment",
                r#"New-ManagementRoleAssignment -Role "Mailbox Import Export" -User "svc-x""#,
                None
            ),
            Some(Use::RoleGrant)
        );
        assert_eq!(
            classify(
                "New-ManagementRoleAssignment",
                "-Role \"View-Only Recipients\"",
                None
            ),
            None
        );
        assert_eq!(
            classify(
                "Install-TransportAgent",
                "-Name x -TransportAgentFactory y -AssemblyPath c:\\x.dll",
                None
            ),
            Some(Use::TransportAgent)
        );
        assert_eq!(classify("Get-Mailbox", "", None), None);
        // The event log reader's parsed -FilePath is used as it stands.
        assert_eq!(
            classify(
                "New-MailboxExportRequest",
                "",
                Some(r"\\127.0.0.1\c$\inetpub\wwwroot\aspnet_client\a.aspx")
            ),
            Some(Use::ExportToScript)
        );
    }

    #[test]
    fn the_maintenance_export_is_not_critical() {
        use crate::detect::fact::Field;
        let detail = |op: &str, cmd: &str| serde_json::json!({"op": op, "cmd": cmd}).to_string();
        let mk = |secs: i64, user: &str, op: &str, cmd: &str| {
            crate::detect::rules::tests::fact(Kind::AdminCommand, secs, "10.0.0.20", user)
                .with(Field::Detail, Some(&detail(op, cmd)))
        };
        // An export request as every reader now gives it: a mailbox_export with its path.
        let export = |secs: i64, user: &str, path: &str| {
            let d = serde_json::json!({"op": "New-MailboxExportRequest", "action": "request", "path": path, "params": {"FilePath": path}});
            crate::detect::rules::tests::fact(Kind::MailboxExport, secs, "10.0.0.20", user)
                .with(Field::Detail, Some(&d.to_string()))
        };
        // A failed cmdlet (MSExchange Management event 6, as tests/fixtures/evtx holds).
        let failed = mk(
            120,
            "CORP\\admmig",
            "Install-TransportAgent",
            r#"Install-TransportAgent -Name "Evil" -AssemblyPath ".\NetshHelperBeacon.dll" -TransportAgentFactory "hack""#,
        )
        .with(Field::Status, Some("failure"));
        let facts = [
            failed,
            export(0, "CORP\\backupadmin", r"\\backup01\pst$\alice.pst"),
            export(
                60,
                "NT AUTHORITY\\SYSTEM",
                r"\\127.0.0.1\c$\inetpub\wwwroot\aspnet_client\x.aspx",
            ),
            mk(
                90,
                "NT AUTHORITY\\SYSTEM",
                "Remove-MailboxExportRequest",
                r#"-Identity "administrator\MailboxExport" -Confirm:$false"#,
            ),
        ];
        let f = crate::detect::rules::tests::run(
            Box::new(AdminCmdlet::new(&Thresholds::default())),
            &facts,
        );
        let got: Vec<(Severity, &str)> = f.iter().map(|f| (f.severity, f.title.as_str())).collect();
        assert_eq!(
            got,
            [
                (Severity::Critical, "Mailbox export written as a web script (ProxyShell's web-shell step, CVE-2021-31207) by NT AUTHORITY\\SYSTEM"),
                (Severity::Medium, "Transport agent installed or enabled (the cmdlet failed: an attempt) by CORP\\admmig"),
                (Severity::Medium, "Mailbox export requests removed by NT AUTHORITY\\SYSTEM"),
            ]
        );
    }
}
