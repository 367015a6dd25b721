//! One case across several hosts (issue 21): the sample split into an MX and an IMAP host,
//! each collected into its own bundle, with the Exchange sample's exports as a third host;
//! `detect` judges each host on its own and across hosts, `triage` names each host, the
//! cross-host findings and the order of compromise, and its HTML report shows the fleet
//! summary.

use serde_json::Value;

use crate::util::{self, fleet, run};

/// `detect` on the three hosts (times read as Asia/Shanghai): its JSON findings and hosts.
fn detect(inputs: &[&std::path::Path]) -> (Vec<Value>, Vec<Value>) {
    let mut args = vec!["detect", "--timezone", "Asia/Shanghai"];
    let paths: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    args.extend(paths.iter().map(String::as_str));
    let o = run(&args);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let doc: Value = serde_json::from_str(&o.stdout).unwrap();
    (
        doc["findings"].as_array().unwrap().clone(),
        doc["hosts"].as_array().unwrap().clone(),
    )
}

fn hosts(f: &Value) -> Vec<String> {
    util::strs(&f["hosts"])
}

#[test]
fn three_hosts_are_judged_each_on_its_own_then_across() {
    let t = tempfile::tempdir().unwrap();
    let (mx, imap) = fleet::split_bundles(t.path());
    let exch = fleet::exchange_host();
    let (findings, runs) = detect(&[&mx, &imap, &exch]);
    // What was read of each host, and when it fell.
    let names: Vec<&str> = runs.iter().map(|h| h["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["mx1", "imap1", "exch01"]);
    for h in &runs {
        assert_eq!(h["read"], true, "{h}");
        assert!(h["events"].as_u64().unwrap() > 0, "{h}");
        assert!(h["compromised"].is_string(), "{h}");
    }
    // Each host's events as `parse` gives them (each event naming its host).
    let paths: Vec<String> = [&mx, &imap, &exch]
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let mut args = vec!["parse", "--timezone", "Asia/Shanghai"];
    args.extend(paths.iter().map(String::as_str));
    let parsed = run(&args);
    assert_eq!(parsed.code, 0, "{}", parsed.stderr);
    for h in &runs {
        let name = h["name"].as_str().unwrap();
        let n = parsed
            .stdout
            .lines()
            .filter(|l| serde_json::from_str::<Value>(l).unwrap()["host"].as_str() == Some(name))
            .count() as u64;
        assert_eq!(h["events"].as_u64(), Some(n), "{name}");
    }
    for f in &findings {
        eprintln!(
            "{} {:?} {} {}",
            f["rule"],
            hosts(f),
            f["first_seen"],
            f["title"]
        );
    }
    // Every finding names its host(s); a host's own findings name one.
    for f in &findings {
        let h = hosts(f);
        let rule = f["rule"].as_str().unwrap();
        if rule.starts_with("fleet.") {
            assert!(h.len() >= 2, "{rule}: {h:?}");
        } else {
            assert_eq!(h.len(), 1, "{rule}: {h:?}");
            assert!(["mx1", "imap1", "exch01"].contains(&h[0].as_str()), "{h:?}");
        }
    }
}

#[test]
fn triage_names_each_host_the_cross_host_findings_and_the_order_of_compromise() {
    let t = tempfile::tempdir().unwrap();
    let (mx, imap) = fleet::split_bundles(t.path());
    let exch = fleet::exchange_host();
    let out = t.path().join("case");
    let o = run(&[
        "triage",
        "--timezone",
        "Asia/Shanghai",
        mx.to_str().unwrap(),
        imap.to_str().unwrap(),
        exch.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let truth = util::truth();
    let takeover = truth["compromised_account"]["first_malicious_login_utc"]
        .as_str()
        .unwrap();
    let thief = "203.0.113.79";
    // The terminal names every host and its state, then the findings across hosts.
    assert!(o.stdout.contains("hosts: 3 (3 fallen)"), "{}", o.stdout);
    for h in ["mx1", "imap1", "exch01"] {
        assert!(
            o.stdout.lines().any(|l| l.trim_start().starts_with(h)),
            "{h}: {}",
            o.stdout
        );
    }
    assert!(o.stdout.contains("across hosts:"), "{}", o.stdout);

    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let fleet = &report["fleet"];
    let names: Vec<&str> = fleet["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["mx1", "imap1", "exch01"], "case order: the inputs'");
    let host = |n: &str| {
        fleet["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["name"] == n)
            .unwrap()
            .clone()
    };
    // The MX fell at the takeover the truth records; the IMAP host when the thief logged in
    // there, later; the Exchange server, exploited the day before, first.
    let (m, i, e) = (host("mx1"), host("imap1"), host("exch01"));
    for h in [&m, &i, &e] {
        assert_eq!(h["status"], "fallen", "{h}");
    }
    assert_eq!(m["fell"], takeover);
    assert!(i["fell"].as_str().unwrap() > takeover, "{i}");
    assert!(i["fell_by"].as_str().unwrap().contains(thief), "{i}");
    assert!(e["fell"].as_str().unwrap() < takeover, "{e}");
    assert_eq!(
        (
            e["order"].as_u64(),
            m["order"].as_u64(),
            i["order"].as_u64()
        ),
        (Some(1), Some(2), Some(3))
    );

    // The logs read are listed with their hosts (both bundles hold files/var/log/mail.log).
    let logs: Vec<&str> = report["logs_read"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l[0].as_str().unwrap())
        .collect();
    for h in ["mx1", "imap1", "exch01"] {
        assert!(
            logs.iter().any(|l| l.starts_with(&format!("{h}: "))),
            "{h}: {logs:?}"
        );
    }
    // The story of the notices names every host of the case, bundle or folder.
    let story = report["story"][0].as_str().unwrap();
    for h in ["mx1", "imap1", "exch01"] {
        assert!(story.contains(h), "{h}: {story}");
    }
    let findings: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["finding"])
        .collect();
    let of = |rule: &str| -> Vec<&Value> {
        findings
            .iter()
            .copied()
            .filter(|f| f["rule"] == rule)
            .collect()
    };
    // The order of compromise, patient zero first.
    let order = of("fleet.compromise_order");
    assert_eq!(order.len(), 1);
    assert_eq!(hosts(order[0]), ["exch01", "mx1", "imap1"]);
    // One attacker across the MX and the IMAP host: the thief (spam with the stolen login on
    // the MX, the mailbox read on the IMAP host), and the brute forcer of both.
    let shared: Vec<String> = of("fleet.shared_attacker")
        .iter()
        .flat_map(|f| util::strs(&f["entities"]["ips"]))
        .collect();
    for ip in [thief, "203.0.113.77"] {
        assert!(shared.iter().any(|s| s == ip), "{ip}: {shared:?}");
    }
    let thief_finding = of("fleet.shared_attacker")
        .into_iter()
        .find(|f| util::strs(&f["entities"]["ips"]).iter().any(|s| s == thief))
        .unwrap();
    assert_eq!(thief_finding["severity"], "critical", "{thief_finding}");
    assert_eq!(hosts(thief_finding), ["mx1", "imap1"]);
    // The legitimate office address is never an attacker across hosts.
    for ip in util::strs(&truth["legitimate"]["client_addresses"]) {
        assert!(!shared.contains(&ip), "{ip}");
    }
    // The stolen account, misused on both.
    let user = truth["compromised_account"]["user"].as_str().unwrap();
    let account = of("fleet.shared_account");
    assert_eq!(account.len(), 1, "{account:?}");
    assert!(util::strs(&account[0]["entities"]["users"]).contains(&user.to_string()));
    assert_eq!(account[0]["severity"], "critical", "taken on both hosts");
    // Persistence planted on both: the attacker's root key and UID-0 account.
    let planted: Vec<String> = of("fleet.shared_persistence")
        .iter()
        .map(|f| f["title"].as_str().unwrap().to_string())
        .collect();
    for rule in ["persistence.ssh_key", "persistence.account"] {
        assert!(
            planted.iter().any(|t| t.starts_with(rule)),
            "{rule}: {planted:?}"
        );
    }
    // Every other finding is one host's.
    for f in &findings {
        let h = hosts(f);
        if !f["rule"].as_str().unwrap().starts_with("fleet.") {
            assert_eq!(h.len(), 1, "{f}");
        }
    }
    // The notice counts the mailbox read once, whatever host it was read on.
    let accessed: Vec<&str> = report["accessed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["mailbox"].as_str().unwrap())
        .collect();
    assert_eq!(
        accessed
            .iter()
            .filter(|m| m.eq_ignore_ascii_case(user))
            .count(),
        1,
        "{accessed:?}"
    );

    // The HTML report opens with the fleet summary: a row per host linking to its section.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let at = html.find("<h2 id=\"fleet\">").expect("fleet section");
    assert!(at < html.find("<h2").map_or(usize::MAX, |first| first.max(at)) + 1);
    for h in ["mx1", "imap1", "exch01"] {
        assert!(
            html.contains(&format!("<a href=\"#host-{h}\">{h}</a>")),
            "{h}"
        );
        assert!(html.contains(&format!("<h3 id=\"host-{h}\">")), "{h}");
    }
    // As a browser shows it: the fleet table's rows, host by host, in case order.
    match util::chromium() {
        Some(browser) => {
            let dom = util::browser_dom(browser, &out.join("report.html"));
            let table = dom
                .stdout
                .split("<table class=\"fleet\">")
                .nth(1)
                .and_then(|t| t.split("</table>").next())
                .unwrap_or_else(|| panic!("no fleet table in the DOM: {}", dom.stderr));
            let rows: Vec<&str> = table.split("<tr class=\"host-").skip(1).collect();
            let shown: Vec<(&str, bool)> = rows
                .iter()
                .map(|r| {
                    let status = r.split('"').next().unwrap_or_default();
                    let name = ["mx1", "imap1", "exch01"]
                        .into_iter()
                        .find(|h| r.contains(&format!(">{h}</a>")))
                        .unwrap_or("?");
                    (name, status == "fallen")
                })
                .collect();
            assert_eq!(shown, [("mx1", true), ("imap1", true), ("exch01", true)]);
            assert!(!dom.stderr.contains("Uncaught"), "{}", dom.stderr);
        }
        None => eprintln!(
            "SKIPPED the fleet table in a browser: no chromium (apt-get install chromium; .ci/run does)"
        ),
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Hosts of the case"), "{md}");

    // Timeline rows name their hosts: events from both mail hosts, findings theirs.
    let rows: Vec<Value> = std::fs::read_to_string(out.join("timeline.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for h in ["mx1", "imap1"] {
        assert!(
            rows.iter()
                .any(|r| r["type"] == "event" && util::strs(&r["hosts"]) == [h]),
            "no event row of {h}"
        );
    }
    assert!(rows
        .iter()
        .filter(|r| r["type"] == "finding")
        .all(|r| !util::strs(&r["hosts"]).is_empty()));
}
