//! OpenSMTPD (`smtpd`), in the three formats it has written:
//!
//! - 6.4 and later (7.x): `SID smtp connected address=IP host=H`, `SID smtp authentication
//!   user=U result=ok|permfail|tempfail`, `SID smtp failed-command command="…" result="…"`,
//!   `SID smtp bad-input result="…"`, `SID smtp message msgid=M size=… nrcpt=… proto=…`, `SID
//!   smtp envelope evpid=E from=<…> to=<…>`, `SID smtp disconnected reason=…`, `SID smtp tls
//!   ciphers=…`; our own deliveries `SID mta delivery evpid=E from=<…> to=<…> rcpt=<…|-> source="…"
//!   relay="…" delay=… result="Ok" stat="…"` and `SID mda delivery evpid=E from=<…> to=<…>
//!   rcpt=<…> user=U delay=… result=Ok stat=…`.
//! - 6.0–6.3: the same with `event=` before the line class (`smtp event=connected`,
//!   `event=closed`, `event=starttls`, `mda event=delivery … method=M`), every smtp line naming
//!   `address=` and `host=`.
//! - 5.x: `smtp-in: New session S from host H [IP]`, `smtp-in: Accepted authentication for user
//!   U on session S` / `Authentication failed for user U …`, `smtp-in: Failed command on session
//!   S: "…" => 5xx …`, `smtp-in: Accepted message M on session S: from=<…>, to=<…>, …`,
//!   `smtp-in: Closing session S`, `Received disconnect from session S`, `Disconnecting session
//!   S: …`, `Started TLS on session S: …`; `delivery: Ok for E: from=<…>, to=<…>, user=U, …` and
//!   `relay: Ok for E: session=…, from=<…>, to=<…>, …`.
//!
//! From 6.4 on only the `connected` line names the client: every later line of the session
//! names the 16-hex session id, kept in [`Parsed::session`] (and in `queue_id`, so a reader can
//! follow the session), and `parse::correlate` carries the address — and the login, once an
//! `authentication … result=ok` line gave one — from it to the session's later events; a
//! session's end is told apart from a scanner's empty session there too (the `disconnected`
//! line does not say whether the session did anything). Message lines carry the message id
//! (`msgid`, the first 8 hex digits of each envelope id `evpid`) as `queue_id`, so a message's
//! arrival, envelopes and deliveries share it, and the login is carried to its deliveries.
//!
//! OpenSMTPD answers a RCPT to an unknown local user and a relay attempt alike (`550 Invalid
//! recipient: <…>`): this parser says `recipient_unknown`, and the correlation turns it into
//! `relay_denied` when the recipient's domain is not one the host was seen delivering to
//! locally before the line (see `parse::correlate`). The failed command is attacker text: it
//! is kept, bounded, in `detail` (`command="…" result="…"`).

use std::borrow::Cow;

use super::fields::{angle, find, owned, Parse};
use super::record::{Kind, Parsed};
use crate::sanitize::capped as bounded;

/// Whether a syslog tag belongs to OpenSMTPD.
pub fn is_opensmtpd(tag: &str) -> bool {
    tag == "smtpd"
}

/// Longest failed command kept in `detail` (attacker text).
pub const MAX_COMMAND: usize = 1024;

/// Whether `s` is an OpenSMTPD id: 16 (session, envelope) or 8 (message) lower-case hex digits.
fn is_id(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The message id of an envelope id (its first 8 hex digits).
fn msgid_of(evpid: &str) -> Option<&str> {
    is_id(evpid, 16).then(|| &evpid[..8])
}

/// The value of a space-separated `key=value` token of a line's fixed part: tokens are read up
/// to the first quoted attacker text (`command="`, `result="`), so a failed command cannot
/// supply one.
fn token<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    for t in s.split(' ') {
        if t.starts_with("command=") || t.starts_with("result=\"") {
            return None;
        }
        if let Some(v) = t.strip_prefix(key).and_then(|v| v.strip_prefix('=')) {
            return Some(v.trim_matches('"'));
        }
    }
    None
}

/// The client address of a `address=` value (`local`: the local enqueuer, no address).
fn address(v: Option<&str>) -> Option<&str> {
    v.filter(|a| !a.is_empty() && *a != "local")
}

/// The client name as the other parsers give it (`unknown` when unresolved).
fn host(v: Option<&str>) -> Option<&str> {
    v.map(|h| if h == "<unknown>" { "unknown" } else { h })
        .filter(|h| !h.is_empty())
}

/// A session event: protocol, session id (also as `queue_id`) and, where the line names it
/// (6.0–6.3), the client.
fn session<'a>(kind: Kind, sid: &'a str, fixed: &'a str) -> Parsed<'a> {
    let mut p = Parsed::smtp_client(
        kind,
        host(token(fixed, "host")),
        address(token(fixed, "address")),
    );
    p.session = Some(Cow::Borrowed(sid));
    p.queue_id = Some(Cow::Borrowed(sid));
    p
}

/// Parses one OpenSMTPD message.
pub fn parse<'a>(_tag: &'a str, msg: &'a str) -> Parse<'a> {
    if let Some(rest) = msg.strip_prefix("smtp-in: ") {
        return old_session(rest);
    }
    if msg.starts_with("smtp-out: ") {
        return Parse::Ignored;
    }
    if let Some(rest) = msg.strip_prefix("delivery: ") {
        return old_delivery(rest, false);
    }
    if let Some(rest) = msg.strip_prefix("relay: ") {
        return old_delivery(rest, true);
    }
    if let Some((id, rest)) = msg.split_once(' ') {
        if is_id(id, 16) {
            return with_id(id, rest);
        }
    }
    daemon(msg)
}

/// The daemon's own lines: `info: OpenSMTPD 7.6.0-portable starting`, `fatal: …` are
/// `service`; other `info:`, `warn:`, `debug:` lines (processes exiting, queue chatter) and
/// the bare `startup` are ignored.
fn daemon(msg: &str) -> Parse<'_> {
    let starting = msg.starts_with("info: OpenSMTPD ") || msg.starts_with("info: Startup");
    if starting || msg.starts_with("fatal") || msg.contains(": fatal: ") {
        return Parse::Event(Parsed {
            detail: Some(bounded(msg, MAX_COMMAND)),
            ..Parsed::new(Kind::Service)
        });
    }
    let chatter = ["info: ", "warn: ", "debug: ", "startup", "smtpd: "];
    if chatter.iter().any(|c| msg.starts_with(c)) {
        Parse::Ignored
    } else {
        Parse::Unknown
    }
}

/// A line after its 16-hex id: `smtp …`, `mta …`, `mda …`.
fn with_id<'a>(id: &'a str, rest: &'a str) -> Parse<'a> {
    let (process, body) = rest.split_once(' ').unwrap_or((rest, ""));
    // 6.0–6.3 wrote `event=connected` where 6.4 writes `connected`.
    let body = body.strip_prefix("event=").unwrap_or(body);
    let (class, args) = body.split_once(' ').unwrap_or((body, ""));
    match process {
        "smtp" => smtp(id, class, args),
        "mta" | "mda" if class == "delivery" => delivery(process == "mda", args),
        "mta" => Parse::Ignored,
        _ => Parse::Unknown,
    }
}

fn smtp<'a>(sid: &'a str, class: &'a str, args: &'a str) -> Parse<'a> {
    let p = match class {
        "connected" => session(Kind::Connect, sid, args),
        "authentication" => {
            let kind = match token(args, "result") {
                Some("ok") => Kind::AuthSuccess,
                Some("permfail") => Kind::AuthFailure,
                // The credentials backend failed (`421 Temporary failure`): not the client's.
                Some("tempfail") => Kind::Service,
                _ => return Parse::Unknown,
            };
            let mut p = session(kind, sid, args);
            p.actor = owned(token(args, "user"));
            p.detail = Some(Cow::Borrowed(args));
            p
        }
        "failed-command" => return failed_command(session_base(sid, args), command_of(args)),
        "bad-input" => {
            let mut p = session(Kind::ProtocolError, sid, args);
            p.detail = Some(bounded(args, MAX_COMMAND));
            p
        }
        "message" => {
            let Some(m) = token(args, "msgid").filter(|m| is_id(m, 8)) else {
                return Parse::Unknown;
            };
            let mut p = session(Kind::MessageReceived, sid, args);
            p.queue_id = Some(Cow::Borrowed(m));
            p.sender = owned(angle(args, "from"));
            p.detail = Some(Cow::Borrowed(
                args.find("size=").map_or(args, |at| &args[at..]),
            ));
            p
        }
        "envelope" => {
            let Some(m) = token(args, "evpid").and_then(msgid_of) else {
                return Parse::Unknown;
            };
            let mut p = session(Kind::MessageQueued, sid, args);
            p.queue_id = Some(Cow::Borrowed(m));
            p.sender = owned(angle(args, "from"));
            p.recipient = owned(angle(args, "to"));
            p.detail = token(args, "evpid").map(|e| Cow::Owned(format!("evpid={e}")));
            p
        }
        "disconnected" | "closed" => {
            let reason = args
                .find("reason=")
                .map_or("", |at| args[at + 7..].trim_matches('"'));
            let kind = if reason == "quit" {
                Kind::Disconnect
            } else {
                Kind::LostConnection
            };
            let mut p = session(kind, sid, args);
            p.detail = Some(bounded(&args[args.find("reason=").unwrap_or(0)..], 256));
            p
        }
        "tls" | "starttls" | "client-cert-check" | "proxy" | "filter-response" => {
            return Parse::Ignored
        }
        _ => return Parse::Unknown,
    };
    Parse::Event(p)
}

/// A session event for a failed command: the client only when the fixed part (before the
/// quoted command) names it.
fn session_base<'a>(sid: &'a str, args: &'a str) -> Parsed<'a> {
    session(Kind::Reject, sid, args)
}

/// `(command, result, whole)` of `command="…" result="…"`: the result is found from the end
/// (the command is the client's text and may hold `" result="` itself).
fn command_of(args: &str) -> Option<(&str, &str, &str)> {
    let at = find(args, "command=\"")?;
    let whole = &args[at..];
    let body = &whole[9..];
    let r = body.rfind("\" result=\"")?;
    let result = body[r + 10..].strip_suffix('"').unwrap_or(&body[r + 10..]);
    Some((&body[..r], result, whole))
}

/// What a refused command was: the command and the server's answer.
fn failed_command<'a>(mut p: Parsed<'a>, parts: Option<(&'a str, &'a str, &'a str)>) -> Parse<'a> {
    let Some((command, result, whole)) = parts else {
        return Parse::Unknown;
    };
    let upper = |n: usize| command.get(..n).map(str::to_ascii_uppercase);
    let verb = upper(4).unwrap_or_default();
    let code = result.get(..3).unwrap_or("");
    p.detail = Some(bounded(whole, MAX_COMMAND));
    p.status = Some("rejected".into());
    let arg = |skip: usize| {
        command
            .get(skip..)
            .map(|a| a.trim_start())
            .and_then(|a| a.split([' ', '>']).next())
            .map(|a| a.trim_start_matches('<'))
    };
    match verb.as_str() {
        "VRFY" | "EXPN" => {
            p.kind = Some(if verb == "VRFY" {
                Kind::Vrfy
            } else {
                Kind::Expn
            });
            p.recipient = owned(arg(4)).map(|r| bounded_cow(r, MAX_COMMAND));
        }
        // The refused password has its own `authentication … result=permfail` line (the
        // event); other refusals of AUTH (mechanism, sequence, syntax) are rejects.
        "AUTH" if code == "535" => return Parse::Ignored,
        "AUTH" => {}
        "MAIL" if upper(10).as_deref() == Some("MAIL FROM:") => {
            // Kept whole up to the bound: `MAIL FROM:<;sleep 66;>` is CVE-2020-7247's probe.
            p.sender = owned(command.get(10..).map(|a| {
                let a = a.trim_start();
                let a = a.strip_prefix('<').unwrap_or(a);
                a.rfind('>').map_or(a, |e| &a[..e])
            }))
            .map(|s| bounded_cow(s, MAX_COMMAND));
        }
        "RCPT" if upper(8).as_deref() == Some("RCPT TO:") => {
            p.recipient = owned(arg(8)).map(|r| bounded_cow(r, MAX_COMMAND));
            if result.contains("Invalid recipient") {
                p.kind = Some(Kind::RecipientUnknown);
            }
        }
        // `GET / HTTP/1.1`, `500 … Command unrecognized`; syntax and sequence errors.
        _ if matches!(code, "500" | "501" | "502" | "503" | "504") => {
            p.kind = Some(Kind::ProtocolError);
            p.status = None;
        }
        _ => {}
    }
    Parse::Event(p)
}

fn bounded_cow(s: Cow<'_, str>, max: usize) -> Cow<'_, str> {
    match s {
        Cow::Borrowed(b) => bounded(b, max),
        Cow::Owned(o) if o.len() > max => Cow::Owned(bounded(&o, max).into_owned()),
        o => o,
    }
}

/// `status` of an OpenSMTPD delivery result.
fn status(result: &str) -> &'static str {
    match result {
        "Ok" => "sent",
        "TempFail" => "deferred",
        _ => "bounced",
    }
}

/// `mta delivery` (to another host) / `mda delivery` (into a local mailbox, `user=`).
fn delivery(local: bool, args: &str) -> Parse<'_> {
    let Some(evpid) = token(args, "evpid") else {
        return Parse::Unknown;
    };
    let Some(m) = msgid_of(evpid) else {
        return Parse::Unknown;
    };
    let to = owned(angle(args, "to"));
    // `rcpt=<->`: the original recipient is `to` itself.
    let rcpt = angle(args, "rcpt").filter(|r| *r != "-" && Some(*r) != to.as_deref());
    let result = args
        .find(" result=")
        .map_or("", |at| args[at + 8..].split(' ').next().unwrap_or(""))
        .trim_matches('"');
    let stat = args
        .find(" stat=")
        .map_or("", |at| args[at + 6..].trim_matches('"'));
    let forwarded = !local && rcpt.is_some();
    let mut p = Parsed {
        proto: Some("smtp"),
        ..Parsed::new(if forwarded {
            Kind::Forwarded
        } else {
            Kind::Delivery
        })
    };
    p.queue_id = Some(Cow::Borrowed(m));
    p.sender = owned(angle(args, "from"));
    p.recipient = to;
    p.orig_recipient = owned(rcpt);
    p.status = Some(status(result).into());
    if local {
        p.mailbox = owned(token(args, "user"));
        p.relay = Some("local".into());
    } else {
        // Whose mail left: the mailbox an alias or `.forward` sent on.
        p.mailbox = owned(rcpt);
        p.relay = args
            .find(" relay=\"")
            .and_then(|at| args[at + 8..].split('"').next())
            .and_then(|r| owned(Some(r)));
    }
    p.detail = Some(Cow::Owned(format!(
        "evpid={evpid} stat={}",
        bounded(stat, 256)
    )));
    Parse::Event(p)
}

/// The 16-hex session id after `session ` in an old-format line.
fn old_sid(s: &str) -> Option<&str> {
    let at = find(s, "session ")? + 8;
    let id = s.get(at..at + 16)?;
    is_id(id, 16).then_some(id)
}

/// 5.x `smtp-in: …` lines.
fn old_session(rest: &str) -> Parse<'_> {
    let Some(sid) = old_sid(rest) else {
        return if rest.starts_with("hiwat") || rest.starts_with("back to lowat") {
            Parse::Ignored
        } else {
            Parse::Unknown
        };
    };
    let mut p = session(Kind::Connect, sid, "");
    if rest.starts_with("New session ") {
        // `from host H [IP]` (`[local]` for the local enqueuer).
        if let Some(from) = rest.find(" from host ") {
            let spec = &rest[from + 11..];
            let (h, ip) = spec.rsplit_once(" [").unwrap_or((spec, ""));
            p.src_host = owned(host(Some(h)));
            p.src_ip = owned(address(Some(ip.trim_end_matches(']'))));
        }
        return Parse::Event(p);
    }
    for (marker, kind) in [
        ("Accepted authentication for user ", Kind::AuthSuccess),
        ("Authentication failed for user ", Kind::AuthFailure),
        ("Authentication temporarily failed for user ", Kind::Service),
    ] {
        if let Some(user) = rest.strip_prefix(marker) {
            p.kind = Some(kind);
            p.actor = owned(user.rsplit_once(" on session ").map(|(u, _)| u));
            p.detail = Some(Cow::Borrowed(rest));
            return Parse::Event(p);
        }
    }
    if let Some(m) = rest.strip_prefix("Accepted message ") {
        let Some(msgid) = m.get(..8).filter(|m| is_id(m, 8)) else {
            return Parse::Unknown;
        };
        p.kind = Some(Kind::MessageReceived);
        p.queue_id = Some(Cow::Borrowed(msgid));
        p.sender = owned(angle(rest, "from"));
        p.detail = Some(Cow::Borrowed(
            rest.find("size=").map_or(rest, |at| &rest[at..]),
        ));
        return Parse::Event(p);
    }
    if rest.starts_with("Failed command on session ") {
        // `"CMD" => RESULT`, the command quoted as typed (the last `" => ` ends it).
        let parts = rest.find(": \"").and_then(|at| {
            let whole = &rest[at + 2..];
            let (cmd, result) = whole[1..].rsplit_once("\" => ")?;
            Some((cmd, result, whole))
        });
        p.kind = Some(Kind::Reject);
        return failed_command(p, parts);
    }
    let (kind, detail) = if rest.starts_with("Closing session ") {
        (Kind::Disconnect, "reason=quit")
    } else if rest.starts_with("Received disconnect from session ") {
        (Kind::LostConnection, "reason=disconnect")
    } else if rest.starts_with("Disconnecting session ") {
        (
            Kind::LostConnection,
            rest.split_once(": ").map_or("", |r| r.1),
        )
    } else if rest.starts_with("Bad input on session ") {
        (Kind::ProtocolError, rest)
    } else if rest.starts_with("Ending session ") {
        // `: too many failed RCPT` — the server ended an enumeration.
        (Kind::ProtocolError, rest)
    } else if rest.starts_with("Started TLS on session ")
        || rest.starts_with("Client certificate verification ")
    {
        return Parse::Ignored;
    } else {
        return Parse::Unknown;
    };
    p.kind = Some(kind);
    p.detail = Some(bounded(detail, MAX_COMMAND));
    Parse::Event(p)
}

/// 5.x `delivery: Ok for EVPID: from=<…>, to=<…>, user=u, method=m, delay=…, stat=…` and
/// `relay: Ok for EVPID: session=…, from=<…>, to=<…>, rcpt=<…>, source=…, relay=…, …`.
fn old_delivery(rest: &str, remote: bool) -> Parse<'_> {
    let Some((result, tail)) = rest.split_once(" for ") else {
        return Parse::Unknown;
    };
    let Some((evpid, args)) = tail.split_once(": ") else {
        return Parse::Unknown;
    };
    let Some(m) = msgid_of(evpid) else {
        return Parse::Unknown;
    };
    let to = owned(angle(args, "to"));
    let rcpt = angle(args, "rcpt").filter(|r| *r != "-" && Some(*r) != to.as_deref());
    let forwarded = remote && rcpt.is_some();
    let mut p = Parsed {
        proto: Some("smtp"),
        ..Parsed::new(if forwarded {
            Kind::Forwarded
        } else {
            Kind::Delivery
        })
    };
    p.queue_id = Some(Cow::Borrowed(m));
    p.sender = owned(angle(args, "from"));
    p.recipient = to;
    p.orig_recipient = owned(rcpt);
    p.status = Some(status(result).into());
    let field = |k: &str| {
        args.find(&format!(", {k}="))
            .map(|at| &args[at + k.len() + 3..])
            .map(|v| v.split(", ").next().unwrap_or(v))
    };
    if remote {
        p.mailbox = owned(rcpt);
        p.relay = owned(field("relay"));
    } else {
        p.mailbox = owned(field("user"));
        p.relay = Some("local".into());
    }
    let stat = args.find(", stat=").map_or("", |at| &args[at + 7..]);
    p.detail = Some(Cow::Owned(format!(
        "evpid={evpid} stat={}",
        bounded(stat, 256)
    )));
    Parse::Event(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(msg: &str) -> Parsed<'_> {
        match parse("smtpd", msg) {
            Parse::Event(p) => p,
            other => panic!("{msg}: {other:?}"),
        }
    }

    /// A line and its `(kind, src_ip, actor, recipient)`.
    type Case<'a> = (
        &'a str,
        Kind,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
    );

    /// `(kind, src_ip, actor, recipient)` of a line.
    fn row<'a>(
        p: &'a Parsed<'a>,
    ) -> (
        Option<Kind>,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
    ) {
        (
            p.kind,
            p.src_ip.as_deref(),
            p.actor.as_deref(),
            p.recipient.as_deref(),
        )
    }

    /// Every line class of the 7.6 fixture (tests/fixtures/opensmtpd), as the parser alone
    /// reads it: the address of a session's later lines is joined in `parse::correlate`.
    #[test]
    fn lines_of_opensmtpd_7_6() {
        let cases: &[Case] = &[
            (
                "d68f432cbce2d433 smtp connected address=127.0.1.10 host=<unknown>",
                Kind::Connect,
                Some("127.0.1.10"),
                None,
                None,
            ),
            (
                "d68f431d24a92474 smtp authentication user=alice result=ok",
                Kind::AuthSuccess,
                None,
                Some("alice"),
                None,
            ),
            (
                "d68f433a4858c30d smtp authentication user=carol result=permfail",
                Kind::AuthFailure,
                None,
                Some("carol"),
                None,
            ),
            (
                "d68f4331de0a4abd smtp failed-command command=\"VRFY alice\" result=\"500 5.5.1 Invalid command: Command unrecognized\"",
                Kind::Vrfy,
                None,
                None,
                Some("alice"),
            ),
            (
                "d68f4331de0a4abd smtp failed-command command=\"EXPN sales\" result=\"500 5.5.1 Invalid command: Command unrecognized\"",
                Kind::Expn,
                None,
                None,
                Some("sales"),
            ),
            (
                "d68f4331de0a4abd smtp failed-command command=\"RCPT TO:<admin@lab.example>\" result=\"550 Invalid recipient: <admin@lab.example>\"",
                Kind::RecipientUnknown,
                None,
                None,
                Some("admin@lab.example"),
            ),
            (
                "d68f4332b46be4a7 smtp failed-command command=\"RCPT TO:<victim@remote.example>\" result=\"550 Invalid recipient: <victim@remote.example>\"",
                Kind::RecipientUnknown,
                None,
                None,
                Some("victim@remote.example"),
            ),
            (
                "d68f432f9d43072e smtp failed-command command=\"GET / HTTP/1.1\" result=\"500 5.5.1 Invalid command: Command unrecognized\"",
                Kind::ProtocolError,
                None,
                None,
                None,
            ),
            (
                "d68f433493362ba8 smtp failed-command command=\"MAIL FROM:<;sleep 66;>\" result=\"553 5.1.0 Sender address syntax error\"",
                Kind::Reject,
                None,
                None,
                None,
            ),
            (
                "d68f4340f10a5512 smtp message msgid=92d05984 size=361 nrcpt=1 proto=ESMTP",
                Kind::MessageReceived,
                None,
                None,
                None,
            ),
            (
                "d68f4340f10a5512 smtp envelope evpid=92d05984a55e1076 from=<carol@lab.example> to=<target0@victims.example>",
                Kind::MessageQueued,
                None,
                None,
                Some("target0@victims.example"),
            ),
            (
                "d68f431d24a92474 smtp disconnected reason=quit",
                Kind::Disconnect,
                None,
                None,
                None,
            ),
            (
                "d68f432cbce2d433 smtp disconnected reason=disconnect",
                Kind::LostConnection,
                None,
                None,
                None,
            ),
            (
                "d68f434405547024 mta delivery evpid=92d05984a55e1076 from=<carol@lab.example> to=<target0@victims.example> rcpt=<-> source=\"127.0.0.1\" relay=\"127.0.99.1 (127.0.99.1)\" delay=0s result=\"Ok\" stat=\"250 accepted and dropped\"",
                Kind::Delivery,
                None,
                None,
                Some("target0@victims.example"),
            ),
            (
                "d68f431fa4e731ee mda delivery evpid=b7b58f134cb4ef81 from=<alice@lab.example> to=<bob@lab.example> rcpt=<bob@lab.example> user=bob delay=0s result=Ok stat=Delivered",
                Kind::Delivery,
                None,
                None,
                Some("bob@lab.example"),
            ),
            (
                "info: OpenSMTPD 7.6.0-portable starting",
                Kind::Service,
                None,
                None,
                None,
            ),
        ];
        for (line, kind, ip, user, rcpt) in cases {
            let p = ev(line);
            assert_eq!(row(&p), (Some(*kind), *ip, *user, *rcpt), "{line}");
        }
        // The session id rides on every session line; message lines name the message.
        let p = ev("d68f4340f10a5512 smtp message msgid=92d05984 size=361 nrcpt=1 proto=ESMTP");
        assert_eq!(
            (
                p.session.as_deref(),
                p.queue_id.as_deref(),
                p.detail.as_deref()
            ),
            (
                Some("d68f4340f10a5512"),
                Some("92d05984"),
                Some("size=361 nrcpt=1 proto=ESMTP")
            )
        );
        let p = ev("d68f4340f10a5512 smtp envelope evpid=92d05984a55e1076 from=<carol@lab.example> to=<target0@victims.example>");
        assert_eq!(
            (p.queue_id.as_deref(), p.sender.as_deref()),
            (Some("92d05984"), Some("carol@lab.example"))
        );
        let p = ev("d68f432cbce2d433 smtp connected address=127.0.1.10 host=<unknown>");
        assert_eq!(
            (p.src_host.as_deref(), p.session.as_deref()),
            (Some("unknown"), Some("d68f432cbce2d433"))
        );
        // The CVE-2020-7247 probe: the attacker's command kept in detail.
        let p = ev("d68f433493362ba8 smtp failed-command command=\"MAIL FROM:<;for i in 0 1 2 3 4 5 6 7 8 9 a b c d;do read r;done;sh;exit 0;>\" result=\"553 5.1.0 Sender address syntax error\"");
        assert_eq!(
            p.detail.as_deref(),
            Some("command=\"MAIL FROM:<;for i in 0 1 2 3 4 5 6 7 8 9 a b c d;do read r;done;sh;exit 0;>\" result=\"553 5.1.0 Sender address syntax error\"")
        );
        assert_eq!(
            p.sender.as_deref(),
            Some(";for i in 0 1 2 3 4 5 6 7 8 9 a b c d;do read r;done;sh;exit 0;")
        );
        // Deliveries: the message id, the status, whose mailbox, the next hop.
        let p = ev("d68f43299fde084b mda delivery evpid=7ad35890f0c3b880 from=<news@partner.example> to=<sales@lab.example> rcpt=<sales@lab.example> user=bob delay=0s result=Ok stat=Delivered");
        assert_eq!(
            (
                p.queue_id.as_deref(),
                p.status.as_deref(),
                p.mailbox.as_deref(),
                p.relay.as_deref(),
                p.orig_recipient.as_deref()
            ),
            (
                Some("7ad35890"),
                Some("sent"),
                Some("bob"),
                Some("local"),
                None
            )
        );
        let p = ev("d68f43260127c132 mta delivery evpid=35bec988876f0827 from=<bob@lab.example> to=<partner@remote.example> rcpt=<-> source=\"127.0.0.1\" relay=\"127.0.99.1 (127.0.99.1)\" delay=0s result=\"Ok\" stat=\"250 accepted and dropped\"");
        assert_eq!(
            (
                p.queue_id.as_deref(),
                p.status.as_deref(),
                p.mailbox.as_deref(),
                p.relay.as_deref(),
                p.src_ip.as_deref()
            ),
            (
                Some("35bec988"),
                Some("sent"),
                None,
                Some("127.0.99.1 (127.0.99.1)"),
                None
            )
        );
        // Known lines without an event.
        for line in [
            "d68f431d24a92474 smtp tls ciphers=TLSv1.3:TLS_AES_256_GCM_SHA384:256",
            "d68f43260127c132 mta connecting address=smtp://127.0.99.1:25 host=127.0.99.1",
            "d68f43260127c132 mta connected",
            "d68f43260127c132 mta disconnected reason=quit messages=1",
            "d68f433586f6ac8d smtp failed-command command=\"AUTH LOGIN (password)\" result=\"535 Authentication failed\"",
            "warn: purge_task: opendir: No such file or directory",
        ] {
            assert!(matches!(parse("smtpd", line), Parse::Ignored), "{line}");
        }
    }

    /// Every OpenSMTPD line of the fixture is recognised.
    #[test]
    fn every_line_of_the_fixture_is_recognised() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/opensmtpd/var/log/mail.log");
        let text = std::fs::read_to_string(path).expect("fixture");
        let mut seen = 0;
        for line in text.lines() {
            let l = crate::events::syslog::parse(line).expect("a syslog line");
            assert!(is_opensmtpd(l.tag), "{line}");
            seen += 1;
            assert!(!matches!(parse(l.tag, l.msg), Parse::Unknown), "{line}");
        }
        assert_eq!(seen, 205);
    }

    /// The 6.0–6.3 format (`event=`, the client on every line), lines as OpenSMTPD 6.0.3's
    /// sources write them.
    #[test]
    fn lines_of_opensmtpd_6_0() {
        let p = ev("1a2b3c4d5e6f7081 smtp event=authentication user=carol address=192.0.2.7 host=x.example result=permfail");
        assert_eq!(
            row(&p),
            (
                Some(Kind::AuthFailure),
                Some("192.0.2.7"),
                Some("carol"),
                None
            )
        );
        let p = ev("1a2b3c4d5e6f7081 smtp event=failed-command address=192.0.2.7 host=x.example command=\"RCPT TO:<a@b.example>\" result=\"550 Invalid recipient\"");
        assert_eq!(
            row(&p),
            (
                Some(Kind::RecipientUnknown),
                Some("192.0.2.7"),
                None,
                Some("a@b.example")
            )
        );
        let p = ev(
            "1a2b3c4d5e6f7081 smtp event=closed address=192.0.2.7 host=x.example reason=timeout",
        );
        assert_eq!(
            row(&p),
            (Some(Kind::LostConnection), Some("192.0.2.7"), None, None)
        );
        let p = ev("1a2b3c4d5e6f7081 smtp event=message address=192.0.2.7 host=x.example msgid=4296f490 from=<a@b.example> to=<c@d.example> size=1746 ndest=1 proto=ESMTP");
        assert_eq!(
            (p.kind, p.queue_id.as_deref(), p.src_ip.as_deref()),
            (
                Some(Kind::MessageReceived),
                Some("4296f490"),
                Some("192.0.2.7")
            )
        );
        let p = ev("1a2b3c4d5e6f7082 mda event=delivery evpid=4296f4903d4d4a15 from=<a@b.example> to=<c@d.example> user=c method=mbox delay=0s result=Ok stat=Delivered");
        assert_eq!(
            (p.kind, p.mailbox.as_deref(), p.queue_id.as_deref()),
            (Some(Kind::Delivery), Some("c"), Some("4296f490"))
        );
        // A failed command cannot name the client: the address is read before it.
        let p = ev("1a2b3c4d5e6f7081 smtp failed-command command=\"HELO address=6.6.6.6\" result=\"501 5.5.4 Syntax error\"");
        assert_eq!(p.src_ip, None);
    }

    /// The 5.x format (`smtp-in: …`), lines as OpenSMTPD 5.4–5.9's sources write them (the
    /// peer corpus measures the parser on a third party's real ones: `tests/peer_corpus.rs`).
    #[test]
    fn lines_of_opensmtpd_5() {
        let p = ev("smtp-in: New session 08d856b172f69c5c from host mail.example [192.0.2.8]");
        assert_eq!(
            (
                p.kind,
                p.src_ip.as_deref(),
                p.src_host.as_deref(),
                p.session.as_deref()
            ),
            (
                Some(Kind::Connect),
                Some("192.0.2.8"),
                Some("mail.example"),
                Some("08d856b172f69c5c")
            )
        );
        let p = ev("smtp-in: Authentication failed for user carol on session 08d856b172f69c5c");
        assert_eq!(
            row(&p),
            (Some(Kind::AuthFailure), None, Some("carol"), None)
        );
        let p = ev("smtp-in: Accepted authentication for user carol on session 08d856b172f69c5c");
        assert_eq!(
            row(&p),
            (Some(Kind::AuthSuccess), None, Some("carol"), None)
        );
        let p = ev("smtp-in: Failed command on session 08d856b172f69c5c: \"RCPT TO:<x@y.example>\" => 550 Invalid recipient");
        assert_eq!(
            row(&p),
            (
                Some(Kind::RecipientUnknown),
                None,
                None,
                Some("x@y.example")
            )
        );
        let p = ev("smtp-in: Closing session 08d856b172f69c5c");
        assert_eq!(p.kind, Some(Kind::Disconnect));
        let p = ev("smtp-in: Received disconnect from session 08d856b172f69c5c");
        assert_eq!(p.kind, Some(Kind::LostConnection));
        let p = ev("delivery: Ok for 4296f4903d4d4a15: from=<a@b.example>, to=<c@d.example>, user=c, method=mbox, delay=0s, stat=Delivered");
        assert_eq!(
            (
                p.kind,
                p.mailbox.as_deref(),
                p.status.as_deref(),
                p.queue_id.as_deref()
            ),
            (
                Some(Kind::Delivery),
                Some("c"),
                Some("sent"),
                Some("4296f490")
            )
        );
        let p = ev("relay: TempFail for 4296f4903d4d4a15: session=1a2b3c4d5e6f7081, from=<a@b.example>, to=<c@d.example>, rcpt=<-, source=192.0.2.1, relay=mx.d.example [198.51.100.9], delay=5s, stat=421 try later");
        assert_eq!(
            (p.kind, p.status.as_deref(), p.relay.as_deref()),
            (
                Some(Kind::Delivery),
                Some("deferred"),
                Some("mx.d.example [198.51.100.9]")
            )
        );
    }

    /// Attacker text stays bounded, and cannot move the result or the verb.
    #[test]
    fn hostile_commands() {
        let long = format!(
            "d68f433493362ba8 smtp failed-command command=\"MAIL FROM:<{}>\" result=\"553 5.1.0 Sender address syntax error\"",
            "é".repeat(4000)
        );
        let p = ev(&long);
        assert_eq!(p.kind, Some(Kind::Reject));
        assert!(p.detail.as_deref().unwrap_or("").len() < MAX_COMMAND + 64);
        assert!(p.sender.as_deref().unwrap_or("").len() < MAX_COMMAND + 64);
        // A command holding `" result="535 …` is still a MAIL refusal with its real answer.
        let p = ev("d68f433493362ba8 smtp failed-command command=\"MAIL FROM:<a\" result=\"535 x>\" result=\"553 5.1.0 Sender address syntax error\"");
        assert_eq!(p.kind, Some(Kind::Reject));
        assert!(matches!(
            parse("smtpd", "d68f433493362ba8 smtp failed-command command=\"x"),
            Parse::Unknown
        ));
        assert!(matches!(
            parse("smtpd", "zz smtp connected"),
            Parse::Unknown
        ));
    }
}
