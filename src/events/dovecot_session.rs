//! What a Dovecot mail session did inside a mailbox: the counters a session logs when it ends
//! and the `mail_log` plugin's lines, as `mailbox_access` and `mailbox_change` events.
//!
//! - **Session end.** IMAP's default `imap_logout_format` (2.2.24 and later, 2.3, 2.4) is `in=%i
//!   out=%o deleted=%{deleted} expunged=%{expunged} trashed=%{trashed}
//!   hdr_count=%{fetch_hdr_count} hdr_bytes=%{fetch_hdr_bytes} body_count=%{fetch_body_count}
//!   body_bytes=%{fetch_body_bytes}` after `Logged out`, `Disconnected: Logged out`,
//!   `Disconnected for inactivity`, `Connection closed (…)`; POP3's default
//!   `pop3_logout_format` is `top=%t/%p, retr=%r/%b, del=%d/%m, size=%s` (TOP count/bytes,
//!   RETR count/bytes, DELE count / messages in the mailbox, mailbox size). A session end
//!   with any of these counters is a `mailbox_access` with `action: session`: `messages` the
//!   bodies fetched (`body_count`, RETR), `bytes` their bytes, `listed` the header-only fetches
//!   (`hdr_count`, TOP), `deleted`, `expunged`, and for POP3 `mailbox_messages` /
//!   `mailbox_bytes`. A session end without counters (a custom format) stays a `disconnect`.
//! - **`mail_log` plugin** (`mail_plugins = $mail_plugins mail_log notify`): `expunge: box=…,
//!   uid=…, msgid=<…>, size=…` (one line per message), `delete:` (flagged `\Deleted`), `copy
//!   from SRC: box=DST, …`, `Mailbox created: X`, `Mailbox deleted: X`, `Mailbox renamed: A ->
//!   B` → `mailbox_change` with `action` `expunge`, `delete`, `copy`, `create`,
//!   `folder_delete`, `rename`, one message each, `folders` the folder(s), `bytes` the size and
//!   the message id as `queue_id`. `save`, `undelete`, `flag_change` and `autoexpunge` (the
//!   server's own expiry) are ignored.
//!
//! Dovecot 2.3's default `mail_log_prefix` (`%s(%u)<%{pid}><%{session}>: `) names the session
//! id; the login line names it too (`session=<…>`), so [`crate::parse::correlate`] gives these
//! events the login's client address. To read a new counter: a key in [`counters`] and a field
//! in [`crate::events::detail::Detail`].

use super::detail::Detail;
use super::record::{Kind, Parsed};

/// The session id of a 2.3+ mail process (`imap(bob)<5268><P9DaP/FhE79/AAAB>` →
/// `P9DaP/FhE79/AAAB`).
pub fn session_of(process: &str) -> Option<&str> {
    let after = &process[process.rfind(')')? + 1..];
    let mut groups = after.split('<').skip(1).map(|g| g.strip_suffix('>'));
    let _pid = groups.next()??;
    let sid = groups.next()??;
    (!sid.is_empty()).then_some(sid)
}

/// A `key=value` number of a logout line.
fn number(v: &str) -> Option<u64> {
    v.parse().ok()
}

/// `a/b` → (a, b).
fn pair(v: &str) -> Option<(u64, u64)> {
    let (a, b) = v.split_once('/')?;
    Some((number(a)?, number(b)?))
}

/// The session-end counters of a logout line, in a detail (none when the line has none).
pub fn counters(rest: &str) -> Option<Detail> {
    let mut d = Detail {
        action: Some("session".into()),
        ..Detail::default()
    };
    let mut any = false;
    for token in rest.split([' ', ',']) {
        let Some((k, v)) = token.split_once('=') else {
            continue;
        };
        let mut set = |slot: &mut Option<u64>, n: Option<u64>| {
            if n.is_some() {
                *slot = n;
                any = true;
            }
        };
        match k {
            "body_count" => set(&mut d.messages, number(v)),
            "body_bytes" => set(&mut d.bytes, number(v)),
            "hdr_count" => set(&mut d.listed, number(v)),
            "deleted" => set(&mut d.deleted, number(v)),
            "expunged" => set(&mut d.expunged, number(v)),
            "retr" => {
                let p = pair(v);
                set(&mut d.messages, p.map(|p| p.0));
                set(&mut d.bytes, p.map(|p| p.1));
            }
            "top" => set(&mut d.listed, pair(v).map(|p| p.0)),
            "del" => {
                let p = pair(v);
                set(&mut d.deleted, p.map(|p| p.0));
                set(&mut d.mailbox_messages, p.map(|p| p.1));
            }
            "size" => set(&mut d.mailbox_bytes, number(v)),
            // `in=`/`out=` alone (2.2's old default) still say the session read something.
            "in" | "out" => any |= number(v).is_some(),
            _ => {}
        }
    }
    any.then_some(d)
}

/// One `mail_log` line (`expunge: box=INBOX, uid=5, …`), as a change; `None` when the line is
/// not one, `Some(None)` when it is one that says nothing about theft or cover-up.
pub fn mail_log(rest: &str) -> Option<Option<Detail>> {
    if let Some(name) = rest.strip_prefix("Mailbox created: ") {
        return Some(Some(folder_change("create", vec![name.into()])));
    }
    if let Some(name) = rest.strip_prefix("Mailbox deleted: ") {
        return Some(Some(folder_change("folder_delete", vec![name.into()])));
    }
    if let Some(names) = rest.strip_prefix("Mailbox renamed: ") {
        let folders = match names.split_once(" -> ") {
            Some((a, b)) => vec![a.into(), b.into()],
            None => vec![names.into()],
        };
        return Some(Some(folder_change("rename", folders)));
    }
    let (what, fields) = rest.split_once(": ")?;
    let (action, from) = match what {
        "expunge" | "delete" => (what, None),
        w if w.starts_with("copy from ") => ("copy", w.strip_prefix("copy from ")),
        "save" | "undelete" | "flag_change" | "autoexpunge" => return Some(None),
        _ => return None,
    };
    // The fields are `box=…, uid=…, msgid=<…>, size=…` in that order, each optional; a
    // folder name may hold `, `, so a value runs to the next `, ` that starts a known key.
    let value = |key: &str| field(fields, key);
    let mut d = folder_change(action, Vec::new());
    d.folders.extend(from.map(str::to_string));
    d.folders.extend(value("box=").map(str::to_string));
    d.messages = Some(1);
    d.bytes = value("size=").and_then(number);
    d.note = value("msgid=").map(str::to_string);
    Some(Some(d))
}

/// The keys `mail_log_fields` can log, in Dovecot's order.
const KEYS: [&str; 8] = [
    "box=", "uid=", "msgid=", "size=", "vsize=", "from=", "subject=", "flags=",
];

/// The value of `key` (`size=`) in a `mail_log` line's fields, without allocating (this runs
/// once per expunged message).
fn field<'a>(fields: &'a str, key: &str) -> Option<&'a str> {
    let at = if fields.starts_with(key) {
        0
    } else {
        fields
            .match_indices(", ")
            .map(|(i, _)| i + 2)
            .find(|i| fields[*i..].starts_with(key))?
    };
    let v = &fields[at + key.len()..];
    let end = v
        .match_indices(", ")
        .map(|(i, _)| i)
        .find(|i| KEYS.iter().any(|k| *k != key && v[i + 2..].starts_with(k)))
        .unwrap_or(v.len());
    Some(v[..end].trim_end_matches(", "))
}

fn folder_change(action: &str, folders: Vec<String>) -> Detail {
    Detail {
        action: Some(action.into()),
        folders,
        ..Detail::default()
    }
}

/// A session-process line as an event of the session of `user` (`imap(user)<pid><sid>`):
/// the session end with its counters, or a `mail_log` line; `None` when it is neither.
pub fn event<'a>(
    mut p: impl FnMut(Kind) -> Parsed<'a>,
    user: Option<&'a str>,
    process: &'a str,
    rest: &'a str,
) -> Option<Option<Parsed<'a>>> {
    let sid = session_of(process);
    let (kind, mut detail) = if let Some(change) = mail_log(rest) {
        match change {
            Some(d) => (Kind::MailboxChange, d),
            None => return Some(None),
        }
    } else if rest.starts_with("Logged out")
        || rest.starts_with("Disconnected")
        || rest.starts_with("Connection closed")
    {
        match counters(rest) {
            Some(d) => (Kind::MailboxAccess, d),
            None => return None,
        }
    } else {
        return Some(None);
    };
    let mut e = p(kind);
    e.actor = user.map(Into::into);
    e.mailbox = user.map(Into::into);
    detail.session = sid.map(str::to_string);
    if kind == Kind::MailboxChange {
        e.queue_id = detail.note.take().map(Into::into);
    } else {
        detail.note = Some(rest.split(" in=").next().unwrap_or(rest).to_string());
    }
    e.session = sid.map(Into::into);
    e.detail = Some(detail.to_text().into());
    Some(Some(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imap_session_counters() {
        let d = counters("Disconnected: Logged out in=32 out=812 deleted=0 expunged=2 trashed=0 hdr_count=4 hdr_bytes=900 body_count=17 body_bytes=48211").unwrap();
        assert_eq!(
            (d.messages, d.bytes, d.listed, d.deleted, d.expunged),
            (Some(17), Some(48211), Some(4), Some(0), Some(2))
        );
    }

    #[test]
    fn pop3_session_counters() {
        let d = counters("Disconnected: Logged out top=0/0, retr=12/530412, del=0/12, size=530412")
            .unwrap();
        assert_eq!(
            (
                d.messages,
                d.bytes,
                d.deleted,
                d.mailbox_messages,
                d.mailbox_bytes
            ),
            (Some(12), Some(530412), Some(0), Some(12), Some(530412))
        );
        assert!(counters("Disconnected: Logged out").is_none());
        // A system error's `size=` inside parentheses is not a counter.
        assert!(counters("Connection closed: read(size=1003) failed").is_none());
    }

    #[test]
    fn session_ids() {
        assert_eq!(
            session_of("imap(bob)<5268><P9DaP/FhE79/AAAB>"),
            Some("P9DaP/FhE79/AAAB")
        );
        assert_eq!(session_of("imap(bob)"), None);
        assert_eq!(session_of("imap(a<b>c)<1>"), None);
    }

    #[test]
    fn mail_log_lines() {
        let d = mail_log("expunge: box=INBOX, uid=7, msgid=<a@b>, size=2048")
            .unwrap()
            .unwrap();
        assert_eq!(d.action.as_deref(), Some("expunge"));
        assert_eq!(d.folders, ["INBOX"]);
        assert_eq!((d.messages, d.bytes), (Some(1), Some(2048)));
        assert_eq!(d.note.as_deref(), Some("<a@b>"));
        let d = mail_log("copy from INBOX: box=Old, mail, uid=, msgid=<x@y>, size=9")
            .unwrap()
            .unwrap();
        assert_eq!(d.folders, ["INBOX", "Old, mail"]);
        let d = mail_log("Mailbox renamed: A -> B").unwrap().unwrap();
        assert_eq!(d.folders, ["A", "B"]);
        assert_eq!(mail_log("flag_change: box=INBOX, uid=1"), Some(None));
        assert_eq!(mail_log("Logged out in=1"), None);
    }
}
