//! `parse` and `detect` on what real Postfix 3.7.11 (four settings), Exim 4.96 and Sendmail
//! 8.17.1.9 (two settings) logged for the SMTP smuggling probes of
//! `tests/fixtures/smtp-smuggling/` (its README says which client sent what and what each
//! server answered): every line recognised, `exploit.smtp_smuggling` naming exactly the probes
//! each server made visible, with the outcome its answers had, and never the legitimate client.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::util::{self, run};

const DIR: &str = "tests/fixtures/smtp-smuggling";
/// The legitimate client: one ordinary CRLF message.
const LEGIT: &str = "127.0.7.7";
/// The probes ending DATA with a bare LF (`<LF>.<LF>`, `<LF>.<CR><LF>`, `<CR><LF>.<LF>`).
const LF: [&str; 3] = ["127.0.3.1", "127.0.3.2", "127.0.3.3"];
/// The probes with a bare CR (`<CR>.<CR><LF>`, `<CR><LF>.<CR>`, `<CR>.<CR>`).
const CR: [&str; 3] = ["127.0.3.4", "127.0.3.5", "127.0.3.6"];

fn log(name: &str) -> String {
    util::repo()
        .join(DIR)
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

/// `exploit.smtp_smuggling`'s findings on `name`, by client address: (severity, summary);
/// and that no finding of any rule names the legitimate client.
fn smuggling(name: &str) -> BTreeMap<String, (String, String)> {
    let o = run(&["detect", &log(name)]);
    assert_eq!(o.code, 0, "{name}: {}", o.stderr);
    let d: Value = serde_json::from_str(&o.stdout).unwrap();
    let mut got = BTreeMap::new();
    for f in d["findings"].as_array().unwrap() {
        let ips: Vec<&str> = f["entities"]["ips"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(!ips.contains(&LEGIT), "{name}: {LEGIT} named: {f}");
        if f["rule"] == "exploit.smtp_smuggling" {
            assert_eq!(ips.len(), 1, "{name}: {f}");
            let prev = got.insert(
                ips[0].to_string(),
                (
                    f["severity"].as_str().unwrap().to_string(),
                    f["summary"].as_str().unwrap().to_string(),
                ),
            );
            assert!(prev.is_none(), "{name}: two findings for {}", ips[0]);
        }
    }
    got
}

fn ips(found: &BTreeMap<String, (String, String)>) -> Vec<&str> {
    found.keys().map(String::as_str).collect()
}

#[test]
fn every_line_recognised() {
    for name in [
        "postfix-reject.log",
        "postfix-normalize.log",
        "postfix-pipelining.log",
        "postfix-none.log",
        "exim-mainlog",
        "sendmail-default.log",
        "sendmail-relaxed.log",
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let unparsed = tmp.path().join("unparsed.txt");
        let o = run(&[
            "parse",
            &log(name),
            "--unparsed",
            unparsed.to_str().unwrap(),
        ]);
        assert_eq!(o.code, 0, "{name}: {}", o.stderr);
        assert!(o.stderr.contains(" 0 unparsed"), "{name}: {}", o.stderr);
        assert_eq!(std::fs::read_to_string(&unparsed).unwrap_or_default(), "");
    }
}

/// Asserts that `exploit.smtp_smuggling` on `name` found exactly the bare-LF probes, each with
/// `severity` and a summary holding every one of `says`.
fn bare_lf_probes_found(name: &str, severity: &str, says: &[&str]) {
    let found = smuggling(name);
    assert_eq!(ips(&found), LF, "{name}");
    for (ip, (sev, summary)) in &found {
        assert_eq!(sev, severity, "{name} {ip}");
        for s in says {
            assert!(summary.contains(s), "{name} {ip}: {summary}");
        }
    }
}

#[test]
fn postfix_reject_refuses_every_bare_lf() {
    // `smtpd_forbid_bare_newline = reject`: each bare-LF probe refused (550, logged); the
    // bare-CR ones pass as one message each and leave nothing to see.
    bare_lf_probes_found("postfix-reject.log", "low", &["bare_lf", "attempt"]);
}

#[test]
fn postfix_pipelining_refuses_the_smuggled_data() {
    // `reject_unauth_pipelining`: Postfix took the bare-LF ends as the end of DATA (3.7's
    // `smtpd_forbid_bare_newline = no`), then refused the smuggled DATA: an attempt, naming the
    // sender the smuggled message claimed.
    bare_lf_probes_found(
        "postfix-pipelining.log",
        "low",
        &["ceo@lab.example", "attempt"],
    );
}

#[test]
fn postfix_without_defences_took_the_smuggled_message() {
    // No defence: each bare-LF probe's second message was queued (the client's transcript
    // has two `250 … queued as` answers): a possible success.
    bare_lf_probes_found("postfix-none.log", "high", &["possible success"]);
}

#[test]
fn what_the_servers_do_not_log_is_not_seen() {
    // Postfix `normalize` and Exim 4.96 with Debian's fix keep each probe as one message and
    // log nothing about it.
    for name in ["postfix-normalize.log", "exim-mainlog"] {
        assert!(smuggling(name).is_empty(), "{name}");
    }
}

#[test]
fn sendmail_refuses_bare_lf_and_cr() {
    // Debian's 8.17.1.9 (CVE-2023-51765 fix): every probe refused with 421, logged.
    let found = smuggling("sendmail-default.log");
    let all: Vec<&str> = LF.iter().chain(CR.iter()).copied().collect();
    assert_eq!(ips(&found), all);
    for (ip, (sev, summary)) in &found {
        assert_eq!(sev, "low");
        let marker = if CR.contains(&ip.as_str()) {
            "bare_cr"
        } else {
            "bare_lf"
        };
        assert!(summary.contains(marker), "{ip}: {summary}");
    }
}

#[test]
fn sendmail_relaxed_lets_them_through() {
    // `Srv_Features: G U O`: every probe's bare line ending was taken into a message (logged
    // without a status), and for the bare-LF ones the lone dot ended DATA and the smuggled
    // DATA was refused (`rejecting server DATA … due to traffic before response`).
    let found = smuggling("sendmail-relaxed.log");
    let all: Vec<&str> = LF.iter().chain(CR.iter()).copied().collect();
    assert_eq!(ips(&found), all);
    for (ip, (sev, summary)) in &found {
        assert_eq!(sev, "medium", "{ip}");
        assert!(summary.contains("accepted"), "{ip}: {summary}");
        assert_eq!(
            summary.contains("1 DATA refused"),
            LF.contains(&ip.as_str()),
            "{ip}: {summary}"
        );
    }
}
