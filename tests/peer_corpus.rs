//! Recall against third-party ground truth (`../shared/peer` or `$MAILIR_PEER_DIR`).
//!
//! For every line a peer marks as a match in a Postfix, Dovecot or Exim log (CrowdSec hub
//! tests, Wazuh/OSSEC rule tests, whyscream's postfix-grok-patterns, logstash's Exim patterns),
//! mailir must recognise the line
//! (an event, or a known line it deliberately keeps no event for), and where the peer names
//! the client address, mailir's event must carry the same address. The grok source holds
//! message bodies only: each gets a syslog prefix with the program the peer names. Grok
//! *sub-pattern* fixtures (`POSTFIX_COMMAND_COUNTER_DATA`, `POSTFIX_DELAYS`, `POSTFIX_RELAY`,
//! `POSTFIX_TLS_FEATURES`) are fragments of lines, not lines, and are left out. OpenSMTPD's
//! (Wazuh/OSSEC: 5.x `smtp-in:` lines) are counted too. Exchange (`peer_exchange`),
//! MailScanner and the other daemons are not counted here. Figures are printed;
//! the assertions hold the measured recall so a regression fails.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{self, run};

fn peer_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("MAILIR_PEER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| util::repo().join("../shared/peer"));
    dir.join("README.md").is_file().then_some(dir)
}

struct Parsed {
    events: HashMap<u64, Vec<Value>>,
    unparsed: HashSet<u64>,
}

fn parse(file: &Path, tmp: &Path) -> Parsed {
    let unparsed = tmp.join("unparsed.txt");
    let o = run(&[
        "parse",
        file.to_str().unwrap(),
        "--year",
        "2024",
        "--unparsed",
        unparsed.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let mut events: HashMap<u64, Vec<Value>> = HashMap::new();
    for l in o.stdout.lines() {
        let e: Value = serde_json::from_str(l).unwrap();
        events
            .entry(e["source"]["line"].as_u64().unwrap())
            .or_default()
            .push(e);
    }
    let unparsed = std::fs::read_to_string(&unparsed)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(':').nth(1)?.parse().ok())
        .collect();
    Parsed { events, unparsed }
}

#[derive(Default, Debug)]
struct Tally {
    lines: u32,
    recognised: u32,
    with_host: u32,
    host_in_event: u32,
    misses: Vec<String>,
}

fn daemon_of(name: &str) -> Option<&'static str> {
    let n = name.to_ascii_lowercase();
    if n.contains("postfix") {
        Some("postfix")
    } else if n.contains("dovecot") {
        Some("dovecot")
    } else if n.contains("exim") {
        Some("exim")
    } else if n.contains("opensmtpd") {
        Some("opensmtpd")
    } else {
        None
    }
}

fn score(t: &mut Tally, p: &Parsed, line: u64, host: Option<&str>, text: &str) {
    t.lines += 1;
    let evs = p.events.get(&line).map(Vec::as_slice).unwrap_or_default();
    if !p.unparsed.contains(&line) {
        t.recognised += 1;
    } else {
        t.misses.push(format!("unrecognised: {text}"));
    }
    if let (Some(h), false) = (host, evs.is_empty()) {
        t.with_host += 1;
        // The client's address, or for our own outbound side the remote server's (`relay`).
        let in_relay = |e: &Value| {
            e["relay"]
                .as_str()
                .is_some_and(|r| r.contains(&format!("[{h}]")))
        };
        if evs
            .iter()
            .any(|e| e["src_ip"] == h || e["src_host"] == h || in_relay(e))
        {
            t.host_in_event += 1;
        } else {
            t.misses.push(format!("host {h} not in event: {text}"));
        }
    }
}

#[test]
fn recall_on_peer_ground_truth() {
    let Some(dir) = peer_dir() else {
        eprintln!("SKIPPED recall_on_peer_ground_truth: no peer corpus at ../shared/peer (set MAILIR_PEER_DIR)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut tallies: BTreeMap<(String, &'static str), Tally> = BTreeMap::new();
    for source in ["crowdsec", "wazuh-ossec", "logstash-exim"] {
        let mut cache: HashMap<String, Parsed> = HashMap::new();
        for line in std::fs::read_to_string(dir.join(source).join("truth.jsonl"))
            .unwrap()
            .lines()
        {
            let r: Value = serde_json::from_str(line).unwrap();
            let file = r["file"].as_str().unwrap();
            let Some(daemon) = daemon_of(file) else {
                continue;
            };
            if r["match"] != true {
                continue;
            }
            let p = cache
                .entry(file.to_string())
                .or_insert_with(|| parse(&dir.join(source).join(file), tmp.path()));
            let t = tallies.entry((source.to_string(), daemon)).or_default();
            score(
                t,
                p,
                r["line_no"].as_u64().unwrap(),
                r["host"].as_str(),
                r["text"].as_str().unwrap_or(""),
            );
        }
    }
    // postfix-grok-patterns: bodies only; give each its program's syslog prefix.
    let fragments = [
        "POSTFIX_COMMAND_COUNTER_DATA",
        "POSTFIX_DELAYS",
        "POSTFIX_RELAY",
        "POSTFIX_TLS_FEATURES",
    ];
    let records: Vec<Value> =
        std::fs::read_to_string(dir.join("postfix-grok-patterns/truth.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .filter(|r: &Value| !fragments.contains(&r["kind"].as_str().unwrap_or("")))
            .collect();
    let synth = tmp.path().join("grok.log");
    {
        let mut f = std::fs::File::create(&synth).unwrap();
        for r in &records {
            let prog = r["program_hint"].as_str().unwrap_or("postfix/smtpd");
            writeln!(
                f,
                "Oct 26 18:13:50 mx {prog}[4242]: {}",
                r["text"].as_str().unwrap()
            )
            .unwrap();
        }
    }
    let p = parse(&synth, tmp.path());
    let t = tallies
        .entry(("postfix-grok-patterns".into(), "postfix"))
        .or_default();
    for (i, r) in records.iter().enumerate() {
        score(
            t,
            &p,
            i as u64 + 1,
            r["host"].as_str(),
            r["text"].as_str().unwrap(),
        );
    }

    eprintln!(
        "peer recall (recognised lines; client address in the event where the peer names one):"
    );
    for ((source, daemon), t) in &tallies {
        eprintln!(
            "  {source:<22} {daemon:<8} {:>4} lines  recognised {:>6.1}%  address {:>3}/{:<3}",
            t.lines,
            100.0 * f64::from(t.recognised) / f64::from(t.lines.max(1)),
            t.host_in_event,
            t.with_host
        );
        for m in &t.misses {
            eprintln!("      miss: {m}");
        }
    }
    for ((source, daemon), t) in &tallies {
        let recall = f64::from(t.recognised) / f64::from(t.lines.max(1));
        assert!(recall >= 0.99, "{source}/{daemon}: recognised {recall:.3}");
        assert_eq!(
            t.host_in_event, t.with_host,
            "{source}/{daemon}: {:?}",
            t.misses
        );
    }
}
