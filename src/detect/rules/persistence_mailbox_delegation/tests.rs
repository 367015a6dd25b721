use serde_json::json;

use super::*;
use crate::detect::rules::mail_actions::testing::{act, role, run, taken};
use crate::detect::rules::tests::success;

const DAY: i64 = 86_400;

fn grant(secs: i64, ip: &str, user: &str, mailbox: &str, d: serde_json::Value) -> Fact {
    act(
        Kind::PermissionGrant,
        secs,
        ip,
        user,
        Some(mailbox),
        Some("created"),
        d,
    )
}

/// Three office days of sign-ins at 08, 12 and 16 h.
fn baseline(user: &str, ip: &str) -> Vec<Fact> {
    (0..3)
        .flat_map(|d| [8, 12, 16].map(|h| success(d * DAY + h * 3600, ip, user)))
        .collect()
}

fn rule() -> Box<dyn Rule> {
    Box::new(MailboxDelegation::new(&Thresholds::default()))
}

#[test]
fn the_attackers_grants_are_critical_and_name_owner_and_grantee() {
    let admin = "it.admin@contoso.example";
    let mut facts = baseline(admin, "198.51.100.10");
    let t = 3 * DAY + 2 * 3600;
    facts.push(success(t, "203.0.113.50", admin));
    facts.push(grant(
        t + 200,
        "203.0.113.50",
        admin,
        "megan@contoso.example",
        json!({"op": "Add-MailboxPermission", "grantee": admin, "rights": ["FullAccess"]}),
    ));
    facts.push(grant(t + 3800, "203.0.113.50", admin, "megan@contoso.example", json!({"op": "Add-MailboxFolderPermission", "grantee": "Default", "rights": ["Reviewer"], "folders": ["\\Inbox"]})));
    let f = run(rule(), &facts, &[taken(admin, "203.0.113.50", t)]);
    assert_eq!(f.len(), 1, "{f:#?}");
    let f = &f[0];
    assert_eq!((f.severity, f.count), (Severity::Critical, 2));
    assert!(
        f.summary
            .contains("megan@contoso.example: FullAccess to it.admin@contoso.example"),
        "{}",
        f.summary
    );
    assert!(
        f.summary
            .contains("megan@contoso.example\\Inbox: Reviewer to Default"),
        "{}",
        f.summary
    );
    assert_eq!(
        role(f, EntityKind::User, "megan@contoso.example"),
        Some("victim_account")
    );
    assert_eq!(role(f, EntityKind::User, admin), Some("victim_account"));
    assert_eq!(
        role(f, EntityKind::User, "Default"),
        None,
        "everyone is no account"
    );
    assert_eq!(
        role(f, EntityKind::Ip, "203.0.113.50"),
        Some("stolen_login_source")
    );
}

#[test]
fn what_makes_a_grant_grave_without_a_takeover() {
    let admin = "it.admin@contoso.example";
    let mut facts = baseline(admin, "198.51.100.10");
    // The tenant's domain, learned from its accounts.
    facts.push(act(
        Kind::AuditOperation,
        60,
        "198.51.100.10",
        admin,
        None,
        None,
        json!({"op": "Set-User", "org": "contoso.onmicrosoft.com"}),
    ));
    let day3 = 3 * DAY;
    let g = |secs: i64, mailbox: &str, d: serde_json::Value| {
        grant(day3 + secs, "198.51.100.10", admin, mailbox, d)
    };
    facts.push(g(10 * 3600, "ceo@contoso.example", json!({"op": "Add-MailboxFolderPermission", "grantee": "Anonymous", "rights": ["Reviewer"], "folders": ["\\Inbox"]})));
    facts.push(g(10 * 3600 + 60, "ceo@contoso.example", json!({"op": "Add-MailboxPermission", "grantee": "archive@mail-keeper.example.net", "rights": ["FullAccess"]})));
    // An account created the day before, then given the CFO's mailbox.
    facts.push(act(
        Kind::AdminCommand,
        day3 - 3600,
        "",
        admin,
        None,
        Some("success"),
        json!({"op": "New-Mailbox", "created": "temp.audit@contoso.example"}),
    ));
    facts.push(g(10 * 3600 + 120, "cfo@contoso.example", json!({"op": "Add-MailboxPermission", "grantee": "temp.audit@contoso.example", "rights": ["FullAccess"]})));
    // A calendar opened to everyone, at 03 h: medium.
    facts.push(g(3 * 3600, "ceo@contoso.example", json!({"op": "Set-MailboxFolderPermission", "grantee": "Default", "rights": ["Reviewer"], "folders": ["\\Calendar"]})));
    let f = run(rule(), &facts, &[]);
    let got: Vec<(Severity, u64)> = f.iter().map(|f| (f.severity, f.count)).collect();
    assert_eq!(got, [(Severity::Medium, 1), (Severity::High, 3)], "{f:#?}");
    let high = &f[1];
    for why in [
        "opened to everyone",
        "outside the organisation",
        "created days before",
    ] {
        assert!(high.title.contains(why), "{why}: {}", high.title);
    }
    assert_eq!(
        high.entities
            .role(EntityKind::Recipient, "archive@mail-keeper.example.net")
            .map(|r| r.name()),
        Some("outside_recipient")
    );
    assert_eq!(role(high, EntityKind::User, admin), Some("observed"));
    assert!(
        f[0].title.contains("outside the actor's usual hours"),
        "{}",
        f[0].title
    );
}

#[test]
fn an_admins_delegation_in_office_hours_is_low_and_provisioning_is_nothing() {
    let admin = "it.admin@contoso.example";
    let mut facts = baseline(admin, "198.51.100.10");
    let t = 3 * DAY + 10 * 3600;
    facts.push(grant(t, "198.51.100.10", admin, "shared-ap@contoso.example", json!({"op": "Add-MailboxPermission", "grantee": "joe@contoso.example", "rights": ["FullAccess"]})));
    // The service provisioning its discovery mailbox (as the Huntress tenant's audit log has
    // it), a removal, a refusal, a free/busy share and a grant to SELF: none reported.
    facts.push(act(Kind::PermissionGrant, t + 10, "", "NT AUTHORITY\\SYSTEM (Microsoft.Exchange.ServiceHost)", Some("NAMPR10A011.PROD.OUTLOOK.COM/Microsoft Exchange Hosted Organizations/M365B132131.onmicrosoft.com/DiscoverySearchMailbox{D919BA05-46A6-415f-80AD-7E09334BB852}"), Some("created"), json!({"op": "Add-MailboxPermission", "grantee": "Discovery Management", "rights": ["FullAccess"], "by_service": true})));
    facts.push(act(Kind::PermissionGrant, t + 20, "198.51.100.10", admin, Some("megan@contoso.example"), Some("removed"), json!({"op": "Remove-MailboxPermission", "grantee": "joe@contoso.example", "rights": ["FullAccess"]})));
    facts.push(act(Kind::PermissionGrant, t + 30, "198.51.100.10", admin, Some("megan@contoso.example"), Some("denied"), json!({"op": "Add-MailboxPermission", "grantee": "joe@contoso.example", "rights": ["FullAccess"]})));
    facts.push(grant(t + 40, "198.51.100.10", admin, "megan@contoso.example", json!({"op": "Add-MailboxFolderPermission", "grantee": "Default", "rights": ["AvailabilityOnly"], "folders": ["\\Calendar"]})));
    facts.push(grant(t + 50, "198.51.100.10", admin, "megan@contoso.example", json!({"op": "Add-MailboxPermission", "grantee": "NT AUTHORITY\\SELF", "rights": ["FullAccess"]})));
    let f = run(rule(), &facts, &[]);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!((f[0].severity, f[0].count), (Severity::Low, 1));
    assert_eq!(
        role(&f[0], EntityKind::User, "shared-ap@contoso.example"),
        Some("observed")
    );
    assert_eq!(
        role(&f[0], EntityKind::User, "joe@contoso.example"),
        Some("observed")
    );
    assert_eq!(
        role(&f[0], EntityKind::Ip, "198.51.100.10"),
        Some("usual_source")
    );
}
