//! `exchange.proxyshell` — ProxyShell (CVE-2021-34473, CVE-2021-34523, CVE-2021-31207): an
//! unauthenticated request to Exchange's `autodiscover.json` whose query smuggles a back-end
//! path after an `@` (`/autodiscover/autodiscover.json?@evil.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.com`),
//! reaching the back end as SYSTEM; then the remote PowerShell endpoint with a forged
//! `X-Rps-CAT` token, and a mailbox export that writes the web shell.
//!
//! **Why**: mass-exploited from August 2021 (LockFile, Conti, BlackByte); the seeds' "without
//! any credentials" exploitation. **How** (the shapes of Orange Tsai's talk, PeterJson's
//! write-up and the public scanners, as the Sentinel and Splunk content reads them): the path
//! is `…/autodiscover.json`, the decoded query has an `@` followed by a back-end path
//! (`/mapi/`, `/ews/`, `/powershell`, `/owa/`, `/ecp/`, `/oab/`), an `X-Rps-CAT` token, or the
//! exploit's own `Email=autodiscover/autodiscover.json` parameter;
//! requests with a logged, authenticated user and no `X-Rps-CAT` are ProxyNotShell's
//! (`exchange.proxynotshell`). Exchange's own `autodiscover.json?Email=alice@corp&Protocol=…`
//! has no path after the `@` and is not matched. **Attempt or success** ([`super::web`]):
//! refused is an attempt (medium); answered 2xx is a possible success (high); answered and
//! followed by a planted entry (a mailbox export to a script, a web shell answered) is a
//! likely success (critical). One finding per client address. **ATT&CK**: T1190.
//! **Phase**: initial access. **False positives**: vulnerability scanners (an attempt
//! refused by a patched server is what they leave: medium, and it names the scanner's
//! address).

use super::web::{no_user, Exploit, Report, Req};
use super::Thresholds;

/// Back-end paths a forged autodiscover request reaches.
pub const BACKENDS: &[&str] = &["/mapi/", "/ews/", "/powershell", "/owa/", "/ecp/", "/oab/"];

/// Whether `r` is the autodiscover SSRF of ProxyShell and ProxyNotShell: `autodiscover.json`
/// with a back-end path after an `@` in the query, or an `X-Rps-CAT` token.
pub fn autodiscover_ssrf(r: &Req) -> bool {
    if !r.path.ends_with("/autodiscover.json") {
        return false;
    }
    if r.query.contains("x-rps-cat=") || r.query.contains("email=autodiscover/autodiscover.json") {
        return true;
    }
    r.query
        .find('@')
        .is_some_and(|at| BACKENDS.iter().any(|b| r.query[at..].contains(b)))
}

/// Whether `r` is ProxyShell's (not ProxyNotShell's) shape.
pub fn is_proxyshell(r: &Req) -> bool {
    autodiscover_ssrf(r) && !super::exchange_proxynotshell::is_proxynotshell(r)
}

const REPORT: Report = Report {
    rule: "exchange.proxyshell",
    what: "ProxyShell (CVE-2021-34473, CVE-2021-34523, CVE-2021-31207)",
    attack: &["T1190"],
    steps: &["isolate.block_ips", "clean.patch_exchange"],
};

/// The rule.
pub fn new(_t: &Thresholds) -> Exploit {
    Exploit::new(REPORT, is_proxyshell, no_user)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::finding::Finding;
    use crate::detect::finding::Severity;
    use crate::detect::rules::web::request;
    use crate::detect::rules::web::tests::iis;
    use crate::detect::rules::{Files, Rule, Shared};

    fn req(line: &str) -> Req {
        Req::clone(&request(&iis(line)).expect("a request"))
    }

    #[test]
    fn the_chain_and_exchanges_own_autodiscover() {
        // The request shapes of the public ProxyShell exploit and scanners (Orange Tsai's
        // Black Hat 2021 talk, PeterJson's write-up; the X-Rps-CAT line is the example Splunk
        // published with its "Exchange PowerShell Abuse via SSRF" analytic), as IIS logs them.
        for line in [
            "2021-08-10 03:01:02 10.0.0.5 GET /autodiscover/autodiscover.json @evil.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.com 443 - 203.0.113.9 python-requests/2.26.0 - 200 0 0 15",
            "2021-08-10 03:01:05 10.0.0.5 POST /autodiscover/autodiscover.json a=dsxvu@fnsso.flq/powershell/?X-Rps-CAT=VgEAVAdXaW5kb3dzQwBBCEtlcmJlcm9z&Email=autodiscover/autodiscover.json%3Fa=dsxvu@fnsso.flq 443 - 203.0.113.9 python-requests/2.26.0 - 200 0 0 93",
            "2021-08-10 03:01:03 10.0.0.5 POST /autodiscover/autodiscover.json @evil.com/EWS/exchange.asmx?&Email=autodiscover/autodiscover.json%3F@evil.com 443 - 203.0.113.9 python-requests/2.26.0 - 200 0 0 31",
        ] {
            assert!(is_proxyshell(&req(line)), "{line}");
        }
        // Outlook's and ActiveSync's own autodiscover.json lookups.
        for line in [
            "2021-08-10 08:00:00 10.0.0.5 GET /autodiscover/autodiscover.json Email=alice%40corp.example&Protocol=ActiveSync&RedirectCount=1 443 - 192.0.2.20 Microsoft+Office/16.0 - 200 0 0 15",
            "2021-08-10 08:00:00 10.0.0.5 GET /autodiscover/autodiscover.json Email=alice@corp.example&Protocol=AutodiscoverV1&RedirectCount=1 443 - 192.0.2.20 Microsoft+Office/16.0 - 302 0 0 15",
            "2021-08-10 08:00:01 10.0.0.5 POST /mapi/nspi/ MailboxId=a@corp.example 443 alice@corp.example 192.0.2.20 Microsoft+Office/16.0 - 200 0 0 15",
        ] {
            assert!(!autodiscover_ssrf(&req(line)), "{line}");
        }
    }

    fn run(lines: &[&str], earlier: &[Finding]) -> Vec<Finding> {
        let mut rule = new(&Thresholds::default());
        for l in lines {
            rule.observe(&iis(l));
        }
        let files: &Files = &[("inetpub/logs/u_ex.log".to_string(), None)];
        rule.finish_with(files, &Shared::default(), earlier)
    }

    #[test]
    fn refused_answered_and_followed() {
        let refused = "2021-08-10 03:01:02 10.0.0.5 GET /autodiscover/autodiscover.json @evil.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.com 443 - 198.51.100.4 python-requests/2.26.0 - 400 0 0 15";
        let answered = "2021-08-10 03:01:02 10.0.0.5 GET /autodiscover/autodiscover.json @evil.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.com 443 - 203.0.113.9 python-requests/2.26.0 - 200 0 0 15";
        let f = run(&[refused, answered], &[]);
        let got: Vec<(&str, Severity)> = f.iter().map(|f| (f.title.as_str(), f.severity)).collect();
        assert_eq!(
            got,
            [
                (
                    "ProxyShell (CVE-2021-34473, CVE-2021-34523, CVE-2021-31207) attempted from 198.51.100.4",
                    Severity::Medium
                ),
                (
                    "ProxyShell (CVE-2021-34473, CVE-2021-34523, CVE-2021-31207) answered from 203.0.113.9",
                    Severity::High
                ),
            ]
        );
        assert!(f[0].summary.contains("attempt: refused (statuses 400)"));
        let export = Finding {
            title: "mailbox export written as a script".into(),
            first_seen: "2021-08-10T03:05:00Z".into(),
            ..Finding::of("exchange.admin_cmdlet")
        };
        let f = run(&[answered], &[export]);
        assert_eq!(f[0].severity, Severity::Critical);
        assert!(f[0]
            .summary
            .contains("then mailbox export written as a script"));
    }
}
