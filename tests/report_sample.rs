//! `report` on the sample host: every finding with its steps, every planted entry named by
//! file and line with how to apply its removal, the summary against the ground truth, and the
//! Chinese report.

use serde_json::Value;

use crate::util::{self, run};

/// Runs `report` on `input` into `dir` with `extra` options; its exit and stderr.
fn report_on(input: &std::path::Path, dir: &std::path::Path, extra: &[&str]) -> util::Output {
    let mut args = vec![
        "report",
        input.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// Runs `report` on the sample (its clock zone given) into `dir` with `extra` options.
fn report_with(dir: &std::path::Path, extra: &[&str]) -> util::Output {
    let mut args = vec!["--timezone", "Asia/Shanghai"];
    args.extend_from_slice(extra);
    report_on(&util::sample(), dir, &args)
}

/// `report.md` and `report.json` of a report written into `dir`.
fn read(dir: &std::path::Path) -> (String, Value) {
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    let json = serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    (md, json)
}

/// The item of `regime`'s draft whose label contains `label`.
fn draft_field(r: &Value, regime: &str, label: &str) -> Value {
    r["drafts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["regime"] == regime)
        .unwrap_or_else(|| panic!("no {regime} draft"))["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["label"].as_str().unwrap().contains(label))
        .unwrap_or_else(|| panic!("{regime} has no {label}"))
        .clone()
}

fn report(dir: &std::path::Path, lang: &str) -> (String, Value) {
    let o = report_with(dir, &["--lang", lang]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    read(dir)
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
    // Configuration weaknesses have a section of their own, after the attack phases.
    let weak_at = md
        .find("### Weaknesses that helped or could help an attacker")
        .expect("a weaknesses section");
    let vrfy = md
        .find("`config.vrfy_enabled`")
        .expect("the VRFY weakness is listed");
    assert!(
        vrfy > weak_at,
        "config.vrfy_enabled is listed among the attack phases"
    );
    assert!(md[..weak_at].contains("### initial_access"));
    for e in entries {
        let steps: Vec<&str> = e["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(!steps.is_empty(), "{}", e["title"]);
        for id in e["finding"]["remediation"].as_array().unwrap() {
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
        // A history is evidence of the attacker's hands, not an entry to remove.
        let evidence_only = t["rule"].as_str().is_some_and(|r| r.starts_with("host."));
        if t["phase"] != "persistence" || evidence_only {
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
                let at = e["finding"]["first_seen"].as_str().unwrap();
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
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;");
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
    // Every finding's heading and summary are Chinese (the English line kept as 原文), and so
    // are the severities, the duties table and the drafts.
    let cjk = |s: &str| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    let entries = r["findings"].as_array().unwrap();
    for e in entries {
        let title = e["title"].as_str().unwrap();
        assert!(cjk(title), "{title}");
        assert!(e["summary"].as_str().unwrap().contains("原文："));
    }
    let headings: Vec<&str> = md.lines().filter(|l| l.starts_with("#### F")).collect();
    assert_eq!(headings.len(), entries.len());
    for h in headings {
        assert!(
            ["严重", "高危", "中危", "低危", "提示"]
                .iter()
                .any(|s| h.ends_with(s)),
            "{h}"
        );
    }
    for s in [
        "## 证据与保管",
        "| 法规 | 通报事项 | 是否适用 |",
        "#### 通报草稿",
        "| 事项 | 内容 | 来源 |",
        "待判断",
    ] {
        assert!(md.contains(s), "{s}");
    }
    for d in r["drafts"].as_array().unwrap() {
        assert_eq!(d["lang"], "zh", "{}", d["regime"]);
    }
    // Nothing but evidence and commands is left in English: no line reads as an English
    // sentence (three of its function words) outside quoted originals and commands.
    let english: Vec<&str> = md
        .lines()
        .filter(|l| !l.contains("原文") && !l.contains('`') && !l.contains("采集记录"))
        .filter(|l| {
            let words: std::collections::BTreeSet<&str> = l
                .split_whitespace()
                .map(|w| w.trim_matches(|c: char| ",;:().*".contains(c)))
                .collect();
            [
                "the", "and", "of", "to", "from", "with", "for", "was", "were", "is", "are", "not",
                "by", "that", "this", "be", "its", "at", "on", "or",
            ]
            .iter()
            .filter(|w| words.contains(*w))
            .count()
                >= 3
        })
        .collect();
    assert!(english.is_empty(), "{english:#?}");
}

#[test]
fn sample_report_html_loads_in_a_real_browser_and_shows_the_chart() {
    let Some(browser) = util::chromium() else {
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
    let dom = util::browser_dom(browser, &t.path().join("report.html"));
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

#[test]
fn report_on_a_bundle_gives_its_hash_verification_custody_and_what_was_not_collected() {
    let t = tempfile::tempdir().unwrap();
    // A zip bundle: its hash (as the sidecar has it), verified intact, who collected it.
    let zip = t.path().join("b.zip");
    util::collect(&util::sample(), &zip);
    let sidecar = std::fs::read_to_string(t.path().join("b.zip.sha256")).unwrap();
    let sha = sidecar.split_whitespace().next().unwrap();
    let o = report_on(&zip, &t.path().join("r1"), &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let (md, r) = read(&t.path().join("r1"));
    let b = &r["custody"][0]["bundle"];
    assert_eq!(b["sha256"], sha);
    assert_eq!(b["sidecar_found"], true);
    assert!(b["problems"].as_array().unwrap().is_empty(), "{b}");
    assert_eq!(b["custody"]["examiner"], "test");
    for line in [
        format!("bundle sha256 {sha} (zip; checked against the sidecar)"),
        "verification: intact".to_string(),
        "case id: T-1".to_string(),
        "examiner: test".to_string(),
        "host: mx1".to_string(),
        // The one existing path not copied: /etc/shadow, by design (metadata only).
        "not collected: 1 existing path(s) were not copied:".to_string(),
        "/etc/shadow — skipped: read for its account metadata only, never stored".to_string(),
        "local times in the logs read as Asia/Shanghai (bundle custody)".to_string(),
    ] {
        assert!(md.contains(&line), "{line}");
    }
    // The Chinese incident report's scene-protection item cites the verified bundle.
    let scene = draft_field(&r, "cn_measures", "（七）现场保护情况");
    assert!(
        scene["value"]
            .as_str()
            .unwrap()
            .contains(&format!("{sha}（校验完好）")),
        "{scene}"
    );

    // A folder bundle with files too large to take and one altered afterwards: the report
    // names what was not collected and why, and that verification failed, on which file.
    let dir = t.path().join("d");
    let o = util::collect_with(&util::sample(), &dir, &["--max-file-size", "4096"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let main_cf = dir.join("files/etc/postfix/main.cf");
    let mut text = std::fs::read(&main_cf).unwrap();
    text.extend_from_slice(b"always_bcc = x@evil.example\n");
    std::fs::write(&main_cf, text).unwrap();
    // The report is written; the exit says the bundle failed verification, as `verify` does.
    let o = report_on(&dir, &t.path().join("r2"), &[]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("FAILED verification"), "{}", o.stderr);
    let (md, r) = read(&t.path().join("r2"));
    let b = &r["custody"][0]["bundle"];
    let total = b["not_collected_total"].as_u64().unwrap();
    assert!(total > 0, "{b}");
    let first = &b["not_collected"][0];
    assert_eq!(first["outcome"], "too_large", "{first}");
    assert!(md.contains(&format!(
        "not collected: {total} existing path(s) were not copied:"
    )));
    assert!(md.contains(&format!(
        "{} — too\\_large",
        first["source"].as_str().unwrap()
    )));
    assert!(md.contains("verification: "), "{md}");
    assert!(
        md.contains("altered: files/etc/postfix/main.cf"),
        "the altered file is named"
    );
}

#[test]
fn drafts_label_every_field_by_source_and_chinese_regimes_are_in_chinese() {
    let t = tempfile::tempdir().unwrap();
    let case = t.path().join("case.toml");
    std::fs::write(
        &case,
        "[organisation]\nname = \"Oceanlab Research Centre\"\ncountries = [\"CN\", \"DE\"]\ncontact = \"soc@oceanlab.example.org\"\n[data]\ncategories = [\"mail content\", \"account credentials\"]\n",
    )
    .unwrap();
    let out = t.path().join("r");
    let o = report_with(&out, &["--case", case.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let ids: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    let drafts = r["drafts"].as_array().unwrap();
    let regimes: Vec<&str> = drafts
        .iter()
        .map(|d| d["regime"].as_str().unwrap())
        .collect();
    // No draft for what does not apply (no UK, not a public company, no PHI, no Californians).
    assert_eq!(regimes, ["gdpr33", "gdpr34", "pipl57", "cn_measures"]);
    for d in drafts {
        for f in d["fields"].as_array().unwrap() {
            assert!(!f["value"].as_str().unwrap().is_empty(), "{f}");
            let source = f["source"].as_str().unwrap();
            assert!(["evidence", "case", "supply"].contains(&source), "{f}");
            for id in f["refs"].as_array().unwrap() {
                assert!(ids.contains(&id.as_str().unwrap()), "{id} is no finding");
            }
        }
        let zh = d["lang"] == "zh";
        assert_eq!(
            zh,
            ["pipl57", "cn_measures"].contains(&d["regime"].as_str().unwrap())
        );
    }
    let field = |regime: &str, label: &str| draft_field(&r, regime, label);
    // From the case file.
    let controller = field("gdpr33", "controller");
    assert_eq!(controller["source"], "case");
    assert_eq!(controller["value"], "Oceanlab Research Centre");
    assert_eq!(
        field("pipl57", "信息种类")["value"],
        "mail content, account credentials"
    );
    // From evidence, citing the takeover finding: the stolen account and how.
    let takeover = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["finding"]["rule"] == "auth.compromised_account")
        .unwrap()["id"]
        .clone();
    let cause = field("pipl57", "原因");
    assert_eq!(cause["source"], "evidence");
    assert!(
        cause["value"].as_str().unwrap().contains("登录成功"),
        "{cause}"
    );
    assert!(cause["refs"].as_array().unwrap().contains(&takeover));
    let nature = field("gdpr33", "nature of the breach");
    assert!(
        nature["value"].as_str().unwrap().contains("liwei"),
        "{nature}"
    );
    // From evidence: the approximate number of records is the messages the theft findings
    // count in liwei's mailbox (the truth's IMAP sessions and POP3 retrieval, which may have
    // fetched the same messages: a range), citing those findings; the number of people is the
    // organisation's to give.
    let theft = &util::truth()["theft"]["expected"];
    let reads: Vec<u64> = theft
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["accessed"]["messages"].as_u64())
        .collect();
    let (most, least) = (reads.iter().sum::<u64>(), *reads.iter().max().unwrap());
    let records = field("gdpr33", "approximate number of records");
    assert_eq!(records["source"], "evidence", "{records}");
    let group = mailir::report::impact::group;
    let text = records["value"].as_str().unwrap();
    // The IMAP burst (targeted look + full download) is one finding, the POP3 another.
    assert!(text.contains(&format!("–{}", group(most))), "{text}");
    assert!(
        text.contains("liwei") && text.contains("203.0.113.79"),
        "{text}"
    );
    assert!(
        text.contains("to be supplied by the organisation"),
        "{text}"
    );
    let theft_ids: Vec<Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            ["exfil.mailbox_download", "exfil.pop_retrieve"]
                .contains(&e["finding"]["rule"].as_str().unwrap())
        })
        .map(|e| e["id"].clone())
        .collect();
    assert!(!theft_ids.is_empty() && least > 0);
    for id in &theft_ids {
        assert!(
            records["refs"].as_array().unwrap().contains(id),
            "{records}"
        );
    }
    assert_eq!(
        field("gdpr33", "number of data subjects")["source"],
        "supply"
    );
    // The report's "What was accessed" names the mailbox with its counts.
    assert!(md.contains("## What was accessed"), "{md}");
    let row = r["accessed"][0].clone();
    assert_eq!(row["mailbox"], "liwei");
    assert_eq!(row["messages"].as_u64(), Some(most));
    // To be supplied: the legal judgements only the responder can make.
    assert_eq!(field("gdpr33", "likely consequences")["source"], "supply");
    assert_eq!(field("cn_measures", "事件级别")["source"], "supply");
    // Notices to people never go to the stolen mailbox.
    for (regime, label) in [("gdpr34", "channel"), ("pipl57", "通知渠道")] {
        let ch = field(regime, label);
        assert!(ch["value"].as_str().unwrap().contains("liwei"), "{ch}");
        assert!(
            ch["value"].as_str().unwrap().starts_with("never")
                || ch["value"].as_str().unwrap().starts_with("不得"),
            "{ch}"
        );
    }
    // The Markdown shows each label: source with its findings.
    assert!(md.contains("| controller | Oceanlab Research Centre | *from the case file* |"));
    assert!(md.contains("| *来自证据*: "));
    assert!(md.contains("*待补充*"));
}
