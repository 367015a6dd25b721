//! One case across several hosts (issue 21): the sample split into an MX and an IMAP host,
//! each collected into its own bundle, with the Exchange sample's exports as a third host;
//! `detect` judges each host on its own and across hosts, `triage` names each host, the
//! cross-host findings and the order of compromise, and its HTML report shows the fleet
//! summary.

use serde_json::Value;

use crate::util::{self, fleet, run};

/// `detect` on the three hosts (times read as Asia/Shanghai), as JSON findings.
fn detect(inputs: &[&std::path::Path]) -> Vec<Value> {
    let mut args = vec!["detect", "--timezone", "Asia/Shanghai"];
    let paths: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    args.extend(paths.iter().map(String::as_str));
    let o = run(&args);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let doc: Value = serde_json::from_str(&o.stdout).unwrap();
    doc["findings"].as_array().unwrap().clone()
}

fn hosts(f: &Value) -> Vec<String> {
    util::strs(&f["hosts"])
}

#[test]
fn three_hosts_are_judged_each_on_its_own_then_across() {
    let t = tempfile::tempdir().unwrap();
    let (mx, imap) = fleet::split_bundles(t.path());
    let exch = fleet::exchange_host();
    let findings = detect(&[&mx, &imap, &exch]);
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
