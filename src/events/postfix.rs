//! Postfix: every daemon (`smtpd` under any service or instance name, `postscreen`,
//! `cleanup`, `qmgr`, `pickup`, the delivery agents, `bounce`, `master`, `postfix-script`,
//! `postsuper`, `anvil`) turned into events.
//!
//! The syslog tag is `postfix[-instance]/[service/]daemon`; the *daemon* (last component)
//! decides which messages to expect. Known chatter (TLS handshakes, `message-id=`, `removed`,
//! statistics) is [`Parse::Ignored`]; anything else unknown is [`Parse::Unknown`], so coverage
//! gaps show up in the stats. To support a new message: add a branch in the daemon's function
//! and a test line below.

use super::fields::{angle, client, client_after, find, has, owned, plain, queue_id, Parse};
use super::record::{line_ending, Kind, Parsed};

/// Whether a syslog tag belongs to Postfix.
pub fn is_postfix(tag: &str) -> bool {
    tag == "postfix" || tag.starts_with("postfix/") || tag.starts_with("postfix-")
}

fn with_client<'a>(mut p: Parsed<'a>, host: Option<&'a str>, ip: &'a str) -> Parsed<'a> {
    p.src_host = owned(host);
    p.src_ip = owned(Some(ip));
    p
}

/// The queue id of a message the queue manager removed (`QID: removed`): delivered or bounced
/// to its last recipient, or deleted (`postsuper -d`); no later line names it (a short queue
/// id may be reused, for another message).
pub fn gone<'a>(tag: &'a str, msg: &'a str) -> Option<&'a str> {
    let daemon = tag.rsplit('/').next().unwrap_or(tag);
    if !matches!(daemon, "qmgr" | "nqmgr" | "oqmgr" | "postsuper") {
        return None;
    }
    match queue_id(msg)? {
        (Some(qid), "removed") => Some(qid),
        _ => None,
    }
}

/// Parses one Postfix message `msg` logged under `tag`.
pub fn parse<'a>(tag: &'a str, msg: &'a str) -> Parse<'a> {
    let daemon = tag.rsplit('/').next().unwrap_or(tag);
    match daemon {
        "smtpd" | "postscreen" | "dnsblog" | "tlsproxy" => smtpd(msg),
        "cleanup" => cleanup(msg),
        "qmgr" | "nqmgr" | "oqmgr" => qmgr(msg),
        "pickup" => pickup(msg),
        "smtp" | "lmtp" | "local" | "virtual" | "pipe" | "error" | "retry" | "discard"
        | "relay" => delivery(daemon, msg),
        "bounce" | "defer" | "trace" => bounce(msg),
        "master" | "postfix-script" | "postsuper" | "postfix" | "postlog" | "postmap"
        | "postalias" | "sendmail" | "postdrop" | "postqueue" => service(daemon, msg),
        "anvil" | "scache" | "tlsmgr" | "verify" | "trivial-rewrite" | "proxymap" | "showq"
        | "flush" => Parse::Ignored,
        _ => smtpd(msg),
    }
}

/// `STAGE from host[ip]` reject body: `CODE DSN <addr>: reason; from=<> to=<> proto= helo=<>`.
fn reject<'a>(qid: Option<&'a str>, action: &str, rest: &'a str) -> Parse<'a> {
    let stage_end = rest.find(' ').unwrap_or(rest.len());
    let stage = &rest[..stage_end];
    let Some((host, ip, after)) = client_after(rest, " from ") else {
        return Parse::Unknown;
    };
    let text = after.trim_start_matches(':').trim();
    let lower_has = |needle: &str| has(text, needle);
    // SMTP smuggling defences: `smtpd_forbid_bare_newline = reject` refusing a bare LF
    // (`END-OF-MESSAGE …: bare <LF> received`), `reject_unauth_pipelining` refusing a DATA sent
    // without waiting (`DATA …: 503 5.5.0 <DATA>: Data command rejected: Improper use of SMTP
    // command pipelining`).
    let smuggling = if lower_has("bare <LF> received") {
        Some(line_ending::BARE_LF)
    } else if stage == "DATA" && lower_has("Improper use of SMTP command pipelining") {
        Some(line_ending::PIPELINING_AFTER_DATA)
    } else {
        None
    };
    let kind = if smuggling == Some(line_ending::BARE_LF) {
        Kind::ProtocolError
    } else if lower_has("Relay access denied") {
        Kind::RelayDenied
    } else if stage == "VRFY" {
        Kind::Vrfy
    } else if stage == "EXPN" {
        Kind::Expn
    } else if lower_has("User unknown")
        || lower_has("ser unknown")
        || lower_has("ndeliverable address")
    {
        Kind::RecipientUnknown
    } else {
        Kind::Reject
    };
    let mut p = with_client(Parsed::new(kind), host, ip);
    p.proto = Some("smtp");
    p.queue_id = owned(qid);
    p.sender = owned(angle(text, "from"));
    p.recipient = owned(angle(text, "to"));
    p.status = Some(match action {
        "reject_warning" => "warn".into(),
        "hold" | "discard" | "filter" | "redirect" => action.to_string().into(),
        _ => "rejected".into(),
    });
    let reason = text.split("; from=").next().unwrap_or(text);
    let said = format!("{stage}: {reason}");
    p.detail = Some(match smuggling {
        Some(marker) => line_ending::detail(marker, &said).into(),
        None => said.into(),
    });
    Parse::Event(p)
}

fn sasl_failure(msg: &str) -> Option<Parse<'_>> {
    // `host[ip][:port]: SASL LOGIN authentication failed: reason[, sasl_username=user]`
    let (host, ip, rest) = client(msg)?;
    let rest = rest.strip_prefix(": ")?;
    if !rest.starts_with("SASL ") || !has(rest, " authentication failed") {
        return None;
    }
    let server_side = has(rest, "Connection lost to authentication server")
        || has(rest, "Invalid authentication mechanism");
    let mut p = with_client(
        Parsed::new(if server_side {
            Kind::Service
        } else {
            Kind::AuthFailure
        }),
        host,
        ip,
    );
    p.proto = Some("smtp");
    let (text, user) = match rest.rfind(", sasl_username=") {
        Some(at) => (&rest[..at], Some(&rest[at + ", sasl_username=".len()..])),
        None => (rest, None),
    };
    // Postfix writes `(unavailable)` when the server never learnt the name.
    p.actor = owned(user.filter(|u| *u != "(unavailable)"));
    p.detail = Some(text.to_string().into());
    Some(Parse::Event(p))
}

fn smtpd(msg: &str) -> Parse<'_> {
    if let Some(rest) = msg.strip_prefix("connect from ") {
        return match client(rest) {
            Some((h, ip, _)) => Parse::Event(with_client(
                Parsed {
                    proto: Some("smtp"),
                    ..Parsed::new(Kind::Connect)
                },
                h,
                ip,
            )),
            None => Parse::Unknown,
        };
    }
    if let Some(rest) = msg.strip_prefix("disconnect from ") {
        return match client(rest) {
            Some((h, ip, counts)) => {
                let mut p = with_client(
                    Parsed {
                        proto: Some("smtp"),
                        ..Parsed::new(Kind::Disconnect)
                    },
                    h,
                    ip,
                );
                p.detail = owned(Some(counts.trim()));
                Parse::Event(p)
            }
            None => Parse::Unknown,
        };
    }
    for (prefix, kind) in [
        ("lost connection after ", Kind::LostConnection),
        ("timeout after ", Kind::LostConnection),
        ("too many errors after ", Kind::ProtocolError),
        ("improper command pipelining after ", Kind::ProtocolError),
        ("bare <LF> received after ", Kind::ProtocolError),
    ] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            let stage = rest.split(' ').next().unwrap_or("");
            return match client_after(rest, " from ") {
                Some((h, ip, _)) => {
                    let mut p = with_client(
                        Parsed {
                            proto: Some("smtp"),
                            ..Parsed::new(kind)
                        },
                        h,
                        ip,
                    );
                    let what = prefix.trim_end_matches(' ').trim_end_matches(" after");
                    p.detail = Some(
                        if kind == Kind::LostConnection && what == "lost connection" {
                            format!("after {stage}").into()
                        } else if what == "improper command pipelining" && stage == "DATA" {
                            line_ending::detail(
                                line_ending::PIPELINING_AFTER_DATA,
                                &format!("{what} after {stage}"),
                            )
                            .into()
                        } else {
                            format!("{what} after {stage}").into()
                        },
                    );
                    Parse::Event(p)
                }
                None => Parse::Unknown,
            };
        }
    }
    if let Some(rest) = msg.strip_prefix("warning: ") {
        return smtpd_warning(rest);
    }
    // postscreen verdicts: `PREGREET 11 after 0.1 from [ip]:port: EHLO x`, `HANGUP after …`.
    for (prefix, kind) in [
        ("PREGREET ", Kind::ProtocolError),
        ("HANGUP ", Kind::LostConnection),
        ("COMMAND PIPELINING ", Kind::ProtocolError),
        ("COMMAND TIME LIMIT ", Kind::ProtocolError),
        ("COMMAND COUNT LIMIT ", Kind::ProtocolError),
        ("COMMAND LENGTH LIMIT ", Kind::ProtocolError),
        ("NON-SMTP COMMAND ", Kind::ProtocolError),
        ("BARE NEWLINE ", Kind::ProtocolError),
        ("DNSBL rank ", Kind::Reject),
        ("BLACKLISTED ", Kind::Reject),
        ("DENYLISTED ", Kind::Reject),
        ("CONNECT from ", Kind::Connect),
        ("DISCONNECT ", Kind::Disconnect),
    ] {
        if msg.starts_with(prefix) {
            let spec = msg.find('[').map(|i| &msg[i..]);
            return match spec.and_then(client) {
                Some((_, ip, _)) => {
                    let mut p = with_client(
                        Parsed {
                            proto: Some("smtp"),
                            ..Parsed::new(kind)
                        },
                        None,
                        ip,
                    );
                    p.detail = Some(msg.to_string().into());
                    Parse::Event(p)
                }
                None => Parse::Unknown,
            };
        }
    }
    if [
        "PASS NEW ",
        "PASS OLD ",
        "WHITELISTED ",
        "ALLOWLISTED ",
        "WHITELIST VETO ",
        "ALLOWLIST VETO ",
        "cache ",
        "addr ",
    ]
    .iter()
    .any(|p| msg.starts_with(p))
    {
        return Parse::Ignored;
    }
    if let Some((qid, rest)) = queue_id(msg) {
        if let Some(client_rest) = rest.strip_prefix("client=") {
            return match client(client_rest) {
                Some((h, ip, tail)) => {
                    let mut p = with_client(
                        Parsed {
                            proto: Some("smtp"),
                            ..Parsed::new(Kind::MessageReceived)
                        },
                        h,
                        ip,
                    );
                    p.queue_id = owned(qid);
                    p.actor = owned(plain(tail, "sasl_username"));
                    p.sender =
                        owned(plain(tail, "sasl_sender").map(|s| s.trim_matches(['<', '>'])));
                    if let Some(m) = plain(tail, "sasl_method") {
                        p.detail = Some(format!("sasl_method={m}").into());
                    }
                    Parse::Event(p)
                }
                None => Parse::Unknown,
            };
        }
        for action in [
            "reject",
            "reject_warning",
            "milter-reject",
            "hold",
            "discard",
            "filter",
            "redirect",
        ] {
            if let Some(r) = rest.strip_prefix(action).and_then(|r| r.strip_prefix(": ")) {
                return reject(qid, action, r);
            }
        }
        if rest.starts_with("lost connection")
            || rest.starts_with("proxy-")
            || rest.starts_with("enabling PIX")
        {
            return Parse::Ignored;
        }
        return Parse::Unknown;
    }
    if let Some(rest) = msg.strip_prefix("SSL_accept error from ") {
        if let Some((h, ip, tail)) = client(rest) {
            let mut p = with_client(
                Parsed {
                    proto: Some("smtp"),
                    ..Parsed::new(Kind::ProtocolError)
                },
                h,
                ip,
            );
            p.detail = Some(format!("SSL_accept error{}", tail).into());
            return Parse::Event(p);
        }
    }
    let chatter = [
        "Anonymous TLS connection established",
        "Trusted TLS connection established",
        "Untrusted TLS connection established",
        "Verified TLS connection established",
        "SSL_accept error",
        "TLS SNI",
        "initializing the server-side TLS engine",
        "statistics:",
        "NOQUEUE: client=",
        "proxy-accept:",
        "proxy-reject:",
        "discarding EHLO keywords",
        "table ",
        "Host offered STARTTLS",
    ];
    if chatter
        .iter()
        .any(|c| msg.starts_with(c) || msg.contains(c))
    {
        return Parse::Ignored;
    }
    Parse::Unknown
}

fn smtpd_warning(rest: &str) -> Parse<'_> {
    if let Some(p) = sasl_failure(rest) {
        return p;
    }
    for (marker, kind) in [
        ("Connection rate limit exceeded", Kind::RateLimit),
        ("Connection concurrency limit exceeded", Kind::RateLimit),
        (
            "Message delivery request rate limit exceeded",
            Kind::RateLimit,
        ),
        ("Recipient address rate limit exceeded", Kind::RateLimit),
        ("New TLS session rate limit exceeded", Kind::RateLimit),
        ("Number of command count limit exceeded", Kind::RateLimit),
        ("non-SMTP command from ", Kind::ProtocolError),
        ("Illegal address syntax from ", Kind::ProtocolError),
        ("SASL: Connect to ", Kind::Service),
    ] {
        if rest.contains(marker) {
            let mut p = match client_after(rest, " from ") {
                Some((h, ip, _)) => with_client(Parsed::new(kind), h, ip),
                None => Parsed::new(kind),
            };
            p.proto = Some("smtp");
            p.detail = Some(rest.to_string().into());
            return Parse::Event(p);
        }
    }
    // Reverse-DNS mismatches, TLS library noise and map warnings carry no event.
    Parse::Ignored
}

fn cleanup(msg: &str) -> Parse<'_> {
    let Some((qid, rest)) = queue_id(msg) else {
        return if msg.starts_with("warning: ") {
            Parse::Ignored
        } else {
            Parse::Unknown
        };
    };
    if rest.starts_with("message-id=") || rest.starts_with("resent-message-id=") {
        return Parse::Ignored;
    }
    for action in [
        "reject",
        "milter-reject",
        "hold",
        "discard",
        "redirect",
        "filter",
        "milter-hold",
        "milter-discard",
        "milter-header-redirect",
        "milter-redirect",
    ] {
        if let Some(r) = rest.strip_prefix(action).and_then(|r| r.strip_prefix(": ")) {
            let mut p = Parsed {
                proto: Some("smtp"),
                ..Parsed::new(Kind::Reject)
            };
            p.queue_id = owned(qid);
            if let Some((h, ip, _)) = client_after(r, " from ") {
                p = with_client(p, h, ip);
            }
            p.sender = owned(angle(r, "from"));
            p.recipient = owned(angle(r, "to"));
            p.status = Some(if action.ends_with("reject") {
                "rejected".into()
            } else {
                action.into()
            });
            p.detail = Some(r.split("; from=").next().unwrap_or(r).to_string().into());
            return Parse::Event(p);
        }
    }
    if rest.starts_with("warning: ")
        || rest.starts_with("info: ")
        || rest.starts_with("replace: ")
        || rest.starts_with("prepend: ")
    {
        return Parse::Ignored;
    }
    Parse::Unknown
}

fn qmgr(msg: &str) -> Parse<'_> {
    let Some((qid, rest)) = queue_id(msg) else {
        return if msg.starts_with("warning: ") {
            Parse::Ignored
        } else {
            Parse::Unknown
        };
    };
    if rest == "removed" || rest.starts_with("skipped") {
        return Parse::Ignored;
    }
    if rest.starts_with("from=<") {
        let sender = angle(rest, "from");
        if let Some(status) = plain(rest, "status") {
            let mut p = Parsed {
                proto: Some("smtp"),
                ..Parsed::new(Kind::Delivery)
            };
            p.queue_id = owned(qid);
            p.sender = owned(sender);
            p.status = Some(status.to_string().into());
            p.detail = Some(
                rest[find(rest, "status=").unwrap_or(0)..]
                    .to_string()
                    .into(),
            );
            return Parse::Event(p);
        }
        let mut p = Parsed {
            proto: Some("smtp"),
            ..Parsed::new(Kind::MessageQueued)
        };
        p.queue_id = owned(qid);
        p.sender = Some(sender.unwrap_or("").to_string().into());
        p.detail = Some(
            format!(
                "size={}, nrcpt={}",
                plain(rest, "size").unwrap_or("?"),
                plain(rest, "nrcpt").unwrap_or("?")
            )
            .into(),
        );
        return Parse::Event(p);
    }
    Parse::Unknown
}

fn pickup(msg: &str) -> Parse<'_> {
    let Some((qid, rest)) = queue_id(msg) else {
        return Parse::Unknown;
    };
    if !rest.starts_with("uid=") {
        return Parse::Unknown;
    }
    let mut p = Parsed::new(Kind::MessageReceived);
    p.queue_id = owned(qid);
    p.sender = owned(angle(rest, "from"));
    p.detail = Some(format!("local submission uid={}", plain(rest, "uid").unwrap_or("?")).into());
    Parse::Event(p)
}

/// Local part and domain, lower-case, for comparing `to` and `orig_to`.
fn same_mailbox(a: &str, b: &str) -> bool {
    let la = a.split('@').next().unwrap_or(a);
    let lb = b.split('@').next().unwrap_or(b);
    if a.contains('@') && b.contains('@') {
        a.eq_ignore_ascii_case(b)
    } else {
        la.eq_ignore_ascii_case(lb)
    }
}

/// What the delivery agents log about the *remote* side: no event (the status line follows).
const CLIENT_CHATTER: &[&str] = &[
    "host ",
    "lost connection",
    "conversation with",
    "enabling PIX",
    "Cannot start TLS",
    "connect to ",
    "sender non-delivery",
    "breaking line",
    "TLS is required",
    "Untrusted TLS connection established",
    "Trusted TLS connection established",
    "Verified TLS connection established",
    "Anonymous TLS connection established",
    "certificate verification failed",
    "SSL_connect error",
    "warning: ",
    "server certificate",
    "mechanism ",
    "delivery temporarily suspended",
];

/// A delivery agent's (`agent`) line.
fn delivery<'a>(agent: &str, msg: &'a str) -> Parse<'a> {
    let Some((qid, rest)) = queue_id(msg) else {
        return if CLIENT_CHATTER.iter().any(|c| msg.starts_with(c)) {
            Parse::Ignored
        } else {
            Parse::Unknown
        };
    };
    if let Some(r) = rest.strip_prefix("SASL authentication failed; ") {
        // Our own SMTP client failed to log in to a relay: a configuration fault, not an attack.
        let mut p = Parsed::new(Kind::Service);
        p.queue_id = owned(qid);
        p.relay = client_after(r, "server ")
            .map(|(h, ip, _)| format!("{}[{ip}]", h.unwrap_or("")).into());
        p.detail = Some(format!("outbound SASL authentication failed; {r}").into());
        return Parse::Event(p);
    }
    if rest.starts_with("passing <") {
        // local(8) handing a mailbox to `mailbox_transport` (`passing <u@d> to
        // transport=lmtp`): the delivery is that transport's line.
        return Parse::Ignored;
    }
    if !rest.starts_with("to=") {
        return if CLIENT_CHATTER.iter().any(|c| rest.starts_with(c)) {
            Parse::Ignored
        } else {
            Parse::Unknown
        };
    }
    let to = angle(rest, "to");
    let orig = angle(rest, "orig_to");
    let status = plain(rest, "status");
    let forwarded_as = find(rest, "(forwarded as ").is_some();
    let redirected = matches!((to, orig), (Some(t), Some(o)) if !same_mailbox(t, o));
    let kind = if forwarded_as || redirected {
        Kind::Forwarded
    } else {
        Kind::Delivery
    };
    let mut p = Parsed {
        proto: Some("smtp"),
        ..Parsed::new(kind)
    };
    p.queue_id = owned(qid);
    p.recipient = owned(to);
    p.orig_recipient = owned(orig);
    p.status = owned(status);
    p.relay = owned(plain(rest, "relay"));
    p.detail = find(rest, "status=").map(|i| rest[i..].into());
    // Whose mail it is: for a forward or an alias redirect the address whose mail was sent
    // on; for the final-delivery agents (`local`, `virtual`, `lmtp`, `pipe` — Dovecot's LDA
    // and LMTP among them) the mailbox it went into. The login that submitted the message
    // (the actor) is joined on the queue id later (`parse::correlate`).
    let relay = p.relay.as_deref().unwrap_or("");
    let final_delivery = matches!(agent, "local" | "virtual" | "lmtp" | "pipe")
        || relay.contains("[private/")
        || relay.contains("[unix:")
        || relay.contains("lmtp");
    p.mailbox = if kind == Kind::Forwarded {
        owned(orig.or(to))
    } else if final_delivery {
        owned(to)
    } else {
        None
    };
    Parse::Event(p)
}

fn bounce(msg: &str) -> Parse<'_> {
    match queue_id(msg) {
        Some((_, rest))
            if rest.starts_with("sender non-delivery notification")
                || rest.starts_with("sender delivery status notification")
                || rest.starts_with("sender delay notification")
                || rest.starts_with("postmaster non-delivery notification") =>
        {
            Parse::Ignored
        }
        _ if msg.starts_with("warning: ") => Parse::Ignored,
        _ => Parse::Unknown,
    }
}

fn service<'a>(daemon: &str, msg: &'a str) -> Parse<'a> {
    let mut p = Parsed::new(Kind::Service);
    if daemon == "postsuper" {
        if let Some((qid, rest)) = queue_id(msg) {
            p.queue_id = owned(qid);
            p.detail = Some(format!("postsuper: {rest}").into());
            return Parse::Event(p);
        }
    }
    p.detail = Some(msg.to_string().into());
    Parse::Event(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev<'a>(tag: &'a str, msg: &'a str) -> Parsed<'a> {
        match parse(tag, msg) {
            Parse::Event(p) => p,
            other => panic!("{tag}: {msg}: {other:?}"),
        }
    }

    #[test]
    fn smtpd_session_lines() {
        let p = ev("postfix/submission/smtpd", "warning: unknown[203.0.113.77]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=liwei");
        assert_eq!(
            (p.kind, p.src_ip.as_deref(), p.actor.as_deref()),
            (Some(Kind::AuthFailure), Some("203.0.113.77"), Some("liwei"))
        );
        assert_eq!(
            p.detail.as_deref(),
            Some("SASL LOGIN authentication failed: UGFzc3dvcmQ6")
        );
        let p = ev("postfix/smtpd", "warning: unknown[192.0.2.237]:55729: SASL LOGIN authentication failed: authentication failure");
        assert_eq!(p.src_ip.as_deref(), Some("192.0.2.237"));
        let p = ev("postfix/smtpd", "warning: unknown[192.0.2.1]: SASL PLAIN authentication failed: Connection lost to authentication server");
        assert_eq!(p.kind, Some(Kind::Service));
        // Seen live (Dovecot answering late under brute force): no name, not a user named so.
        let p = ev("postfix/submission/smtpd", "warning: unknown[127.0.2.10]: SASL PLAIN authentication failed: Connection lost to authentication server, sasl_username=(unavailable)");
        assert_eq!((p.kind, p.actor.as_deref()), (Some(Kind::Service), None));
        let p = ev(
            "postfix/submission/smtpd",
            "8C3D2A1F07E: client=unknown[203.0.113.77], sasl_method=LOGIN, sasl_username=liwei",
        );
        assert_eq!(
            (p.kind, p.actor.as_deref(), p.queue_id.as_deref()),
            (
                Some(Kind::MessageReceived),
                Some("liwei"),
                Some("8C3D2A1F07E")
            )
        );
        let p = ev(
            "postfix-out/smtpd",
            "lost connection after AUTH from unknown[203.0.113.77]",
        );
        assert_eq!(
            (p.kind, p.detail.as_deref()),
            (Some(Kind::LostConnection), Some("after AUTH"))
        );
        let p = ev(
            "postfix/smtpd",
            "disconnect from unknown[192.0.2.1] helo=1 auth=0/1 quit=1 commands=2/3",
        );
        assert_eq!(
            p.detail.as_deref(),
            Some("helo=1 auth=0/1 quit=1 commands=2/3")
        );
        let p = ev(
            "postfix/smtpd",
            "too many errors after RCPT from example.com[192.0.2.11]",
        );
        assert_eq!(p.kind, Some(Kind::ProtocolError));
    }

    #[test]
    fn rejects_by_stage() {
        let p = ev("postfix/smtpd", "NOQUEUE: reject: RCPT from 1-2-3-4-example.com[1.2.3.4]: 554 5.7.1 <smtp@example.com>: Relay access denied; from=<john@example.com> to=<smtp@example.org> proto=SMTP helo=<198.51.100.17>");
        assert_eq!(
            (p.kind, p.recipient.as_deref(), p.sender.as_deref()),
            (
                Some(Kind::RelayDenied),
                Some("smtp@example.org"),
                Some("john@example.com")
            )
        );
        let p = ev("postfix/smtpd", "NOQUEUE: reject: VRFY from host[10.0.0.1]: 550 5.1.1 <:>: Recipient address rejected: User unknown in local recipient table; to=<:> proto=SMTP helo=<10.0.0.1>");
        assert_eq!(p.kind, Some(Kind::Vrfy));
        let p = ev("postfix/smtpd", "00ADB3C0899: reject: RCPT from example.com[192.0.2.1]: 550 5.1.1 <sales@server.com>: Recipient address rejected: User unknown in local recipient table; from=<x@example.com> to=<sales@server.com> proto=ESMTP helo=<mail.example.com>");
        assert_eq!(
            (p.kind, p.queue_id.as_deref()),
            (Some(Kind::RecipientUnknown), Some("00ADB3C0899"))
        );
        let p = ev("postfix/postscreen", "NOQUEUE: reject: RCPT from [216.245.194.173]:60591: 550 5.7.1 Service unavailable; client [216.245.194.173] blocked using rbl.example.com; from=<spammer@example.com>, to=<goodguy@example.com>, proto=ESMTP, helo=<badguy.example.com>");
        assert_eq!(
            (p.kind, p.src_ip.as_deref()),
            (Some(Kind::Reject), Some("216.245.194.173"))
        );
        let p = ev(
            "postfix/postscreen",
            "PREGREET 11 after 0.07 from [192.0.2.9]:51234: EHLO x\\r\\n",
        );
        assert_eq!(
            (p.kind, p.src_ip.as_deref()),
            (Some(Kind::ProtocolError), Some("192.0.2.9"))
        );
    }

    #[test]
    fn smuggling_defences() {
        use crate::events::record::line_ending;
        // What Postfix 3.7.11 logged for the smuggling probes (tests/fixtures/smtp-smuggling):
        // `smtpd_forbid_bare_newline = reject` refusing `<LF>.<LF>` …
        let p = ev("postfix/smtpd", "A1057992933: reject: END-OF-MESSAGE from unknown[127.0.3.1]: bare <LF> received; from=<news@outside.example> to=<root@lab.example> proto=ESMTP helo=<client.outside.example>");
        assert_eq!(
            (p.kind, p.src_ip.as_deref(), p.status.as_deref()),
            (
                Some(Kind::ProtocolError),
                Some("127.0.3.1"),
                Some("rejected")
            )
        );
        let d = p.detail.as_deref().unwrap_or_default();
        assert_eq!(line_ending::of(d), Some(line_ending::BARE_LF), "{d}");
        assert_eq!(p.sender.as_deref(), Some("news@outside.example"));
        // … the smuggled commands after `<LF>.<CR><LF>` taken as pipelining after DATA, and
        // `reject_unauth_pipelining` refusing the smuggled DATA.
        let p = ev("postfix/smtpd", "improper command pipelining after DATA from unknown[127.0.3.2]: From: <ceo@lab.example>\\r\\nTo: <root@lab.example>\\r\\nSubject: Urgent wire transfer\\r\\n\\r\\nPlease pay the att");
        assert_eq!(
            (p.kind, p.src_ip.as_deref()),
            (Some(Kind::ProtocolError), Some("127.0.3.2"))
        );
        let d = p.detail.as_deref().unwrap_or_default();
        assert_eq!(line_ending::of(d), Some(line_ending::PIPELINING_AFTER_DATA));
        let p = ev("postfix/smtpd", "6DB5C9942AD: reject: DATA from unknown[127.0.3.2]: 503 5.5.0 <DATA>: Data command rejected: Improper use of SMTP command pipelining; from=<ceo@lab.example> to=<root@lab.example> proto=ESMTP helo=<client.outside.example>");
        assert_eq!(
            (p.kind, p.src_ip.as_deref(), p.sender.as_deref()),
            (
                Some(Kind::Reject),
                Some("127.0.3.2"),
                Some("ceo@lab.example")
            )
        );
        let d = p.detail.as_deref().unwrap_or_default();
        assert_eq!(line_ending::of(d), Some(line_ending::PIPELINING_AFTER_DATA));
        // Pipelining at another stage and other rejects carry no marker.
        for line in [
            "improper command pipelining after EHLO from unknown[192.0.2.7]: MAIL FROM:<a@b>\\r\\n",
            "00ADB3C0899: reject: RCPT from example.com[192.0.2.1]: 550 5.1.1 <sales@server.com>: Recipient address rejected: User unknown in local recipient table; from=<x@example.com> to=<sales@server.com> proto=ESMTP helo=<mail.example.com>",
        ] {
            let p = ev("postfix/smtpd", line);
            assert_eq!(line_ending::of(p.detail.as_deref().unwrap_or_default()), None);
        }
    }

    #[test]
    fn queue_and_delivery_lines() {
        let p = ev(
            "postfix/qmgr",
            "3AE6C8EE627: from=<liwei@oceanlab.example.org>, size=7207, nrcpt=3 (queue active)",
        );
        assert_eq!(
            (p.kind, p.sender.as_deref()),
            (
                Some(Kind::MessageQueued),
                Some("liwei@oceanlab.example.org")
            )
        );
        let p = ev("postfix/smtp", "FE61E81A742: to=<fin-reports@mailsafe.example.com>, orig_to=<finance@oceanlab.example.org>, relay=mx.mailsafe.example.com[203.0.113.200]:25, delay=0.79, delays=0.11/0.029/0.13/0.53, dsn=2.0.0, status=sent (250 2.0.0 Ok)");
        assert_eq!(
            (p.kind, p.orig_recipient.as_deref(), p.status.as_deref()),
            (
                Some(Kind::Forwarded),
                Some("finance@oceanlab.example.org"),
                Some("sent")
            )
        );
        let p = ev("postfix/local", "54CA7C26C64: to=<backup@oceanlab.example.org>, orig_to=<backup>, relay=local, delay=1.2, delays=0.04/0/0.58/0.6, dsn=2.0.0, status=sent (delivered to command: /var/backups/.cache/sync.sh)");
        assert_eq!(p.kind, Some(Kind::Delivery));
        let p = ev(
            "postfix/qmgr",
            "ABC123DEF0: from=<a@b>, status=expired, returned to sender",
        );
        assert_eq!(
            (p.kind, p.status.as_deref()),
            (Some(Kind::Delivery), Some("expired"))
        );
        assert!(matches!(
            parse("postfix/qmgr", "ABC123DEF0: removed"),
            Parse::Ignored
        ));
        assert!(matches!(
            parse("postfix/cleanup", "ABC123DEF0: message-id=<x@y>"),
            Parse::Ignored
        ));
        let p = ev(
            "postfix/master",
            "reload -- version 3.7.11, configuration /etc/postfix",
        );
        assert_eq!(p.kind, Some(Kind::Service));
        assert!(matches!(
            parse("postfix/smtpd", "something new and strange"),
            Parse::Unknown
        ));
    }

    /// Delivery lines Postfix 3.7.11 wrote on Debian 12 in the live test (`docs/live-test.md`):
    /// the final-delivery agents
    /// name the mailbox; forwards name the mailbox whose mail was sent on; none has an actor
    /// (the submitting login is joined on the queue id later).
    #[test]
    fn deliveries_name_the_mailbox_never_an_actor() {
        for (tag, line, kind, mailbox) in [
            ("postfix/local", "89CB7C4498: to=<bob@lab.example>, relay=local, delay=0.02, delays=0.01/0/0/0.01, dsn=2.0.0, status=sent (delivered to command: /usr/lib/dovecot/dovecot-lda -f \"$SENDER\" -a \"$RECIPIENT\")", Kind::Delivery, Some("bob@lab.example")),
            ("postfix/lmtp", "7FE9EC442C: to=<kate@lab.example>, relay=mx.lab.example[private/dovecot-lmtp], delay=0.05, delays=0.01/0.01/0.02/0, dsn=2.0.0, status=sent (250 2.0.0 <kate@lab.example> /zIvIeABFWusFwAAg+zDdQ Saved)", Kind::Delivery, Some("kate@lab.example")),
            // virtual(8) and Dovecot's documented pipe into dovecot-lda for virtual users
            // (`tests/fixtures/delivery/postfix-maillog`).
            ("postfix/virtual", "BE7E198E381: to=<carol@virt.example>, relay=virtual, delay=0.02, delays=0.01/0.01/0/0, dsn=2.0.0, status=sent (delivered to maildir)", Kind::Delivery, Some("carol@virt.example")),
            ("postfix/pipe", "CB46D98E012: to=<dan@dove.example>, relay=dovecot, delay=0.03, delays=0/0.01/0/0.02, dsn=2.0.0, status=sent (delivered via dovecot service)", Kind::Delivery, Some("dan@dove.example")),
            ("postfix/pipe", "E7CF798E183: to=<dan@dove.example>, orig_to=<team@virt.example>, relay=dovecot, delay=0.02, delays=0/0/0/0.01, dsn=2.0.0, status=sent (delivered via dovecot service)", Kind::Forwarded, Some("team@virt.example")),
            // erin's `.forward` (then the copy leaves under its new queue id).
            ("postfix/local", "76736C45E2: to=<erin@lab.example>, relay=local, delay=0.02, delays=0/0.01/0/0, dsn=2.0.0, status=sent (forwarded as 791D1C45E3)", Kind::Forwarded, Some("erin@lab.example")),
            // A planted virtual alias copies frank's mail outside.
            ("postfix/discard", "72AC5C4448: to=<frank.copy@exfil.example>, orig_to=<frank@lab.example>, relay=none, delay=0.02, delays=0.01/0.02/0/0, dsn=2.0.0, status=sent (outside mail is discarded in this test)", Kind::Forwarded, Some("frank@lab.example")),
            ("postfix/smtp", "FE61E81A742: to=<partner@remote.example>, relay=mx.remote.example[203.0.113.200]:25, delay=0.79, delays=0.11/0.029/0.13/0.53, dsn=2.0.0, status=sent (250 2.0.0 Ok)", Kind::Delivery, None),
        ] {
            let p = ev(tag, line);
            assert_eq!(
                (p.kind, p.actor.as_deref(), p.mailbox.as_deref()),
                (Some(kind), None, mailbox),
                "{line}"
            );
        }
        assert!(matches!(
            parse(
                "postfix/local",
                "7FE9EC442C: passing <kate@lab.example> to transport=lmtp"
            ),
            Parse::Ignored
        ));
    }

    #[test]
    fn removed_messages_are_gone() {
        assert_eq!(
            gone("postfix/qmgr", "4ZqK7x0Bd3z9Zm: removed"),
            Some("4ZqK7x0Bd3z9Zm")
        );
        assert_eq!(
            gone("postfix/postsuper", "ABC123DEF0: removed"),
            Some("ABC123DEF0")
        );
        assert_eq!(gone("postfix/cleanup", "ABC123DEF0: removed"), None);
        assert_eq!(
            gone(
                "postfix/qmgr",
                "ABC123DEF0: from=<a@b>, size=1, nrcpt=1 (queue active)"
            ),
            None
        );
        assert_eq!(gone("postfix/qmgr", "warning: removed"), None);
    }
}
