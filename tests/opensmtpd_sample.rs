//! `parse` and `detect` on the logs a real OpenSMTPD 7.6 wrote under a scripted attack
//! (`tests/fixtures/opensmtpd/`, its README says which client did what): every line
//! recognised, the session joins made (address on every attack event, the login on the
//! messages and deliveries of carol's stolen session), and the attacks found with no finding
//! naming the legitimate users' traffic.

use serde_json::Value;

use crate::util::{self, run};

const LOG: &str = "tests/fixtures/opensmtpd/var/log/mail.log";

fn log() -> String {
    util::repo().join(LOG).to_str().unwrap().to_string()
}

#[test]
fn every_line_parsed_and_joined() {
    let tmp = tempfile::tempdir().unwrap();
    let unparsed = tmp.path().join("unparsed.txt");
    let o = run(&["parse", &log(), "--unparsed", unparsed.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("205 lines"), "{}", o.stderr);
    assert!(o.stderr.contains(" 0 unparsed"), "{}", o.stderr);
    assert_eq!(std::fs::read_to_string(&unparsed).unwrap_or_default(), "");
    let ev: Vec<Value> = o
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |kind: &str| -> Vec<&Value> { ev.iter().filter(|e| e["kind"] == kind).collect() };
    // Every attack event names its client, though only the session's first line does.
    for kind in [
        "auth_failure",
        "auth_success",
        "vrfy",
        "expn",
        "recipient_unknown",
        "relay_denied",
        "reject",
        "protocol_error",
        "lost_connection",
        "message_received",
    ] {
        assert!(!of(kind).is_empty(), "{kind}");
        for e in of(kind) {
            assert!(e["src_ip"].is_string(), "{kind} without an address: {e}");
        }
    }
    let ips = |kind: &str| -> Vec<String> {
        let mut v: Vec<String> = of(kind)
            .iter()
            .map(|e| e["src_ip"].as_str().unwrap().to_string())
            .collect();
        v.dedup();
        v
    };
    assert_eq!(ips("relay_denied"), ["127.0.5.10"]);
    assert_eq!(ips("recipient_unknown"), ["127.0.1.11"]);
    assert_eq!(ips("lost_connection"), ["127.0.1.10"]);
    assert_eq!(ips("reject"), ["127.0.6.6"]);
    assert_eq!(of("lost_connection").len(), 4);
    // The CVE-2020-7247 probe keeps the attacker's command.
    assert!(of("reject").iter().any(|e| e["detail"]
        .as_str()
        .unwrap()
        .contains("MAIL FROM:<;sleep 66;>")));
    // carol's stolen session: 30 messages and their 30 deliveries are carol's.
    let carol = |kind: &str| {
        of(kind)
            .iter()
            .filter(|e| {
                e["actor"] == "carol"
                    && e["recipient"]
                        .as_str()
                        .is_none_or(|r| r.ends_with("@victims.example"))
            })
            .count()
    };
    assert_eq!(carol("message_received"), 30);
    assert_eq!(carol("delivery"), 30);
    // The legitimate ones: alice's and bob's messages are theirs, the partner's nobody's.
    let by_queue = |q: &str| -> Vec<(String, Value)> {
        ev.iter()
            .filter(|e| e["queue_id"] == q && e["kind"] != "message_queued")
            .map(|e| (e["kind"].as_str().unwrap().to_string(), e["actor"].clone()))
            .collect()
    };
    let a = |s: &str| Value::String(s.into());
    assert_eq!(
        by_queue("35bec988"),
        [
            ("message_received".into(), a("bob")),
            ("delivery".into(), a("bob"))
        ]
    );
    assert!(by_queue("7ad35890")
        .iter()
        .all(|(_, actor)| actor.is_null()));
}

#[test]
fn attacks_found_and_only_attacks() {
    // The fixture is small: thresholds lowered to what it holds (a scan of 5 sessions, 2
    // relay attempts, 5 wrong passwords for carol, 30 messages).
    let o = run(&[
        "detect",
        &log(),
        "--set",
        "scan_sessions=5",
        "--set",
        "relay_probes=2",
        "--set",
        "brute_force_failures=5",
        "--set",
        "bulk_min=30",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let d: Value = serde_json::from_str(&o.stdout).unwrap();
    let findings = d["findings"].as_array().unwrap();
    let rules: Vec<&str> = findings
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    let of =
        |rule: &str| -> Vec<&Value> { findings.iter().filter(|f| f["rule"] == rule).collect() };
    let names = |f: &Value, what: &str| -> bool {
        let e = &f["entities"];
        e["ips"].as_array().unwrap().iter().any(|v| v == what)
            || e["users"].as_array().unwrap().iter().any(|v| v == what)
    };
    for rule in [
        "recon.scan",
        "recon.enumeration",
        "relay.probe",
        "auth.spray",
        "auth.brute_force",
        "auth.compromised_account",
        "abuse.bulk_send",
    ] {
        assert!(rules.contains(&rule), "{rule} missing: {rules:?}");
    }
    assert!(of("recon.scan").iter().any(|f| names(f, "127.0.1.10")));
    assert!(of("recon.enumeration")
        .iter()
        .any(|f| names(f, "127.0.1.11")));
    assert!(of("relay.probe").iter().any(|f| names(f, "127.0.5.10")));
    assert!(of("auth.brute_force")
        .iter()
        .any(|f| names(f, "127.0.2.10")));
    assert!(of("auth.compromised_account")
        .iter()
        .any(|f| names(f, "carol")));
    // The CVE-2020-7247 probe, refused by 7.6: an attempt, named with its CVE and source.
    let exploit = of("exploit.smtp_injection");
    assert_eq!(exploit.len(), 1, "{exploit:?}");
    assert!(names(exploit[0], "127.0.6.6"));
    assert_eq!(exploit[0]["severity"], "medium");
    assert!(exploit[0]["title"]
        .as_str()
        .is_some_and(|t| t.contains("CVE-2020-7247") && t.contains("attempt")));
    let bulk = of("abuse.bulk_send");
    assert!(bulk
        .iter()
        .all(|f| names(f, "carol") && names(f, "127.0.2.12")));
    for f in findings {
        for innocent in ["127.0.0.1", "127.0.7.7"] {
            assert!(!names(f, innocent), "{innocent} named: {f}");
        }
        // alice and bob are named only as accounts the spray tried.
        if f["rule"] != "auth.spray" {
            for user in ["alice", "bob"] {
                assert!(!names(f, user), "{user} named: {f}");
            }
        }
    }
}
