//! Exchange / Microsoft 365 conformance against third-party ground truth (`../shared/peer` or
//! `$MAILIR_PEER_DIR`): HelseCERT's ProxyLogon incident excerpts and Wazuh's ProxyLogon
//! lines must all end in ProxyLogon findings; the Huntress CTF Purview export's 38 attacker
//! `New-InboxRule` records in inbox-rule findings (and how many of the 181 background
//! records are flagged); Panther's forwarding tests and Microsoft-Extractor-Suite's
//! inventories judged line by line; Elastic's message-tracking rows parsed with their fields.
//! Figures are printed (run with `--nocapture`) for the issue notes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{self, run};

fn peer_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("MAILIR_PEER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| util::repo().join("../shared/peer"));
    dir.join("README.md").is_file().then_some(dir)
}

fn truth(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Findings of `detect` on `input`.
fn findings(input: &Path) -> Vec<Value> {
    let o = run(&["detect", input.to_str().unwrap(), "--format", "jsonl"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    o.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// (file name, line) → rules whose evidence holds it.
fn flagged(findings: &[Value]) -> BTreeMap<(String, u64), BTreeSet<String>> {
    let mut m: BTreeMap<(String, u64), BTreeSet<String>> = BTreeMap::new();
    for f in findings {
        for e in f["evidence"].as_array().unwrap() {
            let name = Path::new(e["path"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            for l in e["lines"].as_array().unwrap() {
                m.entry((name.clone(), l.as_u64().unwrap()))
                    .or_default()
                    .insert(f["rule"].as_str().unwrap().to_string());
            }
        }
    }
    m
}

fn name_of(file: &str) -> String {
    file.rsplit('/').next().unwrap().to_string()
}

/// Events of `parse` on one file.
fn events(file: &Path) -> Vec<Value> {
    let o = run(&["parse", file.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    o.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn proxylogon_peer_lines_all_give_proxylogon_findings() {
    let Some(dir) = peer_dir() else {
        eprintln!("SKIPPED proxylogon_peer_lines_all_give_proxylogon_findings: no peer corpus at ../shared/peer (set MAILIR_PEER_DIR)");
        return;
    };
    let h = dir.join("helsecert-proxylogon");
    let hit = flagged(&findings(&h.join("logs")));
    let mut by_kind: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for r in truth(&h.join("truth.jsonl")) {
        let key = (
            name_of(r["file"].as_str().unwrap()),
            r["line_no"].as_u64().unwrap(),
        );
        let ok = hit
            .get(&key)
            .is_some_and(|rules| rules.iter().any(|r| r.starts_with("exchange.")));
        let t = by_kind
            .entry(r["kind"].as_str().unwrap().to_string())
            .or_default();
        t.0 += u32::from(ok);
        t.1 += 1;
        assert!(ok, "HelseCERT line not in a ProxyLogon finding: {key:?}");
    }
    for (k, (ok, n)) in &by_kind {
        eprintln!("helsecert {k}: {ok}/{n}");
    }
    let w = dir.join("wazuh-ossec/logs/wazuh-exchange.log");
    let hit = flagged(&findings(&w));
    for r in truth(&dir.join("wazuh-ossec/truth.jsonl")) {
        if !r["file"].as_str().unwrap().ends_with("wazuh-exchange.log") {
            continue;
        }
        let key = (
            "wazuh-exchange.log".to_string(),
            r["line_no"].as_u64().unwrap(),
        );
        let rules = hit.get(&key).cloned().unwrap_or_default();
        eprintln!("wazuh {} line {}: {rules:?}", r["kind"], key.1);
        assert!(
            rules.iter().any(|r| r.starts_with("exchange.proxylogon")),
            "{key:?}"
        );
    }
}

#[test]
fn huntress_rogue_inbox_rules_are_found() {
    let Some(dir) = peer_dir() else {
        eprintln!("SKIPPED huntress_rogue_inbox_rules_are_found: no peer corpus at ../shared/peer (set MAILIR_PEER_DIR)");
        return;
    };
    let h = dir.join("huntress-ctf-2023-rogue-inbox");
    let hit = flagged(&findings(&h.join("logs")));
    let (mut tp, mut pos, mut fp, mut neg) = (0, 0, 0, 0);
    for r in truth(&h.join("truth.jsonl")) {
        let key = ("purview.csv".to_string(), r["line_no"].as_u64().unwrap());
        let rules = hit.get(&key).cloned().unwrap_or_default();
        if r["match"] == true {
            pos += 1;
            tp += u32::from(rules.contains("persistence.mailbox_rule"));
        } else {
            neg += 1;
            fp += u32::from(!rules.is_empty());
        }
    }
    eprintln!("huntress: {tp}/{pos} attacker New-InboxRule records in findings; {fp}/{neg} background records flagged");
    assert_eq!((tp, pos), (38, 38));
    assert_eq!(fp, 0);
}

#[test]
fn panther_and_extractor_suite_expectations() {
    let Some(dir) = peer_dir() else {
        eprintln!("SKIPPED panther_and_extractor_suite_expectations: no peer corpus at ../shared/peer (set MAILIR_PEER_DIR)");
        return;
    };
    // Panther: each test event on its own line; judged by whether a forwarding finding holds it.
    let p = dir.join("panther");
    let file = p.join("logs/Microsoft365_Exchange_External_Forwarding.jsonl");
    let hit = flagged(&findings(&file));
    let mut agree = 0;
    let mut n = 0;
    for r in truth(&p.join("truth.jsonl")) {
        if r["kind"] != "Microsoft365.Exchange.External.Forwarding" {
            continue;
        }
        let key = (
            name_of(r["file"].as_str().unwrap()),
            r["line_no"].as_u64().unwrap(),
        );
        let ours = hit.get(&key).is_some_and(|rules| {
            rules.contains("persistence.mailbox_rule")
                || rules.contains("persistence.mailbox_forwarding")
        });
        n += 1;
        if ours == (r["match"] == true) {
            agree += 1;
        } else {
            eprintln!(
                "panther disagrees on line {}: peer {}, mailir {ours}",
                key.1, r["match"]
            );
        }
    }
    eprintln!("panther external forwarding: {agree}/{n} tests agree");
    assert_eq!(agree, n);
    // Microsoft-Extractor-Suite: one event per inventory record, in order; a record is
    // flagged when a persistence finding holds its first line. Labels are derived (forwards
    // outside the tenant), so hiding rules the labels call false are counted apart.
    let m = dir.join("microsoft-extractor-suite");
    let hit = flagged(&findings(&m.join("logs")));
    let mut lines: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for f in std::fs::read_dir(m.join("logs")).unwrap() {
        let f = f.unwrap().path();
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let ev = events(&f);
        lines.insert(
            name,
            ev.iter()
                .map(|e| e["source"]["line"].as_u64().unwrap())
                .collect(),
        );
    }
    let (mut tp, mut pos, mut other, mut neg) = (0, 0, 0, 0);
    for r in truth(&m.join("truth.jsonl")) {
        let name = name_of(r["file"].as_str().unwrap());
        let idx = r["record_index"].as_u64().unwrap() as usize;
        let line = lines[&name][idx];
        let rules = hit.get(&(name, line)).cloned().unwrap_or_default();
        if r["match"] == true {
            pos += 1;
            tp += u32::from(rules.iter().any(|r| r.starts_with("persistence.")));
        } else {
            neg += 1;
            other += u32::from(!rules.is_empty());
        }
    }
    eprintln!("extractor-suite: {tp}/{pos} outside forwards found; {other}/{neg} other rules reported (hiding rules)");
    // Two of the derived labels count a rule's *sender condition* (`From: ci-cd@builds.com`,
    // `info@meta.com`) as a target; both rules forward inside the tenant, so mailir is
    // right not to call them outside forwards.
    assert!(tp + 2 >= pos, "{tp}/{pos}");
}

#[test]
fn elastic_message_tracking_rows_parse_with_their_fields() {
    let Some(dir) = peer_dir() else {
        eprintln!("SKIPPED elastic_message_tracking_rows_parse_with_their_fields: no peer corpus at ../shared/peer (set MAILIR_PEER_DIR)");
        return;
    };
    let e = dir.join("elastic-exchange");
    for (file, offset) in [
        ("msgtrk-elastic-test.log", 0u64),
        ("msgtrk-elastic-test.with-added-header.log", 3),
    ] {
        let ev = events(&e.join("logs").join(file));
        let mut checked = 0;
        for r in truth(&e.join("truth.jsonl")) {
            let line = r["line_no"].as_u64().unwrap() + offset;
            let x = &r["expected"];
            let got: Vec<&Value> = ev
                .iter()
                .filter(|e| e["source"]["line"].as_u64() == Some(line))
                .collect();
            assert!(!got.is_empty(), "{file}:{line} gave no event");
            let g = got[0];
            let ts =
                chrono::DateTime::parse_from_rfc3339(x["@timestamp"].as_str().unwrap()).unwrap();
            let ours = chrono::DateTime::parse_from_rfc3339(g["ts"].as_str().unwrap()).unwrap();
            assert_eq!(ts, ours, "{file}:{line}");
            let detail: Value = serde_json::from_str(g["detail"].as_str().unwrap()).unwrap();
            assert_eq!(detail["op"], x["eventid"], "{file}:{line}");
            if let Some(ip) = x.get("client.ip") {
                let want: std::net::IpAddr = ip.as_str().unwrap().parse().unwrap();
                let ours: std::net::IpAddr = g["src_ip"].as_str().unwrap().parse().unwrap();
                assert_eq!(ours, want, "{file}:{line}");
            }
            if let Some(id) = x.get("email.message_id") {
                assert_eq!(&g["queue_id"], id, "{file}:{line}");
            }
            if let Some(s) = x.get("email.sender") {
                assert_eq!(&g["sender"], s, "{file}:{line}");
            }
            if let Some(s) = x.get("email.subject") {
                assert_eq!(&detail["subject"], s, "{file}:{line}");
            }
            if let Some(b) = x.get("network.bytes") {
                assert_eq!(&detail["bytes"], b, "{file}:{line}");
            }
            if let Some(to) = x.get("email.to").and_then(Value::as_array) {
                let ours: BTreeSet<&str> =
                    got.iter().filter_map(|e| e["recipient"].as_str()).collect();
                for t in to {
                    assert!(
                        ours.contains(t.as_str().unwrap().to_ascii_lowercase().as_str()),
                        "{file}:{line} {t}"
                    );
                }
            }
            checked += 1;
        }
        eprintln!("elastic {file}: {checked}/6 rows with their fields");
        assert_eq!(checked, 6);
    }
}

#[test]
fn crowdsec_exchange_protocol_lines_are_auth_failures() {
    let Some(dir) = peer_dir() else {
        eprintln!("SKIPPED crowdsec_exchange_protocol_lines_are_auth_failures: no peer corpus at ../shared/peer (set MAILIR_PEER_DIR)");
        return;
    };
    let c = dir.join("crowdsec");
    let mut n = 0;
    for r in truth(&c.join("truth.jsonl")) {
        let file = r["file"].as_str().unwrap();
        if !file.contains("exchange") || r["match"] != true {
            continue;
        }
        let ev = events(&c.join(file));
        let line = r["line_no"].as_u64().unwrap();
        let e = ev
            .iter()
            .find(|e| e["source"]["line"].as_u64() == Some(line))
            .unwrap_or_else(|| panic!("{file}:{line} gave no event"));
        assert_eq!(e["kind"], "auth_failure", "{file}:{line}");
        assert_eq!(e["src_ip"], r["host"], "{file}:{line}");
        if let Some(u) = r["parsed"].get("username") {
            assert_eq!(&e["actor"], u, "{file}:{line}");
        }
        n += 1;
    }
    eprintln!("crowdsec exchange protocol lines: {n}/{n} auth failures with the peer's address");
    assert!(n >= 3);
}
