use serde_json::json;

use super::*;
use crate::detect::fact::Field;
use crate::detect::rules::mail_actions::testing::{act, role, run, taken};

fn setting(secs: i64, ip: &str, user: &str, mailbox: Option<&str>, d: serde_json::Value) -> Fact {
    act(
        Kind::AuditSetting,
        secs,
        ip,
        user,
        mailbox,
        Some("changed"),
        d,
    )
}

fn rule() -> Box<dyn Rule> {
    Box::new(AuditDisabled::new(&Thresholds::default()))
}

#[test]
fn the_attacker_switching_auditing_off_is_critical() {
    let admin = "it.admin@contoso.example";
    let facts = [
        setting(
            100,
            "203.0.113.50",
            admin,
            Some("megan@contoso.example"),
            json!({"op": "Set-Mailbox", "action": "off", "settings": {"AuditEnabled": "off"}}),
        ),
        setting(
            140,
            "203.0.113.50",
            admin,
            Some(admin),
            json!({"op": "Set-MailboxAuditBypassAssociation", "action": "bypass", "settings": {"AuditBypassEnabled": "on"}}),
        ),
        // Switched back on for Megan an hour later: the silent hour is named.
        setting(
            3700,
            "198.51.100.10",
            "helpdesk@contoso.example",
            Some("megan@contoso.example"),
            json!({"op": "Set-Mailbox", "action": "on", "settings": {"AuditEnabled": "on"}}),
        ),
    ];
    let f = run(rule(), &facts, &[taken(admin, "203.0.113.50", 0)]);
    assert_eq!(f.len(), 1, "{f:#?}");
    let f = &f[0];
    assert_eq!((f.severity, f.count), (Severity::Critical, 2));
    assert!(f.title.contains("by a taken account"));
    assert!(
        f.summary
            .contains("Set-Mailbox megan@contoso.example (AuditEnabled=off)"),
        "{}",
        f.summary
    );
    assert!(
        f.summary
            .contains("megan@contoso.example back on at 2026-03-04T01:01:40Z"),
        "{}",
        f.summary
    );
    assert_eq!(role(f, EntityKind::User, admin), Some("victim_account"));
    assert_eq!(
        role(f, EntityKind::User, "megan@contoso.example"),
        Some("observed")
    );
    assert!(f.has(crate::detect::catalog::Role::LogIntegrity));
}

#[test]
fn switch_offs_cuts_attempts_and_the_service() {
    let facts = [
        setting(
            0,
            "198.51.100.10",
            "it.admin@contoso.example",
            None,
            json!({"op": "Set-AdminAuditLogConfig", "action": "off", "settings": {"UnifiedAuditLogIngestionEnabled": "off"}}),
        ),
        setting(
            10,
            "198.51.100.10",
            "it.admin@contoso.example",
            Some("megan"),
            json!({"op": "Set-Mailbox", "action": "reduced", "settings": {"AuditOwner": "@{Remove=\"MailItemsAccessed\"}"}}),
        ),
        setting(
            20,
            "198.51.100.10",
            "ops@contoso.example",
            None,
            json!({"op": "Set-OrganizationConfig", "action": "off"}),
        )
        .with(Field::Status, Some("failure")),
        // Changes that cut nothing, and the service's own: not reported.
        setting(
            30,
            "198.51.100.10",
            "it.admin@contoso.example",
            None,
            json!({"op": "Set-AdminAuditLogConfig", "action": "changed"}),
        ),
        setting(
            40,
            "",
            "NT AUTHORITY\\SYSTEM (Microsoft.Exchange.ServiceHost)",
            None,
            json!({"op": "Set-AdminAuditLogConfig", "action": "off", "by_service": true}),
        ),
    ];
    let f = run(rule(), &facts, &[]);
    let got: Vec<(&str, Severity)> = f
        .iter()
        .map(|f| (f.entities.users[0].as_str(), f.severity))
        .collect();
    assert_eq!(
        got,
        [
            ("it.admin@contoso.example", Severity::Medium),
            ("it.admin@contoso.example", Severity::High),
            ("ops@contoso.example", Severity::Medium),
        ],
        "{f:#?}"
    );
    assert!(
        f[1].summary.contains("for the organisation"),
        "{}",
        f[1].summary
    );
    assert!(f[2].title.contains("an attempt"));
}
