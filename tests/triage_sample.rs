//! `triage` on the sample host: the three report files and every timeline export in one folder, the
//! same content `report` and `timeline` give, and a short summary on the terminal.

use crate::util::{self, run};

#[test]
fn sample_triage_writes_the_report_and_every_timeline_export() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("report");
    let o = run(&[
        "triage",
        util::sample().to_str().unwrap(),
        "--timezone",
        "Asia/Shanghai",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    for f in [
        "report.md",
        "report.html",
        "report.json",
        "timeline.jsonl",
        "timeline.timesketch.jsonl",
        "timeline.timesketch.csv",
        "timeline.l2t.csv",
        "timeline.parquet",
    ] {
        let len = std::fs::metadata(out.join(f)).map(|m| m.len()).unwrap_or(0);
        assert!(len > 0, "{f}");
    }
    // The same timeline `timeline` writes.
    let tl = run(&[
        "timeline",
        util::sample().to_str().unwrap(),
        "--timezone",
        "Asia/Shanghai",
    ]);
    assert_eq!(
        std::fs::read_to_string(out.join("timeline.jsonl")).unwrap(),
        tl.stdout
    );
    // The terminal summary: the takeover first, the phases, where the report is.
    let truth = util::truth();
    let first = o.stdout.lines().nth(1).unwrap();
    assert!(first.contains("critical"), "{first}");
    assert!(first.contains(truth["compromised_account"]["user"].as_str().unwrap()));
    // One line per phase with its span and rules; weaknesses apart, not in a phase.
    let recon = o
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("recon "))
        .unwrap_or_else(|| panic!("{}", o.stdout));
    assert!(
        recon.contains(" → ") && recon.contains("recon.scan"),
        "{recon}"
    );
    assert!(!o.stdout.contains("Phase recon begins"));
    let access = o
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("initial_access "))
        .unwrap();
    assert!(!access.contains("config."), "{access}");
    assert!(o
        .stdout
        .lines()
        .any(|l| l.trim_start().starts_with("weaknesses") && l.contains("config.vrfy_enabled")));
    assert!(o
        .stdout
        .contains(&out.join("report.md").display().to_string()));
    host_backdoor_in_the_report(&out, &truth);
}

/// The host-backdoor episode: each planted item found by its rule at its file and line, every
/// one a row of the report's host section, and the clean-up step for host backdoors chosen.
fn host_backdoor_in_the_report(out: &std::path::Path, truth: &serde_json::Value) {
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let entries = report["findings"].as_array().unwrap();
    let host_ids: Vec<&str> = report["host"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    for item in truth["items"].as_array().unwrap() {
        let Some(rule) = item["rule"].as_str() else {
            continue;
        };
        let path = item["path"].as_str().unwrap().trim_start_matches('/');
        let line = item["line"].as_u64().unwrap();
        let e = entries
            .iter()
            .find(|e| {
                e["finding"]["rule"] == rule
                    && e["finding"]["evidence"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|ev| {
                            ev["path"].as_str().unwrap().ends_with(path)
                                && ev["lines"].as_array().unwrap().iter().any(|l| l == line)
                        })
            })
            .unwrap_or_else(|| panic!("{rule} at {path}:{line} not in the report"));
        assert!(
            host_ids.contains(&e["id"].as_str().unwrap()),
            "{rule} not in the host section: {host_ids:?}"
        );
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## The host behind the mail service"));
    let clean: Vec<&str> = report["playbook"]["clean"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert!(clean.contains(&"clean.host_backdoors"), "{clean:?}");
    assert!(clean.contains(&"clean.rebuild_host"), "{clean:?}");
}

#[test]
fn sample_triage_on_its_bundle_with_the_sample_case_file() {
    let t = tempfile::tempdir().unwrap();
    let zip = t.path().join("mx1.zip");
    util::collect(&util::sample(), &zip);
    let out = t.path().join("report");
    let case = util::repo().join("samples/oceanlab-case.toml");
    let o = run(&[
        "triage",
        zip.to_str().unwrap(),
        "--case",
        case.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    // Germany and China with confirmed data: GDPR Art. 33 and PIPL apply, from the case file's
    // awareness / discovery (09:30 +08:00 = 01:30 UTC): GDPR due 72 h later.
    let notify = r["notify"].as_array().unwrap();
    let gdpr = notify.iter().find(|n| n["regime"] == "gdpr33").unwrap();
    assert_eq!(gdpr["applies"], "yes");
    assert_eq!(gdpr["due"], "2026-03-07T01:30:00Z");
    let pipl = notify.iter().find(|n| n["regime"] == "pipl57").unwrap();
    assert_eq!(pipl["applies"], "yes");
    // The bundle was verified and its custody is in the report.
    assert!(r["custody"][0]["bundle"]["problems"]
        .as_array()
        .unwrap()
        .is_empty());
    // The drafts: the DPO and the confirmed categories from the case file.
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("| contact point (DPO) | dpo@oceanlab.example.org; soc@oceanlab.example.org | *from the case file* |"), "{md}");
    assert!(md.contains("| 信息种类 | mail content, account credentials | *来自案件文件* |"));
    assert!(md.contains("- status: contained (case file)"));
}
