//! Sendmail (`sendmail`, `sm-mta`, `sm-msp-queue`): AUTH failures and successes, `possible
//! SMTP attack`, `check_rcpt`/`check_relay` rejects, EXPN/VRFY, `from=`/`to= … stat=` message
//! lines. Lines may carry a queue id (`s1GNXHYB005133: `) before the message; clients are in
//! `relay=host [ip]` (IPv6 as `[IPv6:…]`, optionally `(may be forged)`).

use std::borrow::Cow;

use super::fields::{angle, between, owned, Parse};
use super::record::{Kind, Parsed};

/// Whether a syslog tag belongs to Sendmail.
pub fn is_sendmail(tag: &str) -> bool {
    tag == "sendmail" || tag.starts_with("sm-")
}

/// The address in the first `[…]` of `s`, without an `IPv6:` prefix.
fn bracket_ip(s: &str) -> Option<&str> {
    let open = s.find('[')?;
    let close = open + s[open..].find(']')?;
    let ip = &s[open + 1..close];
    Some(ip.strip_prefix("IPv6:").unwrap_or(ip))
}

fn relay(s: &str) -> (Option<&str>, Option<&str>) {
    let Some(at) = s.find("relay=") else {
        return (None, None);
    };
    let r = &s[at + 6..];
    let r = &r[..r.find(", ").unwrap_or(r.len())];
    let host = r.split(' ').next().filter(|h| !h.starts_with('['));
    (host, bracket_ip(r))
}

/// A `key=value` ending at `, `.
fn kv<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    between(s, &format!("{key}="), ", ")
}

fn with_relay<'a>(kind: Kind, s: &'a str) -> Parsed<'a> {
    let (host, ip) = relay(s);
    Parsed::smtp_client(kind, host, ip)
}

/// Parses one Sendmail message.
pub fn parse<'a>(_tag: &'a str, msg: &'a str) -> Parse<'a> {
    let (qid, body) = match msg.split_once(": ") {
        Some((id, rest))
            if (8..=20).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            (Some(id), rest)
        }
        _ => (None, msg),
    };
    let mut p = match classify(body) {
        Some(p) => p,
        None => {
            let chatter = [
                "STARTTLS",
                "ALERT",
                "SYSERR",
                "alias database",
                "discarded",
                "Milter",
                "milter",
                "timeout waiting",
                "NOQUEUE: connect from",
                "collect:",
                "tls_",
            ];
            return if chatter.iter().any(|c| body.contains(c)) {
                Parse::Ignored
            } else {
                Parse::Unknown
            };
        }
    };
    p.queue_id = owned(qid);
    Parse::Event(p)
}

fn classify(body: &str) -> Option<Parsed<'_>> {
    if body.contains("possible SMTP attack: command=AUTH") {
        let mut p = Parsed {
            proto: Some("smtp"),
            src_ip: owned(bracket_ip(body)),
            ..Parsed::new(Kind::AuthFailure)
        };
        p.detail = Some(body[body.find("possible").unwrap_or(0)..].into());
        return Some(p);
    }
    if let Some(rest) = body.strip_prefix("AUTH failure (") {
        let mut p = with_relay(Kind::AuthFailure, rest);
        p.actor = kv(rest, "user").map(Cow::Borrowed);
        p.detail = Some(
            format!(
                "AUTH failure ({}",
                rest.split(", relay=").next().unwrap_or(rest)
            )
            .into(),
        );
        return Some(p);
    }
    if body.starts_with("AUTH=server") {
        let mut p = with_relay(Kind::AuthSuccess, body);
        p.actor = kv(body, "authid").map(Cow::Borrowed);
        p.detail = kv(body, "mech").map(|m| format!("mech={m}").into());
        return Some(p);
    }
    if body.starts_with("ruleset=check_rcpt")
        || body.starts_with("ruleset=check_mail")
        || body.starts_with("ruleset=check_relay")
    {
        let reject = kv(body, "reject").unwrap_or("");
        let kind = if reject.contains("Relaying denied") {
            Kind::RelayDenied
        } else if reject.contains("User unknown") || reject.contains("No such user") {
            Kind::RecipientUnknown
        } else if reject.contains("rate limit") || reject.contains("Too many open connections") {
            Kind::RateLimit
        } else {
            Kind::Reject
        };
        let mut p = with_relay(kind, body);
        let arg1 = kv(body, "arg1").map(|a| a.trim_matches(['<', '>']));
        if body.starts_with("ruleset=check_rcpt") {
            p.recipient = arg1.map(Cow::Borrowed);
        } else if body.starts_with("ruleset=check_mail") {
            p.sender = arg1.map(Cow::Borrowed);
        }
        p.status = Some("rejected".into());
        p.detail = Some(reject.into());
        return Some(p);
    }
    for (marker, kind) in [
        ("EXPN ", Kind::Expn),
        ("VRFY ", Kind::Vrfy),
        ("expn ", Kind::Expn),
        ("vrfy ", Kind::Vrfy),
    ] {
        if let Some(at) = body.find(&format!("]: {marker}")) {
            let mut p = Parsed {
                proto: Some("smtp"),
                src_ip: owned(bracket_ip(body)),
                ..Parsed::new(kind)
            };
            p.status = Some(if body.ends_with("[rejected]") {
                "rejected".into()
            } else {
                "accepted".into()
            });
            p.detail = Some(body[at + 3..].into());
            return Some(p);
        }
    }
    if body.starts_with("rejecting commands from ") {
        let mut p = Parsed {
            proto: Some("smtp"),
            src_ip: owned(bracket_ip(body)),
            ..Parsed::new(Kind::ProtocolError)
        };
        p.detail = Some(body.into());
        return Some(p);
    }
    if body.contains(" did not issue ") || body.starts_with("lost input channel from ") {
        let mut p = Parsed {
            proto: Some("smtp"),
            src_ip: owned(bracket_ip(body)),
            ..Parsed::new(Kind::LostConnection)
        };
        p.detail = Some(body.into());
        return Some(p);
    }
    if body.starts_with('<')
        && (body.ends_with("User unknown") || body.ends_with("No such user here"))
    {
        let mut p = Parsed {
            proto: Some("smtp"),
            ..Parsed::new(Kind::RecipientUnknown)
        };
        p.recipient = body
            .split('>')
            .next()
            .map(|r| Cow::Borrowed(r.trim_start_matches('<')));
        p.status = Some("rejected".into());
        return Some(p);
    }
    if body.starts_with("from=") {
        let mut p = with_relay(Kind::MessageReceived, body);
        p.sender = owned(angle(body, "from"));
        p.detail = kv(body, "size").map(|s| format!("size={s}").into());
        return Some(p);
    }
    if body.starts_with("to=") {
        let mut p = Parsed {
            proto: Some("smtp"),
            ..Parsed::new(Kind::Delivery)
        };
        p.recipient = owned(angle(body, "to"));
        let (h, ip) = relay(body);
        p.relay = h.or(ip).map(Cow::Borrowed);
        let stat = kv(body, "stat").unwrap_or("");
        p.status = Some(if stat.starts_with("Sent") {
            "sent".into()
        } else if stat.starts_with("Deferred") {
            "deferred".into()
        } else {
            "bounced".into()
        });
        p.detail = Some(format!("stat={stat}").into());
        return Some(p);
    }
    if [
        "starting daemon",
        "restarting",
        "stopping daemon",
        "daemon started",
    ]
    .iter()
    .any(|m| body.contains(m))
    {
        return Some(Parsed {
            detail: Some(body.into()),
            ..Parsed::new(Kind::Service)
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(msg: &str) -> Parsed<'_> {
        match parse("sm-mta", msg) {
            Parse::Event(p) => p,
            other => panic!("{msg}: {other:?}"),
        }
    }

    #[test]
    fn sendmail_lines() {
        let p = ev("s1GNXHYB005133: [190.5.230.178]: possible SMTP attack: command=AUTH, count=5");
        assert_eq!(
            (p.kind, p.src_ip.as_deref(), p.queue_id.as_deref()),
            (
                Some(Kind::AuthFailure),
                Some("190.5.230.178"),
                Some("s1GNXHYB005133")
            )
        );
        let p = ev("AUTH failure (LOGIN): authentication failure (-13) SASL(-13): authentication failure: checkpass failed, user=admin, relay=x.example [192.0.2.7]");
        assert_eq!(
            (p.actor.as_deref(), p.src_ip.as_deref()),
            (Some("admin"), Some("192.0.2.7"))
        );
        let p = ev("s1GNXHYB005133: ruleset=check_rcpt, arg1=<x@hotmail.it>, relay=host.example [80.253.155.119] (may be forged), reject=550 5.7.1 <x@hotmail.it>... Relaying denied. IP name possibly forged [80.253.155.119]");
        assert_eq!(
            (p.kind, p.src_ip.as_deref(), p.recipient.as_deref()),
            (
                Some(Kind::RelayDenied),
                Some("80.253.155.119"),
                Some("x@hotmail.it")
            )
        );
        let p = ev("s1H0xxx022248: [76.72.174.70]: EXPN root [rejected]");
        assert_eq!(
            (p.kind, p.status.as_deref()),
            (Some(Kind::Expn), Some("rejected"))
        );
        let p = ev("u5KBqXYZ012345: from=<a@b.example>, size=1234, class=0, nrcpts=1, msgid=<m@b>, proto=ESMTP, daemon=MTA, relay=mail.b.example [IPv6:2001:db8::5]");
        assert_eq!(
            (p.kind, p.src_ip.as_deref(), p.sender.as_deref()),
            (
                Some(Kind::MessageReceived),
                Some("2001:db8::5"),
                Some("a@b.example")
            )
        );
        let p = ev("u5KBqXYZ012345: to=<c@d.example>, delay=00:00:01, xdelay=00:00:01, mailer=esmtp, pri=120, relay=mx.d.example. [192.0.2.9], dsn=2.0.0, stat=Sent (ok)");
        assert_eq!(
            (p.kind, p.status.as_deref()),
            (Some(Kind::Delivery), Some("sent"))
        );
    }
}
