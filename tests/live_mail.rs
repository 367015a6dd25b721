//! A real Postfix + Dovecot host under a real attack (`tests/live/`, `docs/live-test.md`):
//! `scenario.sh up` installs and starts the servers on loopback, attacks them from distinct
//! 127.x addresses beside two legitimate users and three users who only receive mail (bursts of
//! hundreds of inbound messages, delivered by `dovecot-lda` with Sieve and then by LMTP, as
//! Debian sets Dovecot up), steals a user's mail (a full IMAP download, a POP3 retrieval, a
//! later mass expunge) beside an ordinary user whose new phone downloads everything, plants
//! persistence, cuts a slice out of
//! `mail.log` and rotates it; then `mailir collect` on the live root, `verify` and `triage`
//! on the bundle, and the findings are held against the scenario's own ground truth
//! (`truth.json`, written by the attack as it happened). `scenario.sh down` restores the
//! machine, pass or fail.
//!
//! It changes the machine (packages, users, daemons), so it runs only when `MAILIR_LIVE=1`
//! (`.ci/run` sets it) as root on a Debian-like machine with apt; otherwise it skips, saying
//! why. The real logs, the bundle, the report and the list of changes stay in
//! `$MAILIR_LIVE_OUT` (default: `live-e2e` under cargo's test scratch folder) for reading
//! after a failure.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::util::{self, run_cmd};

/// Runs `scenario.sh down` when dropped: the machine is restored whatever the test did.
struct Down {
    script: PathBuf,
    out: PathBuf,
}

impl Drop for Down {
    fn drop(&mut self) {
        let mut c = std::process::Command::new("bash");
        c.arg(&self.script).arg("down").arg(&self.out);
        let o = run_cmd(c, Duration::from_secs(120));
        eprintln!("live: down exited {}: {}", o.code, o.stderr.trim());
    }
}

fn why_not() -> Option<&'static str> {
    if std::env::var("MAILIR_LIVE").as_deref() != Ok("1") {
        return Some("set MAILIR_LIVE=1 to run it (it installs packages, adds users, starts daemons; .ci/run does)");
    }
    if !util::is_root() {
        return Some("needs root");
    }
    if !Path::new("/etc/debian_version").exists() || !Path::new("/usr/bin/apt-get").exists() {
        return Some("needs a Debian-like machine with apt-get");
    }
    None
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .with_timezone(&Utc)
}

fn mailir(args: &[&str], limit: Duration) -> util::Output {
    let mut c = util::mailir();
    c.args(args);
    run_cmd(c, limit)
}

/// The local part of an account name or address, lower-cased (`Kate@Lab.Example` → `kate`).
fn local_part(u: &str) -> String {
    u.split('@').next().unwrap_or("").to_ascii_lowercase()
}

/// Whether `text` names `name` as a word (case-insensitive): `liam` in `Bulk sending by login
/// liam` or `liam@lab.example`, not in `William`.
fn names_word(text: &str, name: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric())
        .any(|w| w.eq_ignore_ascii_case(name))
}

use crate::util::strs;

#[test]
fn live_postfix_and_dovecot_under_attack_are_found_end_to_end() {
    if let Some(why) = why_not() {
        eprintln!("SKIPPED live_postfix_and_dovecot_under_attack_are_found_end_to_end: {why}");
        return;
    }
    let out = std::env::var_os("MAILIR_LIVE_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("live-e2e"));
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    eprintln!("live: everything of this run is kept in {}", out.display());
    let script = util::repo().join("tests/live/scenario.sh");
    let _down = Down {
        script: script.clone(),
        out: out.clone(),
    };
    let started = std::time::Instant::now();
    let mut up = std::process::Command::new("bash");
    up.arg(&script).arg("up").arg(&out);
    let o = run_cmd(up, Duration::from_secs(20 * 60));
    std::fs::write(out.join("up.stderr"), &o.stderr).unwrap();
    assert_eq!(o.code, 0, "scenario up failed:\n{}", o.stderr);
    let truth: Value =
        serde_json::from_slice(&std::fs::read(out.join("truth.json")).unwrap()).unwrap();
    let versions = std::fs::read_to_string(out.join("versions.txt")).unwrap_or_default();
    eprintln!("live: versions: {}", versions.trim().replace('\n', "; "));

    // Collect the live root (volatile state included), verify, triage.
    let bundle = out.join("bundle.zip");
    let b = bundle.to_str().unwrap();
    let c = mailir(
        &[
            "collect",
            "--out",
            b,
            "--case",
            "LIVE-E2E",
            "--examiner",
            "ci",
        ],
        Duration::from_secs(600),
    );
    assert_eq!(c.code, 0, "collect: {}", c.stderr);
    let v = mailir(&["verify", b], Duration::from_secs(300));
    assert_eq!(v.code, 0, "verify: {}{}", v.stdout, v.stderr);
    let th = &truth["thresholds"];
    let gap = format!("gap_minutes={}", th["gap_minutes"]);
    let context = format!("gap_context_minutes={}", th["gap_context_minutes"]);
    let report = out.join("report");
    let mut args = vec![
        "triage",
        b,
        "--out",
        report.to_str().unwrap(),
        "--set",
        &gap,
        "--set",
        &context,
    ];
    // To show the test can fail: extra options for triage, e.g. a threshold that switches a
    // rule off (`MAILIR_LIVE_TRIAGE_ARGS="--set compromise_failures=1000000"`).
    let extra = std::env::var("MAILIR_LIVE_TRIAGE_ARGS").unwrap_or_default();
    args.extend(extra.split_whitespace());
    let t = mailir(&args, Duration::from_secs(600));
    std::fs::write(out.join("triage.stdout"), &t.stdout).unwrap();
    assert_eq!(t.code, 0, "triage: {}", t.stderr);
    // Lines of the real logs no parser recognised, kept for the reader.
    let unparsed = out.join("unparsed.log");
    let p = mailir(
        &[
            "parse",
            b,
            "--out",
            out.join("events.jsonl").to_str().unwrap(),
            "--unparsed",
            unparsed.to_str().unwrap(),
        ],
        Duration::from_secs(300),
    );
    assert_eq!(p.code, 0, "parse: {}", p.stderr);
    eprintln!(
        "live: scenario, collect, verify, triage and parse took {} s",
        started.elapsed().as_secs()
    );

    let r: Value =
        serde_json::from_slice(&std::fs::read(report.join("report.json")).unwrap()).unwrap();
    let entries = r["findings"].as_array().unwrap();
    let findings: Vec<&Value> = entries.iter().map(|e| &e["finding"]).collect();
    let of = |rule: &str| -> Vec<&Value> {
        findings
            .iter()
            .copied()
            .filter(|f| f["rule"] == rule)
            .collect()
    };
    let names_ip = |rule: &str, ip: &str| {
        of(rule)
            .iter()
            .any(|f| strs(&f["entities"]["ips"]).iter().any(|i| i == ip))
    };

    // The compromised account and its first malicious login (± 1 min).
    let taken = &truth["compromised"];
    let ca = of("auth.compromised_account");
    assert_eq!(ca.len(), 1, "{ca:#?}");
    assert_eq!(
        strs(&ca[0]["entities"]["users"]),
        [taken["user"].as_str().unwrap()]
    );
    let first = at(ca[0]["first_seen"].as_str().unwrap());
    let truth_first = at(taken["first_login"].as_str().unwrap());
    assert!(
        (first - truth_first).num_seconds().abs() <= 60,
        "first malicious login {first}, truth {truth_first}"
    );
    // Each attacker class's addresses.
    let a = &truth["attackers"];
    for (rule, class) in [
        ("recon.scan", "scan"),
        ("recon.enumeration", "enumeration"),
        ("relay.probe", "relay"),
        ("auth.brute_force", "smtp_brute_force"),
        ("auth.brute_force", "imap_brute_force"),
        ("auth.spray", "spray"),
    ] {
        for ip in strs(&a[class]) {
            assert!(
                names_ip(rule, &ip),
                "{class} address {ip}: no {rule} finding names it"
            );
        }
    }
    // The bulk send, attributed to the stolen login.
    let bulk = &truth["bulk"];
    let bs = of("abuse.bulk_send");
    assert!(
        bs.iter().any(
            |f| strs(&f["entities"]["users"]) == [bulk["user"].as_str().unwrap()]
                && strs(&f["entities"]["ips"]).contains(&bulk["ip"].as_str().unwrap().to_string())
                && f["count"].as_u64().unwrap() >= bulk["messages"].as_u64().unwrap()
        ),
        "{bs:#?}"
    );
    // Whose addresses: the spam came from an address that never failed a login, beside
    // carol's own office address. The bulk send tells them apart; the block list (the
    // report's attackers and the block step's commands) holds every attacker source and the
    // stolen login's, and neither carol's office nor the legitimate users' address.
    let usual_ip = bulk["usual_ip"].as_str().unwrap();
    let abuse_ip = bulk["ip"].as_str().unwrap();
    let carol_bulk = bs
        .iter()
        .find(|f| strs(&f["entities"]["users"]) == [bulk["user"].as_str().unwrap()])
        .unwrap();
    let ip_role = |f: &Value, ip: &str| {
        f["entities"]["roles"]["ips"][ip]
            .as_str()
            .map(str::to_string)
    };
    assert_eq!(
        ip_role(carol_bulk, abuse_ip).as_deref(),
        Some("stolen_login_source"),
        "{carol_bulk:#?}"
    );
    assert_eq!(
        ip_role(carol_bulk, usual_ip).as_deref(),
        Some("usual_source"),
        "{carol_bulk:#?}"
    );
    let blocked = strs(&r["summary"]["attackers"]);
    let block_step = r["playbook"]["isolate"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "isolate.block_ips")
        .expect("no block step");
    // Loopback addresses are never made into commands (this host itself): the step lists
    // them as refused, with the reason; either way the step names them.
    let named_by_step = format!("{} {}", block_step["commands"], block_step["refused"]);
    let mut must: Vec<String> = vec![
        abuse_ip.to_string(),
        taken["ip"].as_str().unwrap().to_string(),
    ];
    for class in [
        "scan",
        "enumeration",
        "relay",
        "smtp_brute_force",
        "imap_brute_force",
        "spray",
    ] {
        must.extend(strs(&truth["attackers"][class]));
    }
    for ip in &must {
        assert!(
            blocked.contains(ip),
            "{ip} is not among the report's attackers: {blocked:?}"
        );
        assert!(
            named_by_step.contains(&format!("\"{ip}\""))
                || named_by_step.contains(&format!("{ip} ")),
            "the block step does not name {ip}: {named_by_step}"
        );
    }
    for ip in [usual_ip, truth["legit"]["ip"].as_str().unwrap()] {
        assert!(
            !blocked.iter().any(|b| b == ip),
            "{ip} is legitimate but listed to block: {blocked:?}"
        );
        assert!(
            !named_by_step.contains(&format!("\"{ip}\""))
                && !named_by_step.contains(&format!("{ip} ")),
            "the block step names {ip}: {named_by_step}"
        );
        for f in &findings {
            if let Some(role) = ip_role(f, ip) {
                assert_eq!(role, "usual_source", "{} calls {ip} {role}", f["rule"]);
            }
        }
    }
    // Every planted item, by file and line, and its clean-up step.
    for item in truth["persistence"].as_array().unwrap() {
        let path = item["path"].as_str().unwrap();
        let line = item["line"].as_u64().unwrap();
        let stored = format!("files{path}");
        let hit = of(item["rule"].as_str().unwrap()).iter().any(|f| {
            f["evidence"].as_array().unwrap().iter().any(|e| {
                e["path"] == stored.as_str()
                    && e["lines"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|l| l.as_u64() == Some(line))
            })
        });
        assert!(hit, "planted {item}: no finding cites {stored} line {line}");
        assert!(
            r["clean_items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["file"] == path && c["line"].as_u64() == Some(line)),
            "planted {item}: no clean-up step"
        );
    }
    // The cut slice, as a gap in the log whose edges frame it.
    let cut = &truth["cut"];
    let (from, to) = (
        at(cut["from"].as_str().unwrap()),
        at(cut["to"].as_str().unwrap()),
    );
    let gaps = of("tamper.time_gap");
    assert!(
        gaps.iter().any(|g| {
            let (a, b) = (
                at(g["first_seen"].as_str().unwrap()),
                at(g["last_seen"].as_str().unwrap()),
            );
            a <= from && (from - a).num_seconds() <= 30 && b >= to && (b - to).num_seconds() <= 30
        }),
        "cut {from} – {to}: {gaps:#?}"
    );
    // Phases in order.
    let phase_start = |p: &str| {
        r["phases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["phase"] == p)
            .map(|x| at(x["first"].as_str().unwrap()))
            .unwrap_or_else(|| panic!("no {p} phase"))
    };
    let order = [
        "recon",
        "initial_access",
        "exfiltration",
        "persistence",
        "cleanup",
    ]
    .map(phase_start);
    assert!(
        order.windows(2).all(|w| w[0] <= w[1]),
        "phases out of order: {order:?}"
    );
    // Nothing on the legitimate users or their address.
    let legit = &truth["legit"];
    let users = strs(&legit["users"]);
    let ip = legit["ip"].as_str().unwrap();
    for f in &findings {
        for u in strs(&f["entities"]["users"]) {
            let local = u.split('@').next().unwrap_or("");
            assert!(
                !users.iter().any(|l| l == local),
                "{} names legitimate user {u}",
                f["rule"]
            );
        }
        assert!(
            !strs(&f["entities"]["ips"]).iter().any(|i| i == ip),
            "{} names the legitimate client {ip}",
            f["rule"]
        );
    }
    // The users who only received mail: bursts of hundreds of inbound messages, stored by
    // dovecot-lda (Sieve fileinto, vacation, no script) and by LMTP. First, that the scenario
    // really delivered them that way (the counts come from Dovecot's own lines in mail.log).
    let rc = &truth["receivers"];
    let receivers: Vec<String> = strs(&rc["users"]).iter().map(|u| local_part(u)).collect();
    assert!(!receivers.is_empty(), "truth.json names no receivers");
    let bursts = rc["bursts"].as_array().unwrap();
    for path in strs(&rc["paths"]) {
        let b = bursts
            .iter()
            .find(|b| b["path"] == path.as_str())
            .unwrap_or_else(|| panic!("no inbound burst delivered by {path}"));
        assert_eq!(
            b["stored"], b["sent"],
            "{path}: Dovecot did not store every message of the burst"
        );
    }
    assert!(
        bursts
            .iter()
            .map(|b| b["vacation_replies"].as_u64().unwrap_or(0))
            .sum::<u64>()
            > 0,
        "no Sieve vacation reply was sent: {bursts:?}"
    );
    // Then: no finding names an account that only received mail, by entity or in its text
    // (the entry's title and summary, which may be translated, and the finding's own).
    for (e, f) in entries.iter().zip(&findings) {
        for u in strs(&f["entities"]["users"]) {
            assert!(
                !receivers.contains(&local_part(&u)),
                "{} names {u}, who only received mail: {}",
                f["rule"],
                f["title"]
            );
        }
        for text in [&e["title"], &e["summary"], &f["title"], &f["summary"]] {
            let text = text.as_str().unwrap_or("");
            for name in &receivers {
                assert!(
                    !names_word(text, name),
                    "{} names {name}, who only received mail: {text}",
                    f["rule"]
                );
            }
        }
    }
    // Nor does the report's summary count them among the abused accounts.
    for u in strs(&r["summary"]["accounts"]) {
        assert!(
            !receivers.contains(&local_part(&u)),
            "the report counts {u}, who only received mail, among the abused accounts"
        );
    }
    // The servers that sent them mail are ordinary inbound MX traffic: named by no finding
    // (above all not as the source of a bulk send) and not among the report's attackers.
    let senders = {
        let mut v = strs(&rc["ips"]);
        if v.is_empty() {
            v = vec![rc["ip"].as_str().unwrap().to_string()];
        }
        v
    };
    for ip in &senders {
        assert!(
            !names_ip("abuse.bulk_send", ip),
            "abuse.bulk_send names {ip}, which only sent mail to local users: {:#?}",
            of("abuse.bulk_send")
        );
        for f in &findings {
            assert!(
                !strs(&f["entities"]["ips"]).contains(ip),
                "{} names {ip}, which only sent mail to local users",
                f["rule"]
            );
        }
        assert!(
            !strs(&r["summary"]["attackers"]).contains(ip),
            "the report counts {ip}, which only sent mail to local users, among the attackers"
        );
    }
    // What was read, taken and deleted in carol's mailbox, and paul's new phone.
    check_theft(&truth, &findings);
}

/// Whether finding `f` names the account `user` (its local part) as the victim account.
fn names_victim(f: &Value, user: &str) -> bool {
    strs(&f["entities"]["users"])
        .iter()
        .any(|u| local_part(u) == user)
        && f["entities"]["roles"]["users"]
            .as_object()
            .is_some_and(|roles| {
                roles
                    .iter()
                    .any(|(u, role)| local_part(u) == user && role == "victim_account")
            })
}

/// The record of finding `f`'s `accessed` array for the mailbox of `user` (its local part).
fn accessed_of<'a>(f: &'a Value, user: &str) -> Option<&'a Value> {
    f["accessed"]
        .as_array()?
        .iter()
        .find(|a| local_part(a["mailbox"].as_str().unwrap_or("")) == user)
}

/// The one finding of `rule` that names `user` as the victim account and `ip` among its
/// addresses, with its `accessed` record for the mailbox; fails saying what there is.
fn theft_finding<'a>(findings: &[&'a Value], rule: &str, user: &str, ip: &str) -> &'a Value {
    let of: Vec<&Value> = findings
        .iter()
        .copied()
        .filter(|f| f["rule"] == rule)
        .collect();
    let hit = of.iter().copied().find(|f| {
        names_victim(f, user)
            && strs(&f["entities"]["ips"]).iter().any(|i| i == ip)
            && accessed_of(f, user).is_some()
    });
    let seen: Vec<String> = of
        .iter()
        .map(|f| {
            format!(
                "users {:?} ips {:?} roles {} accessed {}",
                strs(&f["entities"]["users"]),
                strs(&f["entities"]["ips"]),
                f["entities"]["roles"],
                f["accessed"]
            )
        })
        .collect();
    hit.unwrap_or_else(|| {
        panic!("no {rule} finding names {user} (victim_account) and {ip} with an accessed record for the mailbox; {rule} findings: {seen:#?}")
    })
}

/// The mailbox theft of the run (`truth.json`: `theft`, `hard_negative`; docs/live-test.md,
/// "The theft"), held against the counts the clients kept. What Dovecot logs and how it
/// relates to those counts is established in `tests/fixtures/dovecot-access/README.md`:
/// `body_count`/`body_bytes` of an IMAP session are its BODY[] literals, their number and
/// exact bytes; a POP3 session's `retr=N/B` is its RETR count and the bytes on the wire for
/// them (each `+OK N octets` line included), which the client counted the same way.
fn check_theft(truth: &Value, findings: &[&Value]) {
    let theft = &truth["theft"];
    let victim = theft["user"].as_str().unwrap();
    let n = |v: &Value| v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"));
    // First, that the scenario did what it claims: everything of carol's mailbox was
    // downloaded, her INBOX retrieved, most of it expunged; everything of paul's downloaded.
    let sum = |layout: &Value| layout.as_object().unwrap().values().map(n).sum::<u64>();
    let imap = &theft["imap_download"];
    let pop = &theft["pop3_retrieve"];
    let cover = &theft["cover_up"];
    let phone = &truth["hard_negative"];
    assert_eq!(n(&imap["messages"]), sum(&theft["mailbox"]), "{theft}");
    assert_eq!(
        n(&pop["messages"]),
        n(&theft["mailbox"]["INBOX"]),
        "{theft}"
    );
    assert!(n(&cover["expunged"]) > 0, "{theft}");
    assert_eq!(n(&phone["messages"]), sum(&phone["mailbox"]), "{phone}");
    assert!(
        phone["history"].as_array().is_some_and(|h| h.len() >= 3),
        "{phone}"
    );

    // The full IMAP download, by the stolen login's address, with the client's counts.
    let ip = imap["ip"].as_str().unwrap();
    let f = theft_finding(findings, "exfil.mailbox_download", victim, ip);
    let a = accessed_of(f, victim).unwrap();
    assert_eq!(
        a["messages"], imap["messages"],
        "exfil.mailbox_download: messages of {victim}'s mailbox taken from {ip}: {a}, truth {imap}"
    );
    assert_eq!(
        a["bytes"], imap["bytes"],
        "exfil.mailbox_download: bytes (Dovecot's body_bytes, the sum of the BODY[] literals) from {ip}: {a}, truth {imap}"
    );
    // The POP3 retrieval, from a second address of the attacker's network.
    let ip = pop["ip"].as_str().unwrap();
    let f = theft_finding(findings, "exfil.pop_retrieve", victim, ip);
    let a = accessed_of(f, victim).unwrap();
    assert_eq!(
        a["messages"], pop["messages"],
        "exfil.pop_retrieve: messages (RETR count) from {ip}: {a}, truth {pop}"
    );
    assert_eq!(
        a["bytes"], pop["bytes"],
        "exfil.pop_retrieve: bytes (Dovecot's retr=N/BYTES: the messages and their +OK lines) from {ip}: {a}, truth {pop}"
    );
    // The cover-up: the messages expunged from carol's INBOX.
    let deletions: Vec<&Value> = findings
        .iter()
        .copied()
        .filter(|f| f["rule"] == "cleanup.mail_deletion" && names_victim(f, victim))
        .collect();
    assert!(
        deletions.iter().any(|f| accessed_of(f, victim)
            .is_some_and(|a| a["deleted"] == cover["expunged"])),
        "cleanup.mail_deletion: no finding on {victim} with {} messages deleted (truth {cover}): {:#?}",
        cover["expunged"],
        deletions
            .iter()
            .map(|f| &f["accessed"])
            .collect::<Vec<_>>()
    );
    // The hard negative: paul's new phone, on his office network, downloads everything. It
    // may be reported for context, never as likely malicious.
    let phone_ip = phone["phone_ip"].as_str().unwrap();
    for f in findings {
        if f["rule"] == "exfil.mailbox_download"
            && strs(&f["entities"]["ips"]).iter().any(|i| i == phone_ip)
        {
            assert!(
                matches!(f["severity"].as_str(), Some("info" | "low")),
                "paul's new phone {phone_ip} (his office network) is reported {}: {}",
                f["severity"],
                f["summary"]
            );
        }
    }
}
