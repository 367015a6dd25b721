//! `persistence.trusted_sender` — an account the MTA trusts to send as anyone: Sendmail's
//! trusted users (`T` lines and the `Ft` file of the running `sendmail.cf`,
//! `define(`confTRUSTED_USERS', …)` in `sendmail.mc`, the `trusted-users` file of
//! `FEATURE(`use_ct_file')`), Exim's `trusted_users` and `trusted_groups`.
//!
//! **Why**: a trusted user may set any envelope sender (`sendmail -f ceo@…`) and, on Sendmail,
//! without the `X-Authentication-Warning` header that gives the forgery away. An intruder with
//! a web shell adds the web server's account and mails as anyone from the host's own address,
//! passing SPF and DKIM. **How**: every account named beyond the MTA's own (root, daemon, uucp,
//! mail, smmsp, smmta, Debian-exim, exim, mailnull, postfix) and mailing-list managers
//! (list, mailman, majordom, sympa). **Severity**: high for a web server or nobody account
//! (what a web shell runs as); medium for another account. **ATT&CK**: T1672 (Email
//! Spoofing). **False positives**: an application account an administrator trusted on purpose
//! (a ticket system sending as its users) — confirm with whoever runs it.

use super::super::host::{Cites, ConfigRule, Host};
use crate::detect::finding::{Finding, Severity};
use crate::hostconf::sendmail::At;

/// The rule.
pub struct TrustedSender;

/// Accounts MTAs and list managers trust by default.
const EXPECTED: &[&str] = &[
    "root",
    "daemon",
    "uucp",
    "mail",
    "smmsp",
    "smmta",
    "Debian-exim",
    "exim",
    "mailnull",
    "postfix",
    "list",
    "mailman",
    "majordom",
    "sympa",
];

/// Accounts web servers and scripts run as: a web shell's.
const WEB: &[&str] = &[
    "www-data", "apache", "apache2", "nginx", "httpd", "wwwrun", "lighttpd", "http", "www",
    "nobody", "nogroup", "php-fpm", "tomcat",
];

/// Every account an MTA's configuration names as trusted: (MTA, account, where, whether the
/// MTA reads that place now).
fn named(host: &Host) -> Vec<(&'static str, String, At, bool)> {
    let mut named = Vec::new();
    if let Some(sm) = &host.sendmail {
        for (user, at) in sm.class(&host.conf, "t") {
            named.push(("Sendmail", user, at, true));
        }
        if let Some((v, at)) = sm.mc.as_ref().and_then(|m| m.define("confTRUSTED_USERS")) {
            for u in v.split([' ', ',', '\t']).filter(|u| !u.is_empty()) {
                named.push(("Sendmail", u.to_string(), at.clone(), true));
            }
        }
        // The trusted-users file when the running .cf does not read it: with use_ct_file in
        // the .mc it is read from the next build; without, an account there is inert (but
        // says what the intruder wanted).
        let file = "/etc/mail/trusted-users";
        let read = sm
            .cf
            .as_ref()
            .is_some_and(|c| c.class_files.contains_key("t"));
        let next_build = sm
            .mc
            .as_ref()
            .is_some_and(|m| m.feature("use_ct_file").is_some());
        if !read {
            for (user, at) in crate::hostconf::sendmail::class_file(&host.conf, file) {
                named.push(("Sendmail", user, at, next_build));
            }
        }
    }
    for e in &host.exim {
        for option in ["trusted_users", "trusted_groups"] {
            if let Some((v, at)) = e.main.get(option) {
                for u in v.split(':').map(str::trim).filter(|u| !u.is_empty()) {
                    named.push(("Exim", u.to_string(), at.clone(), true));
                }
            }
        }
    }
    named
}

impl ConfigRule for TrustedSender {
    fn check(&self, host: &Host) -> Vec<Finding> {
        let mut out: Vec<Finding> = Vec::new();
        let mut seen: Vec<(&str, String)> = Vec::new();
        for (mta, user, at, live) in named(host) {
            if EXPECTED.contains(&user.as_str()) || seen.contains(&(mta, user.clone())) {
                continue;
            }
            seen.push((mta, user.clone()));
            let web = WEB.contains(&user.as_str());
            let c = Cites::one(&host.conf, &at.0, Some(at.1));
            let (severity, title, state) = match (live, web) {
                (false, _) => (
                    Severity::Low,
                    format!("{user} is listed as a Sendmail trusted user, not in effect"),
                    "; the running sendmail.cf does not read this file (FEATURE(`use_ct_file') is off): inert until that is enabled, but it says what the intruder wanted",
                ),
                (true, true) => (
                    Severity::High,
                    format!("{mta} trusts {user} to send mail as anyone"),
                    "; it is the account a web server (and a web shell) runs as",
                ),
                (true, false) => (
                    Severity::Medium,
                    format!("{mta} trusts {user} to send mail as anyone"),
                    "",
                ),
            };
            let mut f = c.finding(
                "persistence.trusted_sender",
                severity,
                vec!["T1672"],
                title,
                format!(
                    "{} line {}: {user} is a trusted user of {mta}: it may set any sender address{state}",
                    at.0, at.1
                ),
            );
            f.entities.users.push(user);
            out.push(f);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rules::config_tests::{cited, host, Cited};

    fn found(files: &[(&str, &str)]) -> Vec<(String, Severity, Cited)> {
        let f = TrustedSender.check(&host(files));
        let severities: Vec<Severity> = f.iter().map(|f| f.severity).collect();
        cited(f)
            .into_iter()
            .zip(severities)
            .map(|((t, c), s)| (t, s, c))
            .collect()
    }

    /// Debian's generated sendmail.cf trusts root, daemon and uucp; Debian's Exim trusts no
    /// one by option: neither is a finding. An account in the trusted-users file the .cf does
    /// not read is inert: low.
    #[test]
    fn stock_trust_is_quiet() {
        let cf = (
            "/etc/mail/sendmail.cf",
            "#Ft/etc/mail/trusted-users %[^\\#]\nTroot\nTdaemon\nTuucp\n",
        );
        assert!(found(&[
            cf,
            ("/etc/mail/trusted-users", ""),
            (
                "/etc/exim4/exim4.conf.template",
                "trusted_users = mail:list\n"
            ),
        ])
        .is_empty());
        let inert = found(&[cf, ("/etc/mail/trusted-users", "www-data\n")]);
        assert_eq!(
            inert,
            [(
                "www-data is listed as a Sendmail trusted user, not in effect".to_string(),
                Severity::Low,
                vec![("etc/mail/trusted-users".to_string(), vec![1])]
            )]
        );
    }

    #[test]
    fn added_accounts_in_each_idiom() {
        let got = found(&[
            (
                "/etc/mail/sendmail.cf",
                "Ft/etc/mail/trusted-users %[^\\#]\nTroot\nTdaemon\nTuucp\nTwww-data\n",
            ),
            ("/etc/mail/trusted-users", "# trusted\nbackup\n"),
            (
                "/etc/mail/sendmail.mc",
                "divert(0)dnl\ndefine(`confTRUSTED_USERS', `www-data nobody')dnl\n",
            ),
            (
                "/etc/exim4/exim4.conf.template",
                "primary_hostname = mx.lab.example\ntrusted_users = mail : www-data\n",
            ),
        ]);
        let ev = |p: &str, l: u64| vec![(p.to_string(), vec![l])];
        assert_eq!(
            got,
            [
                (
                    "Sendmail trusts www-data to send mail as anyone".to_string(),
                    Severity::High,
                    ev("etc/mail/sendmail.cf", 5)
                ),
                (
                    "Sendmail trusts backup to send mail as anyone".into(),
                    Severity::Medium,
                    ev("etc/mail/trusted-users", 2)
                ),
                (
                    "Sendmail trusts nobody to send mail as anyone".into(),
                    Severity::High,
                    ev("etc/mail/sendmail.mc", 2)
                ),
                (
                    "Exim trusts www-data to send mail as anyone".into(),
                    Severity::High,
                    ev("etc/exim4/exim4.conf.template", 2)
                ),
            ]
        );
    }
}
