//! `parse` on the logs real Dovecot (passwd-file, PAM, SQL, LDAP passdbs), Roundcube (directly
//! and behind nginx) and ucspi-tcp / qmail wrote (`tests/fixtures/dovecot-backends/`,
//! `tests/fixtures/roundcube/`, `tests/fixtures/qmail/`; their READMEs say how): every line of
//! those daemons is recognised, and every refused login names the client's address and the
//! account the line names.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::util::{self, run};

/// Events of `parse` on the fixture folder `dir`, and its `unparsed` lines.
fn parse(dir: &str) -> (Vec<Value>, String) {
    let tmp = tempfile::tempdir().unwrap();
    let unparsed = tmp.path().join("unparsed.txt");
    let p = util::repo().join("tests/fixtures").join(dir);
    let o = run(&[
        "parse",
        p.to_str().unwrap(),
        "--unparsed",
        unparsed.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let events = o
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        events,
        std::fs::read_to_string(&unparsed).unwrap_or_default(),
    )
}

fn count(ev: &[Value]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for e in ev {
        *m.entry(e["kind"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    m
}

/// Every refusal carries the address; every one whose line names an account carries it.
fn refusals_name_address_and_account(ev: &[Value]) {
    for e in ev {
        let kind = e["kind"].as_str().unwrap();
        if !matches!(
            kind,
            "auth_failure" | "auth_backend_failure" | "auth_success"
        ) {
            continue;
        }
        assert!(e["src_ip"].is_string(), "no address: {e}");
        // Only a mechanism refused before any name was sent (`tried to use disallowed
        // plaintext auth`, `user=<>`) names no account.
        let detail = e["detail"].as_str().unwrap_or("");
        assert!(
            e["actor"].is_string() || detail.starts_with("tried to use "),
            "no account: {e}"
        );
    }
}

#[test]
fn dovecot_backends_every_line_and_account() {
    let (ev, unparsed) = parse("dovecot-backends");
    assert_eq!(unparsed, "", "unparsed lines");
    refusals_name_address_and_account(&ev);
    let by = count(&ev);
    eprintln!("dovecot-backends: {by:?}");
    // PAM's own lines, SQL's and LDAP's refusals are all backend failures with the account.
    for (backend, n) in [
        ("pam_unix(dovecot:auth)", 36),
        ("pam:", 36),
        ("sql:", 19),
        ("ldap:", 38),
    ] {
        let got = ev
            .iter()
            .filter(|e| {
                e["kind"] == "auth_backend_failure"
                    && e["detail"].as_str().unwrap_or("").starts_with(backend)
            })
            .count();
        assert!(got >= n, "{backend}: {got} backend failures");
    }
    // The crafted user name moved nothing.
    assert!(ev
        .iter()
        .filter(|e| e["actor"]
            .as_str()
            .is_some_and(|a| a.starts_with("x>, method=PLAIN, rip=192.0.2.99")))
        .all(|e| e["src_ip"] == "203.0.113.50"));
    assert!(!ev.iter().any(|e| e["src_ip"] == "192.0.2.99"));
}

#[test]
fn roundcube_clients_behind_the_proxy() {
    let (ev, unparsed) = parse("roundcube");
    assert_eq!(unparsed, "", "unparsed lines");
    refusals_name_address_and_account(&ev);
    let rc: Vec<&Value> = ev.iter().filter(|e| e["service"] == "roundcube").collect();
    eprintln!("roundcube: {:?}", count(&ev));
    // nginx's peer is never taken for the client; every proxied line keeps it.
    assert!(rc.iter().all(|e| e["src_ip"] != "127.0.0.1"));
    let proxied = rc
        .iter()
        .filter(|e| {
            e["detail"]
                .as_str()
                .unwrap()
                .contains("from 127.0.0.1 (X-Real-IP")
        })
        .count();
    assert!(proxied >= 10);
    assert_eq!(
        rc.iter().filter(|e| e["proxy"] == "127.0.0.1").count(),
        proxied
    );
    // A forged header sent straight to Roundcube names nobody.
    assert!(!rc.iter().any(|e| e["src_ip"] == "10.9.8.7"));
    // The user name typed as `admin from 127.0.0.1` stays the user name.
    assert!(rc
        .iter()
        .filter(|e| e["actor"] == "admin from 127.0.0.1")
        .all(|e| e["src_ip"] == "203.0.113.51"));
}

#[test]
fn qmail_tcpserver_and_rblsmtpd() {
    let (ev, unparsed) = parse("qmail");
    assert_eq!(unparsed, "", "unparsed lines");
    let by = count(&ev);
    eprintln!("qmail: {by:?}");
    // Through multilog and through splogger: 2 × (3 connections taken, 2 RBL refusals, 1
    // tcprules deny).
    assert_eq!(by.get("connect"), Some(&6));
    assert_eq!(by.get("reject"), Some(&6));
    for ip in ["203.0.113.50", "203.0.113.51", "203.0.113.66"] {
        assert_eq!(
            ev.iter()
                .filter(|e| e["kind"] == "reject" && e["src_ip"] == ip)
                .count(),
            2,
            "{ip}"
        );
    }
}
