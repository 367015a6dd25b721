//! Evidence a person can read and entities with their roles (issue 16): on the sample, every
//! finding of report.md quotes at least one evidence line, each quote is the cited line of the
//! cited file byte for byte, and the block list is exactly the attackers' addresses; on a log
//! whose attacker text is hostile, the quoted lines break neither Markdown, nor HTML, nor the
//! terminal.

use std::io::Read;
use std::path::Path;

use serde_json::Value;

use crate::util;

/// Line `n` (1-based) of a sample file, gunzipped if need be.
fn line_of(path: &Path, n: u64) -> String {
    let raw = std::fs::read(path).unwrap();
    let mut text = Vec::new();
    if raw.starts_with(&[0x1f, 0x8b]) {
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut text)
            .unwrap();
    } else {
        text = raw;
    }
    let line = text.split(|b| *b == b'\n').nth(n as usize - 1).unwrap();
    String::from_utf8_lossy(line).into_owned()
}

fn report(input: &Path, out: &Path) -> (String, String, Value) {
    let o = util::run(&[
        "report",
        input.to_str().unwrap(),
        "--year",
        "2026",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let json = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    (md, html, json)
}

/// A line as the outputs show it: every control, bidi and zero-width character as `\u{..}`.
fn terminal_escaped(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}') {
                format!("\\u{{{:x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

use crate::util::strs;

#[test]
fn every_finding_of_the_sample_quotes_its_evidence_verbatim() {
    let t = tempfile::tempdir().unwrap();
    let sample = util::sample();
    let (md, html, r) = report(&sample, t.path());
    let entries = r["findings"].as_array().unwrap();
    assert!(entries.len() > 20, "{}", entries.len());
    for e in entries {
        let quotes = e["quotes"].as_array().unwrap();
        assert!(
            !quotes.is_empty(),
            "{} quotes nothing",
            e["finding"]["title"]
        );
        for q in quotes {
            let (path, line) = (q["path"].as_str().unwrap(), q["line"].as_u64().unwrap());
            assert_eq!(
                q["text"].as_str().unwrap(),
                line_of(&sample.join(path), line),
                "{path}:{line}"
            );
            // It is one of the finding's cited lines.
            assert!(e["finding"]["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .any(|ev| ev["path"] == path
                    && ev["lines"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|l| l.as_u64() == Some(line))));
        }
    }
    // In report.md: each finding's section holds a quote, and no wall of line numbers.
    let sections: Vec<&str> = md.split("\n#### F").skip(1).collect();
    assert_eq!(sections.len(), entries.len());
    for s in &sections {
        let s = s.split("\n## ").next().unwrap();
        assert!(s.lines().any(|l| l.starts_with("> `")), "no quote in F{s}");
    }
    // The brute force: its first guess quoted, "and N more", the full list folded in HTML.
    let bf = entries
        .iter()
        .find(|e| e["finding"]["rule"] == "auth.brute_force")
        .unwrap();
    assert!(bf["more_lines"].as_u64().unwrap() > 100, "{bf}");
    assert!(md.contains("… and 198 more evidence line(s)"), "{md}");
    assert!(html.contains("<details><summary>… and 198 more evidence line(s)"));
    // The takeover quotes the login that succeeded after the failures.
    let taken = entries
        .iter()
        .find(|e| e["finding"]["rule"] == "auth.compromised_account")
        .unwrap();
    assert!(
        strs(
            &taken["quotes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|q| q["text"].clone())
                .collect()
        )
        .iter()
        .any(|t| t.contains("sasl_username=liwei") && t.contains("client=unknown[203.0.113.77]")),
        "{taken}"
    );
}

#[test]
fn the_sample_block_list_is_every_attacker_and_no_legitimate_address() {
    let t = tempfile::tempdir().unwrap();
    let sample = util::sample();
    let truth: Value =
        serde_json::from_slice(&std::fs::read(sample.join("truth.json")).unwrap()).unwrap();
    let (_, _, r) = report(&sample, t.path());
    let mut want: Vec<String> = truth["attackers"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(strs)
        .filter(|ip| !ip.contains(':'))
        .collect();
    want.sort();
    want.dedup();
    assert_eq!(strs(&r["summary"]["attackers"]), want);
    // The stolen login's spam sources are named as such by the bulk send.
    let bulk = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["finding"])
        .find(|f| f["rule"] == "abuse.bulk_send")
        .unwrap();
    for ip in strs(&truth["attackers"]["spam_sources_with_stolen_login"]) {
        assert_eq!(
            bulk["entities"]["roles"]["ips"][&ip], "stolen_login_source",
            "{bulk}"
        );
    }
    for ip in strs(&truth["legitimate"]["client_addresses"]) {
        assert!(!strs(&r["summary"]["attackers"]).contains(&ip));
    }
    // Every entity of every finding says what it is.
    for e in r["findings"].as_array().unwrap() {
        let ent = &e["finding"]["entities"];
        for kind in ["ips", "users", "files", "recipients"] {
            for v in strs(&ent[kind]) {
                assert!(
                    ent["roles"][kind][&v].is_string(),
                    "{} {kind} {v}: no role",
                    e["finding"]["rule"]
                );
            }
        }
    }
}

#[test]
fn attacker_text_in_quoted_lines_breaks_no_output() {
    let t = tempfile::tempdir().unwrap();
    let log = t.path().join("mail.log");
    // A brute force whose "user names" carry Markdown, HTML, code fences, a terminal escape,
    // a bidi override and a carriage return: what an attacker types reaches the log verbatim.
    let names = [
        "</code><script>alert(1)</script>",
        "```\n# injected heading",
        "a`b``c",
        "\x1b[2J\x1b[31mRED",
        "x\u{202e}gpj.exe",
        "| col | col |",
        "[link](http://evil.example)",
        "cr\rreturn",
    ];
    let mut text = String::new();
    for i in 0..40 {
        let name = names[i % names.len()].replace('\n', " ");
        text.push_str(&format!(
            "Mar  5 10:{:02}:{:02} mx postfix/submission/smtpd[1]: warning: unknown[203.0.113.50]: SASL LOGIN authentication failed: authentication failure, sasl_username={name}\n",
            i / 60,
            i % 60
        ));
    }
    std::fs::write(&log, &text).unwrap();
    let out = t.path().join("report");
    let (md, html, r) = report(&log, &out);
    let bf = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["finding"]["rule"] == "auth.brute_force")
        .expect("no brute force");
    assert!(!bf["quotes"].as_array().unwrap().is_empty());
    // No raw control or bidi character reaches any output.
    for (name, s) in [("report.md", &md), ("report.html", &html)] {
        assert!(
            !s.chars()
                .any(|c| c == '\x1b' || c == '\r' || c == '\u{202e}'),
            "{name} holds a raw control character"
        );
    }
    // Markdown, read back as CommonMark: every quoted line is one code span holding the
    // line exactly as the terminal escaping shows it; nothing became raw HTML, a heading, a
    // link or a table.
    use pulldown_cmark::{Event, Parser, Tag};
    let mut spans: Vec<String> = Vec::new();
    for ev in Parser::new(&md) {
        match ev {
            Event::Code(c) => spans.push(c.to_string()),
            Event::Html(h) | Event::InlineHtml(h) => panic!("raw HTML in report.md: {h}"),
            Event::Start(Tag::Link { dest_url, .. }) => panic!("a link in report.md: {dest_url}"),
            Event::Start(Tag::Heading { .. }) | Event::Start(Tag::Table(_)) => {}
            _ => {}
        }
    }
    let quoted: Vec<String> = bf["quotes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["text"].as_str().unwrap().to_string())
        .collect();
    for q in &quoted {
        let shown = terminal_escaped(q);
        assert!(
            spans.iter().any(|s| s.trim() == shown),
            "quote not one intact code span: {shown:?} in {spans:?}"
        );
    }
    let headings = md.lines().filter(|l| l.starts_with('#')).count();
    let mut parsed_headings = 0;
    let mut tables = 0;
    for ev in Parser::new_ext(&md, pulldown_cmark::Options::ENABLE_TABLES) {
        match ev {
            Event::Start(Tag::Heading { .. }) => parsed_headings += 1,
            Event::Start(Tag::Table(_)) => tables += 1,
            _ => {}
        }
    }
    assert_eq!(parsed_headings, headings, "a heading was injected");
    assert!(!md.lines().any(|l| l.starts_with("# injected")), "{md}");
    let own_tables = md.lines().filter(|l| l.starts_with("|---")).count();
    assert_eq!(tables, own_tables, "a table was injected");
    // HTML: the script is text, not an element.
    assert!(!html.contains("<script"), "a script element in report.html");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // Terminal: detect --format text shows the quotes escaped.
    let o = util::run(&[
        "detect",
        log.to_str().unwrap(),
        "--year",
        "2026",
        "--format",
        "text",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("         > "), "{}", o.stdout);
    assert!(!o
        .stdout
        .chars()
        .any(|c| c == '\x1b' || c == '\r' || c == '\u{202e}'));
    assert!(o.stdout.contains("\\u{1b}[2J"), "{}", o.stdout);
}
