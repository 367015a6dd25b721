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
//! the summary. In web logs without the HttpProxy columns (IIS, a reverse proxy's access log)
//! the route is in a cookie no log keeps: there the exploit's and the scanners' request for a
//! static resource straight under `/ecp/` (`y.js`, `target.js`, `default.flt`, `main.css`) or
//! `/owa/auth/` (`x.js`) is read instead — answered 2xx a likely success (critical), refused
//! an attempt (medium). One finding per client address. **ATT&CK**: T1190 (Exploit Public-Facing
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

/// Whether a request is the static-resource shape of ProxyLogon's exploits and scanners: a
/// file name straight under `/ecp/` (`y.js`, `target.js`, `default.flt`, `main.css`) or
/// `/owa/auth/` (`x.js`), which Exchange never serves there (its own scripts sit in versioned
/// folders); the forged route rides in a cookie the log does not keep.
pub fn static_probe(r: &super::web::Req) -> bool {
    let (dir, name) = match r.path.rsplit_once('/') {
        Some(p) => p,
        None => return false,
    };
    match dir {
        "/ecp" => [".js", ".flt", ".css"].iter().any(|e| name.ends_with(e)),
        "/owa/auth" => name.ends_with(".js"),
        _ => false,
    }
}

#[derive(Default)]
struct Hits {
    group: Group,
    reset_ok: u64,
    /// Requests with a forged anchor.
    forged: u64,
    /// Static-resource probes answered 2xx.
    probes_answered: u64,
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
    fn kinds(&self) -> super::Kinds {
        super::Kinds::of(&[Kind::HttpRequest])
    }

    fn observe(&mut self, f: &Fact) {
        let Some(d) = detail_of(f, Kind::HttpRequest) else {
            return;
        };
        let Some(reset) = d.anchor.as_deref().and_then(forged) else {
            if let Some(r) = super::web::request(f).filter(|r| static_probe(r)) {
                let ip = f.src_ip().unwrap_or("unknown").to_string();
                let h = self.by_ip.entry(ip).or_default();
                h.group.add(f);
                h.group.names.insert(r.shown.clone());
                if r.answered() {
                    h.probes_answered += 1;
                }
            }
            return;
        };
        let ip = f.src_ip().unwrap_or("unknown").to_string();
        let h = self.by_ip.entry(ip).or_default();
        h.forged += 1;
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
                let (severity, title, what) = if h.forged > 0 {
                    (
                        Severity::Critical,
                        "ProxyLogon server-side request forgery",
                        format!("{} request(s) with a forged AnchorMailbox (ServerInfo~…) routed to the back end", h.forged),
                    )
                } else if h.probes_answered > 0 {
                    (
                        Severity::Critical,
                        "ProxyLogon (CVE-2021-26855) request answered",
                        format!("{} request(s) for static resources under /ecp/ or /owa/auth/ that Exchange does not serve there (ProxyLogon's exploit and scanner shape; the forged route rides in a cookie), {} answered 2xx: likely success", h.group.count, h.probes_answered),
                    )
                } else {
                    (
                        Severity::Medium,
                        "ProxyLogon (CVE-2021-26855) attempted",
                        format!("{} request(s) for static resources under /ecp/ or /owa/auth/ that Exchange does not serve there (ProxyLogon's exploit and scanner shape), none answered 2xx: attempt", h.group.count),
                    )
                };
                h.group.finding(
                    "exchange.proxylogon_ssrf",
                    severity,
                    vec!["T1190"],
                    format!("{title} from {ip}"),
                    format!("{what}: {}{reset}", some(&h.group.names, 6)),
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
    fn static_probes_in_plain_web_logs() {
        use crate::detect::rules::web::{request, tests::iis};
        let r = |l: &str| request(&iis(l)).unwrap();
        // nmap's http-vuln-cve2021-26855 request and the public exploits' POSTs.
        assert!(static_probe(&r("2021-03-05 10:00:00 10.0.0.5 GET /owa/auth/x.js - 443 - 203.0.113.9 Mozilla/5.0 - 404 0 0 5")));
        assert!(static_probe(&r("2021-03-05 10:00:00 10.0.0.5 POST /ecp/y.js - 443 - 203.0.113.9 ExchangeServicesClient/0.0.0.0 - 200 0 0 5")));
        assert!(static_probe(&r("2021-03-05 10:00:00 10.0.0.5 POST /ecp/default.flt - 443 - 203.0.113.9 python-requests/2.25.1 - 241 0 0 5")));
        // Exchange's own scripts sit in versioned folders.
        assert!(!static_probe(&r("2021-03-05 10:00:00 10.0.0.5 GET /owa/auth/15.1.2176/scripts/premium/flogon.js - 443 - 192.0.2.20 Mozilla/5.0 - 200 0 0 5")));
        assert!(!static_probe(&r("2021-03-05 10:00:00 10.0.0.5 GET /ecp/15.1.2176/scripts/common.js - 443 alice 192.0.2.20 Mozilla/5.0 - 200 0 0 5")));
    }

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
