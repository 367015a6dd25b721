//! `exchange.proxynotshell` — ProxyNotShell (CVE-2022-41040 with CVE-2022-41082) and its
//! bypass OWASSRF (CVE-2022-41080 with CVE-2022-41082): an authenticated user's request that
//! forges a route to Exchange's back-end remote PowerShell and runs code through it.
//!
//! **Why**: exploited as a zero-day from August 2022 (GTSC's find) and, through OWA after
//! Microsoft's URL-rewrite mitigation, by the Play ransomware group (CrowdStrike's OWASSRF);
//! any one stolen mailbox password is enough. **How**: ProxyNotShell is the autodiscover
//! SSRF shape of `exchange.proxyshell` (`autodiscover.json`, an `@`, then a back-end path)
//! with `powershell` in it, sent by a logged, authenticated user or with the exploit's
//! `Protocol=`/`serializationLevel=` parameters and no `X-Rps-CAT` token — Microsoft's
//! mitigation blocks `.*autodiscover\.json.*\@.*Powershell.*`. OWASSRF is a request to
//! `/owa/<address>/powershell` (the mailbox address in the path, `%40` for `@`), which OWA
//! proxies to the same endpoint. **Attempt or success** ([`super::web`]): refused is an
//! attempt (medium); answered 2xx a possible success (high); answered and followed by a
//! planted entry or persistence a likely success (critical). The user the server logged is
//! named: it is a stolen login. One finding per client address. **ATT&CK**: T1190, T1078
//! (valid accounts). **Phase**: initial access. **False positives**: none known — Exchange's
//! own clients do not send either shape; administrators' remote PowerShell goes to
//! `/powershell` directly.

use super::exchange_proxyshell::autodiscover_ssrf;
use super::web::{logged_user, Exploit, Report, Req};
use super::Thresholds;

/// Whether `r` is ProxyNotShell's autodiscover shape.
pub fn is_proxynotshell(r: &Req) -> bool {
    autodiscover_ssrf(r)
        && r.query.contains("powershell")
        && !r.query.contains("x-rps-cat=")
        && (r.user.is_some()
            || r.query.contains("protocol=")
            || r.query.contains("serializationlevel="))
}

/// Whether `r` is OWASSRF's shape: `/owa/<address>/powershell`.
pub fn is_owassrf(r: &Req) -> bool {
    let Some(rest) = r.path.strip_prefix("/owa/") else {
        return false;
    };
    let mut segs = rest.split('/');
    let (Some(mailbox), Some(next)) = (segs.next(), segs.next()) else {
        return false;
    };
    mailbox.contains('@') && next == "powershell"
}

const REPORT: Report = Report {
    rule: "exchange.proxynotshell",
    what: "ProxyNotShell/OWASSRF (CVE-2022-41040, CVE-2022-41080, CVE-2022-41082)",
    attack: &["T1190", "T1078"],
    steps: &[
        "isolate.block_ips",
        "isolate.exchange_url_rewrite",
        "clean.patch_exchange",
        "clean.reset_credentials",
    ],
};

/// Either shape.
pub fn is_either(r: &Req) -> bool {
    is_proxynotshell(r) || is_owassrf(r)
}

/// The rule.
pub fn new(_t: &Thresholds) -> Exploit {
    Exploit::new(REPORT, is_either, logged_user)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::finding::Severity;
    use crate::detect::rules::exchange_proxyshell::is_proxyshell;
    use crate::detect::rules::web::request;
    use crate::detect::rules::web::tests::iis;
    use crate::detect::rules::{Files, Rule, Shared};

    fn req(line: &str) -> Req {
        Req::clone(&request(&iis(line)).expect("a request"))
    }

    #[test]
    fn shapes() {
        // The ProxyNotShell request of ZDI's and GTSC's write-ups (authenticated with a stolen
        // login), as IIS logs it.
        let pns = req("2022-09-29 10:00:00 10.0.0.5 POST /autodiscover/autodiscover.json @evil.com/Powershell?serializationLevel=Full;ExchClientVer=15.1.2044.4;clientApplication=ManagementShell;TargetServer=;PSVersion=5.1.17763.592&Email=autodiscover/autodiscover.json%3F@evil.com 443 carol@corp.example 203.0.113.50 python-requests/2.28.1 - 200 0 0 120");
        assert!(is_proxynotshell(&pns));
        assert!(!is_proxyshell(&pns));
        // The variant Microsoft's customer guidance (September 2022) describes.
        let variant = req("2022-09-30 10:00:00 10.0.0.5 GET /autodiscover/autodiscover.json @evil.com/owa/&Email=autodiscover/autodiscover.json%3F@evil.com&Protocol=XYZ&FooProtocol=Powershell 443 - 203.0.113.51 Mozilla/5.0 - 404 0 0 12");
        assert!(is_proxynotshell(&variant));
        // The OWASSRF request of CrowdStrike's December 2022 write-up.
        let owa = req("2022-12-01 12:00:00 10.0.0.5 POST /owa/mastermailbox%40outlook.com/powershell - 443 carol@corp.example 203.0.113.52 ClientInfo - 200 0 0 300");
        assert!(is_owassrf(&owa));
        // An administrator's remote PowerShell and OWA's own pages are not.
        for line in [
            "2022-12-01 09:00:00 10.0.0.5 POST /powershell clientApplication=ManagementShell;PSVersion=5.1 80 CORP\\admin 10.0.0.20 Microsoft+WinRM+Client - 200 0 0 50",
            "2022-12-01 09:00:01 10.0.0.5 POST /owa/service.svc action=GetFolder 443 alice@corp.example 192.0.2.20 Mozilla/5.0 - 200 0 0 50",
            "2022-12-01 09:00:02 10.0.0.5 GET /owa/alice@corp.example/ - 443 alice@corp.example 192.0.2.20 Mozilla/5.0 - 200 0 0 50",
        ] {
            let r = req(line);
            assert!(!is_proxynotshell(&r) && !is_owassrf(&r), "{line}");
        }
    }

    #[test]
    fn names_the_stolen_login() {
        let mut rule = new(&Thresholds::default());
        rule.observe(&iis("2022-12-01 12:00:00 10.0.0.5 POST /owa/mastermailbox%40outlook.com/powershell - 443 carol@corp.example 203.0.113.52 ClientInfo - 200 0 0 300"));
        let files: &Files = &[("u_ex.log".to_string(), None)];
        let f = rule.finish_with(files, &Shared::default(), &[]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(f[0].entities.users, ["carol@corp.example"]);
    }
}
