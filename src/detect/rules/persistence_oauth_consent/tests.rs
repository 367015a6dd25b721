use serde_json::json;

use super::*;
use crate::detect::entity::EntityKind;
use crate::detect::rules::mail_actions::testing::{act, role, run, taken};

fn grant(secs: i64, ip: &str, user: &str, status: &str, d: serde_json::Value) -> Fact {
    act(Kind::AppConsent, secs, ip, user, None, Some(status), d)
}

fn rule() -> Box<dyn Rule> {
    Box::new(OauthConsent::new(&Thresholds::default()))
}

#[test]
fn risky_scopes_named_and_application_permission_critical() {
    assert_eq!(
        risky(&["Mail.Read".into(), "offline_access".into(), "openid".into()]),
        ["Mail.Read", "offline_access"]
    );
    // offline_access alone keeps no mail scope alive.
    assert!(risky(&["offline_access".into(), "User.Read".into()]).is_empty());
    assert_eq!(risky(&["files.read.all".into()]), ["files.read.all"]);
    let admin = "it.admin@contoso.example";
    let facts = [
        grant(
            100,
            "203.0.113.50",
            admin,
            "created",
            json!({"op": "Consent to application.", "action": "consent", "app": "Mail Backup Pro", "app_id": "7d9f", "scopes": ["Mail.Read", "Mail.Send", "offline_access", "openid"], "admin_consent": true, "app_only": false}),
        ),
        grant(
            160,
            "203.0.113.50",
            admin,
            "created",
            json!({"op": "Add app role assignment to service principal.", "action": "role", "app": "Mail Backup Pro", "app_id": "1e3c", "scopes": ["Mail.Read"], "admin_consent": true, "app_only": true}),
        ),
        grant(
            250,
            "203.0.113.50",
            admin,
            "created",
            json!({"op": "Add service principal credentials.", "action": "credential", "app": "Mail Backup Pro"}),
        ),
    ];
    let f = run(rule(), &facts, &[taken(admin, "203.0.113.50", 0)]);
    assert_eq!(f.len(), 1, "{f:#?}");
    let f = &f[0];
    assert_eq!((f.severity, f.count), (Severity::Critical, 3));
    assert!(f.title.contains("\"Mail Backup Pro\""), "{}", f.title);
    assert!(
        f.title.contains("Mail.Read, Mail.Send, offline_access"),
        "{}",
        f.title
    );
    assert!(
        f.summary.contains("application permission"),
        "{}",
        f.summary
    );
    assert!(f.summary.contains("credentials added"), "{}", f.summary);
    assert_eq!(role(f, EntityKind::User, admin), Some("victim_account"));
    assert_eq!(
        role(f, EntityKind::Ip, "203.0.113.50"),
        Some("stolen_login_source")
    );
}

#[test]
fn who_consented_decides_without_a_takeover() {
    let facts = [
        // An administrator's tenant-wide consent to mail: high.
        grant(
            0,
            "198.51.100.10",
            "it.admin@contoso.example",
            "created",
            json!({"action": "consent", "app": "CRM Mail Sync", "scopes": ["Mail.ReadWrite"], "admin_consent": true}),
        ),
        // A user's own consent to read their mail: medium.
        grant(
            10,
            "198.51.100.20",
            "megan@contoso.example",
            "created",
            json!({"action": "consent", "app": "Mail Merge Helper", "scopes": ["Mail.Read", "offline_access"], "admin_consent": false}),
        ),
        // A user's consent to sign-in scopes: nothing.
        grant(
            20,
            "198.51.100.20",
            "megan@contoso.example",
            "created",
            json!({"action": "consent", "app": "Contoso Expenses", "scopes": ["User.Read", "openid", "profile"], "admin_consent": false}),
        ),
        // A secret added to an app that holds no risky scope: medium.
        grant(
            30,
            "198.51.100.10",
            "it.admin@contoso.example",
            "created",
            json!({"action": "credential", "app": "Build Agent"}),
        ),
        // A removal and a failure: nothing.
        grant(
            40,
            "198.51.100.10",
            "it.admin@contoso.example",
            "removed",
            json!({"action": "grant", "app": "Old App", "scopes": ["Mail.Read"]}),
        ),
        grant(
            50,
            "198.51.100.10",
            "it.admin@contoso.example",
            "failure",
            json!({"action": "consent", "app": "Failed App", "scopes": ["Mail.Read"], "admin_consent": true}),
        ),
    ];
    let f = run(rule(), &facts, &[]);
    let got: Vec<(&str, Severity)> = f.iter().map(|f| (f.title.as_str(), f.severity)).collect();
    assert_eq!(
        got,
        [
            (
                "Application \"Build Agent\" granted access",
                Severity::Medium
            ),
            (
                "Application \"CRM Mail Sync\" granted access: Mail.ReadWrite",
                Severity::High
            ),
            (
                "Application \"Mail Merge Helper\" granted access: Mail.Read, offline_access",
                Severity::Medium
            ),
        ],
        "{f:#?}"
    );
    assert_eq!(
        role(&f[1], EntityKind::User, "it.admin@contoso.example"),
        Some("observed")
    );
}
