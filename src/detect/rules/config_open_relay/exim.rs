//! Exim's side of `config.open_relay`: `hostlist relay_from_hosts` of `*` or of public
//! networks (Debian's `dc_relay_nets`), and ACL `accept hosts =` lines naming public networks,
//! read through [`crate::hostconf::exim`] (the configuration Debian builds from, macros
//! expanded).

use super::finding;
use crate::detect::finding::{Finding, Severity};
use crate::detect::host::{public_literal, Cites, Host};

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
pub(super) fn relay(host: &Host) -> Vec<Finding> {
    let mut out = Vec::new();
    let public = |item: &str| {
        let addr = item
            .split('/')
            .next()
            .unwrap_or(item)
            .trim_start_matches('!');
        public_literal(addr).is_some()
    };
    for e in &host.exim {
        if let Some((_, v, at)) = e.lists.get("relay_from_hosts") {
            if exim_list(v).iter().any(|i| i == "*") {
                let c = Cites::one(&host.conf, &at.0, Some(at.1));
                out.push(finding(
                    &c,
                    Severity::High,
                    "Exim relays for every host".into(),
                    format!(
                        "hostlist relay_from_hosts = {v} ({}) lets any client relay",
                        at.0
                    ),
                ));
            }
            let nets: Vec<String> = exim_list(v).into_iter().filter(|i| public(i)).collect();
            if !nets.is_empty() {
                let mut c = Cites::one(&host.conf, &at.0, Some(at.1));
                // Debian: the list is `MAIN_RELAY_NETS`, set by `dc_relay_nets`.
                if let Some(d) = e.debian.get("MAIN_RELAY_NETS") {
                    c.add(&host.conf, &d.0, Some(d.1));
                }
                out.push(finding(
                    &c,
                    Severity::High,
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
            out.push(finding(&c, Severity::Medium,
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
