//! `config.banner_version` — the SMTP greeting tells every client the software version.
//!
//! **Why**: a version in the banner lets scanners pick exploits without probing (the seed
//! articles' hardening list hides it). **How**: Postfix `smtpd_banner` containing
//! `$mail_version` or a dotted version number; Exim without `smtp_banner` (its default greeting
//! carries `$version_number`) or with one naming it; Dovecot `login_greeting` with a version.
//! **Severity**: low. **ATT&CK**: T1592.002 (Gather Victim Host Information: Software).
//! **False positives**: none; `$mail_name` alone (the product name) is not reported.

use super::super::host::{Cites, ConfigRule, Host};
use crate::detect::finding::{Finding, Severity};

/// The rule.
pub struct Banner;

fn has_version(s: &str) -> bool {
    s.contains("mail_version") || s.contains("version_number") || {
        let b = s.as_bytes();
        b.windows(3)
            .any(|w| w[0].is_ascii_digit() && w[1] == b'.' && w[2].is_ascii_digit())
    }
}

impl ConfigRule for Banner {
    fn check(&self, host: &Host) -> Vec<Finding> {
        let mut out = Vec::new();
        for pf in &host.postfix {
            for svc in pf.smtpd_services() {
                let raw = svc
                    .and_then(|s| s.overrides.get("smtpd_banner"))
                    .or(pf.main.explicit("smtpd_banner"))
                    .map(|p| p.value.clone())
                    .unwrap_or_default();
                let (_, at) = pf.setting(svc, "smtpd_banner");
                if let (true, Some((p, l))) = (has_version(&raw), at) {
                    let c = Cites::one(&host.conf, &p, Some(l));
                    out.push(c.finding(
                        "config.banner_version",
                        Severity::Low,
                        vec!["T1592.002"],
                        "The SMTP banner names the Postfix version".into(),
                        format!("smtpd_banner = {raw}"),
                    ));
                    break;
                }
            }
        }
        let exim: Vec<(&str, &crate::hostconf::ConfFile)> = host
            .conf
            .files
            .iter()
            .filter(|(p, _)| {
                *p == "/etc/exim.conf"
                    || p.starts_with("/etc/exim4/exim4.conf")
                    || p.starts_with("/etc/exim/exim.conf")
                    || p.starts_with("/etc/exim4/conf.d/main/")
            })
            .map(|(p, f)| (p.as_str(), f))
            .collect();
        if !exim.is_empty() {
            let set = exim.iter().find_map(|(p, f)| {
                crate::hostconf::numbered(&f.text())
                    .find(|(_, l)| l.trim_start().starts_with("smtp_banner"))
                    .map(|(n, l)| (*p, n, l.trim().to_string()))
            });
            let mut c = Cites::default();
            match set {
                Some((p, n, l)) if has_version(&l) => {
                    c.add(&host.conf, p, Some(n));
                    out.push(c.finding(
                        "config.banner_version",
                        Severity::Low,
                        vec!["T1592.002"],
                        "The SMTP banner names the Exim version".into(),
                        l,
                    ));
                }
                None => {
                    c.add(&host.conf, exim[0].0, None);
                    out.push(c.finding("config.banner_version", Severity::Low, vec!["T1592.002"], "The SMTP banner names the Exim version".into(), "smtp_banner is not set: Exim's default greeting includes $version_number".into()));
                }
                _ => {}
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
    fn version_in_banner() {
        let f = Banner.check(&host(&[(
            "/etc/postfix/main.cf",
            "smtpd_banner = $myhostname ESMTP $mail_name $mail_version\n",
        )]));
        assert_eq!(f.len(), 1);
        assert!(Banner
            .check(&host(&[(
                "/etc/postfix/main.cf",
                "smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)\n"
            )]))
            .is_empty());
        assert_eq!(
            Banner
                .check(&host(&[(
                    "/etc/exim4/exim4.conf.template",
                    "primary_hostname = mx\n"
                )]))
                .len(),
            1
        );
    }
}
