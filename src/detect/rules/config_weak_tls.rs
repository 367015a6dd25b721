//! `config.weak_tls` — passwords or mail can cross the network in clear, or over protocols
//! known broken.
//!
//! **Why**: stolen credentials are the sample attack's entry point; cleartext AUTH hands them
//! to anyone on the path (the seed articles' hardening list requires TLS). **How**: per
//! Postfix network `smtpd` service: SASL enabled without `smtpd_tls_auth_only = yes` or
//! `smtpd_tls_security_level = encrypt` (medium); no TLS at all on a service (low); explicit
//! protocol settings admitting SSLv2/SSLv3/TLSv1/TLSv1.1 (low). Dovecot: `ssl = no`,
//! `disable_plaintext_auth = no`, `auth_allow_cleartext = yes` (medium), `ssl_min_protocol`
//! below TLSv1.2 (low). **ATT&CK**: T1040 (Network Sniffing), T1557.
//! **False positives**: cleartext AUTH on a loopback-only service (webmail on the same host).

use super::super::host::{Cites, ConfigRule, Host};
use crate::detect::finding::{Finding, Severity};

/// The rule.
pub struct WeakTls;

const OLD: &[&str] = &["sslv2", "sslv3", "tlsv1", "tlsv1.1"];

fn old_protocols(v: &str) -> bool {
    let v = v.to_ascii_lowercase();
    if let Some(min) = v.split_whitespace().find_map(|w| w.strip_prefix(">=")) {
        return OLD.contains(&min.trim_matches(','));
    }
    v.split([',', ' ', ':'])
        .filter(|w| !w.is_empty())
        .any(|w| !w.starts_with('!') && OLD.contains(&w))
}

impl ConfigRule for WeakTls {
    fn check(&self, host: &Host) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut emit = |c: Cites, sev: Severity, title: String, summary: String| {
            out.push(c.finding(
                "config.weak_tls",
                sev,
                vec!["T1040", "T1557"],
                title,
                summary,
            ));
        };
        for pf in &host.postfix {
            for svc in pf.smtpd_services() {
                let name = svc.map(|s| s.name.clone()).unwrap_or_else(|| "smtp".into());
                let sasl = pf.setting(svc, "smtpd_sasl_auth_enable");
                let only = pf.setting(svc, "smtpd_tls_auth_only");
                let level = pf.setting(svc, "smtpd_tls_security_level");
                let use_tls = pf.setting(svc, "smtpd_use_tls");
                let cite = |settings: &[&(String, Option<(String, u64)>)]| {
                    let mut c = Cites::default();
                    for (_, at) in settings {
                        if let Some((p, l)) = at {
                            c.add(&host.conf, p, Some(*l));
                        }
                    }
                    // Nothing set: the service that runs with the defaults is the evidence.
                    match (c.is_empty(), svc) {
                        (true, Some(s)) => {
                            c.add(&host.conf, &pf.master_path(), Some(s.line));
                        }
                        (true, None) => {
                            c.add(&host.conf, &pf.main_path(), None);
                        }
                        _ => {}
                    }
                    c
                };
                if sasl.0 == "yes" && only.0 != "yes" && level.0 != "encrypt" {
                    emit(cite(&[&sasl, &only, &level]), Severity::Medium, format!("Postfix {name} accepts passwords without TLS"), format!("smtpd_sasl_auth_enable = yes with smtpd_tls_auth_only = {} and smtpd_tls_security_level = {}", only.0, level.0));
                }
                if matches!(level.0.as_str(), "" | "none") && use_tls.0 != "yes" {
                    emit(cite(&[&level]), Severity::Low, format!("Postfix {name} offers no TLS"), "smtpd_tls_security_level is none: mail and any AUTH cross the network in clear".into());
                }
                for p in ["smtpd_tls_protocols", "smtpd_tls_mandatory_protocols"] {
                    let s = pf.setting(svc, p);
                    if s.1.is_some() && old_protocols(&s.0) {
                        emit(
                            cite(&[&s]),
                            Severity::Low,
                            format!("Postfix {name} allows obsolete TLS protocols"),
                            format!("{p} = {}", s.0),
                        );
                    }
                }
            }
        }
        for (path, f) in host.conf.under("/etc/dovecot/") {
            for (n, l) in crate::hostconf::numbered(&f.text()) {
                let Some((k, v)) = l.split_once('=') else {
                    continue;
                };
                let (k, v) = (k.trim(), v.trim().to_ascii_lowercase());
                let hit = match k {
                    "ssl" if v == "no" => Some((Severity::Medium, "Dovecot has TLS disabled")),
                    "disable_plaintext_auth" if v == "no" => {
                        Some((Severity::Medium, "Dovecot accepts passwords without TLS"))
                    }
                    "auth_allow_cleartext" if v == "yes" => {
                        Some((Severity::Medium, "Dovecot accepts passwords without TLS"))
                    }
                    "ssl_min_protocol" if OLD.contains(&v.as_str()) => {
                        Some((Severity::Low, "Dovecot allows obsolete TLS protocols"))
                    }
                    _ => None,
                };
                if let Some((sev, title)) = hit {
                    let c = Cites::one(&host.conf, path, Some(n));
                    emit(c, sev, title.into(), l.trim().to_string());
                }
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
    fn cleartext_auth_no_tls_and_old_protocols() {
        let h = host(&[
            ("/etc/postfix/main.cf", "smtpd_sasl_auth_enable = yes\nsmtpd_tls_security_level = may\nsmtpd_tls_protocols = >=TLSv1\n"),
            ("/etc/dovecot/conf.d/10-auth.conf", "disable_plaintext_auth = no\n"),
        ]);
        let titles: Vec<String> = WeakTls.check(&h).into_iter().map(|f| f.title).collect();
        assert_eq!(
            titles,
            [
                "Postfix smtp accepts passwords without TLS",
                "Postfix smtp allows obsolete TLS protocols",
                "Dovecot accepts passwords without TLS"
            ]
        );
    }

    #[test]
    fn submission_with_tls_only_auth_is_quiet() {
        let h = host(&[
            ("/etc/postfix/main.cf", "smtpd_tls_security_level = may\n"),
            ("/etc/postfix/master.cf", "smtp inet n - y - - smtpd\nsubmission inet n - y - - smtpd\n  -o smtpd_tls_security_level=encrypt\n  -o smtpd_sasl_auth_enable=yes\n"),
            ("/etc/dovecot/conf.d/10-ssl.conf", "ssl = required\n"),
        ]);
        assert!(WeakTls.check(&h).is_empty(), "{:?}", WeakTls.check(&h));
    }
}
