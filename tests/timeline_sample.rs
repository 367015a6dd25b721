//! `timeline` on the sample host: phases against the ground truth, every finding placed once,
//! exports decodable by their importers' rules.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::util::{self, run};

fn timeline(format: &str) -> String {
    let o = run(&[
        "timeline",
        util::sample().to_str().unwrap(),
        "--timezone",
        "Asia/Shanghai",
        "--format",
        format,
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    o.stdout
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn sample_timeline_follows_the_attack_phases_of_the_ground_truth() {
    let rows = lines(&timeline("jsonl"));
    let ts = |r: &Value| {
        chrono::DateTime::parse_from_rfc3339(r["ts"].as_str().unwrap())
            .unwrap()
            .timestamp()
    };
    // Ordered in time.
    assert!(rows.windows(2).all(|w| ts(&w[0]) <= ts(&w[1])));
    // Every finding of `detect`, once, in its phase.
    let findings = util::sample_findings();
    let placed: Vec<&Value> = rows.iter().filter(|r| r["type"] == "finding").collect();
    assert_eq!(placed.len(), findings.len());
    for f in &findings {
        assert_eq!(
            placed
                .iter()
                .filter(|r| r["rule"] == f["rule"]
                    && r["phase"] == f["phase"]
                    && r["ts"] == f["first_seen"])
                .count(),
            findings
                .iter()
                .filter(|g| g["rule"] == f["rule"] && g["first_seen"] == f["first_seen"])
                .count(),
            "{f}"
        );
    }
    // Each phase starts before and ends after its findings.
    let mut bounds: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for r in &rows {
        let Some(p) = r["phase"].as_str().map(str::to_string) else {
            continue;
        };
        match r["type"].as_str().unwrap() {
            "phase_start" => bounds.entry(p).or_insert((0, 0)).0 = ts(r),
            "phase_end" => bounds.entry(p).or_insert((0, 0)).1 = ts(r),
            _ => {}
        }
    }
    // Posture and findings timed only by a file time read from this checkout (not recorded at
    // collection) are listed but do not make a phase's span.
    let read_mtime: Vec<(&Value, &Value)> = findings
        .iter()
        .filter(|f| f["time_source"] == "file_mtime")
        .map(|f| (&f["rule"], &f["first_seen"]))
        .collect();
    assert!(
        !read_mtime.is_empty(),
        "the sample folder's configuration findings are timed by file mtimes"
    );
    for r in placed.iter().filter(|r| {
        !r["rule"].as_str().unwrap().starts_with("config.")
            && !read_mtime.contains(&(&r["rule"], &r["ts"]))
    }) {
        let (start, end) = bounds[r["phase"].as_str().unwrap()];
        assert!(start <= ts(r) && ts(r) <= end, "{r}");
    }
    assert_eq!(
        bounds.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "cleanup",
            "exfiltration",
            "initial_access",
            "persistence",
            "recon"
        ]
    );
    // The ground truth's phases: recon at 22:10 (+08:00), initial access at 00:58, the
    // takeover at 02:14:07, the cut from mail.log 02:16:30–02:44:10.
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp();
    let start = |p: &str| bounds[p].0;
    assert!(
        (at("2026-03-03T22:10:00+08:00")..at("2026-03-03T22:11:00+08:00"))
            .contains(&start("recon"))
    );
    assert!(
        (at("2026-03-04T00:58:00+08:00")..at("2026-03-04T00:59:00+08:00"))
            .contains(&start("initial_access"))
    );
    assert!(start("recon") < start("initial_access"));
    let takeover = placed
        .iter()
        .find(|r| r["rule"] == "auth.compromised_account")
        .unwrap();
    assert_eq!(ts(takeover), at("2026-03-04T02:14:07+08:00"));
    let cut = placed
        .iter()
        .find(|r| r["rule"] == "tamper.time_gap")
        .unwrap();
    assert_eq!(cut["phase"], "cleanup");
    assert!(ts(cut) <= at("2026-03-04T02:16:30+08:00"));
}

#[test]
fn sample_timeline_holds_what_the_attackers_and_the_taken_account_did() {
    let rows = lines(&timeline("jsonl"));
    let truth = util::truth();
    let events: Vec<&Value> = rows.iter().filter(|r| r["type"] == "event").collect();
    let has = |pred: &dyn Fn(&Value) -> bool| events.iter().any(|r| pred(r));
    let ip_in = |r: &Value, ip: &str| r["ips"].as_array().unwrap().iter().any(|i| i == ip);
    // The brute-force address's failed logins, in initial access.
    let bf = truth["attackers"]["smtp_brute_force"][0].as_str().unwrap();
    assert!(has(&|r| ip_in(r, bf)
        && r["phase"] == "initial_access"
        && r["message"].as_str().unwrap().starts_with("auth_failure")));
    // The takeover login itself, at its evidence line.
    let ca = &truth["compromised_account"];
    assert!(has(&|r| r["ts"] == ca["first_malicious_login_utc"]
        && r["users"][0] == ca["user"]
        && r["source"]["line"] == ca["evidence"]["line"]));
    // The stolen account's spam, in exfiltration.
    assert!(has(&|r| r["users"][0] == ca["user"]
        && r["phase"] == "exfiltration"
        && r["message"].as_str().unwrap().starts_with("delivery")));
    // The edges of the cut from mail.log, as cleanup events at their lines.
    let gap = rows
        .iter()
        .find(|r| r["rule"] == "tamper.time_gap")
        .unwrap();
    let edges: Vec<&Value> = events
        .iter()
        .copied()
        .filter(|r| r["phase"] == "cleanup")
        .collect();
    assert_eq!(edges.len(), 2, "{edges:?}");
    assert_eq!(edges[0]["source"]["path"], gap["source"]["path"]);
    assert_eq!(edges[0]["source"]["line"], gap["source"]["line"]);
    // The reload during persistence, as context without a phase.
    assert!(has(
        &|r| r["phase"].is_null() && r["message"].as_str().unwrap().contains("reload")
    ));
    // The office address: only the taken account's owner still at work after the takeover,
    // as context without a phase; nothing before it.
    let office = truth["legitimate"]["client_addresses"][0].as_str().unwrap();
    let at = |r: &Value| r["ts"].as_str().unwrap().to_string();
    let takeover = ca["first_malicious_login_utc"].as_str().unwrap();
    assert!(!has(
        &|r| ip_in(r, office) && (!r["phase"].is_null() || at(r).as_str() < takeover)
    ));
    for u in truth["legitimate"]["users"].as_array().unwrap() {
        assert!(
            !has(&|r| r["users"][0] == *u
                && r["message"].as_str().unwrap().starts_with("auth_success")),
            "{u}"
        );
    }
}

#[test]
fn sample_timeline_exports_keep_their_importers_rules() {
    let ts_rows = lines(&timeline("timesketch-jsonl"));
    assert!(ts_rows.len() > 20);
    for r in &ts_rows {
        for k in ["message", "datetime", "timestamp_desc"] {
            assert!(!r[k].as_str().unwrap().is_empty(), "{k}: {r}");
        }
        assert!(r["timestamp"].is_i64());
        assert!(r.get("_id").is_none());
    }
    let csv = timeline("timesketch-csv");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(reader.records().count(), ts_rows.len());
    let l2t = timeline("l2tcsv");
    let mut l = l2t.lines();
    assert_eq!(
        l.next(),
        Some("date,time,timezone,MACB,source,sourcetype,type,user,host,short,desc,version,filename,inode,notes,format,extra")
    );
    for row in l {
        assert_eq!(row.matches(',').count(), 16, "{row}");
    }
}

#[test]
fn sample_timeline_with_all_holds_every_event_in_order() {
    let some = lines(&timeline("jsonl"));
    let o = run(&[
        "timeline",
        util::sample().to_str().unwrap(),
        "--timezone",
        "Asia/Shanghai",
        "--all",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let all = lines(&o.stdout);
    // Every event of the logs (the parse count), the findings and the phase rows.
    let p = run(&[
        "parse",
        util::sample().to_str().unwrap(),
        "--timezone",
        "Asia/Shanghai",
    ]);
    let events = p.stdout.lines().count();
    assert_eq!(
        all.iter().filter(|r| r["type"] == "event").count(),
        events,
        "{}",
        o.stderr
    );
    let ts = |r: &Value| r["ts"].as_str().unwrap().to_string();
    let secs = |r: &Value| {
        chrono::DateTime::parse_from_rfc3339(&ts(r))
            .unwrap()
            .timestamp_micros()
    };
    assert!(all.windows(2).all(|w| secs(&w[0]) <= secs(&w[1])));
    // What the default timeline shows is all there, in the same phases.
    let key = |r: &Value| {
        (
            ts(r),
            r["type"].to_string(),
            r["phase"].to_string(),
            r["message"].to_string(),
        )
    };
    let everything: std::collections::BTreeSet<_> = all.iter().map(key).collect();
    for r in &some {
        assert!(everything.contains(&key(r)), "{r}");
    }
}
