//! `persistence.transport` — mail routed through a host the attacker controls: Postfix
//! `transport_maps` and `sender_dependent_relayhost_maps` entries, `relayhost`,
//! `content_filter`, `smtpd_milters`/`non_smtpd_milters`, and `REDIRECT`, `BCC` and `FILTER`
//! actions of header/body check tables.
//!
//! **Why**: a transport or filter rewrite copies or diverts whole domains' mail without any
//! mailbox rule; the sample host's attacker put one in the compiled `transport.db` only.
//! **How**: next hops that are public IP literals ([`crate::detect::host::public_literal`]:
//! anything outside RFC 1918, loopback, link-local and ULA), milters and filters on such
//! addresses, and check actions to outside addresses; tables are read as Postfix reads them
//! (compiled first). Private next hops and host names (a smarthost, a partner's MX) are not
//! findings. **Severity**: high. **ATT&CK**: T1114.003 (Email Forwarding Rule), T1557
//! (Adversary-in-the-Middle). **False positives**: a smarthost or cloud filter configured by IP
//! literal — verify the address belongs to your provider.

mod exim;
mod sendmail;

use super::super::host::{public_literal, Cites, ConfigRule, Host};
use crate::detect::finding::{Finding, Severity};
use crate::hostconf::maps::{targets, Syntax, Target};

/// The rule.
pub struct Transport;

const HOP_MAPS: &[&str] = &["transport_maps", "sender_dependent_relayhost_maps"];
const HOP_PARAMS: &[&str] = &[
    "relayhost",
    "content_filter",
    "smtpd_milters",
    "non_smtpd_milters",
];
const CHECKS: &[&str] = &[
    "header_checks",
    "body_checks",
    "mime_header_checks",
    "nested_header_checks",
    "smtp_header_checks",
    "milter_header_checks",
    "smtpd_end_of_data_restrictions",
];

/// A finding of this rule.
fn finding(c: Cites, title: String, summary: String) -> Finding {
    c.finding(
        "persistence.transport",
        Severity::High,
        vec!["T1114.003", "T1557"],
        title,
        summary,
    )
}

/// What routing mail for `domain` (a table key: `lab.example`, `.lab.example`, `*`) to next
/// hop `hop` means, as a finding's title: a public IP literal for any domain, or an own domain
/// sent to a host outside the own domains; `None` when it is a route like any other (a
/// partner's MX by name, an internal hub).
fn judge_route(host: &Host, domain: &str, hop: &str) -> Option<String> {
    if let Some((ip, _)) = public_literal(hop) {
        return Some(format!("Mail for {domain} is routed to {ip}"));
    }
    let d = domain.trim().trim_start_matches(['.', '*']);
    let own = d.is_empty() || !host.domains.is_external(&format!("x@{d}"));
    let outside_name =
        hop.parse::<std::net::IpAddr>().is_err() && host.domains.is_external(&format!("x@{hop}"));
    (own && outside_name)
        .then(|| format!("Mail for own domain {domain} is routed to outside host {hop}"))
}

impl ConfigRule for Transport {
    fn check(&self, host: &Host) -> Vec<Finding> {
        let mut out = Vec::new();
        for pf in &host.postfix {
            for param in HOP_MAPS {
                for (map, at) in pf.maps_of(&host.conf, param, Syntax::Table) {
                    for e in map.effective() {
                        let Some((ip, port)) = public_literal(&e.value) else {
                            continue;
                        };
                        let c = Cites::entry(&host.conf, &at, &map, &e);
                        let cited = map.cite_path(&e);
                        let port = port.map(|p| format!(" port {p}")).unwrap_or_default();
                        out.push(finding(
                            c,
                            format!("Mail for {} is routed to {ip}{port}", e.key),
                            format!("{param} entry in {cited}: {} -> {}", e.key, e.value),
                        ));
                    }
                }
            }
            let mut settings = Vec::new();
            for param in HOP_PARAMS {
                settings.push((*param, pf.setting(None, param)));
                for s in &pf.services {
                    if s.overrides.contains_key(*param) {
                        settings.push((*param, pf.setting(Some(s), param)));
                    }
                }
            }
            for (param, (value, at)) in settings {
                let Some((path, line)) = at else { continue };
                for hop in crate::hostconf::postfix::list(&value) {
                    if let Some((ip, _)) = public_literal(&hop) {
                        let c = Cites::one(&host.conf, &path, Some(line));
                        out.push(finding(
                            c,
                            format!("{param} sends mail through {ip}"),
                            format!("{param} = {value}: mail passes a public address"),
                        ));
                    }
                }
            }
            for param in CHECKS {
                for (map, at) in pf.maps_of(&host.conf, param, Syntax::Patterns) {
                    for e in map.effective() {
                        let mut words = e.value.split_whitespace();
                        let action = words.next().unwrap_or("").to_ascii_uppercase();
                        let arg = words.next().unwrap_or("");
                        let bad = match action.as_str() {
                            "REDIRECT" | "BCC" => targets(arg).iter().any(
                                |t| matches!(t, Target::Address(a) if host.domains.is_external(a)),
                            ),
                            "FILTER" => public_literal(arg).is_some(),
                            _ => false,
                        };
                        if !bad {
                            continue;
                        }
                        let c = Cites::entry(&host.conf, &at, &map, &e);
                        out.push(finding(
                            c,
                            format!("{param} {action} to {arg}"),
                            format!("{param} rule /{}/ {} diverts matching mail", e.key, e.value),
                        ));
                    }
                }
            }
        }
        out.extend(exim::routes(host));
        out.extend(sendmail::routes(host));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rules::config_tests::{cited, cites, host, Cited};

    #[test]
    fn public_next_hops_filters_and_check_actions() {
        let h = host(&[
            ("/etc/mailname", "lab.example\n"),
            ("/etc/postfix/main.cf", "transport_maps = hash:/etc/postfix/transport\nheader_checks = regexp:/etc/postfix/header_checks\ncontent_filter = smtp:[127.0.0.1]:10024\nsmtpd_milters = inet:203.0.113.9:8891\n"),
            ("/etc/postfix/transport", "lists.lab.example smtp:[10.20.0.15]\npartner.example smtp:[203.0.113.77]:2525\n"),
            ("/etc/postfix/header_checks", "/^Subject:.*invoice/  BCC x@out.example\n/^Subject:.*viagra/ DISCARD\n"),
        ]);
        let got = cited(Transport.check(&h));
        let got: Vec<(&str, Cited)> = got.iter().map(|(t, c)| (t.as_str(), c.clone())).collect();
        let ev = cites;
        assert_eq!(
            got,
            [
                (
                    "Mail for partner.example is routed to 203.0.113.77 port 2525",
                    ev(&[
                        ("etc/postfix/main.cf", &[1]),
                        ("etc/postfix/transport", &[2])
                    ])
                ),
                (
                    "smtpd_milters sends mail through 203.0.113.9",
                    ev(&[("etc/postfix/main.cf", &[4])])
                ),
                (
                    "header_checks BCC to x@out.example",
                    ev(&[
                        ("etc/postfix/header_checks", &[1]),
                        ("etc/postfix/main.cf", &[2])
                    ])
                ),
            ]
        );
    }

    #[test]
    fn private_relays_and_smarthost_names_are_quiet() {
        let h = host(&[
            ("/etc/postfix/main.cf", "relayhost = [smtp.isp.example]:587\ncontent_filter = amavis:[127.0.0.1]:10024\ntransport_maps = hash:/etc/postfix/transport\n"),
            ("/etc/postfix/transport", "lists.lab.example smtp:[10.20.0.15]\n"),
        ]);
        assert!(Transport.check(&h).is_empty());
    }
}
