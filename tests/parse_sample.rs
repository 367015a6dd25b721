//! `parse` on the sample host: every mail line understood, the right years and zone, exact
//! provenance, in every input form (root directory, unpacked bundle, zip and tar.gz bundles).

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use serde_json::Value;

use crate::util::{self, run};

fn events(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A copy of the sample with the log mtimes the host had.
fn sample_with_mtimes(dir: &Path) -> std::path::PathBuf {
    let root = dir.join("root");
    util::copy_tree(&util::sample(), &root);
    for (path, info) in util::truth()["logs"].as_object().unwrap() {
        util::set_mtime(&root.join(&path[1..]), info["mtime"].as_str().unwrap());
    }
    root
}

fn decompressed(path: &Path) -> Vec<u8> {
    let raw = std::fs::read(path).unwrap();
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        raw
    }
}

#[test]
fn sample_root_parses_completely_with_years_zone_and_provenance() {
    let t = tempfile::tempdir().unwrap();
    let root = sample_with_mtimes(t.path());
    let unparsed = t.path().join("unparsed.txt");
    let o = run(&[
        "parse",
        root.to_str().unwrap(),
        "--timezone",
        "Asia/Shanghai",
        "--unparsed",
        unparsed.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains(" 0 unparsed, 0 other\n"), "{}", o.stderr);
    assert_eq!(std::fs::read(&unparsed).unwrap(), b"");
    let ev = events(&o.stdout);
    assert!(ev.len() > 6000, "{}", ev.len());
    for e in &ev {
        let ts = e["ts"].as_str().unwrap();
        assert!(
            ts.starts_with("2026-02-28") || ts.starts_with("2026-03-0"),
            "{e}"
        );
        assert_eq!(e["ts_year_inferred"], true);
    }
    // The takeover: the first SASL login of liwei from the attacker, in UTC.
    let truth = util::truth();
    let ca = &truth["compromised_account"];
    let first = ev
        .iter()
        .filter(|e| {
            e["actor"] == "liwei"
                && e["src_ip"] == "203.0.113.77"
                && e["kind"] == "message_received"
        })
        .min_by_key(|e| e["ts"].as_str().unwrap().to_string())
        .unwrap();
    assert_eq!(first["ts"], ca["first_malicious_login_utc"]);
    assert_eq!(first["source"]["path"], "var/log/mail.log.1");
    assert_eq!(first["source"]["line"], ca["evidence"]["line"]);
    // Every event's line and offset point at its line in the decompressed file.
    let mut files: HashMap<String, Vec<u8>> = HashMap::new();
    for e in ev.iter().step_by(97) {
        let path = e["source"]["path"].as_str().unwrap().to_string();
        let data = files
            .entry(path.clone())
            .or_insert_with(|| decompressed(&root.join(&path)));
        let offset = e["source"]["offset"].as_u64().unwrap() as usize;
        let line_no = e["source"]["line"].as_u64().unwrap() as usize;
        assert!(offset == 0 || data[offset - 1] == b'\n', "{e}");
        assert_eq!(
            data[..offset].iter().filter(|&&b| b == b'\n').count() + 1,
            line_no,
            "{e}"
        );
    }
    // The SASL login is carried to the queue and delivery events of its messages.
    let spam_deliveries = ev
        .iter()
        .filter(|e| e["kind"] == "delivery" && e["actor"] == "liwei")
        .count();
    assert!(spam_deliveries > 700, "{spam_deliveries}");
    // Attacker auth failures are counted once: backend lines are their own kind.
    let failures = ev
        .iter()
        .filter(|e| e["kind"] == "auth_failure" && e["src_ip"] == "203.0.113.77")
        .count();
    assert_eq!(
        failures as u64,
        truth["tagged_line_counts"]["brute_force"].as_u64().unwrap()
    );
}

#[test]
fn bundles_parse_in_place_with_custody_zone_and_manifest_times() {
    let t = tempfile::tempdir().unwrap();
    let root = sample_with_mtimes(t.path());
    let mut counts = Vec::new();
    for name in ["b", "b.zip", "b.tar.gz"] {
        let out = t.path().join(name);
        util::collect(&root, &out);
        let o = run(&["parse", out.to_str().unwrap()]);
        assert_eq!(o.code, 0, "{}", o.stderr);
        assert!(
            o.stderr.contains("Asia/Shanghai (bundle custody)"),
            "{}",
            o.stderr
        );
        let ev = events(&o.stdout);
        let takeover = ev
            .iter()
            .find(|e| {
                e["source"]["line"] == 1464 && e["source"]["path"] == "files/var/log/mail.log.1"
            })
            .unwrap();
        assert_eq!(takeover["ts"], "2026-03-03T18:14:07Z");
        assert_eq!(takeover["source"]["sha256"].as_str().unwrap().len(), 64);
        counts.push(ev.len());
    }
    assert!(counts.windows(2).all(|w| w[0] == w[1]), "{counts:?}");
}

#[test]
fn year_rollover_damage_and_odd_bytes() {
    let t = tempfile::tempdir().unwrap();
    // December lines and January lines in one file written on 1 January 2027.
    let log = t.path().join("maillog");
    std::fs::write(
        &log,
        b"Dec 31 23:59:58 mx postfix/smtpd[1]: connect from a[192.0.2.1]\n\
         Jan  1 00:00:01 mx postfix/smtpd[1]: disconnect from a[192.0.2.1] ehlo=1 commands=1\n\
         Jan  1 00:00:02 mx postfix/smtpd[1]: warning: b[192.0.2.2]: SASL LOGIN authentication failed: \xff\xfe, sasl_username=r\xe9ne\n",
    )
    .unwrap();
    util::set_mtime(&log, "2027-01-01T00:05:00Z");
    let o = run(&["parse", log.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let ev = events(&o.stdout);
    assert_eq!(ev[0]["ts"], "2026-12-31T23:59:58Z");
    assert_eq!(ev[1]["ts"], "2027-01-01T00:00:01Z");
    assert_eq!(ev[2]["utf8_lossy"], true);
    assert_eq!(ev[2]["actor"], "r\u{fffd}ne");
    let o = run(&["parse", log.to_str().unwrap(), "--year", "2020"]);
    assert!(events(&o.stdout)[0]["ts"]
        .as_str()
        .unwrap()
        .starts_with("2020-12-31"));
    // A gzip cut in the middle: every line before the damage, and a warning.
    let full = decompressed(&util::sample().join("var/log/mail.log.2.gz"));
    let gz = std::fs::read(util::sample().join("var/log/mail.log.2.gz")).unwrap();
    let cut = t.path().join("mail.log.2.gz");
    std::fs::write(&cut, &gz[..gz.len() / 2]).unwrap();
    let o = run(&["parse", cut.to_str().unwrap(), "--year", "2026"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr.contains("WARNING: read failed after line"),
        "{}",
        o.stderr
    );
    let ev = events(&o.stdout);
    let total = full.iter().filter(|&&b| b == b'\n').count();
    assert!(
        !ev.is_empty() && ev.len() < total,
        "{} of {total}",
        ev.len()
    );
    // xz is reported, never skipped silently.
    let xz = t.path().join("mail.log.3.xz");
    std::fs::write(&xz, b"\xfd7zXZ\x00\x00\x04\xe6\xd6\xb4\x46").unwrap();
    let o = run(&["parse", xz.to_str().unwrap()]);
    assert!(
        o.stderr.contains("xz compression is not supported"),
        "{}",
        o.stderr
    );
}

#[test]
fn csv_output_decodes_to_the_same_events() {
    let t = tempfile::tempdir().unwrap();
    let log = util::sample().join("var/log/mail.log");
    let j = run(&[
        "parse",
        log.to_str().unwrap(),
        "--year",
        "2026",
        "--timezone",
        "Asia/Shanghai",
    ]);
    let c = run(&[
        "parse",
        log.to_str().unwrap(),
        "--year",
        "2026",
        "--timezone",
        "Asia/Shanghai",
        "--format",
        "csv",
    ]);
    assert_eq!(c.code, 0, "{}", c.stderr);
    let jsonl = events(&j.stdout);
    let mut rdr = csv::Reader::from_reader(c.stdout.as_bytes());
    let header = rdr.headers().unwrap().clone();
    assert_eq!(header.get(0), Some("ts"));
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), jsonl.len());
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    for (row, e) in rows.iter().zip(&jsonl) {
        assert_eq!(&row[col("ts")], e["ts"].as_str().unwrap());
        assert_eq!(&row[col("kind")], e["kind"].as_str().unwrap());
        assert_eq!(
            row[col("source_line")].parse::<u64>().unwrap(),
            e["source"]["line"].as_u64().unwrap()
        );
    }
    let _ = t;
}

#[test]
fn parquet_output_reads_back_with_polars() {
    use polars::prelude::*;
    let t = tempfile::tempdir().unwrap();
    let log = util::sample().join("var/log/mail.log.1");
    let out = t.path().join("events.parquet");
    let j = run(&[
        "parse",
        log.to_str().unwrap(),
        "--year",
        "2026",
        "--timezone",
        "Asia/Shanghai",
    ]);
    let p = run(&[
        "parse",
        log.to_str().unwrap(),
        "--year",
        "2026",
        "--timezone",
        "Asia/Shanghai",
        "--format",
        "parquet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(p.code, 0, "{}", p.stderr);
    let jsonl = events(&j.stdout);
    let df = ParquetReader::new(std::fs::File::open(&out).unwrap())
        .finish()
        .unwrap();
    assert_eq!(df.height(), jsonl.len());
    let kinds = df.column("kind").unwrap().str().unwrap().clone();
    let lines = df.column("source_line").unwrap().u64().unwrap().clone();
    let ts = df.column("ts").unwrap().str().unwrap().clone();
    let us = df.column("ts_unix_us").unwrap().i64().unwrap().clone();
    for (i, e) in jsonl.iter().enumerate().step_by(37) {
        assert_eq!(kinds.get(i), e["kind"].as_str());
        assert_eq!(lines.get(i), e["source"]["line"].as_u64());
        assert_eq!(ts.get(i), e["ts"].as_str());
        let parsed = chrono::DateTime::parse_from_rfc3339(e["ts"].as_str().unwrap()).unwrap();
        assert_eq!(us.get(i), Some(parsed.timestamp_micros()));
    }
    // Binary output needs a file.
    let o = run(&["parse", log.to_str().unwrap(), "--format", "parquet"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("--out"), "{}", o.stderr);
}

#[test]
fn exim_deliveries_carry_the_submitting_login() {
    let t = tempfile::tempdir().unwrap();
    let log = t.path().join("mainlog");
    std::fs::write(
        &log,
        "2026-03-04 02:45:02 [2041] 1vQxYz-0003Ab-Cd <= liwei@oceanlab.example.org H=(x) [203.0.113.77]:51000 P=esmtpa A=dovecot_login:liwei S=7207 id=a@b\n\
         2026-03-04 02:45:03 [2042] 1vQxYz-0003Ab-Cd => bob1@inbox.example.net R=dnslookup T=remote_smtp H=mx.inbox.example.net [203.0.113.178]\n\
         2026-03-04 02:45:03 [2042] 1vQxYz-0003Ab-Cd ** eve2@nonexist.example R=dnslookup: all hosts have been failing\n\
         2026-03-04 02:45:03 [2042] 1vQxYz-0003Ab-Cd Completed\n",
    )
    .unwrap();
    let o = run(&[
        "parse",
        log.to_str().unwrap(),
        "--timezone",
        "Asia/Shanghai",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let ev = events(&o.stdout);
    assert_eq!(ev.len(), 3);
    assert_eq!(ev[0]["ts"], "2026-03-03T18:45:02Z");
    assert_eq!(ev[0]["ts_year_inferred"], false);
    for e in &ev {
        assert_eq!(e["actor"], "liwei", "{e}");
        assert_eq!(e["queue_id"], "1vQxYz-0003Ab-Cd");
    }
    assert_eq!(ev[2]["status"], "bounced");
}
