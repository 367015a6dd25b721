//! `exchange.proxylogon_ssrf` — CVE-2021-26855 (ProxyLogon): a request whose
//! `AnchorMailbox` routes it, unauthenticated, to a back-end URL of the attacker's choosing.
//!
//! **Why**: the first step of the ProxyLogon chain that gave attackers tens of thousands of
//! Exchange servers in 2021; every later step (admin commands, the web shell) rides on it.
//! **How** (parity with `Test-ProxyLogon.ps1`): an `http_request` whose `AnchorMailbox` is
//! like `ServerInfo~*/*`, except `ServerInfo~*/autodiscover*` and `ServerInfo~localhost*/*`
//! — but a cookie-forged anchor with the exploit's `]@` syntax
//! (`ServerInfo~a]@server:444/…`) is kept even when it names autodiscover, which the script
//! drops. The CVE-2021-27065 variant (`…Reset*VirtualDirectory#` with HTTP 200) is named in
//! the summary. One finding per client address. **ATT&CK**: T1190 (Exploit Public-Facing
//! Application). **Phase**: initial access. **Severity**: critical. **False positives**:
//! none known for the `]@` form; a plain `ServerInfo~server/path` anchor can come from
//! Exchange's own server-to-server calls, which is why localhost and autodiscover are
//! excluded.

use std::collections::BTreeMap;

use super::cloud::{detail_of, some, Group, SERVER_STEPS};
use super::{Files, Rule, Shared, Thresholds};
use crate::detect::fact::Fact;
use crate::detect::finding::{Finding, Severity};
use crate::events::record::Kind;

/// Whether an `AnchorMailbox` is a forged back-end route; and whether it is the
/// `Reset*VirtualDirectory#` variant.
pub fn forged(anchor: &str) -> Option<bool> {
    let lower = anchor.to_ascii_lowercase();
    let rest = lower.strip_prefix("serverinfo~")?;
    let (target, path) = rest.split_once('/')?;
    let exploit_syntax = target.contains("]@");
    if !exploit_syntax && (path.starts_with("autodiscover") || target.starts_with("localhost")) {
        return None;
    }
    let reset = path.contains("reset") && path.contains("virtualdirectory#");
    Some(reset)
}

#[derive(Default)]
struct Hits {
    group: Group,
    reset_ok: u64,
}

/// The rule.
pub struct Ssrf {
    by_ip: BTreeMap<String, Hits>,
}

impl Ssrf {
    /// A new rule.
    pub fn new(_t: &Thresholds) -> Self {
        Ssrf {
            by_ip: BTreeMap::new(),
        }
    }
}

impl Rule for Ssrf {
    fn observe(&mut self, f: &Fact) {
        let Some(d) = detail_of(f, Kind::HttpRequest) else {
            return;
        };
        let Some(reset) = d.anchor.as_deref().and_then(forged) else {
            return;
        };
        let ip = f.src_ip().unwrap_or("unknown").to_string();
        let h = self.by_ip.entry(ip).or_default();
        h.group.add(f);
        if let Some(u) = d.url {
            h.group.names.insert(u);
        }
        if let Some(a) = d.anchor {
            if let Some((_, path)) = a.split_once('/') {
                h.group
                    .names
                    .insert(format!("/{}", path.split('?').next().unwrap_or(path)));
            }
        }
        if reset && f.status() == Some("200") {
            h.reset_ok += 1;
        }
    }

    fn finish(&mut self, files: &Files, _shared: &Shared) -> Vec<Finding> {
        std::mem::take(&mut self.by_ip)
            .into_iter()
            .map(|(ip, h)| {
                let reset = if h.reset_ok > 0 {
                    format!(
                        "; {} answered 200 to a Reset*VirtualDirectory route (CVE-2021-27065 chain)",
                        h.reset_ok
                    )
                } else {
                    String::new()
                };
                h.group.finding(
                    "exchange.proxylogon_ssrf",
                    Severity::Critical,
                    vec!["T1190"],
                    format!("ProxyLogon server-side request forgery from {ip}"),
                    format!(
                        "{} request(s) with a forged AnchorMailbox (ServerInfo~…) routed to the back end: {}{reset}",
                        h.group.count,
                        some(&h.group.names, 6)
                    ),
                    SERVER_STEPS.to_vec(),
                    files,
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_as_test_proxylogon_judges_them() {
        assert_eq!(
            forged("ServerInfo~a]@srv.example.local:444/mapi/emsmdb/?#"),
            Some(false)
        );
        assert_eq!(
            forged("ServerInfo~a]@srv.example.local:444/autodiscover/autodiscover.xml?#"),
            Some(false)
        );
        assert_eq!(
            forged("ServerInfo~Admin@WIN-03FGEGKLSPR:444/ecp/DDI/DDIService.svc/GetList?a="),
            Some(false)
        );
        assert_eq!(
            forged("ServerInfo~a]@srv:444/ecp/DDI/DDIService.svc/SetObject?schema=ResetOABVirtualDirectory#"),
            Some(true)
        );
        assert_eq!(
            forged("ServerInfo~exch02.corp.local/autodiscover/autodiscover.xml"),
            None
        );
        assert_eq!(forged("ServerInfo~localhost/ews/exchange.asmx"), None);
        assert_eq!(forged("SMTP:alice@corp.example"), None);
    }
}
