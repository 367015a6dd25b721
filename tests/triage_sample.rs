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
    assert!(o.stdout.contains("phase Phase recon begins"));
    assert!(o
        .stdout
        .contains(&out.join("report.md").display().to_string()));
}
