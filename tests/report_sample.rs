//! `report` on the sample host: every finding with its steps, every planted entry named by
//! file and line with how to apply its removal, the summary against the ground truth, and the
//! Chinese report.

use serde_json::Value;

use crate::util::{self, run};

/// Runs `report` on the sample into `dir` with `extra` options; its exit and stderr.
fn report_with(dir: &std::path::Path, extra: &[&str]) -> util::Output {
    let sample = util::sample();
    let mut args = vec![
        "report",
        sample.to_str().unwrap(),
        "--timezone",
        "Asia/Shanghai",
        "--out",
        dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

fn report(dir: &std::path::Path, lang: &str) -> (String, Value) {
    let o = report_with(dir, &["--lang", lang]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    let json = serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    (md, json)
}

#[test]
fn sample_report_lists_every_finding_its_steps_and_every_planted_line() {
    let t = tempfile::tempdir().unwrap();
    let (md, r) = report(t.path(), "en");
    let truth = util::truth();
    let findings = util::sample_findings();
    let entries = r["findings"].as_array().unwrap();
    assert_eq!(entries.len(), findings.len());
    assert!(r["unknown_steps"].as_array().unwrap().is_empty());
    for e in entries {
        let steps: Vec<&str> = e["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(!steps.is_empty(), "{}", e["title"]);
        for id in e["remediation"].as_array().unwrap() {
            assert!(
                steps.contains(&id.as_str().unwrap()),
                "{} lacks {id}",
                e["title"]
            );
        }
        // The reader of report.md sees the finding, escaped.
        let title = e["title"].as_str().unwrap().replace('_', "\\_");
        assert!(md.contains(&title), "{title}");
    }
    // Every planted entry of the ground truth: its file and line in the clean-up list, with how
    // the removal takes effect.
    let items = r["clean_items"].as_array().unwrap();
    for t in truth["items"].as_array().unwrap() {
        if t["phase"] != "persistence" {
            continue;
        }
        let hit = items
            .iter()
            .find(|c| c["file"] == t["path"] && c["line"] == t["line"]);
        let hit = hit.unwrap_or_else(|| panic!("no clean-up step for {t}"));
        assert!(!hit["apply"].as_str().unwrap().is_empty(), "{hit}");
        let shown = format!(
            "`{}` lines {}",
            t["path"].as_str().unwrap(),
            t["line"].as_u64().map_or("-".into(), |l| l.to_string())
        );
        assert!(md.contains(&shown), "{shown}");
    }
    // The summary names the stolen account and the brute-force address.
    let ca = truth["compromised_account"]["user"].as_str().unwrap();
    assert_eq!(r["summary"]["accounts"], serde_json::json!([ca]));
    let bf = &truth["attackers"]["smtp_brute_force"][0];
    assert!(r["summary"]["attackers"].as_array().unwrap().contains(bf));
    // The playbook in order: isolate, evidence, clean, notify; credentials reset out of band.
    let order: Vec<usize> = [
        "### 1. Isolate",
        "### 2. Evidence",
        "### 3. Clean",
        "### 4. Notify",
    ]
    .iter()
    .map(|h| md.find(h).unwrap_or_else(|| panic!("{h}")))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]));
    assert!(md.contains("out of band"));
    // Notification duties: every regime, "check" without a case file, clocks from the
    // earliest detection (the recon scan, 22:10 +08:00): GDPR's 72 hours.
    let notify = r["notify"].as_array().unwrap();
    for id in [
        "gdpr33",
        "gdpr34",
        "uk_gdpr",
        "nis2",
        "pipl57",
        "cn_measures",
        "hipaa",
        "sec_8k",
        "california",
    ] {
        assert!(
            notify
                .iter()
                .any(|n| n["regime"] == id && n["applies"] == "check"),
            "{id}"
        );
    }
    let gdpr = notify.iter().find(|n| n["regime"] == "gdpr33").unwrap();
    assert_eq!(gdpr["anchor_at"], "2026-03-03T14:10:04Z");
    assert_eq!(gdpr["due"], "2026-03-06T14:10:04Z");
    assert!(md.contains("| EU GDPR Art. 33 |"));
    // The page: self-contained (no script, nothing fetched), the chart, every finding escaped.
    let html = std::fs::read_to_string(t.path().join("report.html")).unwrap();
    for banned in ["<script", "src=\"http", "href=\"http", "@import", "url("] {
        assert!(!html.contains(banned), "{banned}");
    }
    assert!(html.contains("<svg") && html.contains("events per hour"));
    assert_eq!(
        html.matches("<line ").count(),
        entries
            .iter()
            .filter(|e| {
                let at = e["first_seen"].as_str().unwrap();
                ("2026-03-01".."2026-03-06").contains(&at)
            })
            .count(),
        "one mark per finding inside the logs' span"
    );
    for e in entries {
        let title = e["title"]
            .as_str()
            .unwrap()
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        assert!(html.contains(&title), "{title}");
    }
    assert!(md.contains("doveadm kick liwei"));
    assert!(md.contains(&format!(
        "iptables -I INPUT -s {} -j DROP",
        bf.as_str().unwrap()
    )));
}

#[test]
fn sample_report_in_chinese() {
    let t = tempfile::tempdir().unwrap();
    let (md, r) = report(t.path(), "zh");
    assert_eq!(r["lang"], "zh");
    for h in [
        "# 邮件服务器安全事件报告",
        "## 概要",
        "### 1. 隔离",
        "### 3. 清除",
        "### 4. 通报",
    ] {
        assert!(md.contains(h), "{h}");
    }
    // Step texts in Chinese, the never-by-mail rule kept.
    assert!(md.contains("带外"));
    assert!(md.contains("绝不要通过被盗邮箱发送"));
}

/// Chromium, when this machine has it (`.ci/run` installs Debian's `chromium`).
fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

#[test]
fn sample_report_html_loads_in_a_real_browser_and_shows_the_chart() {
    let Some(browser) = chromium() else {
        eprintln!("SKIPPED sample_report_html_loads_in_a_real_browser_and_shows_the_chart: no chromium (apt-get install chromium; .ci/run does)");
        return;
    };
    let t = tempfile::tempdir().unwrap();
    report(t.path(), "en");
    let page = format!("file://{}", t.path().join("report.html").display());
    let shot = t.path().join("report.png");
    let run_browser = |extra: &[&str]| {
        let mut cmd = std::process::Command::new(browser);
        cmd.args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1280,1600",
        ]);
        cmd.args(extra).arg(&page);
        util::run_cmd(cmd, std::time::Duration::from_secs(120))
    };
    // The DOM after load holds the chart and the findings; no script error was logged.
    let dom = run_browser(&["--dump-dom"]);
    let html = &dom.stdout;
    assert!(
        html.contains("<svg") && html.contains("events per hour"),
        "{}",
        dom.stderr
    );
    assert!(html.contains("Account liwei taken over from 203.0.113.77"));
    let log = &dom.stderr;
    assert!(
        !log.contains("Uncaught") && !log.contains("CONSOLE"),
        "{log}"
    );
    // It renders: a screenshot of the page is written and is not blank.
    run_browser(&[&format!("--screenshot={}", shot.display())]);
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
}

#[test]
fn sample_report_with_a_case_file_says_which_regimes_apply_and_from_when() {
    let t = tempfile::tempdir().unwrap();
    let case = t.path().join("case.toml");
    std::fs::write(
        &case,
        r#"
[organisation]
name = "Oceanlab Research Centre"
countries = ["CN"]
sector = ["central_organ"]
contact = "soc@oceanlab.example.org"

[clocks]
discovery = "2026-03-04T09:00:00+08:00"

[data]
categories = ["mail content"]
"#,
    )
    .unwrap();
    let out = t.path().join("r");
    let o = report_with(&out, &["--case", case.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let notify = r["notify"].as_array().unwrap();
    let find = |id: &str, what: &str| {
        notify
            .iter()
            .find(|n| n["regime"] == id && n["what"].as_str().unwrap().contains(what))
            .unwrap()
    };
    // A central organ in China: the 2-hour report from the case file's discovery (01:00 UTC).
    let cn = find("cn_measures", "central");
    assert_eq!(cn["applies"], "check");
    assert_eq!(cn["due"], "2026-03-04T03:00:00Z");
    assert_eq!(find("cn_measures", "other operator")["applies"], "no");
    assert_eq!(find("pipl57", "立即")["applies"], "yes");
    assert_eq!(find("gdpr33", "authority")["applies"], "no");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("Oceanlab Research Centre, contact soc@oceanlab.example.org"));
    // A case file with a typo is refused, with the reason.
    std::fs::write(&case, "[organisation]\nsector = [\"bank\"]\n").unwrap();
    let bad = report_with(&out, &["--case", case.to_str().unwrap()]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("unknown sector"), "{}", bad.stderr);
}
