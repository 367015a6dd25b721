//! `webmail.zimbra_mboximport` — Zimbra's mailbox-import path traversal (CVE-2022-27925)
//! and its authentication bypass (CVE-2022-37042): a ZIP posted to
//! `/service/extension/backup/mboximport` whose entries climb out of the import folder and
//! land as JSP web shells in the web application (`…/webapps/zimbraAdmin/`,
//! `…/webapps/zimbra/public/`).
//!
//! **Why**: over a thousand Zimbra servers were backdoored this way in 2022 (Volexity; CISA
//! AA22-228A); no credentials needed with the bypass. **How**: a request whose path is the
//! `mboximport` servlet of the backup extension (Zimbra's nginx and mailbox logs carry it),
//! from any address; the administrators' own mailbox imports go through `zmmailbox` on the
//! server or the admin console's `/service/admin/soap`, not this URL from outside. **Attempt
//! or success** ([`super::web`]): refused is an attempt (medium); answered 2xx a possible
//! success (high); answered and followed by a web shell answered (`web.webshell`) or another
//! planted entry a likely success (critical). Where the status cannot tell (the bypass was
//! reported answering an error while the archive was unpacked), the web-shell and web-root
//! findings decide: check them before calling a 401 harmless. One finding per client address.
//! **ATT&CK**: T1190. **Phase**: initial access. **False positives**: an administrator
//! importing a mailbox with a script against this servlet from outside (rare; the finding
//! names the address).

use super::web::{no_user, Exploit, Report, Req};
use super::Thresholds;

/// Whether `r` goes to the backup extension's mailbox import servlet.
pub fn is_mboximport(r: &Req) -> bool {
    r.path.contains("/service/extension/backup/mboximport")
}

const REPORT: Report = Report {
    rule: "webmail.zimbra_mboximport",
    what: "Zimbra mboximport (CVE-2022-27925, CVE-2022-37042)",
    attack: &["T1190"],
    steps: &["isolate.block_ips", "clean.patch_webmail"],
};

/// The rule.
pub fn new(_t: &Thresholds) -> Exploit {
    Exploit::new(REPORT, is_mboximport, no_user)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rules::web::request;
    use crate::detect::rules::web::tests::iis;

    #[test]
    fn the_servlet_and_the_admin_console() {
        // The request shapes of the published exploits (CVE-2022-27925 with the admin
        // cookie; CVE-2022-37042 without), as a web log records them.
        for q in [
            "account-name=admin&ow=2&no-switch=1&append=1",
            "account-name=admin&account-status=1&ow=cmd",
        ] {
            let r = request(&iis(&format!("2022-08-10 01:02:03 10.0.0.5 POST /service/extension/backup/mboximport {q} 443 - 203.0.113.70 python-requests/2.27.1 - 401 0 0 20"))).unwrap();
            assert!(is_mboximport(&r));
        }
        let admin = request(&iis("2022-08-10 09:00:00 10.0.0.5 POST /service/admin/soap/BatchRequest - 7071 - 10.0.0.20 Mozilla/5.0 - 200 0 0 20")).unwrap();
        assert!(!is_mboximport(&admin));
    }
}
