//! The shapes of two kinds of web-facing server log lines, as pure text: web-server access
//! lines (Apache `common` / `combined` / `vhost_combined`, nginx `combined` and its variants,
//! Jetty's NCSA request log) and Zimbra's log4j lines (`mailbox.log`, `audit.log`).
//!
//! Shared by content recognition ([`super::exports::recognise`], also in the lean collector)
//! and by the readers in `events::web`, so that what is recognised is exactly what is read.
//! Nothing here allocates per field except the unescaping of a quoted field that holds an
//! escape. To accept another access-log variant: a case in [`access`] and a line in the tests.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDateTime};

/// Tokens read from one access line at most (a line longer than that keeps its first ones).
const MAX_TOKENS: usize = 48;

/// One field of an access line.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok<'a> {
    /// A run of non-blank characters.
    Bare(&'a str),
    /// The inside of `"…"`, escapes left as logged.
    Quoted(&'a str),
    /// The inside of `[…]`.
    Bracket(&'a str),
}

/// Splits an access line into bare, quoted and bracketed fields; None when a quote or a
/// bracket is left open.
fn tokens(line: &str) -> Option<Vec<Tok<'_>>> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() && out.len() < MAX_TOKENS {
        match b[i] {
            b' ' | b'\t' => i += 1,
            b'"' => {
                let mut j = i + 1;
                loop {
                    match b.get(j)? {
                        b'\\' => j += 2,
                        b'"' => break,
                        _ => j += 1,
                    }
                }
                out.push(Tok::Quoted(&line[i + 1..j]));
                i = j + 1;
            }
            b'[' => {
                let end = i + line[i..].find(']')?;
                out.push(Tok::Bracket(&line[i + 1..end]));
                i = end + 1;
            }
            _ => {
                let end = line[i..].find([' ', '\t']).map_or(b.len(), |e| i + e);
                out.push(Tok::Bare(&line[i..end]));
                i = end;
            }
        }
    }
    Some(out)
}

/// A quoted field with the escapes of printable characters undone: Apache writes `\"` and
/// `\\`, nginx `\x22` and `\x5C`. The escape of a control or non-ASCII byte (`\x16`,
/// `\xc3`) is kept as logged, so the text stays one line of valid UTF-8.
pub fn unescape(s: &str) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let esc = &rest[i..];
        let printable = esc
            .get(2..4)
            .filter(|_| esc.as_bytes().get(1) == Some(&b'x'))
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .filter(|b| (0x20..0x7f).contains(b));
        let taken = match (esc.as_bytes().get(1), printable) {
            (_, Some(b)) => {
                out.push(char::from(b));
                4
            }
            (Some(b'"'), _) => {
                out.push('"');
                2
            }
            (Some(b'\\'), _) => {
                out.push('\\');
                2
            }
            _ => {
                out.push('\\');
                1
            }
        };
        rest = &esc[taken..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Microseconds since the epoch of an access-log time: `10/Oct/2000:13:55:36 -0700`
/// (Apache `%t`, nginx `$time_local`, also with a fraction of a second) or an RFC 3339 time
/// (nginx `$time_iso8601`).
pub fn access_time_us(s: &str) -> Option<i64> {
    if let Ok(t) = DateTime::parse_from_str(s, "%d/%b/%Y:%H:%M:%S%.f %z") {
        return Some(t.timestamp_micros());
    }
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_micros())
}

/// The fields of one access line, as logged (quoted fields still escaped).
#[derive(Debug, Clone, PartialEq)]
pub struct Access<'a> {
    /// The leading virtual host (`%v:%p` of `vhost_combined`, nginx `$host`), if the line
    /// has one.
    pub vhost: Option<&'a str>,
    /// Client (`%h`, `$remote_addr`, Zimbra's proxy `$remote_addr:$remote_port`).
    pub client: &'a str,
    /// `%u` / `$remote_user` (`-` when none).
    pub user: &'a str,
    /// Time, µs since the epoch.
    pub ts_us: i64,
    /// The request line (`%r`, `$request`), still escaped.
    pub request: &'a str,
    /// The 3-digit status.
    pub status: &'a str,
    /// Response bytes (`%O`, `%b`, `$body_bytes_sent`) when a number.
    pub bytes: Option<u64>,
    /// Referer, still escaped (combined formats).
    pub referer: Option<&'a str>,
    /// User agent, still escaped (combined formats).
    pub ua: Option<&'a str>,
}

/// The fields of an access line: `[vhost] client ident user [time] "request" status bytes
/// ["referer" "user-agent"] [more…]`; None when the line has another shape. Fields after the
/// user agent (Jetty's latency, an upstream address) are left aside.
pub fn access(line: &str) -> Option<Access<'_>> {
    let toks = tokens(line)?;
    // The time is the first bracketed field, after the client, ident and user (and the
    // virtual host in front of them, if any).
    let t = toks.iter().position(|t| matches!(t, Tok::Bracket(_)))?;
    if !(3..=4).contains(&t) {
        return None;
    }
    let bare = |i: usize| match toks.get(i) {
        Some(Tok::Bare(s)) => Some(*s),
        _ => None,
    };
    let quoted = |i: usize| match toks.get(i) {
        Some(Tok::Quoted(s)) => Some(*s),
        _ => None,
    };
    let ts_us = match toks[t] {
        Tok::Bracket(s) => access_time_us(s)?,
        _ => return None,
    };
    let vhost = if t == 4 { Some(bare(0)?) } else { None };
    let client = bare(t - 3)?;
    bare(t - 2)?;
    let user = bare(t - 1)?;
    let request = quoted(t + 1)?;
    let status = bare(t + 2)?;
    if status.len() != 3 || !status.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let bytes = match toks.get(t + 3) {
        None => None,
        Some(Tok::Bare(b)) if *b == "-" => None,
        Some(Tok::Bare(b)) => Some(b.parse::<u64>().ok()?),
        Some(_) => return None,
    };
    Some(Access {
        vhost,
        client,
        user,
        ts_us,
        request,
        status,
        bytes,
        referer: quoted(t + 4),
        ua: quoted(t + 5),
    })
}

/// Whether the first data lines of a text are access lines: at least one, and at least half
/// of the first twenty non-blank ones (a file cut in the middle of a line, or a few garbage
/// lines, still counts).
pub fn looks_like_access_log(text: &str) -> bool {
    let (mut seen, mut good) = (0, 0);
    for l in text.lines().filter(|l| !l.trim().is_empty()).take(20) {
        seen += 1;
        if access(l.trim_end_matches('\r')).is_some() {
            good += 1;
        }
    }
    good > 0 && good * 2 >= seen
}

/// One line of Zimbra's log4j layout (`%d %-5p [%t] [%z] %c{1} - %m`):
/// `2015-12-05 18:47:36,435 INFO  [qtp…] [name=a@b;oip=…;ua=…;] security - cmd=Auth; …`.
#[derive(Debug, Clone, PartialEq)]
pub struct Log4j<'a> {
    /// Local time (Zimbra writes the server's zone, without saying which).
    pub local: NaiveDateTime,
    /// `INFO`, `WARN` …
    pub level: &'a str,
    /// Thread (`qtp…:https://host/service/soap/`, `ImapServer-12`).
    pub thread: &'a str,
    /// The context pairs between the second brackets (`name=…;ip=…;oip=…;ua=…;`).
    pub context: &'a str,
    /// Logger category (`security`, `SoapEngine`, `imap`, `mailbox`).
    pub category: &'a str,
    /// The message.
    pub message: &'a str,
}

impl<'a> Log4j<'a> {
    /// The value of a context key (`oip`, `ip`, `name`, `ua`).
    pub fn get(&self, key: &str) -> Option<&'a str> {
        context_pairs(self.context)
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    }
}

/// The `key=value;` pairs of a context block.
fn context_pairs(ctx: &str) -> impl Iterator<Item = (&str, &str)> {
    ctx.split(';').filter_map(|p| {
        let (k, v) = p.split_once('=')?;
        let k = k.trim();
        (!k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric())).then_some((k, v))
    })
}

/// The end of a context block starting at `s` (just after its `[`): pairs `key=value;` up to
/// the closing `]`. A value may hold `]` (a user agent), so the block ends at the first `]`
/// that follows a `;` or opens the block.
fn context_end(s: &str) -> Option<usize> {
    if s.starts_with(']') {
        return Some(0);
    }
    s.match_indices(";]").next().map(|(i, _)| i + 1)
}

/// The parts of a Zimbra log4j line; None for another shape (a stack-trace line, syslog).
pub fn log4j(line: &str) -> Option<Log4j<'_>> {
    let stamp = line.get(..23)?;
    let local = NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S,%3f").ok()?;
    let rest = line.get(23..)?.trim_start();
    let (level, rest) = rest.split_once(' ')?;
    if !matches!(
        level,
        "TRACE" | "DEBUG" | "INFO" | "WARN" | "ERROR" | "FATAL"
    ) {
        return None;
    }
    let rest = rest.trim_start().strip_prefix('[')?;
    let thread_end = rest.find("] [")?;
    let thread = &rest[..thread_end];
    let after = &rest[thread_end + 3..];
    let ctx_end = context_end(after)?;
    let context = &after[..ctx_end];
    let tail = after[ctx_end + 1..].trim_start();
    let (category, message) = match tail.split_once(" - ") {
        Some((c, m)) if !c.contains(' ') => (c, m),
        _ => ("", tail),
    };
    Some(Log4j {
        local,
        level,
        thread,
        context,
        category,
        message,
    })
}

/// Whether the first data lines of a text are Zimbra log4j lines (the first line that is not
/// a continuation of a multi-line message).
pub fn looks_like_zimbra_log(text: &str) -> bool {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with([' ', '\t']))
        .take(5)
        .any(|l| log4j(l.trim_end_matches('\r')).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apache_documentation_lines() {
        // The Apache HTTP Server manual's examples of the Common and Combined formats.
        let c = access(r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#).unwrap();
        assert_eq!(c.client, "127.0.0.1");
        assert_eq!(c.user, "frank");
        assert_eq!(c.ts_us, 971_211_336_000_000);
        assert_eq!(c.request, "GET /apache_pb.gif HTTP/1.0");
        assert_eq!(c.bytes, Some(2326));
        assert_eq!(c.ua, None);
        let k = access(r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#).unwrap();
        assert_eq!(k.ua, Some("Mozilla/4.08 [en] (Win98; I ;Nav)"));
        assert_eq!(k.referer, Some("http://www.example.com/start.html"));
    }

    #[test]
    fn escapes_and_open_quotes() {
        assert_eq!(unescape(r#"a \"b\" \\ \x16"#), r#"a "b" \ \x16"#);
        assert_eq!(
            unescape(r"q=\x22a\x5Cb\x22 \xC3\xA9 \x"),
            r#"q="a\b" \xC3\xA9 \x"#
        );
        assert_eq!(
            access(r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET /x HTTP/1.0 200 1"#),
            None
        );
        let l = access(
            r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET /\"x HTTP/1.0" 200 - "-" "a\\""#,
        )
        .unwrap();
        assert_eq!(l.request, r#"GET /\"x HTTP/1.0"#);
        assert_eq!(l.ua, Some(r#"a\\"#));
        assert_eq!(l.bytes, None);
    }

    #[test]
    fn not_access_lines() {
        assert_eq!(
            access("Mar  4 02:14:07 mx1 postfix/smtpd[1]: connect"),
            None
        );
        assert_eq!(
            access("2021-03-05 03:06:27 10.0.0.5 GET /owa/auth/x.aspx - 443"),
            None
        );
        assert!(!looks_like_access_log(
            "Mar  4 02:14:07 mx1 postfix/smtpd[1]: connect\n"
        ));
    }

    #[test]
    fn zimbra_log4j() {
        // A published audit.log line (logstash grok spec for Zimbra's audit log, GitHub).
        let l = log4j("2015-12-05 18:47:36,435 INFO  [qtp1545357780-7135140:http://127.0.0.1:80/service/soap/AuthRequest] [name=pepe@domain.com;oip=10.1.2.123;ua=zclient/2.0.5_GA_1839;] security - cmd=Auth; account=pepe@domain.com; protocol=soap;").unwrap();
        assert_eq!(l.level, "INFO");
        assert_eq!(l.category, "security");
        assert_eq!(l.get("oip"), Some("10.1.2.123"));
        assert_eq!(l.get("ua"), Some("zclient/2.0.5_GA_1839"));
        assert!(l.message.starts_with("cmd=Auth;"));
        assert!(log4j("2021-03-05 03:06:27 1lI2Hr-0003Xb-Ls <= a@b").is_none());
    }
}
