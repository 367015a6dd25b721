//! qmail and Plesk's qmail (`qmail-smtpd`, `qmail-send`, `rblsmtpd`, `smtp_auth`,
//! `qmail-queue-handlers`): CHKUSER recipient and relaying rejects, RBL rejects, Plesk
//! `smtp_auth` failures, qmail-send message and delivery lines (the queue id is the message
//! number). A leading TAI64N or `secs.frac` stamp of multilog is skipped.

use std::borrow::Cow;

use super::fields::{owned, Parse};
use super::record::{Kind, Parsed};

/// Whether a syslog tag belongs to qmail.
pub fn is_qmail(tag: &str) -> bool {
    tag.starts_with("qmail") || matches!(tag, "rblsmtpd" | "smtp_auth" | "chkuser" | "spamdyke")
}

/// Strips `@4000…` (tai64n) or `1234567890.123456 ` multilog stamps.
fn strip_stamp(msg: &str) -> &str {
    let first = msg.split(' ').next().unwrap_or("");
    let is_stamp = first.starts_with('@') && first.len() > 16
        || (first.contains('.') && first.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
    if is_stamp {
        msg[first.len()..].trim_start()
    } else {
        msg
    }
}

/// `<a:b:c>` groups after `key `.
fn group<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    let at = s.find(&format!("{key} <"))? + key.len() + 2;
    s[at..].find('>').map(|e| &s[at..at + e])
}

/// Parses one qmail message.
pub fn parse<'a>(tag: &'a str, msg: &'a str) -> Parse<'a> {
    let msg = strip_stamp(msg);
    if let Some(at) = msg.find("CHKUSER ") {
        let rest = &msg[at + 8..];
        if rest.starts_with("accepted") {
            return Parse::Ignored;
        }
        let kind = if rest.starts_with("rejected relaying") {
            Kind::RelayDenied
        } else if rest.starts_with("rejected rcpt") {
            Kind::RecipientUnknown
        } else {
            Kind::Reject
        };
        let mut p = Parsed {
            proto: Some("smtp"),
            ..Parsed::new(kind)
        };
        // remote <helo:host:ip>
        p.src_ip = group(rest, "remote")
            .and_then(|g| g.rsplit(':').next())
            .and_then(|ip| owned(Some(ip)));
        p.sender = group(rest, "from")
            .and_then(|g| g.split(':').next())
            .and_then(|s| owned(Some(s)));
        p.recipient = owned(group(rest, "rcpt"));
        p.status = Some("rejected".into());
        p.detail = Some(rest.rsplit_once(" : ").map_or(rest, |(_, r)| r).into());
        return Parse::Event(p);
    }
    if let Some(rest) = msg.strip_prefix("rblsmtpd: ") {
        let mut p = Parsed {
            proto: Some("smtp"),
            ..Parsed::new(Kind::Reject)
        };
        p.src_ip = owned(rest.split(' ').next());
        p.detail = Some(rest.into());
        return Parse::Event(p);
    }
    if let Some(at) = msg.find("badiprbl: ip ") {
        let mut p = Parsed {
            proto: Some("smtp"),
            ..Parsed::new(Kind::Reject)
        };
        p.src_ip = owned(msg[at + 13..].split(' ').next());
        p.detail = Some(msg.into());
        return Parse::Event(p);
    }
    if tag == "smtp_auth" || msg.contains("smtp_auth:") {
        let m = msg.split("smtp_auth: ").last().unwrap_or(msg);
        let ip = m
            .rfind('[')
            .and_then(|o| m[o + 1..].find(']').map(|c| &m[o + 1..o + 1 + c]));
        if let Some(rest) = m.strip_prefix("FAILED: ") {
            let mut p = Parsed {
                proto: Some("smtp"),
                ..Parsed::new(Kind::AuthFailure)
            };
            p.actor = owned(rest.split(" - ").next());
            p.src_ip = owned(ip);
            p.detail = Some(m.into());
            return Parse::Event(p);
        }
        if m.starts_with("SMTP user ") && m.contains("logged in") {
            let mut p = Parsed {
                proto: Some("smtp"),
                ..Parsed::new(Kind::AuthSuccess)
            };
            p.actor = owned(
                m.strip_prefix("SMTP user ")
                    .and_then(|r| r.split(' ').next()),
            );
            p.src_ip = owned(ip);
            return Parse::Event(p);
        }
        return Parse::Ignored;
    }
    if let Some(rest) = msg.strip_prefix("info msg ") {
        let mut p = Parsed {
            proto: Some("smtp"),
            ..Parsed::new(Kind::MessageQueued)
        };
        p.queue_id = owned(rest.split(':').next());
        p.sender = rest
            .find("from <")
            .map(|i| &rest[i + 6..])
            .and_then(|s| s.split('>').next())
            .map(Cow::Borrowed);
        return Parse::Event(p);
    }
    if let Some(rest) = msg.strip_prefix("delivery ") {
        let status = if rest.contains(": success:") {
            "sent"
        } else if rest.contains(": deferral:") {
            "deferred"
        } else if rest.contains(": failure:") {
            "bounced"
        } else {
            return Parse::Ignored;
        };
        let mut p = Parsed {
            proto: Some("smtp"),
            ..Parsed::new(Kind::Delivery)
        };
        p.status = Some(status.into());
        p.detail = Some(rest.into());
        return Parse::Event(p);
    }
    let chatter = [
        "new msg ",
        "end msg ",
        "starting delivery ",
        "status: ",
        "bounce msg ",
        "triple bounce",
        "tcpserver:",
        "qmail-queue-handlers",
        "spamdyke",
        "simscan",
    ];
    if chatter
        .iter()
        .any(|c| msg.starts_with(c) || tag.contains(c))
    {
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
    fn qmail_lines() {
        let p = ev("qmail-smtpd", "CHKUSER rejected rcpt: from <a@b.example::> remote <helo:unknown:203.0.113.8> rcpt <nobody@example.org> : not existing recipient");
        assert_eq!(
            (p.kind, p.src_ip.as_deref(), p.recipient.as_deref()),
            (
                Some(Kind::RecipientUnknown),
                Some("203.0.113.8"),
                Some("nobody@example.org")
            )
        );
        let p = ev("qmail-smtpd", "CHKUSER rejected relaying: from <a@b::> remote <x:y:203.0.113.9> rcpt <z@other.example> : client not allowed to relay");
        assert_eq!(p.kind, Some(Kind::RelayDenied));
        let p = ev(
            "qmail",
            "1234567890.123456 rblsmtpd: 192.0.2.55 pid 2345: 451 Blocked",
        );
        assert_eq!(
            (p.kind, p.src_ip.as_deref()),
            (Some(Kind::Reject), Some("192.0.2.55"))
        );
        let p = ev(
            "smtp_auth",
            "FAILED: admin@example.org - password incorrect from unknown@ [198.51.100.20]",
        );
        assert_eq!(
            (p.kind, p.actor.as_deref(), p.src_ip.as_deref()),
            (
                Some(Kind::AuthFailure),
                Some("admin@example.org"),
                Some("198.51.100.20")
            )
        );
    }
}
