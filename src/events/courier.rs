//! Courier (`courieresmtpd`, `imapd`, `pop3d`, their `-ssl` variants, `courier-imap`):
//! SMTP `error,relay=…` rejects and AUTH failures, IMAP/POP3 `LOGIN`, `LOGIN FAILED`,
//! `LOGOUT`, `Connection`. Addresses come as `::ffff:1.2.3.4` and are given as plain IPv4.

use std::borrow::Cow;

use super::fields::{owned, Parse};
use super::record::{Kind, Parsed};

/// Whether a syslog tag belongs to Courier.
pub fn is_courier(tag: &str) -> bool {
    tag.starts_with("courier")
        || matches!(
            tag,
            "imapd"
                | "imapd-ssl"
                | "pop3d"
                | "pop3d-ssl"
                | "authdaemond"
                | "courieresmtpd"
                | "courierpop3login"
                | "courierimaplogin"
        )
}

fn unmap(ip: &str) -> &str {
    ip.strip_prefix("::ffff:").unwrap_or(ip)
}

/// `key=value` ending at `,` (Courier SMTP) or `key=[value]` (IMAP).
fn kv<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    let at = s.find(&format!("{key}="))? + key.len() + 1;
    let v = &s[at..];
    if let Some(b) = v.strip_prefix('[') {
        return b.find(']').map(|e| &b[..e]);
    }
    Some(
        &v[..v
            .find([',', ':'])
            .filter(|_| !v.starts_with("::"))
            .unwrap_or_else(|| v.find(',').unwrap_or(v.len()))],
    )
}

/// Parses one Courier message.
pub fn parse<'a>(tag: &'a str, msg: &'a str) -> Parse<'a> {
    let proto = if tag.contains("pop3") {
        "pop3"
    } else if tag.contains("imap") {
        "imap"
    } else {
        "smtp"
    };
    if let Some(rest) = msg.strip_prefix("error,") {
        let reason = rest.rsplit_once(": ").map_or(rest, |(_, r)| r);
        let kind = if rest.contains("535 Authentication failed") {
            Kind::AuthFailure
        } else if reason.contains("Relaying denied") || reason.contains("relaying denied") {
            Kind::RelayDenied
        } else if reason.contains("User unknown")
            || reason.contains("User <") && reason.contains("unknown")
        {
            Kind::RecipientUnknown
        } else {
            Kind::Reject
        };
        let mut p = Parsed {
            proto: Some("smtp"),
            ..Parsed::new(kind)
        };
        p.src_ip = kv(rest, "relay").map(|r| Cow::Borrowed(unmap(r)));
        p.sender = kv(rest, "from").map(|f| Cow::Borrowed(f.trim_matches(['<', '>'])));
        p.recipient = kv(rest, "to").map(|t| Cow::Borrowed(t.trim_matches(['<', '>'])));
        p.detail = Some(reason.into());
        return Parse::Event(p);
    }
    for (prefix, kind) in [
        ("LOGIN FAILED, ", Kind::AuthFailure),
        ("LOGIN, ", Kind::AuthSuccess),
        ("LOGOUT, ", Kind::Disconnect),
        ("Disconnected, ", Kind::Disconnect),
        ("TIMEOUT, ", Kind::LostConnection),
        ("Connection, ", Kind::Connect),
        ("started,", Kind::Connect),
    ] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            let mut p = Parsed {
                proto: Some(proto),
                ..Parsed::new(kind)
            };
            p.actor = owned(kv(rest, "user"));
            if !matches!(kind, Kind::Connect | Kind::AuthFailure) {
                // A session (`LOGIN`, `LOGOUT`, …) of that login, in its own mailbox.
                p.mailbox = p.actor.clone();
            }
            p.src_ip = kv(rest, "ip").map(|i| Cow::Borrowed(unmap(i)));
            p.detail = Some(msg.into());
            return Parse::Event(p);
        }
    }
    let chatter = [
        "Maximum connection limit",
        "authdaemon",
        "starting",
        "stopping",
        "Unexpected SSL",
        "couriertls",
        "DEBUG",
    ];
    if chatter.iter().any(|c| msg.contains(c)) {
        return Parse::Ignored;
    }
    Parse::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev<'a>(tag: &'a str, msg: &'a str) -> Parsed<'a> {
        match parse(tag, msg) {
            Parse::Event(p) => p,
            other => panic!("{msg}: {other:?}"),
        }
    }

    #[test]
    fn courier_lines() {
        let p = ev("courieresmtpd", "error,relay=::ffff:203.0.113.4,port=25,msg=\"535 Authentication failed.\",cmd: AUTH LOGIN dXNlcg== cGFzcw==");
        assert_eq!(
            (p.kind, p.src_ip.as_deref()),
            (Some(Kind::AuthFailure), Some("203.0.113.4"))
        );
        let p = ev("courieresmtpd", "error,relay=::ffff:203.0.113.4,port=25,from=<a@b>,to=<nobody@example.org>: 550 User unknown.");
        assert_eq!(
            (p.kind, p.recipient.as_deref()),
            (Some(Kind::RecipientUnknown), Some("nobody@example.org"))
        );
        let p = ev(
            "imapd-ssl",
            "LOGIN FAILED, user=alice, ip=[::ffff:198.51.100.3]",
        );
        assert_eq!(
            (p.kind, p.actor.as_deref(), p.src_ip.as_deref(), p.proto),
            (
                Some(Kind::AuthFailure),
                Some("alice"),
                Some("198.51.100.3"),
                Some("imap")
            )
        );
        let p = ev(
            "pop3d",
            "LOGIN, user=bob, ip=[::ffff:192.0.2.8], port=[41234], protocol=POP3",
        );
        assert_eq!((p.kind, p.proto), (Some(Kind::AuthSuccess), Some("pop3")));
    }
}
