//! Exim's side of `persistence.transport`: a `manualroute` router for the local domains (or
//! every domain) whose `route_list`/`route_data` names a public address; the entries of the
//! `lsearch` files its `route_data` looks up (Debian's `hubbed_hosts`), judged like a Sendmail
//! `mailertable` entry. A smarthost for remote domains is not a finding.

use super::{finding, judge_route};
use crate::detect::finding::Finding;
use crate::detect::host::{public_literal, Cites, Host};

/// The Exim routers that send local mail to a public address.
pub(super) fn routes(host: &Host) -> Vec<Finding> {
    let mut out = Vec::new();
    for e in &host.exim {
        for r in e
            .routers
            .iter()
            .filter(|r| r.get("driver") == Some("manualroute"))
        {
            out.extend(looked_up(host, r));
            let domains = r.get("domains").unwrap_or("*");
            let local = domains.split(':').any(|d| {
                let d = d.trim();
                d == "*" || d == "+local_domains" || host.domains.own.iter().any(|o| o == d)
            });
            let Some((route, at)) = r.options.get("route_list").or(r.options.get("route_data"))
            else {
                continue;
            };
            // The hosts of `route_list`'s `domain-pattern hosts [options]` items (or of
            // `route_data`): public literals, and for the own domains outside host names.
            let hops: Vec<String> = route
                .split([' ', ':', ';'])
                .map(str::trim)
                .filter(|h| !h.is_empty() && !h.contains('$') && !h.contains('{'))
                .filter_map(|h| match public_literal(h) {
                    Some((ip, _)) => Some(ip),
                    None => judge_route(host, "", h).map(|_| h.to_string()),
                })
                .filter(|h| !matches!(h.as_str(), "*" | "byname" | "bydns" | "randomize"))
                .collect();
            if !local || hops.is_empty() {
                continue;
            }
            let c = Cites::one(&host.conf, &at.0, Some(at.1));
            out.push(finding(
                c,
                format!(
                    "Exim router {} sends local mail to {}",
                    r.name,
                    hops.join(", ")
                ),
                format!(
                "router {} (driver = manualroute, domains = {domains}) in {} routes the mail to {}",
                r.name,
                at.0,
                hops.join(", ")
            ),
            ));
        }
    }
    for e in &host.exim {
        for t in e
            .transports
            .iter()
            .filter(|t| t.get("driver") == Some("smtp"))
        {
            for option in ["hosts", "hosts_override"] {
                let Some((hosts, at)) = t.options.get(option) else {
                    continue;
                };
                let ips: Vec<String> = hosts
                    .split([':', ' '])
                    .filter_map(|h| public_literal(h.trim()).map(|(ip, _)| ip))
                    .collect();
                if ips.is_empty() {
                    continue;
                }
                out.push(finding(
                    Cites::one(&host.conf, &at.0, Some(at.1)),
                    format!("Exim transport {} sends mail to {}", t.name, ips.join(", ")),
                    format!(
                        "transport {} (driver = smtp) in {}: {option} = {hosts}: the mail it carries passes a public address",
                        t.name, at.0
                    ),
                ));
            }
        }
    }
    out
}

/// The entries of the `lsearch` files a manualroute router's `route_data` looks up
/// (`domain: host : host`).
fn looked_up(host: &Host, r: &crate::hostconf::exim::Router) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some((data, at)) = r.options.get("route_data") else {
        return out;
    };
    for path in crate::hostconf::exim::lsearch_files(data) {
        let Some(f) = host.conf.get(&path) else {
            continue;
        };
        for x in crate::hostconf::exim::lsearch(&f.text()) {
            let hops = x.value.split([':', ' ', ';', ',']).map(str::trim);
            let Some((hop, why)) = hops
                .filter(|h| !h.is_empty())
                .find_map(|h| judge_route(host, &x.key, h).map(|w| (h.to_string(), w)))
            else {
                continue;
            };
            let mut c = Cites::one(&host.conf, &at.0, Some(at.1));
            c.add(&host.conf, &path, x.line);
            out.push(finding(
                c,
                why,
                format!(
                    "{path} line {}: {} -> {} (looked up by Exim router {}): mail goes to {hop}",
                    x.line.unwrap_or(0),
                    x.key,
                    x.value,
                    r.name
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::detect::rules::config_tests::{cited, cites, host};

    /// Debian's stock template (exim4-config 4.96, from the Exim live run's fixtures) with an
    /// own domain hubbed to a public address in `/etc/exim4/hubbed_hosts`.
    #[test]
    fn hubbed_hosts_entries() {
        let template =
            include_str!("../../../../tests/fixtures/exim-live/etc/exim4/exim4.conf.template");
        let files = |hubbed: &'static str| {
            host(&[
                ("/etc/mailname", "mx.lab.example\n"),
                (
                    "/etc/exim4/update-exim4.conf.conf",
                    "dc_other_hostnames='lab.example'\ndc_use_split_config='false'\n",
                ),
                ("/etc/exim4/exim4.conf.template", template),
                ("/etc/exim4/hubbed_hosts", hubbed),
            ])
        };
        let partner =
            "# hubbed\npartner.example: mx.partner.example\nlists.lab.example: 10.0.0.7\n";
        assert!(super::routes(&files(partner)).is_empty());
        let planted = "partner.example: mx.partner.example\nlab.example: 203.0.113.5\n";
        assert_eq!(
            cited(super::routes(&files(planted))),
            [(
                "Mail for lab.example is routed to 203.0.113.5".to_string(),
                cites(&[
                    ("etc/exim4/exim4.conf.template", &[1041]),
                    ("etc/exim4/hubbed_hosts", &[2])
                ])
            )]
        );
    }
}
