use serde_json::json;

use super::*;
use crate::detect::rules::mail_actions::testing::{act, role, run, taken};
use crate::detect::rules::tests::success;

fn switch(secs: i64, ip: &str, user: &str, mailbox: &str, settings: serde_json::Value) -> Fact {
    act(
        Kind::AccessSetting,
        secs,
        ip,
        user,
        Some(mailbox),
        Some("changed"),
        json!({"op": "Set-CASMailbox", "action": "on", "settings": settings}),
    )
}

fn rule() -> Box<dyn Rule> {
    Box::new(ProtocolEnabled::new(&Thresholds::default()))
}

#[test]
fn switched_on_then_used_is_high_never_used_is_low() {
    let admin = "it.admin@contoso.example";
    let facts = [
        // The mailbox read over IMAP 25 minutes later (listed first: audit logs run backwards).
        act(
            Kind::MailboxAccess,
            1500 + 3600,
            "203.0.113.50",
            admin,
            Some(admin),
            Some("success"),
            json!({"action": "bind", "client": "Client=IMAP4", "messages": 2}),
        ),
        switch(3600, "198.51.100.10", admin, admin, json!({"imap": "on"})),
        // POP for the scanner, by its alias; nothing ever uses it.
        switch(
            7200,
            "198.51.100.10",
            admin,
            "scanner",
            json!({"pop": "on"}),
        ),
        // OWA switched off and MAPI on: neither is followed here.
        switch(
            7300,
            "198.51.100.10",
            admin,
            "megan@contoso.example",
            json!({"owa": "off", "mapi": "on"}),
        ),
        // A login of the scanner's account two days later is outside the window.
        success(
            7200 + 2 * 86_400,
            "198.51.100.30",
            "scanner@contoso.example",
        ),
    ];
    let f = run(rule(), &facts, &[]);
    let got: Vec<(&str, Severity)> = f.iter().map(|f| (f.title.as_str(), f.severity)).collect();
    assert_eq!(
        got,
        [
            ("IMAP switched on for it.admin@contoso.example and used 25 min later from 203.0.113.50", Severity::High),
            ("POP switched on for scanner and not used in the 24 h after", Severity::Low),
        ],
        "{f:#?}"
    );
    assert_eq!(f[0].count, 2, "the switch-on and the use are its evidence");
    assert!(f[0].decisive.is_some());
    assert_eq!(role(&f[1], EntityKind::User, "scanner"), Some("observed"));
}

#[test]
fn by_a_taken_account_one_step_more() {
    let admin = "it.admin@contoso.example";
    let facts = [
        switch(3600, "203.0.113.50", admin, admin, json!({"imap": "on"})),
        success(3700, "203.0.113.50", admin),
        switch(
            3800,
            "203.0.113.50",
            admin,
            "ceo@contoso.example",
            json!({"ews": "on"}),
        ),
    ];
    let f = run(rule(), &facts, &[taken(admin, "203.0.113.50", 0)]);
    let got: Vec<Severity> = f.iter().map(|f| f.severity).collect();
    assert_eq!(got, [Severity::Critical, Severity::Medium], "{f:#?}");
    assert_eq!(
        role(&f[0], EntityKind::Ip, "203.0.113.50"),
        Some("stolen_login_source")
    );
    assert_eq!(role(&f[0], EntityKind::User, admin), Some("victim_account"));
}

#[test]
fn sealing_forgets_only_uses_no_switch_on_can_claim() {
    use crate::detect::rules::tests::{run as run_all, run_sealed};
    let admin = "it.admin@contoso.example";
    let day = 86_400;
    let mut facts = Vec::new();
    // A month of the admin's hourly logins: the uses a mail server piles up.
    for h in 0..30 * 24 {
        facts.push(success(h * 3600 + 60, "198.51.100.30", admin));
    }
    // Day 10: IMAP switched on, used 2 h later (the hourly login); day 20: POP switched on for
    // the scanner, whose one login comes 3 h later.
    facts.push(switch(
        10 * day + 1800,
        "198.51.100.10",
        admin,
        admin,
        json!({"imap": "on"}),
    ));
    facts.push(switch(
        20 * day + 600,
        "198.51.100.10",
        admin,
        "scanner",
        json!({"pop": "on"}),
    ));
    facts.push(success(
        20 * day + 3 * 3600,
        "198.51.100.31",
        "scanner@contoso.example",
    ));
    facts.sort_by_key(|f| f.ts_us);
    let titles = |f: &[Finding]| {
        f.iter()
            .map(|f| (f.title.clone(), f.severity))
            .collect::<Vec<_>>()
    };
    let whole = run_all(rule(), &facts);
    assert_eq!(titles(&whole).len(), 2, "{whole:#?}");
    assert!(
        whole.iter().all(|f| f.severity == Severity::High),
        "{whole:#?}"
    );
    assert_eq!(titles(&run_sealed(rule(), &facts)), titles(&whole));
    // What stays after a seal: the window of the seen switch-on, and the last window.
    let mut r = ProtocolEnabled::new(&Thresholds::default());
    for f in facts
        .iter()
        .filter(|f| f.ts_us < crate::detect::rules::tests::T0 + 15 * day * 1_000_000)
    {
        r.observe(f);
    }
    let shared = Shared::default();
    r.seal(
        (crate::detect::rules::tests::T0 / 1_000_000 + 15 * day) / 3600,
        &[],
        &shared,
    );
    assert!(r.remembered <= 26 + 26, "{}", r.remembered);
    assert!(r.remembered >= 26, "{}", r.remembered);
}
