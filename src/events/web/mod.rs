//! Web-facing server logs that are not Exchange's: web-server access logs ([`access`]:
//! Apache, nginx, Jetty's NCSA request log) and Zimbra's log4j logs ([`zimbra`]:
//! `mailbox.log`, `audit.log`).
//!
//! Both are line formats recognised by content ([`crate::evidence::exports::recognise`], with
//! the line shapes in [`crate::evidence::weblines`]) and streamed by
//! [`crate::events::exchange::read`] like Exchange's line logs, into the same owned records
//! ([`crate::events::exchange::Rec`]). Access lines become `http_request` events with the
//! fields IIS and HttpProxy lines fill, so a rule on web requests reads every server alike.
//! To read another web log: its shape in `weblines`, a module here with a `line` function,
//! and one arm in the line dispatch of `exchange::read`.

pub mod access;
pub mod webmail;
pub mod zimbra;

/// The longest URL, query, user agent, referer or context value kept; longer ones are cut
/// with a marker saying how much was left out.
pub const MAX_FIELD: usize = 8192;

/// `s` kept to [`MAX_FIELD`] bytes, owned.
fn cap(s: &str) -> String {
    crate::sanitize::capped(s, MAX_FIELD).into_owned()
}
