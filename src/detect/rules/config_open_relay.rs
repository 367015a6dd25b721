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
//! `mynetworks_style = ` … everything is open too; Exim `relay_from_hosts = *` as well.
//! **Severity**: high. **ATT&CK**: T1566 (Phishing: the relay is what abuses it).
//! **False positives**: a relay behind a firewall that only internal hosts can reach.

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
                out.push(c.finding(
                    "config.open_relay",
                    Severity::High,
                    vec!["T1566"],
                    format!("Postfix service {name} is an open relay"),
                    why,
                ));
            }
        }
        for (path, f) in host.conf.under("/etc/exim") {
            for (n, l) in crate::hostconf::numbered(&f.text()) {
                let t = l.trim();
                if t.starts_with("hostlist")
                    && t.contains("relay_from_hosts")
                    && t.split('=').nth(1).is_some_and(|v| v.trim() == "*")
                {
                    let c = Cites::one(&host.conf, path, Some(n));
                    out.push(c.finding(
                        "config.open_relay",
                        Severity::High,
                        vec!["T1566"],
                        "Exim relays for every host".into(),
                        format!("{t} lets any client relay"),
                    ));
                }
            }
        }
        out.extend(exim_relay_nets(host));
        out.extend(sendmail_access(host));
        out
    }
}

/// Sendmail's `access` map (read as sendmail reads it: the compiled `access.db` first):
/// `RELAY` for a public address or network (`Connect:203.0.113`, `203.0.113.5`) lets its
/// clients relay anywhere; `To:domain RELAY` for an outside domain relays mail to it for
/// everyone.
fn sendmail_access(host: &Host) -> Vec<Finding> {
    use crate::hostconf::maps::{Map, Syntax};
    use crate::hostconf::postfix::MapRef;
    let path = "/etc/mail/access";
    if host.conf.get(path).is_none() && host.conf.get(&format!("{path}.db")).is_none() {
        return Vec::new();
    }
    let r = MapRef {
        kind: "hash".into(),
        name: path.into(),
    };
    let map = Map::load(&host.conf, &r, Syntax::Table);
    let mut out = Vec::new();
    for e in map.effective() {
        if !e.value.trim().to_ascii_uppercase().starts_with("RELAY") {
            continue;
        }
        let key = e.key.trim();
        let (tag, what) = match key.split_once(':') {
            Some((t, w)) if !t.contains('.') && !w.is_empty() => {
                (t.to_ascii_lowercase(), w.to_string())
            }
            _ => (String::new(), key.to_string()),
        };
        let c = Cites::entry(&host.conf, &None, &map, &e);
        match tag.as_str() {
            "" | "connect" => {
                // A dotted prefix (`203.0.113`) is a network: judge its first address.
                let parts = what.split('.').count();
                let addr = if what.bytes().all(|b| b.is_ascii_digit() || b == b'.') && parts < 4 {
                    format!("{what}{}", ".0".repeat(4 - parts))
                } else {
                    what.clone()
                };
                if super::super::host::public_literal(&addr).is_none() {
                    continue;
                }
                out.push(c.finding(
                    "config.open_relay",
                    Severity::High,
                    vec!["T1566"],
                    format!("Sendmail relays for outside network {what}"),
                    format!(
                        "{path}: `{key} {}` lets clients of {what} relay to any domain",
                        e.value.trim()
                    ),
                ));
            }
            "to" if host.domains.is_external(&format!("x@{what}")) => {
                out.push(c.finding(
                    "config.open_relay",
                    Severity::Medium,
                    vec!["T1566"],
                    format!("Sendmail relays mail to outside domain {what} for anyone"),
                    format!(
                        "{path}: `{key} {}` relays mail addressed to {what} from any client",
                        e.value.trim()
                    ),
                ));
            }
            _ => {}
        }
    }
    out
}

/// The items of an Exim list (`a : b`, or `<; a ; b` with another separator; `::` is a
/// literal colon in the default form).
fn exim_list(v: &str) -> Vec<String> {
    let v = v.trim();
    if let Some(rest) = v.strip_prefix('<') {
        let mut chars = rest.chars();
        if let Some(sep) = chars.next() {
            return chars
                .as_str()
                .split(sep)
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
        }
    }
    v.replace("::", "\u{0}")
        .split(':')
        .map(|s| s.replace("\u{0}", ":").trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Exim's `relay_from_hosts` (and ACL `accept hosts =` lines) naming public networks: outside
/// clients allowed to relay.
fn exim_relay_nets(host: &Host) -> Vec<Finding> {
    let mut out = Vec::new();
    let public = |item: &str| {
        let addr = item
            .split('/')
            .next()
            .unwrap_or(item)
            .trim_start_matches('!');
        super::super::host::public_literal(addr).is_some()
    };
    for e in &host.exim {
        if let Some((_, v, at)) = e.lists.get("relay_from_hosts") {
            let nets: Vec<String> = exim_list(v).into_iter().filter(|i| public(i)).collect();
            if !nets.is_empty() {
                let mut c = Cites::one(&host.conf, &at.0, Some(at.1));
                // Debian: the list is `MAIN_RELAY_NETS`, set by `dc_relay_nets`.
                if let Some(d) = e.debian.get("MAIN_RELAY_NETS") {
                    c.add(&host.conf, &d.0, Some(d.1));
                }
                out.push(c.finding(
                    "config.open_relay",
                    Severity::High,
                    vec!["T1566"],
                    format!("Exim relays for outside networks {}", nets.join(", ")),
                    format!(
                        "relay_from_hosts ({}) lets clients of {} relay to any domain",
                        at.0,
                        nets.join(", ")
                    ),
                ));
            }
        }
        for (line, at) in &e.acl {
            let Some(hosts) = line
                .strip_prefix("accept")
                .map(str::trim)
                .and_then(|r| r.strip_prefix("hosts"))
                .and_then(|r| r.trim().strip_prefix('='))
            else {
                continue;
            };
            let nets: Vec<String> = exim_list(hosts).into_iter().filter(|i| public(i)).collect();
            if nets.is_empty() {
                continue;
            }
            let c = Cites::one(&host.conf, &at.0, Some(at.1));
            out.push(c.finding(
                "config.open_relay",
                Severity::Medium,
                vec!["T1566"],
                format!("Exim ACL accepts outside networks {}", nets.join(", ")),
                format!(
                    "`{line}` ({}): a client of {} is accepted before the relay check when it stands in acl_check_rcpt",
                    at.0,
                    nets.join(", ")
                ),
            ));
        }
    }
    out
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
