//! Exim's side of `persistence.transport`: a `manualroute` router for the local domains (or
//! every domain) whose `route_list`/`route_data` names a public address; a smarthost for remote
//! domains is not a finding.

use super::finding;
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
            let domains = r.get("domains").unwrap_or("*");
            let local = domains.split(':').any(|d| {
                let d = d.trim();
                d == "*" || d == "+local_domains" || host.domains.own.iter().any(|o| o == d)
            });
            let Some((route, at)) = r.options.get("route_list").or(r.options.get("route_data"))
            else {
                continue;
            };
            let hops: Vec<String> = route
                .split([' ', ':', ';'])
                .filter_map(|h| public_literal(h.trim()).map(|(ip, _)| ip))
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
    out
}
