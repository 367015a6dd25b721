//! `triage` on the Exchange / Microsoft 365 export sample (`samples/exchange-exports`):
//! every item of its ground truth found with its evidence lines, nothing on its legitimate
//! users; collected with `collect --exports` and triaged from the bundle; and triaged
//! together with the Postfix sample host in one folder: one report, one timeline.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{self, run};

fn sample() -> PathBuf {
    util::repo().join("samples/exchange-exports")
}

fn truth() -> Value {
    serde_json::from_slice(&std::fs::read(sample().join("truth.json")).unwrap()).unwrap()
}

fn triage(inputs: &[&Path], out: &Path) -> Value {
    let mut args = vec!["triage".to_string()];
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    args.extend(["--timezone", "Asia/Shanghai", "--out"].map(String::from));
    args.push(out.display().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = run(&args);
    assert_eq!(o.code, 0, "{}", o.stderr);
    serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap()
}

fn findings(report: &Value) -> Vec<Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["finding"].clone())
        .collect()
}

/// The rules of the mail-access work whose theft expectations this test holds in full (what
/// was searched, exported, delegated, consented, switched on or off); the reading and
/// deletion rules' counts are held by their own checks.
const ACCESS_RULES: &[&str] = &[
    "exfil.mailbox_search",
    "exfil.mailbox_export",
    "exfil.protocol_enabled",
    "persistence.mailbox_delegation",
    "persistence.oauth_consent",
    "tamper.audit_disabled",
];

/// Every truth item — and every theft expectation (`theft.expected`) — has a finding of its
/// rule holding all its lines (paths compared by their ending: a bundle stores them under
/// `exports/<n>/`); a theft expectation of the mail-access rules also its phase, accounts,
/// addresses and `accessed` record; no finding of a theft negative's rule names its accounts.
fn check(found: &[Value], strip: &dyn Fn(&str) -> String) {
    let t = truth();
    let theft = t["theft"]["expected"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for item in t["items"].as_array().unwrap().iter().chain(&theft) {
        let rule = item["rule"].as_str().unwrap();
        let file = item["file"].as_str().unwrap();
        let want: BTreeSet<u64> = item["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_u64().unwrap())
            .collect();
        let ok = found.iter().any(|f| {
            f["rule"] == rule
                && f["evidence"].as_array().unwrap().iter().any(|e| {
                    strip(e["path"].as_str().unwrap()).ends_with(file) && {
                        let have: BTreeSet<u64> = e["lines"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|l| l.as_u64().unwrap())
                            .collect();
                        want.is_subset(&have)
                    }
                })
        });
        assert!(
            ok,
            "truth item not found: {rule} {file} {want:?}\n{found:#?}"
        );
    }
    for item in theft
        .iter()
        .filter(|i| ACCESS_RULES.contains(&i["rule"].as_str().unwrap()))
    {
        check_access(found, item, strip);
    }
    for neg in t["theft"]["negatives"].as_array().into_iter().flatten() {
        for f in found.iter().filter(|f| f["rule"] == neg["rule"]) {
            for u in neg["users"].as_array().unwrap() {
                assert!(
                    !f["entities"]["users"].as_array().unwrap().contains(u),
                    "{}: {u} named: {f:#?}",
                    neg["why"]
                );
            }
        }
    }
    let rules: BTreeSet<&str> = t["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(&theft)
        .map(|i| i["rule"].as_str().unwrap())
        .collect();
    for f in found {
        assert!(
            rules.contains(f["rule"].as_str().unwrap()),
            "unexpected finding {f:#?}"
        );
        for u in t["legit_users"].as_array().unwrap() {
            let users = f["entities"]["users"].to_string();
            assert!(
                !users.contains(u.as_str().unwrap()),
                "finding on a legitimate user {u}: {f:#?}"
            );
            assert!(
                !f["summary"].as_str().unwrap().contains(u.as_str().unwrap()),
                "{f:#?}"
            );
        }
    }
}

/// The finding of a mail-access theft expectation: its phase, its accounts and addresses
/// among the finding's, and its `accessed` record (mailbox, how, and the counts it gives).
fn check_access(found: &[Value], item: &Value, strip: &dyn Fn(&str) -> String) {
    let rule = item["rule"].as_str().unwrap();
    let file = item["file"].as_str().unwrap();
    let line = item["lines"][0].as_u64().unwrap();
    let f = found
        .iter()
        .find(|f| {
            f["rule"] == rule
                && f["evidence"].as_array().unwrap().iter().any(|e| {
                    strip(e["path"].as_str().unwrap()).ends_with(file)
                        && e["lines"].as_array().unwrap().iter().any(|l| l == line)
                })
        })
        .unwrap_or_else(|| panic!("{rule} {file}:{line} not found"));
    assert_eq!(f["phase"], item["phase"], "{rule}: {f:#}");
    for kind in ["users", "ips"] {
        for v in item[kind].as_array().unwrap() {
            assert!(
                f["entities"][kind].as_array().unwrap().contains(v),
                "{rule}: {v} not among its {kind}: {f:#}"
            );
        }
    }
    let Some(want) = item.get("accessed") else {
        return;
    };
    let got = f["accessed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["mailbox"] == want["mailbox"])
        .unwrap_or_else(|| panic!("{rule}: no accessed record of {}: {f:#}", want["mailbox"]));
    for k in ["how", "messages", "bytes"] {
        if let Some(w) = want.get(k) {
            assert_eq!(&got[k], w, "{rule}: accessed {k}: {f:#}");
        }
    }
}

#[test]
fn exchange_sample_triage_finds_every_item_and_nothing_on_legitimate_users() {
    let t = tempfile::tempdir().unwrap();
    let report = triage(&[&sample()], &t.path().join("r"));
    let found = findings(&report);
    check(&found, &|p| p.to_string());
    // The phases the story runs through.
    let phases: BTreeSet<&str> = found.iter().map(|f| f["phase"].as_str().unwrap()).collect();
    assert_eq!(
        phases,
        BTreeSet::from(["initial_access", "persistence", "exfiltration", "cleanup"])
    );
}

#[test]
fn exchange_exports_collected_then_triaged_from_the_bundle() {
    let t = tempfile::tempdir().unwrap();
    let zip = t.path().join("exports.zip");
    let o = run(&[
        "collect",
        "--exports",
        sample().join("exch01").to_str().unwrap(),
        sample().join("m365").to_str().unwrap(),
        "--out",
        zip.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(run(&["verify", zip.to_str().unwrap()]).code, 0);
    let rows = util::manifest(&zip);
    let recognised = |stored: &str| {
        rows.iter()
            .find(|r| r["stored"] == stored)
            .map(|r| r["recognised_as"].as_str().unwrap().to_string())
    };
    assert_eq!(
        recognised("exports/1/purview-unified-audit-log.csv").as_deref(),
        Some("m365_ual_csv")
    );
    assert_eq!(
        recognised("exports/0/W3SVC1/u_ex260303.log").as_deref(),
        Some("iis_w3c")
    );
    assert_eq!(
        recognised("exports/0/Logging/HttpProxy/Ecp/HttpProxy_2026030300-1.LOG").as_deref(),
        Some("exchange_httpproxy")
    );
    // No host catalog without --root: only the exports are in the bundle.
    assert!(rows.iter().all(|r| r["category"] == "export"), "{rows:#?}");
    let report = triage(&[&zip], &t.path().join("r"));
    let found = findings(&report);
    check(&found, &|p| {
        p.replace("exports/0/", "exch01/")
            .replace("exports/1/", "m365/")
    });
    let evidence = found[0]["evidence"][0]["sha256"].as_str().unwrap_or("");
    assert_eq!(
        evidence.len(),
        64,
        "bundle evidence carries the manifest hash"
    );
}

#[test]
fn postfix_and_exchange_samples_in_one_folder_give_one_report_and_one_timeline() {
    let t = tempfile::tempdir().unwrap();
    let both = t.path().join("case");
    util::copy_tree(&util::sample(), &both.join("mx1"));
    util::copy_tree(&sample(), &both.join("exchange"));
    let out = t.path().join("r");
    let report = triage(&[&both], &out);
    let rules: BTreeSet<String> = findings(&report)
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect();
    for r in [
        "auth.compromised_account",
        "exchange.proxylogon_ssrf",
        "persistence.mailbox_rule",
        "auth.brute_force",
    ] {
        assert!(rules.contains(r), "{r} missing from {rules:?}");
    }
    // One timeline with rows from both evidence sets, in time order.
    let tl = std::fs::read_to_string(out.join("timeline.jsonl")).unwrap();
    let rows: Vec<Value> = tl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let text = tl.as_str();
    assert!(
        text.contains("mx1/var/log/mail.log"),
        "postfix rows missing"
    );
    assert!(
        text.contains("exchange/m365/purview-unified-audit-log.csv"),
        "m365 rows missing"
    );
    assert!(text.contains("exchange/exch01/"), "exchange rows missing");
    let times: Vec<chrono::DateTime<chrono::FixedOffset>> = rows
        .iter()
        .map(|r| chrono::DateTime::parse_from_rfc3339(r["ts"].as_str().unwrap()).unwrap())
        .collect();
    assert!(!times.is_empty());
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "timeline out of order"
    );
}

#[test]
fn log_folders_that_reach_back_less_than_iis_are_reported() {
    // IIS kept a month; the Exchange logs only the attack day (as if the older ones were
    // wiped): every Exchange folder but W3SVC1 is reported, citing its oldest file.
    let t = tempfile::tempdir().unwrap();
    let tree = t.path().join("exports");
    util::copy_tree(&sample().join("exch01"), &tree);
    let iis = std::fs::read_to_string(tree.join("W3SVC1/u_ex260303.log")).unwrap();
    std::fs::write(
        tree.join("W3SVC1/u_ex260201.log"),
        iis.replace("2026-03-03", "2026-02-01"),
    )
    .unwrap();
    let o = run(&["detect", tree.to_str().unwrap(), "--format", "jsonl"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let aged: BTreeSet<String> = o
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|f| f["rule"] == "tamper.exchange_log_age")
        .map(|f| f["entities"]["files"][0].as_str().unwrap().to_string())
        .collect();
    let want: BTreeSet<String> = [
        "Logging/ECP/Server/ECPServer2026030300-1.LOG",
        "Logging/HttpProxy/Ecp/HttpProxy_2026030300-1.LOG",
        "Logging/HttpProxy/Owa/HttpProxy_2026030300-1.LOG",
        "Logging/MessageTracking/MSGTRK2026030300-1.LOG",
        "Logging/OABGeneratorLog/OABGenerator2026030300-1.LOG",
    ]
    .map(String::from)
    .into();
    assert_eq!(aged, want);
    // Without the older IIS file, nothing is younger than anything else.
    std::fs::remove_file(tree.join("W3SVC1/u_ex260201.log")).unwrap();
    let o = run(&["detect", tree.to_str().unwrap(), "--format", "jsonl"]);
    assert!(!o.stdout.contains("tamper.exchange_log_age"));
}

#[test]
fn a_cut_gzip_export_yields_the_records_before_the_damage_and_a_finding() {
    use std::io::Write;
    let ual = std::fs::read(sample().join("m365/purview-unified-audit-log.csv")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&ual).unwrap();
    let gz = gz.finish().unwrap();
    let t = tempfile::tempdir().unwrap();
    let cut = t.path().join("ual.csv.gz");
    std::fs::write(&cut, &gz[..gz.len() * 2 / 3]).unwrap();
    let o = run(&["detect", cut.to_str().unwrap(), "--format", "jsonl"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr.contains("WARNING: read failed after line"),
        "{}",
        o.stderr
    );
    let rules: Vec<String> = o
        .stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["rule"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(rules.contains(&"tamper.truncated".to_string()), "{rules:?}");
    // The newest records come first in the export: the attack is before the damage.
    assert!(
        rules.contains(&"persistence.transport_rule".to_string()),
        "{rules:?}"
    );
}

#[test]
fn a_missing_export_folder_is_named_and_recorded_the_others_collected() {
    let t = tempfile::tempdir().unwrap();
    let zip = t.path().join("exports.zip");
    let missing = t.path().join("no-such-folder");
    let o = run(&[
        "collect",
        "--exports",
        sample().join("m365").to_str().unwrap(),
        missing.to_str().unwrap(),
        "--out",
        zip.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr.contains("no-such-folder cannot be opened"),
        "{}",
        o.stderr
    );
    let rows = util::manifest(&zip);
    assert!(rows
        .iter()
        .any(|r| r["outcome"] == "missing"
            && r["source"].as_str().unwrap().ends_with("no-such-folder")));
    assert_eq!(
        rows.iter().filter(|r| r["outcome"] == "collected").count(),
        4,
        "{rows:#?}"
    );
}
