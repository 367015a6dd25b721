//! The chroot labs' end-to-end run, shared by `live_exim` and `live_sendmail`
//! (`docs/live-test.md`, "The Exim run" and "The Sendmail run"): a lab's `scenario.sh up`
//! builds (once, then reuses) a Debian bookworm chroot, mounts an overlay over it for the run,
//! starts the MTA and Dovecot inside it in a network namespace of their own, and runs the
//! attack of `tests/live/attack.py --mta NAME` there, persistence planted in the MTA's idiom, a
//! slice of a log cut out and the logs rotated. Then `mailir collect --root` on the chroot,
//! `verify`, `triage` and `parse --unparsed`, and the findings are held against the
//! scenario's own ground truth (`truth.json`).
//!
//! Before asserting, [`run`] prints what was found and what was missed against the truth, and
//! the share of the MTA's lines no parser recognised (also written to `measurement.txt`), so a
//! failing run is a measurement. The assertions are what mailir should do, not what it does
//! today.
//!
//! A lab mounts, makes a network namespace and may build a chroot (a few minutes, once), so
//! it runs only when its variable (`MAILIR_LIVE_EXIM=1`, `MAILIR_LIVE_SENDMAIL=1`) is set, as
//! root; otherwise it skips, saying why. Everything of the run stays in its output folder;
//! `scenario.sh down` stops the lab and unmounts it, pass or fail.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::util::{self, run_cmd};

/// `parse`'s per-file counts: path, lines, unparsed lines.
pub type FileStats = [(String, u64, u64)];

/// One chroot lab: its names, where it lives, and how its MTA's lines are told apart.
pub struct Lab {
    /// `exim`, `sendmail`: `tests/live/NAME/scenario.sh`, the log prefix, the output folder.
    pub name: &'static str,
    /// The MTA's name in the measurement (`Exim`, `Sendmail`).
    pub mta: &'static str,
    /// The variable that switches the run on (`MAILIR_LIVE_EXIM`).
    pub enable: &'static str,
    /// The variable naming the output folder (`MAILIR_LIVE_EXIM_OUT`).
    pub out_var: &'static str,
    /// The variable naming the cached chroot, and its default.
    pub root_var: &'static str,
    pub root_default: &'static str,
    /// The variable holding extra `triage` options.
    pub triage_args_var: &'static str,
    /// The case name given to `collect`.
    pub case: &'static str,
    /// Whether a line of `unparsed.log` (`files/PATH:LINE: text`) is one of the MTA's.
    pub is_mta_unparsed: fn(&str) -> bool,
    /// How many lines the MTA wrote, from `parse`'s per-file counts (path, lines, unparsed)
    /// and the run's copy of the logs (`OUT/logs`).
    pub mta_lines: fn(&FileStats, &Path) -> u64,
}

/// Runs `scenario.sh down` when dropped: the lab is stopped and unmounted whatever happened.
struct Down {
    script: PathBuf,
    out: PathBuf,
}

impl Drop for Down {
    fn drop(&mut self) {
        let mut c = std::process::Command::new("bash");
        c.arg(&self.script).arg("down").arg(&self.out);
        let o = run_cmd(c, Duration::from_secs(120));
        eprintln!("live lab: down exited {}: {}", o.code, o.stderr.trim());
    }
}

fn on_path(tool: &str) -> bool {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/sbin"].map(PathBuf::from));
    dirs.iter().any(|d| d.join(tool).is_file())
}

fn why_not(lab: &Lab) -> Option<String> {
    if std::env::var(lab.enable).as_deref() != Ok("1") {
        return Some(format!(
            "set {}=1 to run it (it builds a Debian chroot once, mounts an overlay, makes a \
             network namespace and starts {} and Dovecot in it)",
            lab.enable, lab.mta
        ));
    }
    if !util::is_root() {
        return Some("needs root".into());
    }
    for tool in ["ip", "unshare", "flock", "mount", "chroot"] {
        if !on_path(tool) {
            return Some(format!("needs {tool}"));
        }
    }
    let fs = std::fs::read_to_string("/proc/filesystems").unwrap_or_default();
    if !fs.lines().any(|l| l.trim_end().ends_with("overlay")) {
        return Some(
            "needs overlayfs (the run's root is an overlay over the cached chroot)".into(),
        );
    }
    let cached =
        Path::new(&std::env::var(lab.root_var).unwrap_or_else(|_| lab.root_default.into()))
            .join(".mailir-base")
            .exists();
    if !cached
        && !["mmdebstrap", "debootstrap", "apt-get"]
            .iter()
            .any(|t| on_path(t))
    {
        return Some(
            "no cached chroot, and neither mmdebstrap, debootstrap nor apt-get to build one".into(),
        );
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

/// The local part of an account name or address, lower-cased.
fn local_part(u: &str) -> String {
    u.split('@').next().unwrap_or("").to_ascii_lowercase()
}

/// Whether `text` names `name` as a word (case-insensitive).
fn names_word(text: &str, name: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric())
        .any(|w| w.eq_ignore_ascii_case(name))
}

use crate::util::strs;

/// One expectation of the truth: what it is, whether mailir met it, and what it found.
struct Check {
    what: String,
    ok: bool,
    found: String,
}

/// Lines and unparsed lines per file, from `parse`'s per-file report on stderr
/// (`  PATH: N lines, E events, I ignored, U unparsed, O other…`).
pub fn per_file_stats(stderr: &str) -> Vec<(String, u64, u64)> {
    stderr
        .lines()
        .filter_map(|l| {
            let l = l.strip_prefix("  ")?;
            let (path, rest) = l.split_once(": ")?;
            let num = |key: &str| -> Option<u64> {
                rest.split(", ")
                    .find_map(|p| p.strip_suffix(key))
                    .and_then(|n| n.trim().parse().ok())
            };
            Some((path.to_string(), num(" lines")?, num(" unparsed")?))
        })
        .collect()
}

/// A line's shape: the text after the `PATH:LINE: ` prefix and the time stamp (Exim's, or
/// rsyslog's with the host name), with message and queue ids, addresses and numbers replaced,
/// so lines of one kind count together.
fn shape(unparsed_line: &str) -> String {
    // `files/var/log/exim4/mainlog.1:123: 2026-12-06 15:16:01 text`,
    // `files/var/log/mail.log:12: 2026-12-06T17:36:08.262635+00:00 mx sm-mta[19537]: text`
    let text = unparsed_line
        .splitn(3, ':')
        .nth(2)
        .unwrap_or("")
        .trim_start();
    let b = text.as_bytes();
    let text = if b.len() > 20 && b[4] == b'-' && b[10] == b' ' {
        text.get(20..).unwrap_or(text)
    } else if b.len() > 20 && b[4] == b'-' && b[10] == b'T' {
        text.splitn(3, ' ').nth(2).unwrap_or(text)
    } else {
        text
    };
    let mut out = String::new();
    let mut last_n = false;
    for w in text.split(' ') {
        let is_id = w.len() >= 14
            && w.split('-').count() == 3
            && w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        // A Sendmail queue id, `6B6HbYOZ031444:`.
        let qid = w.strip_suffix(':').unwrap_or(w);
        let is_id = is_id
            || (qid.len() == 14
                && qid.bytes().all(|b| b.is_ascii_alphanumeric())
                && qid.bytes().any(|b| b.is_ascii_uppercase()));
        if !out.is_empty() {
            out.push(' ');
        }
        if is_id {
            out.push_str("ID");
            continue;
        }
        for c in w.chars() {
            if c.is_ascii_digit() {
                if !last_n {
                    out.push('N');
                }
                last_n = true;
            } else {
                out.push(c);
                last_n = false;
            }
        }
        last_n = false;
    }
    out
}

/// Runs the lab end to end and asserts every expectation of its truth (`test` names the test
/// in the skip message).
pub fn run(lab: &Lab, test: &str) {
    if let Some(why) = why_not(lab) {
        eprintln!("SKIPPED {test}: {why}");
        return;
    }
    let tag = format!("live-{}", lab.name);
    let out = std::env::var_os(lab.out_var)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join(&tag));
    let script = util::repo().join(format!("tests/live/{}/scenario.sh", lab.name));
    // A previous run's lab (a crash before its down) is stopped before its folder goes.
    if out.join("state").exists() {
        drop(Down {
            script: script.clone(),
            out: out.clone(),
        });
    }
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    eprintln!("{tag}: everything of this run is kept in {}", out.display());
    let _down = Down {
        script: script.clone(),
        out: out.clone(),
    };
    let started = std::time::Instant::now();
    let mut up = std::process::Command::new("bash");
    up.arg(&script).arg("up").arg(&out);
    // The first run builds the chroot (a few minutes) before the six minutes of the scenario.
    let o = run_cmd(up, Duration::from_secs(40 * 60));
    std::fs::write(out.join("up.stderr"), &o.stderr).unwrap();
    assert_eq!(o.code, 0, "scenario up failed:\n{}", o.stderr);
    eprintln!("{tag}: scenario up took {} s", started.elapsed().as_secs());
    let truth: Value =
        serde_json::from_slice(&std::fs::read(out.join("truth.json")).unwrap()).unwrap();
    let versions = std::fs::read_to_string(out.join("versions.txt")).unwrap_or_default();
    eprintln!("{tag}: versions: {}", versions.trim().replace('\n', "; "));

    // Collect the chroot as a mounted image, verify, triage, parse.
    let root = out.join("root");
    let bundle = out.join("bundle.zip");
    let b = bundle.to_str().unwrap();
    let c = mailir(
        &[
            "collect",
            "--root",
            root.to_str().unwrap(),
            "--out",
            b,
            "--case",
            lab.case,
            "--examiner",
            "ci",
        ],
        Duration::from_secs(600),
    );
    std::fs::write(out.join("collect.stderr"), &c.stderr).unwrap();
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
    // Extra options for triage, to show the test can fail (as MAILIR_LIVE_TRIAGE_ARGS does
    // for the Postfix run).
    let extra = std::env::var(lab.triage_args_var).unwrap_or_default();
    args.extend(extra.split_whitespace());
    let t = mailir(&args, Duration::from_secs(600));
    std::fs::write(out.join("triage.stdout"), &t.stdout).unwrap();
    std::fs::write(out.join("triage.stderr"), &t.stderr).unwrap();
    assert_eq!(t.code, 0, "triage: {}", t.stderr);
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
    std::fs::write(out.join("parse.stderr"), &p.stderr).unwrap();
    assert_eq!(p.code, 0, "parse: {}", p.stderr);
    eprintln!(
        "{tag}: scenario, collect, verify, triage and parse took {} s",
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
    let rules_naming_ip = |ip: &str| -> Vec<String> {
        findings
            .iter()
            .filter(|f| strs(&f["entities"]["ips"]).iter().any(|i| i == ip))
            .map(|f| f["rule"].as_str().unwrap_or("?").to_string())
            .collect()
    };
    let ip_role = |f: &Value, ip: &str| {
        f["entities"]["roles"]["ips"][ip]
            .as_str()
            .map(str::to_string)
    };
    let mut checks: Vec<Check> = Vec::new();

    // Each attacker class's addresses, named by its rule.
    let a = &truth["attackers"];
    for (rule, class) in [
        ("recon.scan", "scan"),
        ("recon.enumeration", "enumeration"),
        ("relay.probe", "relay"),
        ("auth.brute_force", "smtp_brute_force"),
        ("auth.brute_force", "imap_brute_force"),
        ("auth.spray", "spray"),
        ("relay.open", "relay_abuse"),
    ] {
        let ips = strs(&a[class]);
        let missed: Vec<&String> = ips.iter().filter(|ip| !names_ip(rule, ip)).collect();
        let others: Vec<String> = missed
            .iter()
            .map(|ip| match rules_naming_ip(ip) {
                r if r.is_empty() => format!("{ip}: none"),
                r => format!("{ip}: {}", r.join(" ")),
            })
            .collect();
        checks.push(Check {
            what: format!("{class} ({rule}) names {}", ips.join(" ")),
            ok: !ips.is_empty() && missed.is_empty(),
            found: if ips.is_empty() {
                "the truth names no address".into()
            } else if missed.is_empty() {
                "all named".into()
            } else {
                format!(
                    "{} of {} missed; rules naming them instead: {}",
                    missed.len(),
                    ips.len(),
                    others.join(", ")
                )
            },
        });
    }

    // The compromised account and its first malicious login (± 1 min).
    let taken = &truth["compromised"];
    let ca = of("auth.compromised_account");
    let user = taken["user"].as_str().unwrap();
    let truth_first = at(taken["first_login"].as_str().unwrap());
    let hit = ca
        .iter()
        .find(|f| strs(&f["entities"]["users"]) == [user])
        .map(|f| at(f["first_seen"].as_str().unwrap()));
    checks.push(Check {
        what: format!("auth.compromised_account: {user}, first login {truth_first} ± 60 s"),
        ok: ca.len() == 1
            && hit.is_some_and(|first| (first - truth_first).num_seconds().abs() <= 60),
        found: match hit {
            Some(first) => format!(
                "{} finding(s); first login {first} ({:+} s)",
                ca.len(),
                (first - truth_first).num_seconds()
            ),
            None => format!(
                "no finding names {user} ({} auth.compromised_account finding(s))",
                ca.len()
            ),
        },
    });

    // The bulk send, attributed to the stolen login, telling the spam's address from carol's
    // own office address.
    let bulk = &truth["bulk"];
    let abuse_ip = bulk["ip"].as_str().unwrap();
    let usual_ip = bulk["usual_ip"].as_str().unwrap();
    let bs = of("abuse.bulk_send");
    let carol_bulk = bs.iter().find(|f| {
        strs(&f["entities"]["users"]) == [bulk["user"].as_str().unwrap()]
            && strs(&f["entities"]["ips"]).contains(&abuse_ip.to_string())
    });
    checks.push(Check {
        what: format!(
            "abuse.bulk_send: {} from {abuse_ip}, at least {} messages",
            bulk["user"], bulk["messages"]
        ),
        ok: carol_bulk.is_some_and(|f| {
            f["count"].as_u64().unwrap_or(0) >= bulk["messages"].as_u64().unwrap()
        }),
        found: match carol_bulk {
            Some(f) => format!("count {}", f["count"]),
            None => format!(
                "{} abuse.bulk_send finding(s), none for {} from {abuse_ip}",
                bs.len(),
                bulk["user"]
            ),
        },
    });
    for (ip, role) in [
        (abuse_ip, "stolen_login_source"),
        (usual_ip, "usual_source"),
    ] {
        let got = carol_bulk.and_then(|f| ip_role(f, ip));
        checks.push(Check {
            what: format!("abuse.bulk_send calls {ip} {role}"),
            ok: got.as_deref() == Some(role),
            found: format!("{got:?}"),
        });
    }

    // Every planted item, at its file and line, by its rule, with a clean-up step.
    for item in truth["persistence"].as_array().unwrap() {
        let path = item["path"].as_str().unwrap();
        let line = item["line"].as_u64().unwrap();
        let rule = item["rule"].as_str().unwrap();
        let stored = format!("files{path}");
        let cites = |f: &&Value, path: &str, line: u64| {
            f["evidence"].as_array().is_some_and(|ev| {
                ev.iter().any(|e| {
                    e["path"] == path
                        && e["lines"]
                            .as_array()
                            .is_some_and(|ls| ls.iter().any(|l| l.as_u64() == Some(line)))
                })
            })
        };
        let by_rule = of(rule).iter().any(|f| cites(f, &stored, line));
        let by_other: Vec<String> = findings
            .iter()
            .filter(|f| cites(f, &stored, line) && f["rule"] != rule)
            .map(|f| f["rule"].as_str().unwrap_or("?").to_string())
            .collect();
        let file_only: Vec<String> = findings
            .iter()
            .filter(|f| {
                f["evidence"]
                    .as_array()
                    .is_some_and(|ev| ev.iter().any(|e| e["path"] == stored.as_str()))
            })
            .map(|f| f["rule"].as_str().unwrap_or("?").to_string())
            .collect();
        checks.push(Check {
            what: format!("planted {path}:{line} ({}) cited by {rule}", item["what"]),
            ok: by_rule,
            found: if by_rule {
                "cited".into()
            } else if !by_other.is_empty() {
                format!("cited only by {by_other:?}")
            } else if !file_only.is_empty() {
                format!("the file is cited, not the line, by {file_only:?}")
            } else {
                "nothing cites it".into()
            },
        });
        let clean = r["clean_items"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["file"] == path && c["line"].as_u64() == Some(line))
        });
        checks.push(Check {
            what: format!("planted {path}:{line}: a clean-up step"),
            ok: clean,
            found: if clean {
                "present".into()
            } else {
                "none".into()
            },
        });
        // The setting that switches a planted file on (the system filter's `system_filter =`
        // line): reported, not required.
        if let Some(s) = item.get("setting") {
            let sp = format!("files{}", s["path"].as_str().unwrap());
            let sl = s["line"].as_u64().unwrap();
            let cited: Vec<String> = findings
                .iter()
                .filter(|f| cites(f, &sp, sl))
                .map(|f| f["rule"].as_str().unwrap_or("?").to_string())
                .collect();
            eprintln!(
                "{tag}: (not asserted) the setting {}:{sl} that switches {path} on is {}",
                s["path"].as_str().unwrap(),
                if cited.is_empty() {
                    "cited by no finding".to_string()
                } else {
                    format!("cited by {cited:?}")
                }
            );
        }
    }

    // The cut slice, as a gap in the main log whose edges frame it.
    let cut = &truth["cut"];
    let (from, to) = (
        at(cut["from"].as_str().unwrap()),
        at(cut["to"].as_str().unwrap()),
    );
    let gaps = of("tamper.time_gap");
    let framing = gaps.iter().any(|g| {
        let (a, b) = (
            at(g["first_seen"].as_str().unwrap()),
            at(g["last_seen"].as_str().unwrap()),
        );
        a <= from && (from - a).num_seconds() <= 30 && b >= to && (b - to).num_seconds() <= 30
    });
    checks.push(Check {
        what: format!("tamper.time_gap frames the cut {from} – {to}"),
        ok: framing,
        found: gaps
            .iter()
            .map(|g| format!("{} – {}", g["first_seen"], g["last_seen"]))
            .collect::<Vec<_>>()
            .join(", "),
    });

    // Nothing on the legitimate users or their address.
    let legit = &truth["legit"];
    let legit_users = strs(&legit["users"]);
    let legit_ip = legit["ip"].as_str().unwrap();
    let mut named = Vec::new();
    for f in &findings {
        for u in strs(&f["entities"]["users"]) {
            if legit_users.contains(&local_part(&u)) {
                named.push(format!("{} names {u}", f["rule"]));
            }
        }
        if strs(&f["entities"]["ips"]).iter().any(|i| i == legit_ip) {
            named.push(format!("{} names {legit_ip}", f["rule"]));
        }
    }
    checks.push(Check {
        what: format!("no finding names {} or {legit_ip}", legit_users.join(", ")),
        ok: named.is_empty(),
        found: if named.is_empty() {
            "none does".into()
        } else {
            named.join("; ")
        },
    });
    // carol's office address is hers: no finding may call it anything but usual.
    let mut miscalled = Vec::new();
    for f in &findings {
        if let Some(role) = ip_role(f, usual_ip) {
            if role != "usual_source" {
                miscalled.push(format!("{} calls it {role}", f["rule"]));
            }
        }
    }
    checks.push(Check {
        what: format!("no finding calls carol's office address {usual_ip} anything but usual"),
        ok: miscalled.is_empty(),
        found: if miscalled.is_empty() {
            "none does".into()
        } else {
            miscalled.join("; ")
        },
    });

    // The block list: every attacker address, the stolen password's and the spam's, and
    // neither carol's office nor the legitimate users' address.
    let blocked = strs(&r["summary"]["attackers"]);
    let mut must: Vec<String> = vec![
        abuse_ip.to_string(),
        taken["ip"].as_str().unwrap().to_string(),
    ];
    if let Some(classes) = a.as_object() {
        for ips in classes.values() {
            must.extend(strs(ips));
        }
    }
    let absent: Vec<&String> = must.iter().filter(|ip| !blocked.contains(ip)).collect();
    checks.push(Check {
        what: "the block list (summary.attackers) holds every attacker address".into(),
        ok: absent.is_empty(),
        found: if absent.is_empty() {
            format!("all {} held", must.len())
        } else {
            format!("missing {absent:?}")
        },
    });
    let wrong: Vec<&str> = [usual_ip, legit_ip]
        .into_iter()
        .filter(|ip| blocked.iter().any(|b| b == ip))
        .collect();
    checks.push(Check {
        what: format!("the block list holds neither {usual_ip} nor {legit_ip}"),
        ok: wrong.is_empty(),
        found: if wrong.is_empty() {
            "neither".into()
        } else {
            format!("lists {wrong:?}")
        },
    });

    // The users who only received mail (a burst of 220 messages delivered by the MTA's
    // mail_spool transport) and the servers that sent it: named by no finding.
    let rc = &truth["receivers"];
    let receivers: Vec<String> = strs(&rc["users"]).iter().map(|u| local_part(u)).collect();
    let mut delivered = true;
    for b in rc["bursts"].as_array().into_iter().flatten() {
        delivered &= b["stored"] == b["sent"];
    }
    checks.push(Check {
        what: format!(
            "(scenario) {} delivered every message of the receivers' burst",
            lab.mta
        ),
        ok: delivered && !receivers.is_empty(),
        found: format!("{}", rc["bursts"]),
    });
    let mut named = Vec::new();
    for (e, f) in entries.iter().zip(&findings) {
        for u in strs(&f["entities"]["users"]) {
            if receivers.contains(&local_part(&u)) {
                named.push(format!("{} names {u}", f["rule"]));
            }
        }
        for text in [&e["title"], &e["summary"], &f["title"], &f["summary"]] {
            let text = text.as_str().unwrap_or("");
            for name in &receivers {
                if names_word(text, name) {
                    named.push(format!("{}: {text}", f["rule"]));
                }
            }
        }
        for ip in strs(&rc["ips"]) {
            if strs(&f["entities"]["ips"]).contains(&ip) {
                named.push(format!("{} names {ip}", f["rule"]));
            }
        }
    }
    for u in strs(&r["summary"]["accounts"]) {
        if receivers.contains(&local_part(&u)) {
            named.push(format!("summary.accounts lists {u}"));
        }
    }
    for ip in strs(&rc["ips"]) {
        if blocked.contains(&ip) {
            named.push(format!("summary.attackers lists {ip}"));
        }
    }
    named.dedup();
    checks.push(Check {
        what: format!(
            "no finding names the receivers {} or their senders {}",
            receivers.join(", "),
            strs(&rc["ips"]).join(", ")
        ),
        ok: named.is_empty(),
        found: if named.is_empty() {
            "none does".into()
        } else {
            named.join("; ")
        },
    });

    // The measurement: lines of the MTA's own logs no parser recognised, and their shapes.
    let mut stats = per_file_stats(&p.stderr);
    stats.sort();
    let unparsed_text = std::fs::read_to_string(&unparsed).unwrap_or_default();
    let all_lines: u64 = stats.iter().map(|s| s.1).sum();
    let mta_lines = (lab.mta_lines)(&stats, &out.join("logs"));
    let mta_unparsed = unparsed_text
        .lines()
        .filter(|l| (lab.is_mta_unparsed)(l))
        .count() as u64;
    let other_lines = all_lines.saturating_sub(mta_lines);
    let other_unparsed = unparsed_text
        .lines()
        .filter(|l| !(lab.is_mta_unparsed)(l))
        .count() as u64;
    let mut shapes: BTreeMap<String, u64> = BTreeMap::new();
    for l in unparsed_text.lines() {
        *shapes.entry(shape(l)).or_default() += 1;
    }
    let mut shapes: Vec<(String, u64)> = shapes.into_iter().collect();
    shapes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));

    let pct = |n: u64, d: u64| {
        if d == 0 {
            0.0
        } else {
            100.0 * n as f64 / d as f64
        }
    };
    // At most 2 % of the MTA's lines unrecognised (and some lines at all).
    checks.push(Check {
        what: format!("at most 2 % of {}'s lines unrecognised", lab.mta),
        ok: mta_lines > 0 && pct(mta_unparsed, mta_lines) <= 2.0,
        found: format!(
            "{mta_unparsed} of {mta_lines} ({:.1} %)",
            pct(mta_unparsed, mta_lines)
        ),
    });

    let mut m = String::new();
    m.push_str(&format!(
        "MEASUREMENT: what mailir found against the truth of the {} run\n",
        lab.mta
    ));
    for c in &checks {
        m.push_str(&format!(
            "  {:7} {} — {}\n",
            if c.ok { "found" } else { "MISSED" },
            c.what,
            c.found
        ));
    }
    m.push_str(&format!(
        "  unrecognised lines: {}'s {mta_unparsed} of {mta_lines} ({:.1} %); \
         other mail log lines (Dovecot, syslog) {other_unparsed} of {other_lines} ({:.1} %)\n",
        lab.mta,
        pct(mta_unparsed, mta_lines),
        pct(other_unparsed, other_lines)
    ));
    for (path, lines, un) in &stats {
        m.push_str(&format!("    {path}: {lines} lines, {un} unparsed\n"));
    }
    m.push_str("  most frequent unrecognised line shapes:\n");
    for (s, n) in shapes.iter().take(15) {
        m.push_str(&format!("    {n:6}  {s}\n"));
    }
    let failed: Vec<&Check> = checks.iter().filter(|c| !c.ok).collect();
    m.push_str(&format!(
        "  {} of {} expectations met\n",
        checks.len() - failed.len(),
        checks.len()
    ));
    eprintln!("{tag}: {m}");
    std::fs::write(out.join("measurement.txt"), &m).unwrap();

    // The assertions: every expectation above, as mailir should meet it.
    assert!(
        failed.is_empty(),
        "{} of {} expectations of the {} run failed (measurement in {}):\n{}",
        failed.len(),
        checks.len(),
        lab.mta,
        out.join("measurement.txt").display(),
        failed
            .iter()
            .map(|c| format!("  {} — {}", c.what, c.found))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
