//! Events: turning log lines into the normalized [`record::Event`].
//!
//! Flow for one line: [`syslog::parse`] splits the shared prefix (time, host, tag, pid,
//! message); the tag picks a daemon parser from [`DAEMONS`]; the parser returns a
//! [`fields::Parse`]; [`time::Clock`] turns the stamp into UTC. Detection never sees any of
//! this, only the resulting events.
//!
//! To add a daemon: a module with `accepts(tag, has_host)` and `parse(tag, msg)` (and `gone`
//! if it logs when a message leaves its queue), one row in [`DAEMONS`], and its lines in the
//! tests of that module and of `tests/`.

pub mod accounts;
pub mod courier;
pub mod detail;
pub mod dovecot;
pub mod dovecot_session;
pub mod exchange;
pub mod exim;
pub mod exim_spool;
pub mod fields;
pub mod opensmtpd;
pub mod postfix;
pub mod qmail;
pub mod record;
pub mod roundcube;
pub mod sendmail;
pub mod syslog;
pub mod time;
pub mod web;

use fields::Parse;
use record::{Event, Source};

/// A daemon parser: whether it takes a tag, and how it parses a message.
pub struct Daemon {
    /// Whether a syslog tag (with or without a host in the line) is this daemon's.
    pub accepts: fn(&str, bool) -> bool,
    /// The parser.
    pub parse: for<'a> fn(&'a str, &'a str) -> Parse<'a>,
    /// Whether the daemon logs to syslog's `mail` facility (so a syslog set up to write
    /// `mail.*` to its own file has its lines there too).
    pub mail_facility: bool,
    /// The queue id of a message the daemon let go of for good (Postfix `QID: removed`,
    /// Exim `QID Completed`): no later line names it, so the session join forgets it.
    pub gone: for<'a> fn(&'a str, &'a str) -> Option<&'a str>,
}

/// For daemons that log no line when a message leaves the queue.
fn never_gone<'a>(_tag: &'a str, _msg: &'a str) -> Option<&'a str> {
    None
}

/// The queue id of a message its MTA let go of for good, if `text` is the line that says so
/// (see [`Daemon::gone`]).
pub fn message_gone(text: &str) -> Option<&str> {
    let line = syslog::parse(text)?;
    let daemon = DAEMONS
        .iter()
        .find(|d| (d.accepts)(line.tag, line.host.is_some()))?;
    (daemon.gone)(line.tag, line.msg)
}

fn postfix_accepts(tag: &str, _has_host: bool) -> bool {
    postfix::is_postfix(tag)
}

fn dovecot_accepts(tag: &str, has_host: bool) -> bool {
    // `auth`: Dovecot's auth process, whose PAM module logs `pam_unix(dovecot:auth): …`
    // straight to syslog under the program's name.
    dovecot::is_dovecot(tag) || tag == "auth" || (!has_host && tag != "exim" && tag != "roundcube")
}

fn exim_accepts(tag: &str, _has_host: bool) -> bool {
    exim::is_exim(tag)
}

fn sendmail_accepts(tag: &str, _has_host: bool) -> bool {
    sendmail::is_sendmail(tag)
}

fn courier_accepts(tag: &str, _has_host: bool) -> bool {
    courier::is_courier(tag)
}

fn qmail_accepts(tag: &str, _has_host: bool) -> bool {
    qmail::is_qmail(tag)
}

fn opensmtpd_accepts(tag: &str, _has_host: bool) -> bool {
    opensmtpd::is_opensmtpd(tag)
}

fn accounts_accepts(tag: &str, _has_host: bool) -> bool {
    accounts::is_account_tool(tag)
}

fn roundcube_accepts(tag: &str, _has_host: bool) -> bool {
    roundcube::is_roundcube(tag)
}

/// Every daemon parser, tried in order.
pub const DAEMONS: &[Daemon] = &[
    Daemon {
        accepts: postfix_accepts,
        parse: postfix::parse,
        gone: postfix::gone,
        mail_facility: true,
    },
    Daemon {
        accepts: exim_accepts,
        parse: exim::parse,
        gone: exim::gone,
        mail_facility: true,
    },
    Daemon {
        accepts: sendmail_accepts,
        parse: sendmail::parse,
        gone: never_gone,
        mail_facility: true,
    },
    Daemon {
        accepts: courier_accepts,
        parse: courier::parse,
        gone: never_gone,
        mail_facility: true,
    },
    Daemon {
        accepts: qmail_accepts,
        parse: qmail::parse,
        gone: never_gone,
        mail_facility: true,
    },
    Daemon {
        accepts: opensmtpd_accepts,
        parse: opensmtpd::parse,
        gone: never_gone,
        mail_facility: true,
    },
    Daemon {
        accepts: roundcube_accepts,
        parse: roundcube::parse,
        gone: never_gone,
        mail_facility: false,
    },
    // Host account changes (shadow-utils, PAM's password changes): before Dovecot, which
    // takes every line without a host.
    Daemon {
        accepts: accounts_accepts,
        parse: accounts::parse,
        gone: never_gone,
        mail_facility: false,
    },
    Daemon {
        accepts: dovecot_accepts,
        parse: dovecot::parse,
        gone: never_gone,
        mail_facility: true,
    },
];

/// The UTC rendering of the last stamp seen: log lines come many to a second, and time-zone
/// conversion plus formatting is the dearest part of a line. A cache made with
/// [`TsCache::without_text`] leaves the text empty (detection needs only the microseconds,
/// and high-precision stamps differ on every line).
#[derive(Default)]
pub struct TsCache {
    last: Option<(syslog::Stamp, std::sync::Arc<str>, bool, i64)>,
    /// Set when times are not formatted: the one empty text every event shares.
    blank: Option<std::sync::Arc<str>>,
}

impl TsCache {
    /// A cache that converts times but never formats them.
    pub fn without_text() -> TsCache {
        TsCache {
            last: None,
            blank: Some(std::sync::Arc::from("")),
        }
    }

    /// The RFC 3339 UTC text of `stamp`, whether its year was inferred, and its microseconds
    /// since the epoch.
    pub fn get(
        &mut self,
        clock: &time::Clock,
        stamp: syslog::Stamp,
    ) -> Option<(std::sync::Arc<str>, bool, i64)> {
        // An absolute stamp without text wanted: plain arithmetic, no calendar.
        if let (syslog::Stamp::Unix { secs, nanos }, Some(b)) = (stamp, &self.blank) {
            let us = secs
                .checked_mul(1_000_000)?
                .checked_add(i64::from(nanos / 1_000))?;
            return Some((b.clone(), false, us));
        }
        if let Some((s, ts, inferred, us)) = &self.last {
            if *s == stamp {
                return Some((ts.clone(), *inferred, *us));
            }
        }
        let (t, inferred) = clock.utc(stamp)?;
        let ts: std::sync::Arc<str> = if let Some(b) = &self.blank {
            b.clone()
        } else {
            t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                .into()
        };
        let us = t.timestamp_micros();
        self.last = Some((stamp, ts.clone(), inferred, us));
        Some((ts, inferred, us))
    }
}

/// What became of one line. Returned by value once per line: boxing the event would cost an
/// allocation per line.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum LineOutcome<'a> {
    /// An event.
    Event(Event<'a>),
    /// A known mail-daemon line without an event.
    Ignored,
    /// A mail-daemon line no parser understood.
    Unparsed,
    /// A syslog line of a daemon mailir does not parse (cron, sshd …).
    Other,
    /// Not a log line of any known shape.
    NoPrefix,
}

/// Whether `text` is a syslog line of a daemon that logs to the `mail` facility.
pub fn is_mail_facility_line(text: &str) -> bool {
    syslog::parse(text).is_some_and(|line| {
        DAEMONS
            .iter()
            .find(|d| (d.accepts)(line.tag, line.host.is_some()))
            .is_some_and(|d| d.mail_facility)
    })
}

/// Whether a line without a log prefix belongs to the entry before it: an indented line (a
/// message written over several lines, a folded header) or a line of Exim's rejectlog header
/// block ([`exim::is_block_line`]). Such lines are part of that entry, not events of their own.
pub fn is_continuation(text: &str) -> bool {
    text.starts_with([' ', '\t']) || exim::is_block_line(text)
}

/// Whether an event takes the lines that follow it in its file ([`extend`]): an Exim rejection
/// after DATA (the rejectlog's header block) or configuration error (its second line).
pub fn takes_lines(e: &Event) -> bool {
    exim::is_exim(&e.service)
        && exim::takes_block(e.detail.as_deref(), e.kind, e.queue_id.is_some())
}

/// Feeds a line that follows an event [`takes_lines`] to it; returns whether it belonged to
/// the event (the first that does not ends the entry).
pub fn extend(e: &mut Event, text: &str) -> bool {
    exim::extend_block(&mut e.detail, text)
}

/// Parses one line; `source` is where it came from.
pub fn parse_line<'a>(
    text: &'a str,
    clock: &time::Clock,
    cache: &mut TsCache,
    source: Source<'a>,
    lossy: bool,
) -> LineOutcome<'a> {
    let Some(line) = syslog::parse(text) else {
        return LineOutcome::NoPrefix;
    };
    let Some(daemon) = DAEMONS
        .iter()
        .find(|d| (d.accepts)(line.tag, line.host.is_some()))
    else {
        return LineOutcome::Other;
    };
    let parsed = match (daemon.parse)(line.tag, line.msg) {
        Parse::Event(p) => p,
        Parse::Ignored => return LineOutcome::Ignored,
        Parse::Unknown => return LineOutcome::Unparsed,
    };
    let Some(kind) = parsed.kind else {
        return LineOutcome::Unparsed;
    };
    let Some((ts, inferred, ts_unix_us)) = cache.get(clock, line.stamp) else {
        return LineOutcome::Unparsed;
    };
    LineOutcome::Event(Event {
        ts,
        ts_unix_us,
        ts_year_inferred: inferred,
        host: source.host,
        log_host: line.host.map(std::borrow::Cow::Borrowed),
        service: parsed
            .service
            .unwrap_or_else(|| line.tag.to_string().into()),
        pid: line.pid,
        kind,
        proto: parsed.proto,
        src_ip: parsed.src_ip,
        src_host: parsed.src_host,
        proxy: parsed.proxy,
        actor: parsed.actor,
        mailbox: parsed.mailbox,
        sender: parsed.sender,
        recipient: parsed.recipient,
        orig_recipient: parsed.orig_recipient,
        queue_id: parsed.queue_id,
        status: parsed.status,
        relay: parsed.relay,
        detail: parsed.detail,
        utf8_lossy: lossy,
        source,
        session: parsed.session,
    })
}
