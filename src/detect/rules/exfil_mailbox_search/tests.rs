use serde_json::json;

use super::*;
use crate::detect::rules::mail_actions::testing::{act, role, run, taken};
use crate::detect::rules::tests::success;

const DAY: i64 = 86_400;

fn query(secs: i64, ip: &str, user: &str, mailbox: &str, q: &str) -> Fact {
    act(
        Kind::MailboxSearch,
        secs,
        ip,
        user,
        Some(mailbox),
        Some("success"),
        json!({"op": "SearchQueryInitiatedExchange", "action": "query", "search": q, "mailbox": mailbox}),
    )
}

fn ediscovery(secs: i64, ip: &str, user: &str, action: &str, d: serde_json::Value) -> Fact {
    let mut d = d;
    d["action"] = json!(action);
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

/// Three days of office sign-ins for `user`.
fn baseline(user: &str, ip: &str) -> Vec<Fact> {
    (0..3)
        .flat_map(|d| {
            [
                success(d * DAY + 8 * 3600, ip, user),
                success(d * DAY + 13 * 3600, ip, user),
            ]
        })
        .collect()
}

fn rule() -> Box<dyn Rule> {
    Box::new(MailboxSearch::new(&Thresholds::default()))
}

#[test]
fn a_taken_account_searching_mailboxes_is_high_with_what_it_looked_for() {
    let admin = "it.admin@contoso.example";
    let mut facts = baseline(admin, "198.51.100.10");
    let t = 3 * DAY + 2 * 3600;
    facts.push(success(t, "203.0.113.50", admin));
    facts.push(query(
        t + 600,
        "203.0.113.50",
        admin,
        "megan@contoso.example",
        "wire transfer",
    ));
    facts.push(ediscovery(
        t + 900,
        "203.0.113.50",
        admin,
        "create",
        json!({"op": "SearchCreated", "name": "q2-review", "search": "password OR 密码 OR 合同 OR invoice", "locations": ["All"]}),
    ));
    let f = run(rule(), &facts, &[taken(admin, "203.0.113.50", t)]);
    assert_eq!(f.len(), 1, "{f:#?}");
    let f = &f[0];
    assert_eq!(f.severity, Severity::High);
    assert!(f.title.contains("by a taken account"), "{}", f.title);
    for w in ["wire", "password", "密码", "合同", "invoice"] {
        assert!(f.title.contains(w), "{w}: {}", f.title);
    }
    assert_eq!(f.count, 2);
    let boxes: Vec<&str> = f.accessed.iter().map(|a| a.mailbox.as_str()).collect();
    assert_eq!(boxes, ["All", "megan@contoso.example"]);
    assert!(f.accessed.iter().all(|a| a.how == "search"));
    assert_eq!(f.accessed[1].actor.as_deref(), Some(admin));
    assert_eq!(f.accessed[1].sources, ["203.0.113.50"]);
    assert_eq!(f.accessed[1].messages, None, "a search gives no count");
    assert_eq!(
        role(f, EntityKind::Ip, "203.0.113.50"),
        Some("stolen_login_source")
    );
    assert_eq!(role(f, EntityKind::User, admin), Some("victim_account"));
    assert_eq!(
        role(f, EntityKind::User, "megan@contoso.example"),
        Some("victim_account")
    );
    assert!(f.decisive.is_some());
    assert!(f.has(crate::detect::catalog::Role::MailRead));
}

#[test]
fn a_new_network_alone_is_high() {
    let user = "megan@contoso.example";
    let mut facts = baseline(user, "198.51.100.20");
    facts.push(success(3 * DAY, "192.0.2.200", user));
    facts.push(query(3 * DAY + 60, "192.0.2.200", user, user, "budget Q2"));
    let f = run(rule(), &facts, &[]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::High);
    assert!(f[0].title.contains("new to the account"));
    assert_eq!(
        role(&f[0], EntityKind::Ip, "192.0.2.200"),
        Some("new_source")
    );
    // The account owns the mailbox: no separate victim.
    assert_eq!(role(&f[0], EntityKind::User, user), Some("observed"));
}

#[test]
fn legal_hold_user_searches_and_plain_ediscovery_stay_low() {
    let legal = "legal@contoso.example";
    let megan = "megan@contoso.example";
    let mut facts = baseline(legal, "198.51.100.10");
    facts.extend(baseline(megan, "198.51.100.20"));
    let t = 3 * DAY + 10 * 3600;
    // The legal hold: its case's search is no finding.
    facts.push(ediscovery(
        t,
        "198.51.100.10",
        legal,
        "hold",
        json!({"op": "HoldCreated", "name": "Vendor dispute hold", "case": "db5b5fab"}),
    ));
    facts.push(ediscovery(t + 300, "198.51.100.10", legal, "create", json!({"op": "SearchCreated", "name": "Vendor dispute - AP mail", "case": "db5b5fab", "search": "\"Tailspin Supply\" AND (invoice OR contract)", "locations": [megan]})));
    // Outside any case: medium with a sensitive word, low without.
    facts.push(ediscovery(
        t + 600,
        "198.51.100.10",
        legal,
        "create",
        json!({"op": "New-ComplianceSearch", "name": "x", "search": "bank statement"}),
    ));
    facts.push(ediscovery(
        t + 700,
        "198.51.100.10",
        legal,
        "create",
        json!({"op": "New-ComplianceSearch", "name": "y", "search": "subject:offsite"}),
    ));
    // Megan's own searches: an invoice is named (low), a budget is nothing.
    facts.push(query(
        t + 800,
        "198.51.100.20",
        megan,
        megan,
        "invoice 4471",
    ));
    facts.push(query(t + 900, "198.51.100.20", megan, megan, "budget Q2"));
    // A failed search is no search.
    let mut failed = query(t + 950, "198.51.100.20", megan, megan, "password");
    failed = failed.with(crate::detect::fact::Field::Status, Some("failure"));
    facts.push(failed);
    let f = run(rule(), &facts, &[]);
    let got: Vec<(&str, Severity, u64)> = f
        .iter()
        .map(|f| (f.entities.users[0].as_str(), f.severity, f.count))
        .collect();
    assert_eq!(
        got,
        [
            (legal, Severity::Low, 1),
            (legal, Severity::Medium, 1),
            (megan, Severity::Low, 1),
        ],
        "{f:#?}"
    );
    assert!(!f.iter().any(|f| f.summary.contains("Tailspin")), "{f:#?}");
    assert_eq!(
        role(&f[1], EntityKind::Ip, "198.51.100.10"),
        Some("usual_source")
    );
    assert_eq!(role(&f[1], EntityKind::User, legal), Some("observed"));
}
