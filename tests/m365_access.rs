//! `parse` and `detect` on `tests/fixtures/m365-access` (Microsoft 365 audit records in the
//! shapes Microsoft documents; its README cites the pages and tells the story): what the
//! attacker who took `it.admin` searched, exported, delegated, consented, switched on and
//! switched off is found at the records that show it, with the taken account, the stolen
//! login's address and the mailboxes concerned; the administrators' legal hold, the delegate
//! added in office hours, the scanner's POP, a user's sign-in consent and a phone's sync stay
//! low, informational or unreported.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::util::{self, run};

fn fixture() -> String {
    util::repo()
        .join("tests/fixtures/m365-access")
        .to_str()
        .unwrap()
        .to_string()
}

fn detect() -> Vec<Value> {
    let o = run(&["detect", &fixture(), "--format", "json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let doc: Value = serde_json::from_str(&o.stdout).unwrap();
    doc["findings"].as_array().unwrap().clone()
}

fn lines(f: &Value, file: &str) -> BTreeSet<u64> {
    f["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["path"].as_str().unwrap().ends_with(file))
        .flat_map(|e| {
            e["lines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_u64().unwrap())
        })
        .collect()
}

fn role<'a>(f: &'a Value, kind: &str, v: &str) -> Option<&'a str> {
    f["entities"]["roles"][kind][v].as_str()
}

/// The one finding of `rule` at `severity` whose accounts include `actor`.
fn one<'a>(found: &'a [Value], rule: &str, severity: &str, actor: &str) -> &'a Value {
    let v: Vec<&Value> = found
        .iter()
        .filter(|f| {
            f["rule"] == rule
                && f["severity"] == severity
                && f["entities"]["users"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|u| u == actor)
        })
        .collect();
    assert_eq!(v.len(), 1, "{rule} {severity} {actor}: {found:#?}");
    v[0]
}

const ADMIN: &str = "it.admin@contoso.example";
const ATTACKER: &str = "203.0.113.50";

#[test]
fn parse_gives_each_record_its_kind_and_counts() {
    let o = run(&["parse", &fixture()]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let ev: Vec<Value> = o
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let detail =
        |e: &Value| -> Value { serde_json::from_str(e["detail"].as_str().unwrap()).unwrap() };
    let count = |k: &str| ev.iter().filter(|e| e["kind"] == k).count();
    for (kind, n) in [
        ("mailbox_access", 6),
        ("mailbox_change", 3),
        ("mailbox_search", 9),
        ("mailbox_export", 3),
        ("permission_grant", 3),
        ("app_consent", 4),
        ("access_setting", 2),
        ("audit_setting", 2),
        ("auth_success", 22),
        ("auth_failure", 6),
    ] {
        assert_eq!(count(kind), n, "{kind}");
    }
    // The attacker's bind: three messages named, four operations aggregated.
    let bind = ev
        .iter()
        .find(|e| e["kind"] == "mailbox_access" && e["ts"] == "2026-05-14T02:24:41Z")
        .unwrap();
    let d = detail(bind);
    assert_eq!(
        (
            d["action"].as_str(),
            d["messages"].as_u64(),
            d["operations"].as_u64()
        ),
        (Some("bind"), Some(3), Some(4))
    );
    assert_eq!(
        (bind["actor"].as_str(), bind["mailbox"].as_str()),
        (Some(ADMIN), Some("megan@contoso.example"))
    );
    // The phone's sync: folders, no count.
    let sync = ev
        .iter()
        .find(|e| e["kind"] == "mailbox_access" && e["src_ip"] == "192.0.2.77")
        .unwrap();
    let d = detail(sync);
    assert_eq!(d["action"], "sync");
    assert!(d.get("messages").is_none());
    assert_eq!(d["folders"][0], "\\Inbox");
    // The hard delete counts its one item.
    let hard = ev
        .iter()
        .find(|e| e["kind"] == "mailbox_change" && detail(e)["action"] == "hard_delete")
        .unwrap();
    assert_eq!(detail(hard)["messages"], 1);
}

#[test]
fn the_attackers_theft_is_found_at_its_records() {
    let found = detect();
    let taken = one(&found, "auth.compromised_account", "critical", ADMIN);
    assert_eq!(
        lines(taken, "audit.jsonl"),
        BTreeSet::from([21, 22, 23, 24, 25, 26, 27])
    );
    for (rule, severity, want) in [
        ("exfil.mailbox_search", "high", &[14, 15, 16, 17][..]),
        ("exfil.mailbox_export", "critical", &[12, 13][..]),
        ("persistence.mailbox_delegation", "critical", &[7, 20][..]),
        ("persistence.oauth_consent", "critical", &[9, 10, 11][..]),
        ("exfil.protocol_enabled", "critical", &[1, 8][..]),
        ("tamper.audit_disabled", "critical", &[5, 6][..]),
    ] {
        let f = one(&found, rule, severity, ADMIN);
        assert_eq!(
            lines(f, "audit.jsonl"),
            want.iter().copied().collect::<BTreeSet<u64>>(),
            "{rule}"
        );
        assert_eq!(role(f, "users", ADMIN), Some("victim_account"), "{rule}");
        assert_eq!(
            role(f, "ips", ATTACKER),
            Some("stolen_login_source"),
            "{rule}"
        );
    }
    // What was searched and exported, per mailbox, for the report and the drafts.
    let search = one(&found, "exfil.mailbox_search", "high", ADMIN);
    assert!(search["roles"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r == "mail_read"));
    let accessed: Vec<(&str, &str)> = search["accessed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["mailbox"].as_str().unwrap(), a["how"].as_str().unwrap()))
        .collect();
    assert_eq!(
        accessed,
        [("All", "search"), ("megan@contoso.example", "search")]
    );
    for w in ["password", "密码", "合同", "invoice", "wire"] {
        assert!(search["title"].as_str().unwrap().contains(w), "{w}");
    }
    let export = one(&found, "exfil.mailbox_export", "critical", ADMIN);
    assert_eq!(export["accessed"][0]["mailbox"], "All");
    assert_eq!(export["accessed"][0]["sources"][0], ATTACKER);
    let delegation = one(&found, "persistence.mailbox_delegation", "critical", ADMIN);
    assert_eq!(
        role(delegation, "users", "megan@contoso.example"),
        Some("victim_account")
    );
    let consent = one(&found, "persistence.oauth_consent", "critical", ADMIN);
    assert!(consent["title"]
        .as_str()
        .unwrap()
        .contains("Mail Backup Pro"));
}

#[test]
fn the_administrators_own_work_stays_low_and_the_users_are_not_named() {
    let found = detect();
    // The legal hold's search is no finding, its export low; the delegate to the shared
    // mailbox and the scanner's POP low; Megan's invoice search low.
    assert!(!found.iter().any(|f| f["rule"] == "exfil.mailbox_search"
        && f["entities"]["users"].to_string().contains("legal@")));
    let legal = one(
        &found,
        "exfil.mailbox_export",
        "low",
        "legal@contoso.example",
    );
    assert_eq!(lines(legal, "purview-ediscovery.csv"), BTreeSet::from([2]));
    assert_eq!(role(legal, "ips", "198.51.100.10"), Some("usual_source"));
    let joe = one(&found, "persistence.mailbox_delegation", "low", ADMIN);
    assert_eq!(lines(joe, "audit.jsonl"), BTreeSet::from([45]));
    assert_eq!(role(joe, "users", ADMIN), Some("observed"));
    one(&found, "exfil.protocol_enabled", "low", ADMIN);
    one(
        &found,
        "exfil.mailbox_search",
        "low",
        "megan@contoso.example",
    );
    for f in &found {
        let rule = f["rule"].as_str().unwrap();
        let text = f.to_string();
        // The phone and the expenses app are in no finding.
        assert!(!text.contains("192.0.2.77"), "{rule}: {f:#}");
        assert!(!text.contains("Contoso Expenses"), "{rule}: {f:#}");
        // The office addresses are never called an attacker's.
        for ip in ["198.51.100.10", "198.51.100.20"] {
            let r = role(f, "ips", ip);
            assert!(
                !matches!(r, Some("attacker_source" | "stolen_login_source")),
                "{rule}: {ip} {r:?}"
            );
        }
        // Nothing of the administrators' own work is more than low.
        if f["entities"]["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u == "legal@contoso.example")
        {
            assert!(
                matches!(f["severity"].as_str(), Some("info" | "low")),
                "{f:#}"
            );
        }
    }
    let rules: BTreeSet<&str> = found.iter().map(|f| f["rule"].as_str().unwrap()).collect();
    assert!(!rules.contains("exchange.admin_cmdlet"), "{rules:?}");
}
