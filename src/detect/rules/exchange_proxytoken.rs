//! `exchange.proxytoken` — ProxyToken (CVE-2021-33766): an unauthenticated request to the
//! ECP of another user's mailbox (`/ecp/victim@corp/RulesEditor/InboxRules.svc/NewObject`)
//! carrying a `SecurityToken` cookie, which Exchange's delegated authentication let through
//! without checking: the attacker adds a forwarding inbox rule to any mailbox.
//!
//! **Why**: a silent copy of a victim's mail, no password needed (ZDI, August 2021). **How**:
//! a request whose path is `/ecp/<address>/…` (an `@` in the first segment) to a
//! `RulesEditor/InboxRules.svc` method, with no authenticated user logged. An
//! administrator who opens another user's options (`/ecp/alice@corp/…`) is logged with their
//! own account and is not matched. **Attempt or success** ([`super::web`]): refused is an
//! attempt (medium); answered 2xx a possible success (high); answered and followed by an
//! inbox rule or forwarding finding a likely success (critical). The mailbox in the path is
//! named as the victim. One finding per client address. **ATT&CK**: T1190, T1114.003 (email
//! forwarding rule). **Phase**: initial access. **False positives**: none known for the
//! unauthenticated shape.

use super::web::{Exploit, Report, Req};
use super::Thresholds;

/// The victim mailbox of a ProxyToken request, if `r` is one.
pub fn victim(r: &Req) -> Option<&str> {
    if r.user.is_some() {
        return None;
    }
    let rest = r.path.strip_prefix("/ecp/")?;
    let (mailbox, tail) = rest.split_once('/')?;
    (mailbox.contains('@') && tail.starts_with("ruleseditor/inboxrules.svc")).then_some(mailbox)
}

const REPORT: Report = Report {
    rule: "exchange.proxytoken",
    what: "ProxyToken (CVE-2021-33766)",
    attack: &["T1190", "T1114.003"],
    steps: &[
        "isolate.block_ips",
        "clean.patch_exchange",
        "clean.remove_mailbox_rules",
    ],
};

/// The rule.
pub fn new(_t: &Thresholds) -> Exploit {
    Exploit::new(
        REPORT,
        |r| victim(r).is_some(),
        |r| victim(r).map(str::to_string),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rules::web::request;
    use crate::detect::rules::web::tests::iis;

    #[test]
    fn unauthenticated_ecp_of_another_mailbox() {
        // The request of ZDI's ProxyToken write-up (August 2021), as IIS logs it (no user).
        let r = request(&iis("2021-08-30 10:00:00 10.0.0.5 POST /ecp/victim@corp.example/RulesEditor/InboxRules.svc/NewObject msExchEcpCanary=x 443 - 203.0.113.60 python-requests/2.26.0 - 200 0 0 40")).unwrap();
        assert_eq!(victim(&r), Some("victim@corp.example"));
        // An administrator editing a user's rules is logged as themself.
        let admin = request(&iis("2021-08-30 11:00:00 10.0.0.5 POST /ecp/alice@corp.example/RulesEditor/InboxRules.svc/NewObject msExchEcpCanary=y 443 CORP\\admin 10.0.0.20 Mozilla/5.0 - 200 0 0 40")).unwrap();
        assert_eq!(victim(&admin), None);
        // A user's own rules page has no address in the path.
        let own = request(&iis("2021-08-30 11:00:00 10.0.0.5 POST /ecp/RulesEditor/InboxRules.svc/NewObject msExchEcpCanary=z 443 - 192.0.2.20 Mozilla/5.0 - 200 0 0 40")).unwrap();
        assert_eq!(victim(&own), None);
    }
}
