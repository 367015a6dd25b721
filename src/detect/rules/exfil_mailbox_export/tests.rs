use serde_json::json;

use super::*;
use crate::detect::fact::Field;
use crate::detect::rules::mail_actions::testing::{act, role, run, taken};
use crate::detect::rules::tests::success;

const DAY: i64 = 86_400;

fn export(secs: i64, ip: &str, user: &str, mailbox: Option<&str>, d: serde_json::Value) -> Fact {
    act(
        Kind::MailboxExport,
        secs,
        ip,
        user,
        mailbox,
        Some("success"),
        d,
    )
}

fn search(secs: i64, ip: &str, user: &str, d: serde_json::Value) -> Fact {
    act(
        Kind::MailboxSearch,
        secs,
        ip,
        user,
        None,
        Some("success"),
        d,
    )
}

fn baseline(user: &str, ip: &str) -> Vec<Fact> {
    (0..3)
        .map(|d| success(d * DAY + 9 * 3600, ip, user))
        .collect()
}

fn rule() -> Box<dyn Rule> {
    Box::new(MailboxExport::new(&Thresholds::default()))
}

#[test]
fn a_taken_accounts_export_and_download_are_critical_with_the_searched_mailboxes() {
    let admin = "it.admin@contoso.example";
    let mut facts = baseline(admin, "198.51.100.10");
    let t = 3 * DAY + 2 * 3600;
    facts.push(success(t, "203.0.113.50", admin));
    // The export names only its search; the search names the mailboxes.
    facts.push(search(t + 60, "203.0.113.50", admin, json!({"op": "SearchCreated", "action": "create", "name": "q2-review", "locations": ["megan@contoso.example", "ceo@contoso.example"]})));
    facts.push(export(
        t + 900,
        "203.0.113.50",
        admin,
        None,
        json!({"op": "SearchExported", "action": "export", "name": "q2-review"}),
    ));
    facts.push(export(
        t + 1400,
        "203.0.113.50",
        admin,
        None,
        json!({"op": "SearchExportDownloaded", "action": "download", "name": "q2-review"}),
    ));
    let f = run(rule(), &facts, &[taken(admin, "203.0.113.50", t)]);
    assert_eq!(f.len(), 1, "{f:#?}");
    let f = &f[0];
    assert_eq!((f.severity, f.count), (Severity::Critical, 2));
    let boxes: Vec<(&str, &str, u64)> = f
        .accessed
        .iter()
        .map(|a| (a.mailbox.as_str(), a.how.as_str(), a.sessions))
        .collect();
    assert_eq!(
        boxes,
        [
            ("ceo@contoso.example", "export", 2),
            ("megan@contoso.example", "export", 2)
        ]
    );
    assert_eq!(
        role(f, EntityKind::Ip, "203.0.113.50"),
        Some("stolen_login_source")
    );
    assert_eq!(
        role(f, EntityKind::User, "ceo@contoso.example"),
        Some("victim_account")
    );
}

#[test]
fn backups_legal_exports_and_web_shell_writes() {
    let legal = "legal@contoso.example";
    let mut facts = baseline(legal, "198.51.100.10");
    let t = 3 * DAY + 11 * 3600;
    // A case with a hold: its export is low.
    facts.push(search(
        t,
        "198.51.100.10",
        legal,
        json!({"op": "HoldCreated", "action": "hold", "case": "c-14", "name": "hold"}),
    ));
    facts.push(search(t + 60, "198.51.100.10", legal, json!({"op": "SearchCreated", "action": "create", "case": "c-14", "name": "AP mail", "locations": ["megan@contoso.example"]})));
    facts.push(export(
        t + 600,
        "198.51.100.10",
        legal,
        None,
        json!({"op": "SearchExported", "action": "export", "name": "AP mail"}),
    ));
    // An on-premises backup to a share (no client address in the event log): low.
    facts.push(export(t + 900, "", "CORP\\backupadmin", Some("alice"), json!({"op": "New-MailboxExportRequest", "action": "request", "path": "\\\\backup01\\pst$\\alice.pst"})));
    // ProxyShell's export to a web folder is exchange.admin_cmdlet's.
    facts.push(export(t + 1000, "", "NT AUTHORITY\\SYSTEM", Some("administrator"), json!({"op": "New-MailboxExportRequest", "action": "request", "path": "\\\\127.0.0.1\\c$\\inetpub\\wwwroot\\aspnet_client\\x.aspx"})));
    // A failed download outside any case: an attempt, one lower than high.
    facts.push(
        export(
            t + 1200,
            "198.51.100.10",
            legal,
            None,
            json!({"op": "SearchExportDownloaded", "action": "download", "name": "other"}),
        )
        .with(Field::Status, Some("failure")),
    );
    let f = run(rule(), &facts, &[]);
    let got: Vec<(&str, Severity)> = f
        .iter()
        .map(|f| (f.entities.users[0].as_str(), f.severity))
        .collect();
    assert_eq!(
        got,
        [
            ("CORP\\backupadmin", Severity::Low),
            (legal, Severity::Low),
            (legal, Severity::Medium),
        ],
        "{f:#?}"
    );
    assert!(f[0].summary.contains("alice.pst"), "{}", f[0].summary);
    assert_eq!(f[0].accessed[0].mailbox, "alice");
    assert!(f[1].title.contains("hold"));
    assert!(f[2].title.contains("an attempt"));
    assert!(!f.iter().any(|f| f.summary.contains("aspnet_client")));
}
