//! The shared syslog-prefix parser: one grammar for every daemon's lines.
//!
//! Recognised prefixes (byte-level, no regex, no backtracking):
//! - RFC 3164 / traditional: `Mar  1 02:14:07 host tag[pid]: msg` (also `Mar 01`, and
//!   `journalctl -o short-precise`'s `Mar 01 02:14:07.123456`);
//! - RFC 3339 / rsyslog high precision and `journalctl -o short-iso[-precise]`:
//!   `2026-03-01T02:14:07.123456+08:00 host tag[pid]: msg` (`Z`, `+0800` and `+08:00`);
//! - RFC 5424: `<PRI>1 2026-03-01T02:14:07Z host app procid msgid [sd] msg` (PRI optional);
//! - Dovecot's own `log_path` files: `Mar 01 02:14:07 imap-login: Info: …` (no host);
//! - daemontools' `multilog t`: `@4000000069344cf21e4b7c5c tcpserver: ok …` (TAI64N; no host,
//!   no tag: qmail's logs get the tag `multilog`, a Dovecot process its own).
//!
//! The daemon parsers get the tag and the message; the time is a [`Stamp`] that
//! [`super::time`] turns into UTC.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate};

/// A timestamp as written in the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    /// Month and day without a year, local time (RFC 3164).
    NoYear {
        /// 1–12.
        month: u32,
        /// 1–31.
        day: u32,
        /// Seconds since midnight.
        secs: u32,
        /// Fraction.
        nanos: u32,
    },
    /// A full local date and time without a zone (Exim main log).
    Local {
        /// Date.
        date: NaiveDate,
        /// Seconds since midnight.
        secs: u32,
        /// Fraction.
        nanos: u32,
    },
    /// An absolute time (the line gave its offset), as seconds and nanoseconds since the
    /// epoch: no calendar work is needed to use it.
    Unix {
        /// Seconds since the epoch.
        secs: i64,
        /// Fraction.
        nanos: u32,
    },
}

impl Stamp {
    /// The stamp of an absolute time.
    pub fn unix(t: DateTime<FixedOffset>) -> Stamp {
        Stamp::Unix {
            secs: t.timestamp(),
            nanos: t.timestamp_subsec_nanos(),
        }
    }

    /// An absolute stamp as a UTC time (`None` for local stamps, which need a clock).
    pub fn absolute(self) -> Option<DateTime<chrono::Utc>> {
        match self {
            Stamp::Unix { secs, nanos } => DateTime::from_timestamp(secs, nanos),
            _ => None,
        }
    }
}

/// A line split into its syslog parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line<'a> {
    /// When.
    pub stamp: Stamp,
    /// Reporting host, absent in a daemon's own log file.
    pub host: Option<&'a str>,
    /// Program tag (`postfix/smtpd`, `dovecot`, `imap-login`).
    pub tag: &'a str,
    /// Process id.
    pub pid: Option<u32>,
    /// The message after `tag[pid]: `.
    pub msg: &'a str,
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
}

/// `NaiveDate::num_days_from_ce` of 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i64 = 719_163;

/// Two ASCII digits at `b[i..i + 2]`.
fn two(b: &[u8], i: usize) -> Option<u32> {
    let (h, l) = (*b.get(i)?, *b.get(i + 1)?);
    (h.is_ascii_digit() && l.is_ascii_digit())
        .then(|| u32::from(h - b'0') * 10 + u32::from(l - b'0'))
}

/// Parses `HH:MM:SS[.frac]` at the start of `b`; returns (secs, nanos, bytes used).
fn clock(b: &[u8]) -> Option<(u32, u32, usize)> {
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, m, s) = (two(b, 0)?, two(b, 3)?, two(b, 6)?);
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    let mut used = 8;
    let mut nanos = 0;
    if b.get(8) == Some(&b'.') || b.get(8) == Some(&b',') {
        // Up to nine digits count (nanoseconds); further ones are read and dropped.
        let mut scale = 100_000_000u32;
        let mut i = 9;
        while let Some(d) = b.get(i).filter(|d| d.is_ascii_digit()) {
            nanos += u32::from(d - b'0') * scale;
            scale /= 10;
            i += 1;
        }
        if i == 9 {
            return None;
        }
        used = i;
    }
    Some((h * 3600 + m * 60 + s.min(59), nanos, used))
}

/// `Mar  1 02:14:07` / `Mar 01 02:14:07.123`; returns the stamp and bytes used.
fn bsd(b: &[u8]) -> Option<(Stamp, usize)> {
    let month = MONTHS.iter().position(|m| b.get(..3) == Some(&m[..]))? as u32 + 1;
    if b.get(3) != Some(&b' ') {
        return None;
    }
    let mut i = 4;
    if b.get(i) == Some(&b' ') {
        i += 1;
    }
    let dlen = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    if !(1..=2).contains(&dlen) || b.get(i + dlen) != Some(&b' ') {
        return None;
    }
    let day = digits(&b[i..i + dlen])?;
    if !(1..=31).contains(&day) {
        return None;
    }
    i += dlen + 1;
    let (secs, nanos, used) = clock(&b[i..])?;
    Some((
        Stamp::NoYear {
            month,
            day,
            secs,
            nanos,
        },
        i + used,
    ))
}

thread_local! {
    /// The last `YYYY-MM-DD` read on this thread and its date: lines come thousands to a day.
    static LAST_DATE: std::cell::Cell<Option<([u8; 10], NaiveDate)>> =
        const { std::cell::Cell::new(None) };
}

/// The date of `YYYY-MM-DD` (ten bytes), remembered from the previous line when it repeats.
fn date_of(b: &[u8]) -> Option<NaiveDate> {
    let key: [u8; 10] = b.try_into().ok()?;
    if let Some((k, d)) = LAST_DATE.get() {
        if k == key {
            return Some(d);
        }
    }
    let d = NaiveDate::from_ymd_opt(digits(&b[0..4])? as i32, two(b, 5)?, two(b, 8)?)?;
    LAST_DATE.set(Some((key, d)));
    Some(d)
}

/// `2026-03-01T02:14:07[.frac](Z|+08:00|+0800)` or, with `local`, `2026-03-01 02:14:07`.
fn iso(b: &[u8]) -> Option<(Stamp, usize)> {
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let date = date_of(&b[0..10])?;
    let sep = b[10];
    if sep != b'T' && sep != b' ' {
        return None;
    }
    let (secs, nanos, used) = clock(&b[11..])?;
    let mut i = 11 + used;
    let offset = match b.get(i) {
        Some(b'Z') | Some(b'z') => {
            i += 1;
            Some(0)
        }
        Some(&c) if c == b'+' || c == b'-' => {
            let sign = if c == b'-' { -1 } else { 1 };
            let hh = digits(b.get(i + 1..i + 3)?)? as i32;
            let (mm, len) = if b.get(i + 3) == Some(&b':') {
                (digits(b.get(i + 4..i + 6)?)? as i32, 6)
            } else {
                (digits(b.get(i + 3..i + 5)?)? as i32, 5)
            };
            i += len;
            Some(sign * (hh * 3600 + mm * 60))
        }
        _ => None,
    };
    let stamp = match offset {
        Some(off) => {
            // Plain arithmetic from the day number: a fixed offset needs no time-zone lookup.
            let days = i64::from(date.num_days_from_ce()) - UNIX_EPOCH_DAYS_FROM_CE;
            FixedOffset::east_opt(off)?;
            Stamp::Unix {
                secs: days * 86_400 + i64::from(secs) - i64::from(off),
                nanos,
            }
        }
        None => Stamp::Local { date, secs, nanos },
    };
    Some((stamp, i))
}

/// Splits `tag[pid]: msg` or `tag: msg`.
fn tag_pid_msg(s: &str) -> Option<(&str, Option<u32>, &str)> {
    let b = s.as_bytes();
    let end = memchr::memchr3(b':', b'[', b' ', b)?;
    if end == 0 {
        return None;
    }
    let tag = &s[..end];
    match b[end] {
        b'[' => {
            let close = end + 1 + memchr::memchr(b']', &b[end + 1..])?;
            let pid = digits(&b[end + 1..close]);
            let rest = s.get(close + 1..)?;
            let msg = rest.strip_prefix(": ").or_else(|| rest.strip_prefix(':'))?;
            Some((tag, pid, msg))
        }
        b':' => {
            let rest = &s[end + 1..];
            Some((tag, None, rest.strip_prefix(' ').unwrap_or(rest)))
        }
        _ => None,
    }
}

/// Dovecot process tags that appear without a host in Dovecot's own log files.
fn is_dovecot_process(tag: &str) -> bool {
    let base = tag.split(['(', '<']).next().unwrap_or(tag);
    matches!(
        base,
        "imap-login"
            | "pop3-login"
            | "submission-login"
            | "managesieve-login"
            | "auth"
            | "auth-worker"
            | "imap"
            | "pop3"
            | "lda"
            | "lmtp"
            | "submission"
            | "managesieve"
            | "master"
            | "config"
            | "doveadm"
            | "indexer-worker"
            | "stats"
    )
}

fn after_stamp(stamp: Stamp, rest: &str) -> Option<Line<'_>> {
    let rest = rest.trim_start_matches(' ');
    let first_end = memchr::memchr(b' ', rest.as_bytes()).unwrap_or(rest.len());
    let first = &rest[..first_end];
    let colon = first.ends_with(':');
    // Dovecot's own log, with the level first: `Info: imap-login: Login: …`.
    if colon
        && matches!(
            first,
            "Info:" | "Warning:" | "Error:" | "Fatal:" | "Panic:" | "Debug:"
        )
    {
        let rest2 = rest[first_end..].trim_start();
        let second_end = rest2.find(' ').unwrap_or(rest2.len());
        let second = &rest2[..second_end];
        if second.ends_with(':') && is_dovecot_process(second.trim_end_matches(':')) {
            let tag = second.trim_end_matches(':');
            return Some(Line {
                stamp,
                host: None,
                tag,
                pid: None,
                msg: rest2[second_end..].trim_start(),
            });
        }
    }
    // Dovecot's own log: the first token is the process (`imap-login:`, `lda(bob)<1><s>:`).
    if colon && is_dovecot_process(first.trim_end_matches(':')) {
        let tag = first.trim_end_matches(':');
        return Some(Line {
            stamp,
            host: None,
            tag,
            pid: None,
            msg: rest[first_end..].trim_start(),
        });
    }
    if first.is_empty() || first_end == rest.len() {
        return None;
    }
    let (tag, pid, msg) = tag_pid_msg(&rest[first_end + 1..])?;
    Some(Line {
        stamp,
        host: Some(first),
        tag,
        pid,
        msg,
    })
}

/// Roundcube's own log: `[27-Jun-2026 12:00:00 +0200]: <sess> message` (PHP `d-M-Y H:i:s O`).
fn bracketed(line: &str) -> Option<Line<'_>> {
    let close = line.find("]: ")?;
    let inner = line.get(1..close)?;
    let (date, rest) = inner.split_once(' ')?;
    let mut parts = date.split('-');
    let day = digits(parts.next()?.as_bytes())?;
    let mon = parts.next()?.as_bytes();
    let month = MONTHS.iter().position(|m| mon == &m[..])? as u32 + 1;
    let year = digits(parts.next()?.as_bytes())? as i32;
    let (secs, nanos, used) = clock(rest.as_bytes())?;
    let zone = rest[used..].trim();
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let stamp = if zone.len() == 5 && (zone.starts_with('+') || zone.starts_with('-')) {
        let z = zone.as_bytes();
        let off = (digits(&z[1..3])? * 3600 + digits(&z[3..5])? * 60) as i32;
        let tz = FixedOffset::east_opt(if z[0] == b'-' { -off } else { off })?;
        let naive = date.and_hms_nano_opt(secs / 3600, secs / 60 % 60, secs % 60, nanos)?;
        Stamp::unix(naive.and_local_timezone(tz).single()?)
    } else {
        Stamp::Local { date, secs, nanos }
    };
    Some(Line {
        stamp,
        host: None,
        tag: "roundcube",
        pid: None,
        msg: &line[close + 3..],
    })
}

/// Exim's own main log: `2026-03-01 02:14:07[.123] [+0800] [pid] message` (the date was
/// already read; an offset appears with `log_timezone`).
fn exim_main(stamp: Stamp, rest: &str) -> Option<Line<'_>> {
    let mut rest = rest.strip_prefix(' ')?;
    let mut stamp = stamp;
    let b = rest.as_bytes();
    if let (Stamp::Local { date, secs, nanos }, Some(&sign)) = (stamp, b.first()) {
        if (sign == b'+' || sign == b'-') && b.len() >= 5 && b[1..5].iter().all(u8::is_ascii_digit)
        {
            let hh = digits(&b[1..3])? as i32;
            let mm = digits(&b[3..5])? as i32;
            let off =
                FixedOffset::east_opt(if sign == b'-' { -1 } else { 1 } * (hh * 3600 + mm * 60))?;
            let naive = date.and_hms_nano_opt(secs / 3600, secs / 60 % 60, secs % 60, nanos)?;
            stamp = Stamp::unix(naive.and_local_timezone(off).single()?);
            rest = rest[5..].trim_start();
        }
    }
    let mut pid = None;
    if let Some(r) = rest.strip_prefix('[') {
        if let Some(close) = r.find(']') {
            if let Some(p) = digits(&r.as_bytes()[..close]) {
                pid = Some(p);
                rest = r[close + 1..].trim_start();
            }
        }
    }
    Some(Line {
        stamp,
        host: None,
        tag: "exim",
        pid,
        msg: rest,
    })
}

fn rfc5424(s: &str) -> Option<Line<'_>> {
    let mut rest = s;
    if rest.starts_with('<') {
        rest = &rest[rest.find('>')? + 1..];
    }
    let rest = rest.strip_prefix("1 ")?;
    let (stamp, used) = iso(rest.as_bytes())?;
    let mut parts = rest[used..].trim_start().splitn(5, ' ');
    let host = parts.next()?;
    let app = parts.next()?;
    let procid = parts.next()?;
    let _msgid = parts.next()?;
    let mut msg = parts.next().unwrap_or("");
    if msg.starts_with('-') {
        msg = msg[1..].trim_start();
    } else if msg.starts_with('[') {
        // Skip structured data `[id k="v"]...`, honouring escaped `]`.
        let b = msg.as_bytes();
        let mut i = 0;
        while b.get(i) == Some(&b'[') {
            i += 1;
            let mut quoted = false;
            while i < b.len() && (quoted || b[i] != b']') {
                match b[i] {
                    b'\\' => i += 1,
                    b'"' => quoted = !quoted,
                    _ => {}
                }
                i += 1;
            }
            i += 1;
        }
        msg = msg.get(i.min(msg.len())..)?.trim_start();
    }
    let msg = msg.strip_prefix('\u{feff}').unwrap_or(msg);
    Some(Line {
        stamp,
        host: (host != "-").then_some(host),
        tag: app,
        pid: procid.parse().ok(),
        msg,
    })
}

/// daemontools' `multilog t` files (qmail's usual logs, also Dovecot or a patched qmail run
/// under supervise): `@` and 24 hex digits of TAI64N (2^62 + 10 + Unix seconds, then
/// nanoseconds), a space and the program's own line, which has no host and no tag. A line
/// whose first word is a Dovecot process is read as Dovecot's own log; any other gets the tag
/// `multilog` (qmail's parser reads `tcpserver: …`, `rblsmtpd: …`, qmail-send's lines).
fn tai64n(line: &str) -> Option<Line<'_>> {
    let b = line.as_bytes();
    let hex = b.get(1..25)?;
    if b.get(25) != Some(&b' ') {
        return None;
    }
    let mut v: u128 = 0;
    for &c in hex {
        v = v << 4 | u128::from((c as char).to_digit(16)?);
    }
    let secs = i64::try_from(v >> 32).ok()? - (1i64 << 62) - 10;
    let nanos = (v & 0xffff_ffff) as u32;
    if nanos >= 1_000_000_000 {
        return None;
    }
    let stamp = Stamp::Unix { secs, nanos };
    let rest = &line[26..];
    let first = rest.split(' ').next().unwrap_or("");
    if let Some(process) = first.strip_suffix(':') {
        if is_dovecot_process(process) {
            return after_stamp(stamp, rest);
        }
        if process == "dovecot" || process.starts_with("dovecot-") {
            return Some(Line {
                stamp,
                host: None,
                tag: process,
                pid: None,
                msg: rest[first.len()..].trim_start(),
            });
        }
    }
    Some(Line {
        stamp,
        host: None,
        tag: "multilog",
        pid: None,
        msg: rest,
    })
}

/// Parses one line (without its newline).
pub fn parse(line: &str) -> Option<Line<'_>> {
    let b = line.as_bytes();
    match b.first()? {
        b'[' => bracketed(line),
        b'@' => tai64n(line),
        b'<' | b'1' if line.starts_with("1 ") || line.starts_with('<') => rfc5424(line),
        c if c.is_ascii_digit() => {
            let (stamp, used) = iso(b)?;
            if b.get(10) == Some(&b' ') {
                return exim_main(stamp, &line[used..]);
            }
            after_stamp(stamp, &line[used..])
        }
        _ => {
            let (stamp, used) = bsd(b)?;
            after_stamp(stamp, &line[used..])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_year(month: u32, day: u32, h: u32, m: u32, s: u32) -> Stamp {
        Stamp::NoYear {
            month,
            day,
            secs: h * 3600 + m * 60 + s,
            nanos: 0,
        }
    }

    #[test]
    fn rfc3164_lines() {
        let l = parse("Mar  4 02:14:07 mx1 postfix/submission/smtpd[41252]: 8C3D2A1F07E: client=unknown[203.0.113.77]").unwrap();
        assert_eq!(l.stamp, no_year(3, 4, 2, 14, 7));
        assert_eq!(l.host, Some("mx1"));
        assert_eq!(l.tag, "postfix/submission/smtpd");
        assert_eq!(l.pid, Some(41252));
        assert_eq!(l.msg, "8C3D2A1F07E: client=unknown[203.0.113.77]");
        let l = parse(
            "Jun 13 16:30:54 platypus dovecot: imap-login: Disconnected (auth failed, 2 attempts)",
        )
        .unwrap();
        assert_eq!(
            (l.tag, l.pid, l.msg),
            (
                "dovecot",
                None,
                "imap-login: Disconnected (auth failed, 2 attempts)"
            )
        );
        let l = parse(
            "Sep 8 07:46:30 canyon dovecot: auth-worker(24544): pam(toto,1.1.1.1): unknown user",
        )
        .unwrap();
        assert_eq!(l.stamp, no_year(9, 8, 7, 46, 30));
        let l = parse("Mar 01 02:14:07.123456 mx1 postfix/qmgr[1047]: removed").unwrap();
        assert_eq!(
            l.stamp,
            Stamp::NoYear {
                month: 3,
                day: 1,
                secs: 8047,
                nanos: 123_456_000
            }
        );
    }

    #[test]
    fn iso_and_5424_lines() {
        let l = parse("2026-03-01T02:14:07.5+08:00 mx1 postfix/smtpd[12]: connect from x[1.2.3.4]")
            .unwrap();
        match l.stamp {
            s @ Stamp::Unix { .. } => assert_eq!(
                s.absolute().unwrap().to_rfc3339(),
                "2026-02-28T18:14:07.500+00:00"
            ),
            other => panic!("{other:?}"),
        }
        // Offsets west of UTC across a year boundary, and a leap day.
        for (line, utc) in [
            (
                "2025-12-31T23:30:00.25-05:00 mx1 postfix/smtpd[1]: x",
                "2026-01-01T04:30:00.250+00:00",
            ),
            (
                "2024-02-29T00:00:01Z mx1 postfix/smtpd[1]: x",
                "2024-02-29T00:00:01+00:00",
            ),
        ] {
            match parse(line).unwrap().stamp {
                s @ Stamp::Unix { .. } => assert_eq!(s.absolute().unwrap().to_rfc3339(), utc),
                other => panic!("{other:?}"),
            }
        }
        assert!(parse("2026-02-30T00:00:00Z mx1 postfix/smtpd[1]: x").is_none());
        let l =
            parse("2026-03-01T02:14:07+0800 mx1 dovecot[7]: imap-login: Login: user=<a>").unwrap();
        assert!(matches!(l.stamp, Stamp::Unix { .. }));
        assert_eq!(l.pid, Some(7));
        let l = parse(
            "<22>1 2026-03-01T02:14:07.003Z mx1 postfix 4242 - [meta x=\"]\\]\"] smtpd: hello",
        )
        .unwrap();
        assert_eq!(
            (l.host, l.tag, l.pid, l.msg),
            (Some("mx1"), "postfix", Some(4242), "smtpd: hello")
        );
        let l = parse("Jun 23 00:10:57 auth(info@example.com,1.2.3.4,sasl:login)<CvN+E95Uf4e7eEnj>: Info: sql: Password mismatch").unwrap();
        assert_eq!(l.host, None);
        assert_eq!(
            l.tag,
            "auth(info@example.com,1.2.3.4,sasl:login)<CvN+E95Uf4e7eEnj>"
        );
    }

    #[test]
    fn roundcube_own_log_lines() {
        let l = parse("[27-Jun-2026 12:00:00 +0200]: <a1b2> IMAP Error: Login failed for admin from 203.0.113.70.").unwrap();
        assert_eq!((l.tag, l.host), ("roundcube", None));
        match l.stamp {
            s @ Stamp::Unix { .. } => {
                assert_eq!(
                    s.absolute().unwrap().to_rfc3339(),
                    "2026-06-27T10:00:00+00:00"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn multilog_lines() {
        let l = parse("@4000000069344cf21e4b7c5c tcpserver: ok 2741 mail1.example.org:192.0.2.25:25 :198.51.100.7::41872").unwrap();
        assert_eq!((l.tag, l.host, l.pid), ("multilog", None, None));
        assert!(l.msg.starts_with("tcpserver: ok 2741"));
        match l.stamp {
            s @ Stamp::Unix { .. } => assert_eq!(
                s.absolute().unwrap().to_rfc3339(),
                "2025-12-06T15:34:00.508263516+00:00"
            ),
            other => panic!("{other:?}"),
        }
        let l = parse("@4000000069344cf21e4b7c5c imap-login: Info: Login: user=<a>, rip=1.2.3.4")
            .unwrap();
        assert_eq!(
            (l.tag, l.msg),
            ("imap-login", "Info: Login: user=<a>, rip=1.2.3.4")
        );
        assert!(parse("@4000000069344cf21e4b7c5").is_none());
        assert!(parse("@4000000069344cf2ffffffff x").is_none());
        assert!(parse("@40000000zz344cf21e4b7c5c x").is_none());
    }

    #[test]
    fn exim_main_log_lines() {
        let l = parse("2010-09-13 05:00:13 [1487] 1Ov4tU-0000Nz-Rm <= a@b H=x [208.42.54.2]:51792")
            .unwrap();
        assert_eq!((l.host, l.tag, l.pid), (None, "exim", Some(1487)));
        assert!(l.msg.starts_with("1Ov4tU-0000Nz-Rm <= "));
        assert!(matches!(l.stamp, Stamp::Local { .. }));
        let l = parse(
            "2023-05-30 06:10:13.345 login authenticator failed for x [192.0.2.12]:5432: 535",
        )
        .unwrap();
        assert!(l.msg.starts_with("login authenticator"));
        let l = parse("2026-03-01 02:14:07 +0800 1rB3ZF-0004Kx-Ab Completed").unwrap();
        match l.stamp {
            s @ Stamp::Unix { .. } => {
                assert_eq!(
                    s.absolute().unwrap().to_rfc3339(),
                    "2026-02-28T18:14:07+00:00"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn garbage_is_rejected_without_panic() {
        for s in [
            "",
            "x",
            "Mar",
            "Mar 99 02:14:07 h t: m",
            "2026-13-01T00:00:00Z h t: m",
            "Mar  4 25:00:00 h t: m",
            "<",
            "1 ",
            "Mar  4 02:14:07",
            "\u{0}\u{ff}",
            "2026-03-01T02:14:07+",
        ] {
            let _ = parse(s);
        }
        assert!(parse("Mar 99 02:14:07 h t: m").is_none());
    }
}
