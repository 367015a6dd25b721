//! `webmail.roundcube_rce` — Roundcube's post-authentication PHP object deserialisation
//! (CVE-2025-49113): a settings upload whose `_from` parameter is not a plain action name
//! (`/?_task=settings&_action=upload&_from=edit-!…`), which Roundcube up to 1.6.10 / 1.5.9
//! wrote into the session and later unserialised — code execution as the web server.
//!
//! **Why**: public within days of the fix (June 2025) and used against exposed webmail; one
//! phished mailbox password is enough. **How**: a request with `_task=settings`,
//! `_action=upload` and a `_from` value outside the characters the fix allows (`[A-Za-z0-9_.-]`,
//! the check Roundcube 1.6.11 added), after decoding. Roundcube's own uploads — attachments
//! (`_task=mail&_action=upload`), identity images (`_from=edit-identity`), the responses
//! editor — carry plain names and are not matched. **Attempt or success** ([`super::web`]):
//! refused is an attempt (medium); answered 2xx a possible success (high, the usual answer of
//! a vulnerable server); answered and followed by a planted entry (a web shell answered) a
//! likely success (critical). The logged user, when the log has one, is the stolen login.
//! One finding per client address. **ATT&CK**: T1190, T1078. **Phase**: initial access.
//! **False positives**: none known.

use super::web::{logged_user, Exploit, Report, Req};
use super::Thresholds;

/// Whether `r` is the CVE-2025-49113 upload: a settings upload with a `_from` value that is
/// not `[A-Za-z0-9_.-]+`.
pub fn is_exploit(r: &Req) -> bool {
    if r.param("_task") != Some("settings") || r.param("_action") != Some("upload") {
        return false;
    }
    r.param("_from").is_some_and(|from| {
        from.is_empty()
            || !from
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    })
}

const REPORT: Report = Report {
    rule: "webmail.roundcube_rce",
    what: "Roundcube deserialisation (CVE-2025-49113)",
    attack: &["T1190", "T1078"],
    steps: &[
        "isolate.block_ips",
        "clean.patch_webmail",
        "clean.reset_credentials",
    ],
};

/// The rule.
pub fn new(_t: &Thresholds) -> Exploit {
    Exploit::new(REPORT, is_exploit, logged_user)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rules::web::request;
    use crate::detect::rules::web::tests::iis;

    fn req(q: &str) -> Req {
        Req::clone(&request(&iis(&format!(
            "2025-06-05 10:00:00 10.0.0.5 POST /roundcube/ {q} 443 - 203.0.113.80 Mozilla/5.0 - 200 0 0 20"
        )))
        .unwrap())
    }

    #[test]
    fn the_exploit_and_roundcubes_own_uploads() {
        // The published proof of concept's request (the gadget rides in the upload's file
        // name; `_from` carries the `!` that breaks the session).
        assert!(is_exploit(&req(
            "_from=edit-!%C2%B5&_task=settings&_action=upload&_id=1&_uploadid=upload1749190777535&_unlock=loading1749190777536"
        )));
        assert!(is_exploit(&req(
            "_task=settings&_action=upload&_from=edit-%21xx"
        )));
        for legit in [
            "_task=mail&_action=upload&_id=4b1f&_uploadid=upload1&_from=compose",
            "_task=settings&_action=upload&_from=edit-identity&_id=1",
            "_task=settings&_action=upload&_from=add-response",
            "_task=settings&_action=upload-display&_from=edit-identity",
        ] {
            assert!(!is_exploit(&req(legit)), "{legit}");
        }
    }
}
