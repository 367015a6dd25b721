//! `parse` and `detect` on what a real Dovecot 2.3.19 logged while real clients read, took and
//! deleted mail (`tests/fixtures/dovecot-access`, made by its harness; the client's own record
//! is `truth.json`): every line recognised, each theft episode found with the account, the
//! source and the counts the client fetched, and the owners' own use — the hard negative of a
//! new phone on the office network downloading everything, a MOVE into a folder, emptying the
//! Trash — at most info.

use serde_json::Value;

use crate::util::{self, run};

fn fixture() -> std::path::PathBuf {
    util::repo().join("tests/fixtures/dovecot-access")
}

fn truth() -> Value {
    serde_json::from_slice(&std::fs::read(fixture().join("truth.json")).unwrap()).unwrap()
}

fn episode<'a>(t: &'a Value, id: &str) -> &'a Value {
    t["episodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id)
        .unwrap_or_else(|| panic!("no episode {id}"))
}

fn detect() -> Vec<Value> {
    let log = fixture().join("mail.log");
    let o = run(&["detect", log.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains(", 0 unparsed"), "{}", o.stderr);
    let doc: Value = serde_json::from_str(&o.stdout).unwrap();
    doc["findings"].as_array().unwrap().clone()
}

/// The one finding of `rule` naming `ip`, and its `accessed` record.
fn one<'a>(f: &'a [Value], rule: &str, ip: &str) -> (&'a Value, &'a Value) {
    let found: Vec<&Value> = f
        .iter()
        .filter(|f| f["rule"] == rule && util::strs(&f["entities"]["ips"]).contains(&ip.into()))
        .collect();
    assert_eq!(found.len(), 1, "{rule} {ip}: {f:#?}");
    (found[0], &found[0]["accessed"][0])
}

#[test]
fn every_line_is_recognised_and_sessions_carry_the_login_address() {
    let log = fixture().join("mail.log");
    let o = run(&["parse", log.to_str().unwrap(), "--format", "jsonl"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains(", 0 unparsed"), "{}", o.stderr);
    let ev: Vec<Value> = o
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let access: Vec<&Value> = ev
        .iter()
        .filter(|e| e["kind"] == "mailbox_access")
        .collect();
    let changes = ev.iter().filter(|e| e["kind"] == "mailbox_change").count();
    assert!(!access.is_empty() && changes > 0);
    // Every session end names its client: the login line's `session=<…>` joins them.
    for e in &access {
        assert!(e["src_ip"].is_string(), "{e}");
    }
}

#[test]
fn theft_is_found_with_the_clients_counts_and_the_owners_use_is_not() {
    let t = truth();
    let f = detect();
    // a: the whole mailbox by IMAP from a new address.
    let a = episode(&t, "a");
    let (found, acc) = one(&f, "exfil.mailbox_download", "203.0.113.50");
    assert_eq!(found["severity"], "high", "{found:#}");
    assert_eq!(
        found["entities"]["roles"]["users"]["mira"],
        "victim_account"
    );
    assert_eq!(acc["mailbox"], "mira");
    assert_eq!(acc["messages"], a["messages"]);
    assert_eq!(acc["bytes"], a["bytes"]);
    // b: every message by POP3; Dovecot's `retr=` bytes include each `+OK n octets` line.
    let b = episode(&t, "b");
    let (found, acc) = one(&f, "exfil.pop_retrieve", "203.0.113.51");
    assert_eq!(found["severity"], "high");
    assert!(found["summary"]
        .as_str()
        .unwrap()
        .contains("the whole mailbox"));
    assert_eq!(acc["mailbox"], "tomas");
    assert_eq!(acc["messages"], b["messages"]);
    assert_eq!(acc["bytes"], b["bytes"]);
    // c: one folder's bodies, the other folders' headers only.
    let c = episode(&t, "c");
    let (found, acc) = one(&f, "exfil.mailbox_download", "203.0.113.60");
    assert_eq!(found["severity"], "medium");
    assert_eq!(acc["mailbox"], "lena");
    assert_eq!(acc["messages"], c["messages"]);
    assert_eq!(acc["bytes"], c["bytes"]);
    assert!(acc["listed"].as_u64().unwrap() >= c["headers_only"].as_u64().unwrap());
    // d: the cover-up — flagged and expunged, and a folder deleted with its messages.
    let d = episode(&t, "d");
    let folder: u64 = d["folders_deleted"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_u64)
        .sum();
    let (found, acc) = one(&f, "cleanup.mail_deletion", "203.0.113.50");
    assert_eq!(found["severity"], "medium");
    assert_eq!(
        acc["deleted"].as_u64(),
        Some(d["expunged"].as_u64().unwrap() + folder)
    );
    // e: owen's new phone on the office network downloading everything: info at most, and
    // the owners' own reading, MOVE and emptied Trash: nothing.
    let phone = t["phone"].as_str().unwrap();
    for x in &f {
        let sev = x["severity"].as_str().unwrap();
        let ips = util::strs(&x["entities"]["ips"]);
        if ips
            .iter()
            .any(|i| i == phone || i.starts_with("198.51.100."))
        {
            assert_eq!(sev, "info", "{x:#}");
            assert_eq!(
                x["entities"]["roles"]["ips"][phone], "usual_source",
                "{x:#}"
            );
        }
    }
    // Owen read 8 messages that day from his desk: 30 is under five times that, so the
    // phone gets no finding at all; nothing else is found.
    let above_info = f.iter().filter(|x| x["severity"] != "info").count();
    assert_eq!(above_info, 4, "{f:#?}");
}
