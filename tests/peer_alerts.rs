//! `detect` against CrowdSec's expected alerts (`../shared/peer/crowdsec/alerts.jsonl`, or
//! under `$MAILIR_PEER_DIR`): for each of the 46 scenario overflows of the hub tests, does a
//! mailir finding name the same source address with the same kind of attack?
//!
//! Each test log is run alone, once with mailir's default thresholds and once with thresholds
//! lowered to CrowdSec's bucket sizes (the hub logs hold 1–9 lines per attack; mailir's
//! defaults are set for a server's real day). The kinds: password guessing (`*-bf`,
//! `sasl-bf`, `dovecot-spam`, `honeypot-users`, user enumeration by login) ↔ `auth.brute_force`
//! / `auth.spray`; relay denied ↔ `relay.probe`; non-SMTP commands and rejected HELOs ↔
//! `recon.scan` / `recon.enumeration`; inbound spam rejects have no mailir rule. Figures are
//! printed; the assertions hold the measured counts so a regression fails.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

use crate::util::{self, run};

fn peer_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("MAILIR_PEER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| util::repo().join("../shared/peer"));
    dir.join("crowdsec/alerts.jsonl").is_file().then_some(dir)
}

/// The mailir rules that are the same kind of attack as a CrowdSec scenario (by scenario
/// name, or by test file when the alert names only its source).
fn rules_for(scenario: &str) -> &'static [&'static str] {
    let s = scenario;
    if s.contains("relay") {
        &["relay.probe"]
    } else if s.contains("non-smtp") || s.contains("helo") {
        &["recon.scan", "recon.enumeration"]
    } else if s.contains("postfix-spam") || s.contains("exim-spam") || s.contains("mailscanner") {
        &[]
    } else if s.contains("bf")
        || s.contains("dovecot-spam")
        || s.contains("honeypot")
        || s.contains("user-enum")
    {
        &["auth.brute_force", "auth.spray"]
    } else {
        &[]
    }
}

const LOWERED: &[&str] = &[
    "brute_force_failures=3",
    "spray_users=3",
    "spray_sources=3",
    "relay_probes=1",
    "scan_sessions=1",
    "enumeration_addresses=3",
];

fn findings(file: &str, lowered: bool) -> Vec<Value> {
    let mut args = vec!["detect", file, "--year", "2026", "--format", "jsonl"];
    if lowered {
        for s in LOWERED {
            args.push("--set");
            args.push(s);
        }
    }
    let o = run(&args);
    assert!(o.code == 0 || o.code == 1, "{file}: {}", o.stderr);
    o.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn crowdsec_alerts_matched_by_findings() {
    let Some(dir) = peer_dir() else {
        eprintln!("SKIPPED crowdsec_alerts_matched_by_findings: no peer corpus at ../shared/peer (set MAILIR_PEER_DIR)");
        return;
    };
    let base = dir.join("crowdsec");
    let mut cache: BTreeMap<(String, bool), Vec<Value>> = BTreeMap::new();
    let mut outcome: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let alerts = std::fs::read_to_string(base.join("alerts.jsonl")).unwrap();
    for l in alerts.lines() {
        let a: Value = serde_json::from_str(l).unwrap();
        let file = a["file"].as_str().unwrap();
        let scenario = a["scenario"].as_str().unwrap_or(file);
        let sources: Vec<&str> = a["sources"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let label = format!("{file} {scenario} {sources:?}");
        let path = base.join(file).to_str().unwrap().to_string();
        let events = run(&["parse", &path, "--year", "2026"])
            .stdout
            .lines()
            .count();
        let wanted = rules_for(scenario);
        let mut hit = |lowered: bool| {
            let f = cache
                .entry((path.clone(), lowered))
                .or_insert_with(|| findings(&path, lowered));
            !sources.is_empty()
                && sources.iter().all(|s| {
                    f.iter().any(|x| {
                        wanted.contains(&x["rule"].as_str().unwrap())
                            && x["entities"]["ips"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .any(|i| i == s)
                    })
                })
        };
        let class = if sources.is_empty() {
            "no source address in the alert"
        } else if events == 0 {
            "log format mailir does not parse"
        } else if wanted.is_empty() {
            "attack kind mailir has no rule for"
        } else if hit(false) {
            "matched with default thresholds"
        } else if hit(true) {
            "matched with CrowdSec-sized thresholds"
        } else {
            "missed"
        };
        outcome.entry(class).or_default().push(label);
    }
    let count = |c: &str| outcome.get(c).map_or(0, Vec::len);
    for (class, labels) in &outcome {
        eprintln!("{class}: {}", labels.len());
        for l in labels {
            eprintln!("    {l}");
        }
    }
    assert_eq!(outcome.values().map(Vec::len).sum::<usize>(), 46);
    assert_eq!(count("matched with default thresholds"), MEASURED.0);
    assert_eq!(count("matched with CrowdSec-sized thresholds"), MEASURED.1);
    assert_eq!(count("missed"), MEASURED.2);
}

/// Measured: matched with defaults, matched with lowered thresholds, missed.
const MEASURED: (usize, usize, usize) = (11, 15, 2);
