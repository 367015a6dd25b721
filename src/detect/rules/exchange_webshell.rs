//! `exchange.webshell` — requests for server-side script files an Exchange server does not
//! ship, where the 2021 attackers put their web shells, and requests with the exploit tools'
//! user agents.
//!
//! **Why**: a web shell is the persistence that survives the patch; HelseCERT's incident logs
//! show days of probing for shell names left by other groups (`errorFS.aspx`,
//! `RedirSuiteServerProxy.aspx` posing as Exchange's `RedirSuiteServiceProxy.aspx`).
//! **How**: an `http_request` for a `.aspx`/`.ashx`/`.asmx`/`.asp`/`.php`/`.jsp` file under
//! `/aspnet_client/` (which holds no scripts) or under `/owa/auth/` other than the pages
//! Exchange ships there (`logon.aspx`, `logoff.aspx`, `errorFE.aspx`, `expiredpassword.aspx`,
//! `RedirSuiteServiceProxy.aspx`, `OutlookCN.aspx`, `frowny.aspx`);
//! and a POST to `/owa/auth/` or `/ecp/` with a user agent of the
//! HAFNIUM tooling (`ExchangeServicesClient/0.0.0.0`, `python-requests/2.19.1`,
//! `python-requests/2.25.1`, `antSword`). HTTP 200 means the shell answered (access); other
//! statuses are probes. One finding per client address. **ATT&CK**: T1505.003 (Web Shell).
//! **Phase**: persistence. **Severity**: critical with an answered request, else high.
//! **False positives**: a custom page an administrator added to `owa/auth` (rare; check the
//! file on disk).

use std::collections::BTreeMap;

use super::cloud::{detail_of, some, Group, SERVER_STEPS};
use super::{Files, Rule, Shared, Thresholds};
use crate::detect::fact::Fact;
use crate::detect::finding::{Finding, Severity};
use crate::events::record::Kind;

/// Pages Exchange itself serves under `/owa/auth/` (lower-case file names).
const SHIPPED: &[&str] = &[
    "logon.aspx",
    "logoff.aspx",
    "errorfe.aspx",
    "expiredpassword.aspx",
    "redirsuiteserviceproxy.aspx",
    "outlookcn.aspx",
    "frowny.aspx",
];

/// User agents of the 2021 exploit tooling.
const TOOL_AGENTS: &[&str] = &[
    "exchangeservicesclient/0.0.0.0",
    "python-requests/2.19.1",
    "python-requests/2.25.1",
    "antsword",
];

const SCRIPTS: &[&str] = &[".aspx", ".ashx", ".asmx", ".asp", ".php", ".jsp"];

/// Why a request looks like web-shell use, if it does.
pub fn reason(url: &str, method: Option<&str>, ua: Option<&str>) -> Option<&'static str> {
    let path = url.split('?').next().unwrap_or(url).to_ascii_lowercase();
    let file = path.rsplit('/').next().unwrap_or("");
    let script = SCRIPTS.iter().any(|s| file.ends_with(s));
    if script && path.starts_with("/aspnet_client/") {
        return Some("script under /aspnet_client/");
    }
    if script && path.starts_with("/owa/auth/") && !SHIPPED.contains(&file) {
        return Some("script Exchange does not ship under /owa/auth/");
    }
    let ua = ua.unwrap_or("").to_ascii_lowercase();
    if method == Some("POST")
        && (path.starts_with("/owa/auth/") || path.starts_with("/ecp/"))
        && TOOL_AGENTS.iter().any(|t| ua.contains(t))
    {
        return Some("POST with an exploit tool's user agent");
    }
    None
}

#[derive(Default)]
struct Hits {
    group: Group,
    answered: u64,
}

/// The rule.
pub struct Webshell {
    by_ip: BTreeMap<String, Hits>,
}

impl Webshell {
    /// A new rule.
    pub fn new(_t: &Thresholds) -> Self {
        Webshell {
            by_ip: BTreeMap::new(),
        }
    }
}

impl Rule for Webshell {
    fn kinds(&self) -> super::Kinds {
        super::Kinds::of(&[Kind::HttpRequest])
    }

    fn observe(&mut self, f: &Fact) {
        let Some(d) = detail_of(f, Kind::HttpRequest) else {
            return;
        };
        let Some(url) = d.url.as_deref() else { return };
        if reason(url, d.method.as_deref(), d.ua.as_deref()).is_none() {
            return;
        }
        let h = self
            .by_ip
            .entry(f.src_ip().unwrap_or("unknown").to_string())
            .or_default();
        h.group.add(f);
        h.group
            .names
            .insert(url.split('?').next().unwrap_or(url).to_string());
        if f.status() == Some("200") {
            h.answered += 1;
        }
    }

    fn finish(&mut self, files: &Files, _shared: &Shared) -> Vec<Finding> {
        std::mem::take(&mut self.by_ip)
            .into_iter()
            .map(|(ip, h)| {
                let (sev, what) = if h.answered > 0 {
                    (Severity::Critical, "web shell access")
                } else {
                    (Severity::High, "web shell probing")
                };
                h.group.finding(
                    "exchange.webshell",
                    sev,
                    vec!["T1505.003"],
                    format!("Exchange {what} from {ip}"),
                    format!(
                        "{} request(s) ({} answered 200) for scripts Exchange does not ship: {}",
                        h.group.count,
                        h.answered,
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
    use super::reason;

    #[test]
    fn shells_probes_and_exchange_pages() {
        assert!(reason("/owa/auth/RedirSuiteServerProxy.aspx", Some("GET"), None).is_some());
        assert!(reason("/owa/auth/Current/themes/errorFS.aspx", Some("GET"), None).is_some());
        assert!(reason("/aspnet_client/system_web/x.aspx", Some("POST"), None).is_some());
        assert!(reason("/owa/auth/RedirSuiteServiceProxy.aspx", Some("GET"), None).is_none());
        assert!(reason("/owa/auth/logon.aspx", Some("POST"), None).is_none());
        assert!(reason(
            "/owa/auth/15.1.2176/themes/resources/favicon.ico",
            None,
            None
        )
        .is_none());
        assert!(reason("/ecp/y.js", Some("POST"), Some("python-requests/2.25.1")).is_some());
        assert!(reason("/ecp/y.js", None, Some("python-requests/2.25.1")).is_none());
    }
}
