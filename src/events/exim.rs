//! Exim: the main log (`2026-03-01 02:14:07 [pid] 1rB3ZF-0004Kx-Ab <= …`, Exim's own file) and
//! Exim lines through syslog (`exim[123]: …`).
//!
//! Message lines start with the message id and a flag: `<=` arrival (`A=auth:user` marks an
//! authenticated submission), `=>` `->` `*>` delivery, `**` bounce, `==` deferral. Session
//! lines name the client as `H=name (helo) [ip]:port`: the address is the first `[…]` outside
//! parentheses (a HELO may itself be a bracketed address). A message line with another flag
//! (`1xaGhe-00000h-2Y H=… rejected after DATA: …`) is read as a session line of that message.
//! To support a new message: a branch in [`session`] and a test line below.
//!
//! The rejectlog repeats the mainlog's rejections and, after a rejection after DATA, writes
//! the message's header block without time stamps: [`is_block_line`] knows its lines and
//! [`extend_block`] keeps the rejected message's `Subject`, `Message-Id` and `From` in the
//! rejection's detail. The paniclog's lines (configuration errors, failed expansions, sockets,
//! files and privilege Exim could not get: `PANIC`) are `service` events.

use std::borrow::Cow;

use super::fields::{between, owned, Parse};
use super::record::{Kind, Parsed};
use crate::sanitize::cut;

/// Whether a syslog tag belongs to Exim.
pub fn is_exim(tag: &str) -> bool {
    matches!(tag, "exim" | "exim4" | "exim-main" | "exim4-main")
}

/// The message id of a message Exim is done with (`ID Completed`: every recipient delivered
/// or bounced); no later line names it.
pub fn gone<'a>(_tag: &'a str, msg: &'a str) -> Option<&'a str> {
    match message_id(msg)? {
        (id, "Completed") => Some(id),
        _ => None,
    }
}

/// `1rB3ZF-0004Kx-Ab` (classic) or `1rB3ZF-000000004Kx-Ab` (4.97+).
fn message_id(s: &str) -> Option<(&str, &str)> {
    let end = s.find(' ')?;
    let id = &s[..end];
    let parts: Vec<&str> = id.split('-').collect();
    let ok = parts.len() == 3
        && parts[0].len() == 6
        && (4..=11).contains(&parts[1].len())
        && (2..=4).contains(&parts[2].len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    ok.then(|| (id, &s[end + 1..]))
}

/// The client address: the first `[…]` outside parentheses; and the host name after `H=`.
fn client(s: &str) -> (Option<&str>, Option<&str>) {
    let b = s.as_bytes();
    let mut depth = 0i32;
    let mut ip = None;
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'(' => depth += 1,
            b')' => depth -= 1,
            b'[' if depth <= 0 => {
                if let Some(close) = s[i + 1..].find(']') {
                    let cand = &s[i + 1..i + 1 + close];
                    if cand.contains('.') || cand.contains(':') {
                        ip = Some(cand);
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    let host = s.find("H=").map(|i| &s[i + 2..]).and_then(|h| {
        let name = h.split(' ').next().unwrap_or("");
        (!name.is_empty() && !name.starts_with('(') && !name.starts_with('[')).then_some(name)
    });
    (host, ip)
}

/// Whether a delivery's address `addr` (a local part, or a whole address) names the same
/// mailbox as the address `orig` it was routed from.
fn same_mailbox(addr: &str, orig: &str) -> bool {
    if addr.contains('@') {
        return addr.eq_ignore_ascii_case(orig);
    }
    let local = orig.rsplit_once('@').map_or(orig, |(l, _)| l);
    addr.eq_ignore_ascii_case(local)
}

/// Value of ` KEY=value` (up to the next space).
fn field<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    between(s, &format!(" {key}="), " ")
}

fn event<'a>(kind: Kind, s: &'a str) -> Parsed<'a> {
    let (host, ip) = client(s);
    Parsed::smtp_client(kind, host, ip)
}

/// Parses one Exim message.
pub fn parse<'a>(_tag: &'a str, msg: &'a str) -> Parse<'a> {
    if let Some((id, rest)) = message_id(msg) {
        return message(id, rest);
    }
    session(msg)
}

fn message<'a>(id: &'a str, rest: &'a str) -> Parse<'a> {
    let (flag, tail) = rest.split_at_checked(3).unwrap_or((rest, ""));
    let addr = tail.split(' ').next().unwrap_or("");
    let mut p = match flag {
        "<= " => {
            let mut p = event(Kind::MessageReceived, tail);
            p.sender = owned(Some(addr).filter(|a| *a != "<>"));
            let proto = field(tail, "P");
            // The submitter: the SMTP AUTH login (`A=authenticator:login`), else, for a message
            // a local program handed to Exim (`P=local…`), the Unix user that ran it (`U=`) —
            // not Exim's own bounces (`<= <> R=parent U=Debian-exim P=local`).
            let bounce = addr == "<>";
            p.actor = field(tail, "A")
                .and_then(|a| a.split_once(':'))
                .map(|(_, u)| Cow::Borrowed(u))
                .or_else(|| {
                    proto
                        .filter(|p| p.starts_with("local") && !bounce)
                        .and(field(tail, "U"))
                        .map(Cow::Borrowed)
                });
            p.detail = proto.map(|proto| format!("P={proto}").into());
            p
        }
        "=> " | "-> " | "*> " => {
            let mut p = event(Kind::Delivery, tail);
            p.recipient = owned(Some(addr));
            p.status = Some(if flag == "*> " {
                "suppressed".into()
            } else {
                "sent".into()
            });
            p.relay = field(tail, "T").map(Cow::Borrowed);
            let orig = tail
                .split_once(" <")
                .and_then(|(_, o)| o.split_once('>'))
                .map(|(o, _)| o);
            // A local transport (no `H=`) put it into a mailbox, a file or a pipe.
            let local = !tail.contains(" H=");
            match orig {
                // `=> frank <frank@lab.example> R=local_user T=mail_spool`: the local part
                // the router delivered to, then the address — the same mailbox.
                Some(o) if same_mailbox(addr, o) => {
                    p.mailbox = local.then_some(Cow::Borrowed(o));
                }
                // Generated by a redirection (alias, `.forward`, Sieve-like filter): the
                // parent address is whose mail this is.
                Some(o) => {
                    p.kind = Some(Kind::Forwarded);
                    p.orig_recipient = Some(Cow::Borrowed(o));
                    p.mailbox = Some(Cow::Borrowed(o));
                }
                None => p.mailbox = local.then_some(Cow::Borrowed(addr)),
            }
            p
        }
        "** " => {
            let mut p = event(Kind::Delivery, tail);
            p.recipient = owned(Some(addr));
            p.status = Some("bounced".into());
            p.detail = Some(tail.into());
            p
        }
        "== " => {
            let mut p = event(Kind::Delivery, tail);
            p.recipient = owned(Some(addr));
            p.status = Some("deferred".into());
            p.detail = Some(tail.into());
            p
        }
        // A session line about the message: a rejection after DATA (`1xaGhe-00000h-2Y
        // H=… F=<…> rejected after DATA: …`) names the message it refused.
        _ => match session(rest) {
            Parse::Event(mut p) => {
                p.queue_id = Some(Cow::Borrowed(id));
                return Parse::Event(p);
            }
            _ => return Parse::Ignored,
        },
    };
    p.queue_id = Some(Cow::Borrowed(id));
    // Delivery lines name the *remote* host: keep it as the relay, not as a client.
    if p.kind != Some(Kind::MessageReceived) {
        if let (Some(ip), None) = (p.src_ip.take(), p.relay.as_ref()) {
            p.relay = Some(ip);
        }
        p.src_host = None;
    }
    Parse::Event(p)
}

fn session(msg: &str) -> Parse<'_> {
    // The daemon turning a connection away before the greeting: `Connection from [ip]:port
    // I=[ip]:port refused: too many connections` (smtp_accept_max, per-host limits, load).
    if let Some(rest) = msg.strip_prefix("Connection from ") {
        if let Some((_, why)) = rest.split_once(" refused: ") {
            let mut p = event(Kind::RateLimit, msg);
            p.status = Some("rejected".into());
            p.detail = Some(why.into());
            return Parse::Event(p);
        }
    }
    // Debian's stock RCPT ACL (`logwrite = REJECT [$sender_host_address]: bad recipient count
    // high [n]`): a client piling up refused recipients, as an enumeration does.
    if let Some(rest) = msg.strip_prefix("REJECT [") {
        if let Some((ip, why)) = rest.split_once("]: ") {
            let mut p = Parsed::smtp_client(Kind::Reject, None, Some(ip));
            p.status = Some("rejected".into());
            p.detail = Some(why.into());
            return Parse::Event(p);
        }
    }
    if let Some(at) = msg.find(" authenticator failed for ") {
        let mut p = event(Kind::AuthFailure, &msg[at..]);
        p.actor = msg
            .rfind("(set_id=")
            .map(|i| &msg[i + 8..])
            .and_then(|u| u.split(')').next())
            .and_then(|u| owned(Some(u)));
        p.detail = Some(msg[..at + " authenticator failed".len()].into());
        return Parse::Event(p);
    }
    if let Some(at) = msg.find(" rejected RCPT ") {
        let reason = msg[at..].split_once(": ").map_or("", |(_, r)| r);
        let lower = reason.to_ascii_lowercase();
        let kind = if lower.contains("relay not permitted")
            || lower.contains("relaying denied")
            || lower.contains("relay access denied")
        {
            Kind::RelayDenied
        } else if lower.contains("unknown user")
            || lower.contains("no such user")
            || lower.contains("unrouteable address")
            || lower.contains("no such person")
        {
            Kind::RecipientUnknown
        } else {
            Kind::Reject
        };
        let mut p = event(kind, msg);
        p.sender = field(msg, "F").map(|f| Cow::Borrowed(f.trim_matches(['<', '>'])));
        p.recipient = msg[at + " rejected RCPT ".len()..]
            .split(['>', ':'])
            .next()
            .map(|r| Cow::Borrowed(r.trim_start_matches('<')));
        p.status = Some("rejected".into());
        p.detail = Some(reason.into());
        return Parse::Event(p);
    }
    for (marker, kind) in [
        (" rejected VRFY", Kind::Vrfy),
        (" rejected EXPN", Kind::Expn),
        (" sender verify fail", Kind::Reject),
        (" rejected EHLO or HELO", Kind::Reject),
        // `rejected EHLO from [ip]:port: syntactically invalid argument(s): …` (no `H=`).
        ("rejected EHLO from ", Kind::Reject),
        ("rejected HELO from ", Kind::Reject),
        (" rejected MAIL", Kind::Reject),
        (" rejected after DATA", Kind::Reject),
        (" rejected connection in ", Kind::Reject),
        ("SMTP protocol synchronization error", Kind::ProtocolError),
        ("SMTP protocol error in ", Kind::ProtocolError),
        ("SMTP syntax error in ", Kind::ProtocolError),
        (" dropped: too many ", Kind::ProtocolError),
        ("TLS error on connection from", Kind::ProtocolError),
        (
            "unexpected disconnection while reading SMTP command from",
            Kind::LostConnection,
        ),
    ] {
        if msg.contains(marker) {
            let ratelimited = msg.contains("ratelimit") || msg.contains("rate limit");
            let mut p = event(if ratelimited { Kind::RateLimit } else { kind }, msg);
            p.detail = Some(msg.into());
            if matches!(kind, Kind::Vrfy | Kind::Expn) {
                p.status = Some("rejected".into());
            }
            if marker == " rejected after DATA" {
                p.sender = field(msg, "F").map(|f| Cow::Borrowed(f.trim_matches(['<', '>'])));
                p.status = Some("rejected".into());
            }
            return Parse::Event(p);
        }
    }
    // `no MAIL in SMTP connection from (helo) [ip]:port I=… D=0s C=EHLO,QUIT` (log selector
    // `smtp_no_mail`): a session that ended without a message — what scanners, banner
    // grabbers and VRFY/EXPN probers leave. Closed by QUIT it is a probe of its own
    // (`lost_connection`: the `closed by QUIT` line is a plain `disconnect`); otherwise the
    // session's end has its own line (`… lost`, a timeout, a drop) that counts it, and this
    // one is a `disconnect`, so no session counts twice. The detail names the commands.
    if let Some(rest) = msg.strip_prefix("no MAIL in ") {
        if let Some(at) = rest.find("connection from ") {
            let from = &rest[at + "connection from ".len()..];
            let cmds = from
                .split_whitespace()
                .find_map(|w| w.strip_prefix("C="))
                .unwrap_or("none");
            let quit = cmds.split(',').any(|c| c == "QUIT");
            let mut p = event(
                if quit {
                    Kind::LostConnection
                } else {
                    Kind::Disconnect
                },
                from,
            );
            p.detail = Some(format!("no mail command: C={cmds}").into());
            return Parse::Event(p);
        }
    }
    // Exim 4.97 and later put a connection id first: `SMTP connection Ci=175444 from …`.
    let connection = msg.strip_prefix("SMTP connection from ").or_else(|| {
        let (id, rest) = msg
            .strip_prefix("SMTP connection Ci=")?
            .split_once(" from ")?;
        id.bytes().all(|b| b.is_ascii_digit()).then_some(rest)
    });
    if let Some(p) = panic(msg) {
        return Parse::Event(p);
    }
    if let Some(rest) = connection {
        let kind = if rest.ends_with(" lost")
            || rest.contains(" lost ")
            || rest.contains("lost while reading")
        {
            Kind::LostConnection
        } else if rest.contains("closed by QUIT") || rest.contains(" closed by ") {
            Kind::Disconnect
        } else if rest.contains("TCP/IP connection count")
            || !rest.contains(' ')
            || rest.ends_with(']')
        {
            Kind::Connect
        } else {
            Kind::Disconnect
        };
        let mut p = event(kind, rest);
        p.detail = Some(rest.into());
        return Parse::Event(p);
    }
    if [
        "daemon started",
        "SIGHUP received",
        "exim 4.",
        "Exim version",
        "daemon: ",
        "shutdown",
    ]
    .iter()
    .any(|m| msg.contains(m))
    {
        return Parse::Event(Parsed {
            detail: Some(msg.into()),
            ..Parsed::new(Kind::Service)
        });
    }
    let chatter = [
        "Start queue run",
        "End queue run",
        "no host name found",
        "no IP address found",
        "Connection timed out",
        "H=",
        "cwd=",
        "ignoring AUTH",
        "Warning:",
    ];
    if chatter.iter().any(|c| msg.contains(c)) {
        return Parse::Ignored;
    }
    Parse::Unknown
}

/// What Exim writes to its paniclog (most of it to the mainlog too): configuration errors,
/// failed expansions, sockets it cannot bind, files it cannot open or lock, privilege it lost.
/// Markers from Exim 4.96's `log_write(…, LOG_PANIC…)` calls.
const PANIC: [&str; 16] = [
    "Exim configuration error",
    "failed to expand",
    "lost privilege",
    "daemon abandoned",
    "daemon_notifier_socket bind",
    "socket bind() to port",
    "Cannot open ",
    "failed to open ",
    "failed to lock",
    "failed to write to",
    "unable to open file for reading",
    "unable to read file",
    "internal ACL error",
    "attempt to use tainted",
    "verb not allowed in",
    "unknown log name",
];

/// A paniclog line: a `service` event whose detail is the line; a line naming a client
/// (`H=… [ip]`) keeps its address.
fn panic(msg: &str) -> Option<Parsed<'_>> {
    if !PANIC.iter().any(|m| msg.contains(m)) {
        return None;
    }
    let mut p = Parsed::new(Kind::Service);
    if let Some(at) = msg.find("H=") {
        let (host, ip) = client(&msg[at..]);
        if ip.is_some() {
            p.src_ip = ip.map(Cow::Borrowed);
            p.src_host = host.map(Cow::Borrowed);
        }
    }
    p.detail = Some(msg.into());
    Some(p)
}

/// Exim's flag letters before a header in a rejectlog header block: `F` From, `T` To, `C` Cc,
/// `B` Bcc, `I` Message-Id, `R` Reply-To, `P` Received, `S` Sender, `*` a removed header,
/// a space for any other.
const HEADER_FLAGS: &[u8] = b" FTCBIRPS*";

/// A header line of a rejectlog block (`F From: …`, `  Subject: …`): its name and value.
fn block_header(line: &str) -> Option<(&str, &str)> {
    let b = line.as_bytes();
    if b.len() < 3 || !HEADER_FLAGS.contains(&b[0]) || b[1] != b' ' {
        return None;
    }
    let (name, value) = line[2..].split_once(':')?;
    let token = !name.is_empty() && name.bytes().all(|c| c.is_ascii_graphic() && c != b':');
    token.then_some((name, value.trim()))
}

/// Whether a line without a time stamp belongs to the entry before it in an Exim log: a line
/// of the header block the rejectlog writes after a rejection after DATA (`Envelope-from: <…>`,
/// `Envelope-to: <…>`, the headers with their flag letters, `*** truncated ***`). Indented
/// lines (folded headers, further recipients, a configuration error's second line) start with
/// a blank.
pub fn is_block_line(line: &str) -> bool {
    line.starts_with("Envelope-from: <")
        || line.starts_with("Envelope-to: <")
        || line == "*** truncated ***"
        || block_header(line).is_some()
}

/// Longest header value kept in a rejection's detail (the text is the sender's).
const HEADER_KEPT: usize = 200;

/// Whether an event takes the lines after it: a rejection after DATA (its rejectlog header
/// block) or a configuration error (its indented second line).
pub fn takes_block(detail: Option<&str>, kind: Kind, queued: bool) -> bool {
    let Some(d) = detail else { return false };
    (queued && matches!(kind, Kind::Reject | Kind::RateLimit) && d.contains(" after DATA"))
        || (kind == Kind::Service && d.starts_with("Exim configuration error") && d.ends_with(':'))
}

/// Feeds the line after an event that [`takes_block`] to it: a configuration error gets its
/// indented explanation; a rejection after DATA keeps the rejected message's `Subject`,
/// `Message-Id` and `From` (each cut to `HEADER_KEPT` bytes). Returns whether the line was
/// part of the entry (the first that is not ends it).
pub fn extend_block(detail: &mut Option<Cow<'_, str>>, line: &str) -> bool {
    let Some(d) = detail.as_mut() else {
        return false;
    };
    if d.starts_with("Exim configuration error") {
        if !line.starts_with([' ', '\t']) {
            return false;
        }
        let text = line.trim();
        if !text.is_empty() {
            let d = d.to_mut();
            d.push(' ');
            d.push_str(cut(text, HEADER_KEPT));
        }
        return true;
    }
    if let Some((name, value)) = block_header(line) {
        let kept = ["Subject", "Message-Id", "From"]
            .iter()
            .any(|k| k.eq_ignore_ascii_case(name));
        if kept {
            let d = d.to_mut();
            d.push_str("; ");
            d.push_str(name);
            d.push_str(": ");
            d.push_str(cut(value, HEADER_KEPT));
        }
        return true;
    }
    is_block_line(line) || line.starts_with([' ', '\t'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(msg: &str) -> Parsed<'_> {
        match parse("exim", msg) {
            Parse::Event(p) => p,
            other => panic!("{msg}: {other:?}"),
        }
    }

    #[test]
    fn refused_helo_names() {
        // Exim 4.96 refusing an expansion item as the HELO name (tests/fixtures/exim-rejects).
        for verb in ["EHLO", "HELO"] {
            let msg = format!("rejected {verb} from [127.0.0.1]:59978: syntactically invalid argument(s): ${{run{{/bin/id}}}}");
            let p = ev(&msg);
            assert_eq!(p.kind, Some(Kind::Reject));
            assert_eq!(p.src_ip.as_deref(), Some("127.0.0.1"));
            assert_eq!(p.detail.as_deref(), Some(msg.as_str()));
        }
    }

    #[test]
    fn arrivals_and_deliveries() {
        let p = ev("1gsu1C-003dCu-Hb <= aaron@domain.com H=localhost (10.5.40.204) [127.0.0.1]:39753 I=[127.0.0.1]:25 P=esmtpa A=dovecot_plain:aaron@domain.com S=4315 id=x@domain.com");
        assert_eq!(
            (
                p.kind,
                p.actor.as_deref(),
                p.src_ip.as_deref(),
                p.queue_id.as_deref()
            ),
            (
                Some(Kind::MessageReceived),
                Some("aaron@domain.com"),
                Some("127.0.0.1"),
                Some("1gsu1C-003dCu-Hb")
            )
        );
        assert_eq!(p.src_host.as_deref(), Some("localhost"));
        let p = ev("1j1Z2g-00Faoy-Uh ** admin@example.net R=virtual_aliases: No such person at this address.");
        assert_eq!(
            (p.kind, p.status.as_deref()),
            (Some(Kind::Delivery), Some("bounced"))
        );
        let p = ev("1Ov4tU-0000Nz-Rm => bob@example.org <alias@example.net> R=dnslookup T=remote_smtp H=mx.example.org [192.0.2.5]");
        assert_eq!(
            (p.kind, p.orig_recipient.as_deref(), p.src_ip),
            (Some(Kind::Forwarded), Some("alias@example.net"), None)
        );
        assert!(matches!(
            parse("exim", "1Ov4tU-0000Nz-Rm Completed"),
            Parse::Ignored
        ));
    }

    #[test]
    fn session_lines() {
        let p = ev("dovecot_login authenticator failed for ([1.2.3.5]) [1.2.3.4]:55379: 535 Incorrect authentication data (set_id=info@test.com)");
        assert_eq!(
            (p.kind, p.src_ip.as_deref(), p.actor.as_deref()),
            (
                Some(Kind::AuthFailure),
                Some("1.2.3.4"),
                Some("info@test.com")
            )
        );
        let p = ev("H=imfo.test.com [1.2.3.4]:35328 X=TLS1.2:ECDHE-RSA-AES256-GCM-SHA384:256 CV=no F=<info6@test.com> rejected RCPT <sales@toto.com.au>: No Such User Here");
        assert_eq!(
            (p.kind, p.recipient.as_deref(), p.sender.as_deref()),
            (
                Some(Kind::RecipientUnknown),
                Some("sales@toto.com.au"),
                Some("info6@test.com")
            )
        );
        let p = ev("H=(x) [203.0.113.9] F=<a@b> rejected RCPT <c@d.example>: relay not permitted");
        assert_eq!(p.kind, Some(Kind::RelayDenied));
        let p = ev("H=test.sa.com [1.2.3.4]:18146 temporarily rejected connection in \"connect\" ACL: \"Host is ratelimited (1.9/1h max:1.2)\"");
        assert_eq!(p.kind, Some(Kind::RateLimit));
        let p = ev("SMTP call from (000000) [::1]:39480 dropped: too many syntax or protocol errors (last command was \"123\")");
        assert_eq!(
            (p.kind, p.src_ip.as_deref()),
            (Some(Kind::ProtocolError), Some("::1"))
        );
        // Real lines: the Exim live run's (Exim 4.96, `+smtp_no_mail`: a scanner, and a guesser
        // whose session tried AUTH), Alaveteli's specs (mysociety/alaveteli, an Exim 4 log of
        // 2016), the Exim users' list (2010), and Exim 4.97's connection-id form.
        for (line, kind, ip, cmds) in [
            ("no MAIL in SMTP connection from (scanner.example) [127.0.1.10]:34459 I=[127.0.0.1]:25 D=0s C=EHLO", Kind::Disconnect, "127.0.1.10", "C=EHLO"),
            ("no MAIL in SMTP connection from (client-127-0-2-10.example) [127.0.2.10]:34897 I=[127.0.0.1]:587 D=4s C=EHLO,AUTH,QUIT", Kind::LostConnection, "127.0.2.10", "C=EHLO,AUTH,QUIT"),
            ("no MAIL in SMTP connection from null.ukcod.org.uk (null) [46.235.226.171]:57365 I=[127.0.0.1]:25 D=0s C=HELO,QUIT", Kind::LostConnection, "46.235.226.171", "C=HELO,QUIT"),
            ("no MAIL in SMTP connection from (mycomp) [123.123.123.123]:1185 I=[123.123.123.124]:587 D=6s C=EHLO,STARTTLS", Kind::Disconnect, "123.123.123.123", "C=EHLO,STARTTLS"),
            ("no MAIL in SMTP connection from [45.140.17.97]:64899 I=[46.62.234.65]:25 Ci=157361 D=0.003s", Kind::Disconnect, "45.140.17.97", "C=none"),
        ] {
            let p = ev(line);
            let want = format!("no mail command: {cmds}");
            assert_eq!(
                (p.kind, p.src_ip.as_deref(), p.detail.as_deref()),
                (Some(kind), Some(ip), Some(want.as_str())),
                "{line}"
            );
        }
        let p = ev("SMTP connection Ci=175444 from (helo) [203.0.113.5]:41000 I=[10.0.0.1]:25 closed by QUIT");
        assert_eq!(
            (p.kind, p.src_ip.as_deref()),
            (Some(Kind::Disconnect), Some("203.0.113.5"))
        );
        let p = ev("SMTP connection from (hydra) [10.101.1.10]:53682 lost");
        assert_eq!(p.kind, Some(Kind::LostConnection));
        let p = ev("SMTP protocol synchronization error (input sent without waiting for greeting): rejected connection from H=[134.234.45.34] input=\"GET /\"");
        assert_eq!(
            (p.kind, p.src_ip.as_deref()),
            (Some(Kind::ProtocolError), Some("134.234.45.34"))
        );
    }

    /// Lines written by Debian 12's Exim 4.96 on loopback
    /// (`tests/fixtures/delivery/exim-mainlog`, its README says how).
    #[test]
    fn whose_action_each_real_line_is() {
        let p = ev("1xa5VO-0003Me-0s <= alice@lab.example H=(alice-laptop.lab.example) [127.0.0.1]:34592 P=esmtpa A=plain:alice S=454 id=20261206061350.012930@vm T=\"Q3 numbers\" for frank@lab.example");
        assert_eq!(
            p.roles(),
            (Some(Kind::MessageReceived), Some("alice"), None)
        );
        // A local delivery names the local part, then the address: one mailbox, delivered.
        let p = ev("1xa5VO-0003Me-0s => frank <frank@lab.example> F=<alice@lab.example> P=<alice@lab.example> R=local_user T=mail_spool S=614");
        assert_eq!(
            p.roles(),
            (Some(Kind::Delivery), None, Some("frank@lab.example"))
        );
        // Inbound mail from outside to a local mailbox: nobody here acted.
        let p = ev("1xa5VY-0003Qs-3B <= news@outside.example H=(mail.outside.example) [127.0.0.77]:46807 P=esmtp S=461 id=20261206061400.013197@vm T=\"invoice overdue\" for frank@lab.example");
        assert_eq!(p.roles(), (Some(Kind::MessageReceived), None, None));
        // An alias: bob's mailbox receives sales@'s mail.
        let p = ev("1xa5Vb-0003SP-0w => bob <sales@lab.example> F=<news@outside.example> P=<news@outside.example> R=local_maildir T=maildir_home S=575");
        assert_eq!(
            (p.roles(), p.recipient.as_deref()),
            (
                (Some(Kind::Forwarded), None, Some("sales@lab.example")),
                Some("bob")
            )
        );
        // gina's `.forward` sends her mail outside: her mailbox's mail leaves.
        let p = ev("1xa5Vi-0003aI-0k => gina.private@remote.example <gina@lab.example> F=<news@outside.example> P=<news@outside.example> R=remote_smtp T=remote_smtp S=471 H=127.0.0.1 [127.0.0.1]:10026 C=\"250 2.0.0 queued as 1A249FD0C84\"");
        assert_eq!(
            p.roles(),
            (Some(Kind::Forwarded), None, Some("gina@lab.example"))
        );
        // A pipe in hank's `.forward`.
        let p = ev("1xa5Vk-0003bn-1i => |/home/hank/bin/mailsync <hank@lab.example> F=<news@outside.example> P=<news@outside.example> R=userforward T=address_pipe S=504");
        assert_eq!(
            p.roles(),
            (Some(Kind::Forwarded), None, Some("hank@lab.example"))
        );
        // A remote delivery: no mailbox here (the submitter is joined on the message id).
        let p = ev("1xa5VQ-0003Nm-1q => partner@remote.example F=<alice@lab.example> P=<alice@lab.example> R=remote_smtp T=remote_smtp S=487 H=127.0.0.1 [127.0.0.1]:10026 C=\"250 2.0.0 queued as 1A249FCC8A0\"");
        assert_eq!(p.roles(), (Some(Kind::Delivery), None, None));
        let p = ev("1xa5VT-0003O7-0U => archive@lmtp.example F=<alice@lab.example> P=<alice@lab.example> R=lmtp_store T=lmtp_store S=483 H=127.0.0.1 [127.0.0.1]:10024 C=\"250 2.0.0 saved as 1A249FCD19F\"");
        assert_eq!(p.roles(), (Some(Kind::Delivery), None, None));
        // A web application's mail: the Unix user that ran Exim.
        let p = ev("1xa5Vp-0003gw-0G <= www-data@lab.example U=www-data P=local S=381 T=\"order confirmation\" for partner@remote.example frank@lab.example");
        assert_eq!(
            p.roles(),
            (Some(Kind::MessageReceived), Some("www-data"), None)
        );
        // Exim's own bounce is nobody's sending.
        let p = ev("1xa5Vs-0003wV-0l <= <> R=1xa5Vs-0003wN-0f U=Debian-exim P=local S=1686 T=\"Mail delivery failed: returning message to sender\" for alice@lab.example");
        assert_eq!(p.roles(), (Some(Kind::MessageReceived), None, None));
        let p = ev("login authenticator failed for (scanner.outside.example) [127.0.0.66]:42327: 535 Incorrect authentication data (set_id=admin)");
        assert_eq!(p.roles(), (Some(Kind::AuthFailure), Some("admin"), None));
    }

    /// Lines of the Exim live run (tests/fixtures/exim-live, Debian's Exim 4.96).
    #[test]
    fn connection_refusals_and_debians_rcpt_acl() {
        let p = ev(
            "Connection from [127.0.2.10]:40671 I=[127.0.0.1]:587 refused: too many connections",
        );
        assert_eq!(p.kind, Some(Kind::RateLimit));
        assert_eq!(p.src_ip.as_deref(), Some("127.0.2.10"));
        assert_eq!(p.detail.as_deref(), Some("too many connections"));
        let p = ev("REJECT [127.0.1.11]: bad recipient count high [11]");
        assert_eq!(p.kind, Some(Kind::Reject));
        assert_eq!(p.src_ip.as_deref(), Some("127.0.1.11"));
    }

    /// Lines Debian 12's Exim 4.96 wrote to its rejectlog and paniclog
    /// (tests/fixtures/exim-rejects, its README says which line came from what).
    #[test]
    fn rejections_after_data_and_their_header_blocks() {
        let line = "1xaGhe-00000h-2Y H=(mail.outside.example) [127.0.0.1]:56620 F=<billing@outside.example> rejected after DATA: Rejected: this subject is not accepted here";
        let mut p = ev(line);
        assert_eq!(
            (
                p.kind,
                p.src_ip.as_deref(),
                p.sender.as_deref(),
                p.queue_id.as_deref(),
                p.status.as_deref()
            ),
            (
                Some(Kind::Reject),
                Some("127.0.0.1"),
                Some("billing@outside.example"),
                Some("1xaGhe-00000h-2Y"),
                Some("rejected")
            )
        );
        assert!(takes_block(p.detail.as_deref(), Kind::Reject, true));
        // The block as the rejectlog has it, then the next entry.
        let block = [
            "Envelope-from: <billing@outside.example>",
            "Envelope-to: <frank@lab.example>",
            "P Received: from [127.0.0.1] (port=56620 helo=mail.outside.example)",
            "\tby mx.lab.example with esmtp (Exim 4.96)",
            "\t(envelope-from <billing@outside.example>)",
            "\tid 1xaGhe-00000h-2Y",
            "\tfor frank@lab.example;",
            "\tSun, 06 Dec 2026 18:11:14 +0000",
            "  Date: Sun, 06 Dec 2026 18:11:14 +0000",
            "T To: frank@lab.example",
            "F From: billing@outside.example",
            "  Subject: Invoice 2231 overdue",
            "I Message-Id: <20261206181114.000042@mx>",
            "  X-Mailer: swaks v20201014.0 jetmore.org/john/code/swaks/",
            "  X-Campaign: q4-7731",
        ];
        for l in block {
            assert!(extend_block(&mut p.detail, l), "{l}");
        }
        assert!(!extend_block(&mut p.detail, "2026-12-06 18:11:15 1xaGhf-00000j-0A H=(mail.outside.example) [127.0.0.1]:56624 F=<spoof@outside.example> rejected after DATA: '>' missing at end of address: failing address in \"From:\" header is: \"Bank\" <support@bank.example"));
        assert_eq!(
            p.detail.as_deref(),
            Some("H=(mail.outside.example) [127.0.0.1]:56620 F=<billing@outside.example> rejected after DATA: Rejected: this subject is not accepted here; From: billing@outside.example; Subject: Invoice 2231 overdue; Message-Id: <20261206181114.000042@mx>")
        );
        // Lines of a block met on their own (a chunk that starts inside one) are part of an
        // entry; timestamped lines are not.
        for l in [
            "Envelope-from: <spoof@outside.example>",
            "F From: \"Bank\" <support@bank.example",
            "I Message-Id: <20261206181115.000044@mx>",
            "P Received: from [127.0.0.1] (port=56624 helo=mail.outside.example)",
            "*** truncated ***",
        ] {
            assert!(is_block_line(l), "{l}");
        }
        assert!(!is_block_line("2026-12-06 18:11:15 H=(mail.outside.example) [127.0.0.1]:56632 F=<probe@outside.example> rejected RCPT <ticket-abc@lab.example>: Unrouteable address"));
        assert!(!is_block_line("F from the field: not a header"));
        // A header cut to its bound: the text is the sender's.
        let mut p = ev(line);
        let long = format!("  Subject: {}", "é".repeat(300));
        assert!(extend_block(&mut p.detail, &long));
        let d = p.detail.as_deref().unwrap_or_default();
        assert!(d.len() < line.len() + 230, "{}", d.len());
        // A header-syntax rejection: the broken From: stays as Exim logged it.
        let p = ev("1xaGhf-00000j-0A H=(mail.outside.example) [127.0.0.1]:56624 F=<spoof@outside.example> rejected after DATA: '>' missing at end of address: failing address in \"From:\" header is: \"Bank\" <support@bank.example");
        assert_eq!(
            (p.kind, p.sender.as_deref()),
            (Some(Kind::Reject), Some("spoof@outside.example"))
        );
        // A rejection at RCPT has no block.
        let p = ev("H=(mail.outside.example) [127.0.0.1]:56644 F=<root@outside.example> rejected RCPT <${run{\\x2Fbin\\x2Fsh\\t-c\\t\\x22id\\x3E\\x2Ftmp\\x2Fpwned\\x22}}@lab.example>: Unrouteable address");
        assert_eq!(
            (p.kind, p.recipient.as_deref()),
            (
                Some(Kind::RecipientUnknown),
                Some("${run{\\x2Fbin\\x2Fsh\\t-c\\t\\x22id\\x3E\\x2Ftmp\\x2Fpwned\\x22}}@lab.example")
            )
        );
        assert!(!takes_block(
            p.detail.as_deref(),
            p.kind.unwrap_or(Kind::Reject),
            false
        ));
    }

    #[test]
    fn paniclog_lines() {
        for line in [
            "failed to expand condition \"${if >{$local_part}{0}}\" for tickets router: integer expected but \"abc\" found",
            "daemon_notifier_socket bind: Address already in use",
            "socket bind() to port 25 for address 127.0.0.1 failed: Address already in use: daemon abandoned",
            "exim user lost privilege for using -C option",
        ] {
            let p = ev(line);
            assert_eq!(
                (p.kind, p.src_ip.as_deref(), p.detail.as_deref()),
                (Some(Kind::Service), None, Some(line)),
                "{line}"
            );
        }
        // A configuration error takes its indented second line.
        let mut p = ev("Exim configuration error in line 6 of /etc/exim4/bad.conf:");
        assert_eq!(p.kind, Some(Kind::Service));
        assert!(takes_block(p.detail.as_deref(), Kind::Service, false));
        assert!(extend_block(
            &mut p.detail,
            "  main option \"recieve_timeout\" unknown"
        ));
        assert!(!extend_block(
            &mut p.detail,
            "2026-12-06 18:11:16 exim user lost privilege for using -C option"
        ));
        assert_eq!(
            p.detail.as_deref(),
            Some("Exim configuration error in line 6 of /etc/exim4/bad.conf: main option \"recieve_timeout\" unknown")
        );
    }

    #[test]
    fn completed_messages_are_gone() {
        assert_eq!(
            gone("exim", "1Ov4tU-0000Nz-Rm Completed"),
            Some("1Ov4tU-0000Nz-Rm")
        );
        assert_eq!(
            gone("exim", "1Ov4tU-0000Nz-Rm => bob@example.org R=local"),
            None
        );
        assert_eq!(gone("exim", "Completed"), None);
    }
}
