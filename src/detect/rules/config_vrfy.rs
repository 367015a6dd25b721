//! `config.vrfy_enabled` — the SMTP `VRFY` command answers whether an account exists.
//!
//! **Why**: attackers list valid accounts with VRFY before guessing passwords (the sample's
//! recon does); the seed articles' hardening list disables it. **How**: Postfix
//! `disable_vrfy_command` not `yes` (its default is `no`) in main.cf or an smtpd service;
//! the running `sendmail.cf`'s `PrivacyOptions` without `novrfy`/`goaway` (or none at all). Exim refuses VRFY unless
//! `acl_smtp_vrfy` accepts, so an `acl_smtp_vrfy` setting is reported: read from the
//! configuration Exim runs ([`crate::hostconf::exim`]: Debian's template or conf.d as
//! `dc_use_split_config` says, `.ifdef`s followed, macros expanded). **Severity**: low.
//! **ATT&CK**: T1589.002 (Gather Victim Identity Information: Email Addresses).
//! **False positives**: none in the sense of a wrong reading; some sites accept the exposure.

use super::super::host::{Cites, ConfigRule, Host};
use crate::detect::finding::{Finding, Severity};

/// The rule.
pub struct Vrfy;

impl ConfigRule for Vrfy {
    fn check(&self, host: &Host) -> Vec<Finding> {
        let mut out = Vec::new();
        for pf in &host.postfix {
            for svc in pf.smtpd_services() {
                let (v, at) = pf.setting(svc, "disable_vrfy_command");
                if v.eq_ignore_ascii_case("yes") {
                    continue;
                }
                let mut c = Cites::default();
                match (&at, svc) {
                    (Some((p, l)), _) => c.add(&host.conf, p, Some(*l)),
                    // Not set: the service that answers is the evidence (its master.cf line).
                    (None, Some(s)) => c.add(&host.conf, &pf.master_path(), Some(s.line)),
                    (None, None) => c.add(&host.conf, &pf.main_path(), None),
                };
                let name = svc.map(|s| s.name.as_str()).unwrap_or("smtp");
                let how = if at.is_some() {
                    format!("disable_vrfy_command = {v}")
                } else {
                    "disable_vrfy_command is not set (default no)".into()
                };
                out.push(c.finding(
                    "config.vrfy_enabled",
                    Severity::Low,
                    vec!["T1589.002"],
                    format!("VRFY answers on Postfix service {name}"),
                    format!("{how}: anyone can test which accounts exist"),
                ));
                break;
            }
        }
        // Sendmail: the running sendmail.cf ([`crate::hostconf::sendmail`]); without
        // PrivacyOptions VRFY is answered too.
        if let Some(cf) = host.sendmail.as_ref().and_then(|s| s.cf.as_ref()) {
            let (value, line) = match cf.options.get("PrivacyOptions") {
                Some((v, at)) => (v.as_str(), Some(at.1)),
                None => ("", None),
            };
            let flags: Vec<&str> = value.split([',', ' ']).map(str::trim).collect();
            if !flags.iter().any(|f| matches!(*f, "novrfy" | "goaway")) {
                let c = Cites::one(&host.conf, &cf.path, line);
                let why = match line {
                    Some(_) => format!("O PrivacyOptions={value} lacks novrfy"),
                    None => "sendmail.cf sets no PrivacyOptions: VRFY is answered".into(),
                };
                out.push(c.finding(
                    "config.vrfy_enabled",
                    Severity::Low,
                    vec!["T1589.002"],
                    "VRFY answers on sendmail".into(),
                    why,
                ));
            }
        }
        for e in &host.exim {
            if let Some((acl, (p, n))) = e.main.get("acl_smtp_vrfy") {
                let c = Cites::one(&host.conf, p, Some(*n));
                out.push(c.finding(
                    "config.vrfy_enabled",
                    Severity::Low,
                    vec!["T1589.002"],
                    "Exim has a VRFY ACL".into(),
                    format!("acl_smtp_vrfy = {acl}: VRFY is answered as that ACL allows"),
                ));
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
    fn vrfy_default_is_on_and_disabling_it_is_quiet() {
        let f = Vrfy.check(&host(&[("/etc/postfix/main.cf", "myhostname = a.b\n")]));
        assert_eq!(f.len(), 1);
        assert!(f[0].summary.contains("default no"));
        assert!(Vrfy
            .check(&host(&[(
                "/etc/postfix/main.cf",
                "disable_vrfy_command = yes\n"
            )]))
            .is_empty());
    }

    #[test]
    fn exims_vrfy_acl_counts_only_where_exim_reads_it() {
        let acl = "acl_smtp_vrfy = VRFY_ACL\n";
        let macros = "VRFY_ACL = acl_check_vrfy\n";
        // A macro named setting, in the configuration Debian builds from.
        let f = Vrfy.check(&host(&[
            (
                "/etc/exim4/update-exim4.conf.conf",
                "dc_use_split_config='true'\n",
            ),
            ("/etc/exim4/conf.d/main/000_localmacros", macros),
            ("/etc/exim4/conf.d/main/02_exim4-config_options", acl),
        ]));
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            f[0].summary,
            "acl_smtp_vrfy = acl_check_vrfy: VRFY is answered as that ACL allows"
        );
        assert_eq!(
            f[0].evidence[0].path,
            "etc/exim4/conf.d/main/02_exim4-config_options"
        );
        // The template Debian does not build from, a commented line, an `.ifdef` not taken,
        // a file Exim does not read: quiet.
        assert!(Vrfy
            .check(&host(&[
                (
                    "/etc/exim4/update-exim4.conf.conf",
                    "dc_use_split_config='true'\n",
                ),
                ("/etc/exim4/exim4.conf.template", acl),
                (
                    "/etc/exim4/conf.d/main/02_exim4-config_options",
                    "# acl_smtp_vrfy = acl_check_vrfy\n.ifdef NO_SUCH\nacl_smtp_vrfy = x\n.endif\n",
                ),
                ("/etc/exim4/acl_smtp_vrfy.notes", acl),
            ]))
            .is_empty());
    }
}
