//! Webmail requests that read mail out of a mailbox, recognised in access-log lines: the
//! request becomes a `mailbox_access` event (instead of an `http_request`) when it was
//! answered 2xx.
//!
//! Roundcube (`/?_task=mail&…`, any install path):
//! - `_action=viewsource` — the whole message as raw source; with `_save=1` saved as an
//!   `.eml` file (`download`), else shown (`view_source`);
//! - `_action=get` with `_download=1` — an attachment saved (`download`);
//! - `_action=plugin.zipdownload.messages` — messages saved as a zip or mbox (`export`; which
//!   and how many is in the POST body, which the log does not keep);
//!   `plugin.zipdownload.attachments` — every attachment of one message (`download`);
//! - `_action=show` / `preview` — one message opened (`view`).
//!
//! The folder (`_mbox`) goes in `folders`; one message in `messages` (none for an export);
//! the response size in `bytes`. The access log names no account: the rules attribute the
//! request to the webmail login from the same address ([`crate::detect::rules::mail_access`]).
//! To add another webmail: a function like [`roundcube`] and one line in [`access`].

use crate::events::detail::Detail;

/// The access a request made, if it read mail: `(action, folder, one message)`.
pub fn access(method: &str, query: Option<&str>) -> Option<(&'static str, Option<String>, bool)> {
    if !matches!(method, "GET" | "POST") {
        return None;
    }
    roundcube(query?)
}

/// A query parameter's value (`&`-separated, already unescaped by the access-log reader).
fn param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

fn roundcube(query: &str) -> Option<(&'static str, Option<String>, bool)> {
    if param(query, "_task") != Some("mail") {
        return None;
    }
    let folder = param(query, "_mbox")
        .filter(|m| !m.is_empty())
        .map(str::to_string);
    let saved = |p: &str| param(query, p).is_some_and(|v| v == "1");
    let action = match param(query, "_action")? {
        "viewsource" if saved("_save") => ("download", true),
        "viewsource" => ("view_source", true),
        "get" if saved("_download") => ("download", true),
        "plugin.zipdownload.messages" => ("export", false),
        "plugin.zipdownload.attachments" => ("download", true),
        "show" | "preview" => ("view", true),
        _ => return None,
    };
    Some((action.0, folder, action.1))
}

/// Turns an access line's detail into a mailbox access's, when the request read mail.
pub fn detail(d: &mut Detail, status: u16) -> bool {
    if !(200..300).contains(&status) {
        return false;
    }
    let Some((action, folder, one)) = access(d.method.as_deref().unwrap_or(""), d.query.as_deref())
    else {
        return false;
    };
    d.action = Some(action.into());
    d.folders = folder.into_iter().collect();
    d.messages = one.then_some(1);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundcube_reads() {
        let q = |s: &str| access("GET", Some(s));
        assert_eq!(
            q("_task=mail&_uid=42&_mbox=INBOX&_action=show"),
            Some(("view", Some("INBOX".into()), true))
        );
        assert_eq!(
            q("_task=mail&_uid=7&_mbox=%E5%90%88%E5%90%8C&_action=viewsource&_save=1").map(|a| a.0),
            Some("download")
        );
        assert_eq!(
            q("_task=mail&_action=get&_uid=7&_mbox=INBOX&_part=2&_download=1").map(|a| a.0),
            Some("download")
        );
        assert_eq!(
            access(
                "POST",
                Some("_task=mail&_action=plugin.zipdownload.messages")
            ),
            Some(("export", None, false))
        );
        // The message list, a compose page, settings: not reading a message.
        assert_eq!(q("_task=mail&_action=list&_mbox=INBOX"), None);
        assert_eq!(q("_task=settings&_action=plugin.managesieve"), None);
        assert_eq!(access("HEAD", Some("_task=mail&_action=show")), None);
    }
}
