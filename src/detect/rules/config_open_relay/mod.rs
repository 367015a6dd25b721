//! `config.open_relay` — the configuration lets an unauthenticated client from anywhere relay
//! mail to any domain.
//!
//! **Why**: the seed articles list the open relay first among hardening faults; it turns the
//! server into a spam source and gets it blocklisted. `relay.open` finds it *happening* in
//! the logs; this rule finds it *possible*. **How**: per network `smtpd` service (master.cf
//! `-o` overrides over main.cf), `smtpd_relay_restrictions` and then
//! `smtpd_recipient_restrictions` are walked as Postfix would for a client that is neither in
//! `mynetworks` nor authenticated: conditional `permit_*`/`check_*` items do not apply; a
//! `reject_unauth_destination`, `defer_unauth_destination`, `reject` or `defer` closes the list;
//! a bare `permit` or the end of both lists relays. `mynetworks` of `0.0.0.0/0`, `::/0` or
//! `mynetworks_style = ` … everything is open too. Exim (`exim.rs`) and Sendmail (`sendmail.rs`)
//! have their own readers beside this file.
//! **Severity**: high. **ATT&CK**: T1566 (Phishing: the relay is what abuses it).
//! **False positives**: a relay behind a firewall that only internal hosts can reach.

mod exim;
mod sendmail;

use super::super::host::{Cites, ConfigRule, Host};
use crate::detect::finding::{Finding, Severity};
use crate::hostconf::postfix::list;

/// The rule.
pub struct OpenRelay;

/// Whether a restriction list lets a stranger's mail to any domain through (`None`: the list
/// ends without deciding).
fn decides(value: &str) -> Option<bool> {
    for item in list(value) {
        match item.as_str() {
            "reject_unauth_destination" | "defer_unauth_destination" | "reject" | "defer" => {
                return Some(false)
            }
            "permit" => return Some(true),
            _ => {}
        }
    }
    None
}

/// A finding of this rule.
fn finding(c: &Cites, severity: Severity, title: String, summary: String) -> Finding {
    c.finding("config.open_relay", severity, vec!["T1566"], title, summary)
}

impl ConfigRule for OpenRelay {
    fn check(&self, host: &Host) -> Vec<Finding> {
        let mut out = Vec::new();
        for pf in &host.postfix {
            for svc in pf.smtpd_services() {
                let relay = pf.setting(svc, "smtpd_relay_restrictions");
                let rcpt = pf.setting(svc, "smtpd_recipient_restrictions");
                let nets = pf.setting(svc, "mynetworks");
                let everyone = list(&nets.0).iter().any(|n| {
                    matches!(
                        n.as_str(),
                        "0.0.0.0/0" | "0/0" | "::/0" | "[::]/0" | "[::/0]"
                    )
                });
                let open = everyone
                    || match decides(&relay.0) {
                        Some(v) => v,
                        None => decides(&rcpt.0).unwrap_or(true),
                    };
                if !open {
                    continue;
                }
                let mut c = Cites::default();
                for (_, at) in [&relay, &rcpt, &nets] {
                    if let Some((p, l)) = at {
                        c.add(&host.conf, p, Some(*l));
                    }
                }
                if let Some(s) = svc {
                    c.add(&host.conf, &pf.master_path(), Some(s.line));
                }
                let name = svc.map(|s| s.name.as_str()).unwrap_or("smtp");
                let why = if everyone {
                    format!("mynetworks = {} trusts every address", nets.0)
                } else {
                    format!(
                        "smtpd_relay_restrictions = {} and smtpd_recipient_restrictions = {} never refuse an unauthorised destination",
                        relay.0, rcpt.0
                    )
                };
                out.push(finding(
                    &c,
                    Severity::High,
                    format!("Postfix service {name} is an open relay"),
                    why,
                ));
            }
        }
        out.extend(exim::relay(host));
        out.extend(sendmail::relay(host));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rules::config_tests::host;

    #[test]
    fn permissive_restrictions_and_mynetworks_are_open() {
        let h = host(&[(
            "/etc/postfix/main.cf",
            "smtpd_relay_restrictions = permit_mynetworks, permit\n",
        )]);
        assert_eq!(OpenRelay.check(&h).len(), 1);
        let h = host(&[(
            "/etc/postfix/main.cf",
            "mynetworks = 127.0.0.0/8, 0.0.0.0/0\n",
        )]);
        assert_eq!(OpenRelay.check(&h)[0].evidence[0].lines, [1]);
        let h = host(&[
            ("/etc/postfix/main.cf", "smtpd_relay_restrictions =\nsmtpd_recipient_restrictions = permit_sasl_authenticated\n"),
            ("/etc/postfix/master.cf", "smtp inet n - y - - smtpd\n"),
        ]);
        assert_eq!(
            OpenRelay.check(&h)[0].title,
            "Postfix service smtp is an open relay"
        );
    }

    #[test]
    fn defaults_and_debian_settings_are_closed() {
        let h = host(&[
            ("/etc/postfix/main.cf", "smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated defer_unauth_destination\nmynetworks = 127.0.0.0/8 [::1]/128\n"),
            ("/etc/postfix/master.cf", "smtp inet n - y - - smtpd\nsubmission inet n - y - - smtpd\n  -o smtpd_recipient_restrictions=\n  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n"),
        ]);
        assert!(OpenRelay.check(&h).is_empty());
        assert!(OpenRelay
            .check(&host(&[("/etc/postfix/main.cf", "myhostname = a.b\n")]))
            .is_empty());
    }
}
