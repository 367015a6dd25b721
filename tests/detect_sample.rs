//! `detect` on the sample host: the attack's recon and initial-access findings (the rules built
//! so far),
//! and nothing naming the legitimate users or the office address.

use serde_json::Value;

use crate::util::{self, run};

/// `detect` on `input` (sample time zone), its JSON document.
fn detect_json(input: &std::path::Path) -> Value {
    let o = run(&[
        "detect",
        input.to_str().unwrap(),
        "--timezone",
        "Asia/Shanghai",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    serde_json::from_str(&o.stdout).unwrap()
}

/// The theft episode (truth `theft`): the attacker's IMAP downloads, POP3 retrieval and
/// cover-up deletions found with the counts Dovecot logged; wangfang's new phone on the office
/// network and the users' own tidying up are not.
#[test]
fn sample_theft_findings_match_the_ground_truth() {
    let doc = detect_json(&util::sample());
    let findings = doc["findings"].as_array().unwrap();
    util::check_theft(findings, &util::truth()["theft"]);
    // The attacker's reads: critical (an address the takeover findings name).
    let download = findings
        .iter()
        .find(|f| f["rule"] == "exfil.mailbox_download")
        .unwrap();
    assert_eq!(download["severity"], "critical");
    assert_eq!(
        download["entities"]["roles"]["ips"]["203.0.113.79"],
        "attacker_source"
    );
    assert_eq!(
        download["entities"]["roles"]["users"]["liwei"],
        "victim_account"
    );
}

#[test]
fn sample_initial_access_findings_match_the_ground_truth() {
    let doc = detect_json(&util::sample());
    let findings = doc["findings"].as_array().unwrap();
    let truth = util::truth();
    let by_rule = |rule: &str| {
        findings
            .iter()
            .filter(|f| f["rule"] == rule)
            .collect::<Vec<_>>()
    };
    let ips_of = |f: &Value| {
        f["entities"]["ips"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };

    let brute: Vec<Vec<String>> = by_rule("auth.brute_force")
        .iter()
        .map(|f| ips_of(f))
        .collect();
    assert!(
        brute.contains(&vec!["203.0.113.77".to_string()]),
        "{brute:?}"
    );
    assert!(
        brute.contains(&vec!["203.0.113.78".to_string()]),
        "{brute:?}"
    );
    assert_eq!(brute.len(), 2, "{brute:?}");

    let spray = by_rule("auth.spray");
    assert_eq!(spray.len(), 1);
    let mut sprayers = ips_of(spray[0]);
    sprayers.sort();
    let expected = sorted_strings(&truth["attackers"]["spray"]);
    assert_eq!(sprayers, expected);

    for (rule, ip) in [
        ("recon.scan", "203.0.113.45"),
        ("recon.enumeration", "203.0.113.45"),
        ("relay.probe", "198.51.100.66"),
    ] {
        let found: Vec<Vec<String>> = by_rule(rule).iter().map(|f| ips_of(f)).collect();
        assert_eq!(found, vec![vec![ip.to_string()]], "{rule}");
    }
    assert_eq!(truth["attackers"]["recon_scanner"][0], "203.0.113.45");
    assert_eq!(truth["attackers"]["relay_probe"][0], "198.51.100.66");

    // Every outside address the logs show mail copied to (the webmaster alias got no mail).
    let mut copied: Vec<String> = by_rule("exfil.forwarding_observed")
        .iter()
        .map(|f| {
            f["title"]
                .as_str()
                .unwrap()
                .rsplit(' ')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    copied.sort();
    let mut expected: Vec<String> = truth["exfil_addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .filter(|a| !a.starts_with("webmaster"))
        .collect();
    expected.sort();
    assert_eq!(copied, expected);

    // The spam bursts are attributed to the stolen login and its two sources.
    let bulk = by_rule("abuse.bulk_send");
    assert!(!bulk.is_empty());
    let mut sources: Vec<String> = Vec::new();
    for f in &bulk {
        assert_eq!(f["entities"]["users"][0], ca_user(&truth));
        sources.extend(ips_of(f));
    }
    sources.sort();
    sources.dedup();
    let expected = sorted_strings(&truth["attackers"]["spam_sources_with_stolen_login"]);
    assert_eq!(sources, expected);

    // The visible reload of 02:52:40 (+08:00); the earlier one was cut out with the log slice.
    let changes = by_rule("service.config_change");
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0]["first_seen"], "2026-03-03T18:52:40Z");
    assert!(
        by_rule("relay.open").is_empty(),
        "the sample host is not an open relay"
    );

    // The cut slice, and no other silence of ordinary traffic.
    let gaps = by_rule("tamper.time_gap");
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    let gap = &truth["gap"];
    assert_eq!(gaps[0]["evidence"][0]["path"], "var/log/mail.log.1");
    let lines = gaps[0]["evidence"][0]["lines"].as_array().unwrap();
    assert_eq!(
        lines.last().unwrap().as_u64(),
        gap["after_line"].as_u64().map(|l| l + 1)
    );
    let first_after =
        chrono::DateTime::parse_from_rfc3339(gap["first_after"].as_str().unwrap()).unwrap();
    assert_eq!(
        gaps[0]["last_seen"].as_str().unwrap(),
        first_after
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    );
    assert!(by_rule("tamper.time_reversal").is_empty());

    let taken = by_rule("auth.compromised_account");
    assert_eq!(taken.len(), 1, "{taken:?}");
    let ca = &truth["compromised_account"];
    assert_eq!(taken[0]["entities"]["users"][0], ca["user"]);
    assert_eq!(taken[0]["first_seen"], ca["first_malicious_login_utc"]);
    assert_eq!(taken[0]["severity"], "critical");
    let ev = &taken[0]["evidence"][0];
    assert_eq!(ev["path"], "var/log/mail.log.1");
    assert!(
        ev["lines"]
            .as_array()
            .unwrap()
            .contains(&ca["evidence"]["line"]),
        "{ev}"
    );

    // The takeover is also outside liwei's hours and from a network liwei never used.
    for rule in ["auth.off_hours", "auth.new_source"] {
        let found = by_rule(rule);
        assert_eq!(found.len(), 1, "{rule}: {found:?}");
        assert_eq!(found[0]["entities"]["users"][0], ca["user"]);
        assert_eq!(found[0]["first_seen"], ca["first_malicious_login_utc"]);
    }

    // Nothing names a legitimate user as compromised or the office address as an attacker.
    for f in findings {
        assert!(!ips_of(f).iter().any(|ip| ip == "192.0.2.10"), "{f}");
        if [
            "auth.compromised_account",
            "auth.off_hours",
            "auth.new_source",
        ]
        .contains(&f["rule"].as_str().unwrap())
        {
            for u in truth["legitimate"]["users"].as_array().unwrap() {
                assert!(
                    !f["entities"]["users"].as_array().unwrap().contains(u),
                    "{f}"
                );
            }
        }
    }
    assert_eq!(doc["stats"]["unparsed"], 0);
}

#[test]
fn detect_formats_decode() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("f.jsonl");
    let o = run(&[
        "detect",
        util::sample().to_str().unwrap(),
        "--format",
        "jsonl",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let lines: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 4);
    for f in &lines {
        for key in [
            "rule",
            "title",
            "severity",
            "phase",
            "attack",
            "first_seen",
            "last_seen",
            "count",
            "entities",
            "summary",
            "evidence",
            "remediation",
        ] {
            assert!(f.get(key).is_some(), "{key} missing in {f}");
        }
    }
    let text = run(&[
        "detect",
        util::sample().to_str().unwrap(),
        "--format",
        "text",
    ]);
    assert!(
        text.stdout.contains("auth.compromised_account"),
        "{}",
        text.stdout
    );
    assert!(
        !text.stdout.contains('\u{1b}'),
        "no colour codes when not a terminal"
    );
}

/// A JSON array of strings, sorted.
fn sorted_strings(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

fn ca_user(truth: &Value) -> Value {
    truth["compromised_account"]["user"].clone()
}

#[test]
fn damaged_zeroed_and_backdated_logs_are_reported() {
    let t = tempfile::tempdir().unwrap();
    let gz = std::fs::read(util::sample().join("var/log/mail.log.2.gz")).unwrap();
    std::fs::write(t.path().join("mail.log.2.gz"), &gz[..gz.len() / 2]).unwrap();
    let mut one = std::fs::read(util::sample().join("var/log/mail.log.1")).unwrap();
    // Zero a run of bytes in place, as a wiper that keeps the file size would.
    for b in &mut one[5000..5400] {
        if *b != b'\n' {
            *b = 0;
        }
    }
    let one_path = t.path().join("mail.log.1");
    std::fs::write(&one_path, &one).unwrap();
    util::set_mtime(&one_path, "2026-03-04T01:00:00Z"); // before its last line (4 Mar 23:59 +08:00)
    let o = run(&[
        "detect",
        t.path().to_str().unwrap(),
        "--year",
        "2026",
        "--timezone",
        "Asia/Shanghai",
        "--format",
        "jsonl",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let findings: Vec<Value> = o
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let named = |rule: &str, file: &str| {
        findings
            .iter()
            .any(|f| f["rule"] == rule && f["entities"]["files"][0] == file)
    };
    assert!(named("tamper.truncated", "mail.log.2.gz"), "{}", o.stdout);
    assert!(named("tamper.nul_bytes", "mail.log.1"), "{}", o.stdout);
    assert!(named("tamper.mtime_mismatch", "mail.log.1"), "{}", o.stdout);
}

/// The (evidence path, line) pairs a finding cites; a whole-file citation has line `None`.
fn cited(f: &Value) -> Vec<(String, Option<u64>)> {
    let mut out = Vec::new();
    for e in f["evidence"].as_array().unwrap() {
        let path = e["path"].as_str().unwrap().to_string();
        let lines = e["lines"].as_array().unwrap();
        if lines.is_empty() {
            out.push((path.clone(), None));
        }
        out.extend(lines.iter().map(|l| (path.clone(), l.as_u64())));
    }
    out
}

fn check_planted_persistence(findings: &[Value], truth: &Value) {
    let items = truth["items"].as_array().unwrap();
    let persistence: Vec<&Value> = findings
        .iter()
        .filter(|f| f["rule"].as_str().unwrap().starts_with("persistence."))
        .collect();
    let matches = |c: &(String, Option<u64>), item: &Value| {
        let path = item["path"].as_str().unwrap().trim_start_matches('/');
        (c.0 == path || c.0.ends_with(&format!("/{path}"))) && c.1 == item["line"].as_u64()
    };
    // Every planted item is cited, at its file and line, by a finding of its rule (the host
    // backdoor's items name theirs) or else by a persistence finding.
    for item in items {
        let by = |f: &&Value| match item["rule"].as_str() {
            Some(rule) => f["rule"] == rule,
            None => f["rule"].as_str().unwrap().starts_with("persistence."),
        };
        assert!(
            findings
                .iter()
                .filter(by)
                .any(|f| cited(f).iter().any(|c| matches(c, item))),
            "planted item not found: {item}"
        );
    }
    // Every host finding cites a planted item too: the administrator's own history and key,
    // the stock accounts, are quiet.
    for f in findings
        .iter()
        .filter(|f| f["rule"].as_str().unwrap().starts_with("host."))
    {
        assert!(
            cited(f)
                .iter()
                .any(|c| items.iter().any(|item| matches(c, item))),
            "host finding on no planted item: {f}"
        );
    }
    // Every persistence finding cites a planted item: nothing on the legitimate forward of
    // admin, chenjing's unused procmailrc, or the other maps and crontabs.
    for f in &persistence {
        assert!(
            cited(f)
                .iter()
                .any(|c| items.iter().any(|item| matches(c, item))),
            "persistence finding on no planted item: {f}"
        );
        for clean in ["home/admin/.forward", "home/chenjing/.procmailrc"] {
            assert!(!cited(f).iter().any(|c| c.0.ends_with(clean)), "{f}");
        }
    }
    // Hardening: VRFY is on (the recon used it); the host is no open relay, has no version in
    // its banner and requires TLS for passwords.
    let config: Vec<&str> = findings
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .filter(|r| r.starts_with("config."))
        .collect();
    assert_eq!(config, ["config.vrfy_enabled"]);
}

#[test]
fn sample_planted_persistence_is_found_in_the_root_and_in_its_bundle() {
    let truth = util::truth();
    let doc = detect_json(&util::sample());
    check_planted_persistence(doc["findings"].as_array().unwrap(), &truth);

    // The same from a collected zip bundle: configuration read out of the archive, cited by
    // stored name with the manifest's hash.
    let t = tempfile::tempdir().unwrap();
    let zip = t.path().join("mx1.zip");
    util::collect(&util::sample(), &zip);
    let doc = detect_json(&zip);
    let findings = doc["findings"].as_array().unwrap();
    check_planted_persistence(findings, &truth);
    let bcc = findings
        .iter()
        .find(|f| f["rule"] == "persistence.bcc")
        .unwrap();
    for e in bcc["evidence"].as_array().unwrap() {
        assert!(e["path"]
            .as_str()
            .unwrap()
            .starts_with("files/etc/postfix/"));
        assert_eq!(e["sha256"].as_str().unwrap().len(), 64, "{e}");
    }
}

/// Findings of `detect` over `input` with thresholds `sets`, as sorted JSON texts.
fn findings_with(input: &std::path::Path, sets: &[&str]) -> Vec<String> {
    let mut args = vec![
        "detect",
        input.to_str().unwrap(),
        "--timezone",
        "Asia/Shanghai",
        "--format",
        "jsonl",
    ];
    for s in sets {
        args.push("--set");
        args.push(s);
    }
    let o = run(&args);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(!o.stderr.contains("out of time order"), "{}", o.stderr);
    let sealed = !o.stderr.contains("sealed 0 time(s)");
    assert_eq!(
        sealed,
        !sets.contains(&"seal_every_hours=0"),
        "{}",
        o.stderr
    );
    let mut out: Vec<String> = o.stdout.lines().map(str::to_string).collect();
    out.sort();
    out
}

#[test]
fn sealing_state_as_time_moves_on_changes_no_finding() {
    // The sample as collected, then with Dovecot's lines moved to a log of their own (a
    // second rotation chain that interleaves in time with the first).
    let split = tempfile::tempdir().unwrap();
    let logs = split.path().join("var/log");
    std::fs::create_dir_all(&logs).unwrap();
    for name in ["mail.log", "mail.log.1"] {
        let text = std::fs::read_to_string(util::sample().join("var/log").join(name)).unwrap();
        let (dovecot, rest): (Vec<&str>, Vec<&str>) =
            text.lines().partition(|l| l.contains(" dovecot"));
        let join = |v: Vec<&str>| v.iter().map(|l| format!("{l}\n")).collect::<String>();
        std::fs::write(logs.join(name), join(rest)).unwrap();
        let to = name.replace("mail", "dovecot");
        std::fs::write(logs.join(&to), join(dovecot)).unwrap();
    }
    for name in [
        "mail.log.2.gz",
        "mail.log.3.gz",
        "mail.log.4.gz",
        "auth.log",
        "auth.log.1",
    ] {
        std::fs::copy(util::sample().join("var/log").join(name), logs.join(name)).unwrap();
    }
    // And a collected .tar.gz bundle: its logs are copied out in one pass, then read in time
    // order like files on disk.
    let tgz = split.path().join("mx1.tar.gz");
    util::collect(&util::sample(), &tgz);
    for input in [util::sample(), split.path().join("var"), tgz] {
        let kept = findings_with(&input, &["seal_every_hours=0"]);
        assert!(kept.len() > 10, "{}", kept.len());
        for every in ["seal_every_hours=1", "seal_every_hours=24"] {
            assert_eq!(
                findings_with(&input, &[every]),
                kept,
                "{every} on {input:?}"
            );
        }
    }
}

/// Every finding on the sample agrees with its rule's catalogue record (`mailir rules`): the
/// phase, techniques within the rule's, a severity it can give, the same roles.
#[test]
fn findings_agree_with_the_rule_catalogue() {
    let o = run(&["rules", "--format", "json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let cat: Value = serde_json::from_str(&o.stdout).unwrap();
    let rules = cat["rules"].as_array().unwrap();
    let doc = detect_json(&util::sample());
    let findings = doc["findings"].as_array().unwrap();
    assert!(findings.len() > 10);
    for f in findings {
        let m = rules
            .iter()
            .find(|m| m["id"] == f["rule"])
            .unwrap_or_else(|| panic!("{} is not in the catalogue", f["rule"]));
        assert_eq!(f["phase"], m["phase"], "{}", f["rule"]);
        assert_eq!(f["roles"], m["roles"], "{}", f["rule"]);
        assert!(
            m["severities"].as_array().unwrap().contains(&f["severity"]),
            "{}: severity {}",
            f["rule"],
            f["severity"]
        );
        for t in f["attack"].as_array().unwrap() {
            assert!(
                m["attack"].as_array().unwrap().contains(t),
                "{}: {t}",
                f["rule"]
            );
        }
    }
}

/// `--disable` drops a family, `--enable` keeps one rule of it, and a name that matches no
/// rule is refused.
#[test]
fn rules_can_be_switched_off_and_on() {
    let sample = util::sample();
    let s = sample.to_str().unwrap();
    let rules_of = |args: &[&str]| {
        let mut all = vec!["detect", s, "--timezone", "Asia/Shanghai"];
        all.extend_from_slice(args);
        let o = run(&all);
        assert_eq!(o.code, 0, "{}", o.stderr);
        let doc: Value = serde_json::from_str(&o.stdout).unwrap();
        let mut r: Vec<String> = doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap().to_string())
            .collect();
        r.dedup();
        (r, o.stderr)
    };
    let (all, _) = rules_of(&[]);
    assert!(all.iter().any(|r| r.starts_with("auth.")));
    assert!(all.iter().any(|r| r == "auth.compromised_account"));
    let (some, stderr) = rules_of(&["--disable", "auth", "--enable", "auth.compromised_account"]);
    assert!(stderr.contains("rules switched off: "), "{stderr}");
    assert!(some.iter().any(|r| r == "auth.compromised_account"));
    assert!(!some
        .iter()
        .any(|r| r.starts_with("auth.") && r != "auth.compromised_account"));
    assert_eq!(
        all.iter().filter(|r| !r.starts_with("auth.")).count(),
        some.iter().filter(|r| !r.starts_with("auth.")).count()
    );
    let o = run(&["detect", s, "--disable", "auth.nosuch"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("matches no rule"), "{}", o.stderr);
}

/// `--format text` is coloured under a pseudo-terminal (util-linux `script` gives it one),
/// with real escape sequences, and plain with `NO_COLOR` or when piped.
#[test]
fn text_is_coloured_on_a_terminal_unless_no_color() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("\n*** SKIPPED: no util-linux `script` to give detect a terminal ***\n");
        return;
    }
    let cmd = format!(
        "'{}' detect '{}' --timezone Asia/Shanghai --format text",
        env!("CARGO_BIN_EXE_mailir"),
        util::sample().display()
    );
    let under_pty = |no_color: bool| {
        let mut c = std::process::Command::new("script");
        c.args(["-qec", &cmd, "/dev/null"]).env_remove("NO_COLOR");
        if no_color {
            c.env("NO_COLOR", "1");
        }
        let o = util::run_cmd(c, std::time::Duration::from_secs(120));
        assert_eq!(o.code, 0, "{}", o.stderr);
        o.stdout
    };
    let coloured = under_pty(false);
    assert!(coloured.contains("\u{1b}[31mHIGH"), "{coloured}");
    assert!(coloured.contains("\u{1b}[0m"));
    assert!(!coloured.contains("\\x1b"), "escape written as text");
    let plain = under_pty(true);
    assert!(
        plain.contains("HIGH") && !plain.contains('\u{1b}'),
        "{plain}"
    );
    let piped = run(&[
        "detect",
        util::sample().to_str().unwrap(),
        "--format",
        "text",
    ]);
    assert!(!piped.stdout.contains('\u{1b}'));
}
