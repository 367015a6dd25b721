//! `config.banner_version` — the SMTP greeting tells every client the software version.
//!
//! **Why**: a version in the banner lets scanners pick exploits without probing (the seed
//! articles' hardening list hides it). **How**: Postfix `smtpd_banner` containing
//! `$mail_version` or a dotted version number; Exim without `smtp_banner` (its default greeting
//! carries `$version_number`) or with one naming it, in the configuration Exim runs
//! ([`crate::hostconf::exim`]: Debian's template or conf.d as `dc_use_split_config` says,
//! `.ifdef`s followed, macros expanded); Dovecot `login_greeting` with a version.
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
        for e in &host.exim {
            let (cite, summary) = match e.main.get("smtp_banner") {
                Some((banner, at)) if has_version(banner) => {
                    (Some(at.clone()), format!("smtp_banner = {banner}"))
                }
                Some(_) => continue,
                None => (
                    None,
                    "smtp_banner is not set: Exim's default greeting includes $version_number"
                        .into(),
                ),
            };
            let c = match &cite {
                Some((p, n)) => Cites::one(&host.conf, p, Some(*n)),
                None => Cites::one(&host.conf, e.files.first().unwrap_or(&e.source), None),
            };
            out.push(c.finding(
                "config.banner_version",
                Severity::Low,
                vec!["T1592.002"],
                "The SMTP banner names the Exim version".into(),
                summary,
            ));
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

    #[test]
    fn exims_banner_is_read_as_exim_reads_it() {
        let debian = |split: &str, files: &[(&str, &str)]| {
            let setting = format!("dc_use_split_config='{split}'\n");
            let mut all = vec![("/etc/exim4/update-exim4.conf.conf", setting.as_str())];
            all.extend_from_slice(files);
            Banner.check(&host(&all))
        };
        let options = "/etc/exim4/conf.d/main/02_exim4-config_options";
        // A macro that names the version.
        let f = debian(
            "true",
            &[(
                options,
                "BANNER = $smtp_active_hostname ESMTP Exim $version_number\nsmtp_banner = BANNER\n",
            )],
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            f[0].summary,
            "smtp_banner = $smtp_active_hostname ESMTP Exim $version_number"
        );
        assert_eq!(f[0].evidence[0].lines, [2]);
        // Hidden in conf.d; the template Debian does not build from is not judged.
        let hidden = "smtp_banner = $smtp_active_hostname ESMTP\n";
        assert!(debian(
            "true",
            &[
                (options, hidden),
                ("/etc/exim4/exim4.conf.template", "primary_hostname = mx\n")
            ]
        )
        .is_empty());
        // Commented out, or behind an `.ifdef` not taken: the default greeting, cited at the
        // configuration's first file.
        let f = debian(
            "false",
            &[
                (
                    "/etc/exim4/exim4.conf.template",
                    "# smtp_banner = x\n.ifdef MAIN_SMTP_BANNER\nsmtp_banner = MAIN_SMTP_BANNER\n.endif\n",
                ),
                (options, hidden),
            ],
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].summary.starts_with("smtp_banner is not set"));
        assert_eq!(f[0].evidence[0].path, "etc/exim4/exim4.conf.template");
    }
}
