//! qmail and Plesk's qmail (`qmail-smtpd`, `qmail-send`, `rblsmtpd`, `smtp_auth`,
//! `qmail-queue-handlers`): CHKUSER recipient and relaying rejects, RBL rejects, Plesk
//! `smtp_auth` failures, qmail-send message and delivery lines (the queue id is the message
//! number). A leading TAI64N or `secs.frac` stamp of multilog is skipped.

use std::borrow::Cow;

use super::fields::{owned, Parse};
use super::record::{Kind, Parsed};

/// Whether a syslog tag belongs to qmail.
pub fn is_qmail(tag: &str) -> bool {
    tag.starts_with("qmail")
        || matches!(
            tag,
            "rblsmtpd" | "tcpserver" | "smtp_auth" | "chkuser" | "spamdyke" | "multilog"
        )
}

/// Whether `s` is an IP address literal.
fn is_ip(s: &str) -> bool {
    s.parse::<std::net::IpAddr>().is_ok()
}

/// `rblsmtpd`'s line (after `rblsmtpd: `): ucspi-tcp's `ip pid N: 451 text` (`pid N
/// zone: 451 …` with some builds), or the older `zone blocked ip host -`.
fn rblsmtpd(body: &str) -> Parse<'_> {
    let first = body.split(' ').next().unwrap_or("");
    let ip = if is_ip(first) {
        Some(first)
    } else {
        super::fields::between(body, " blocked ", " ").filter(|ip| is_ip(ip))
    };
    let Some(ip) = ip else {
        // `rblsmtpd: warning: …`, `fatal: …`: its own trouble, no client.
        return Parse::Ignored;
    };
    let mut p = Parsed {
        proto: Some("smtp"),
        ..Parsed::new(Kind::Reject)
    };
    p.src_ip = Some(Cow::Borrowed(ip.strip_prefix("::ffff:").unwrap_or(ip)));
    p.status = Some("rejected".into());
    p.service = Some("rblsmtpd".into());
    p.detail = Some(body.into());
    Parse::Event(p)
}

/// The remote end `host:ip:info:port` of a tcpserver line (IPv6 addresses hold colons, so
/// the host is cut from the front and the port and ident info from the back).
fn tcp_remote(spec: &str) -> Option<(&str, &str)> {
    let (host, rest) = spec.split_once(':')?;
    let (rest, _port) = rest.rsplit_once(':')?;
    let (ip, _info) = rest.rsplit_once(':')?;
    is_ip(ip).then_some((host, ip))
}

/// `tcpserver -v`'s lines (after `tcpserver: `): `ok PID local remote` (a connection taken),
/// `deny PID local remote` (refused by the tcprules database); `status: n/m`, `pid N from
/// ip` (the `ok` or `deny` line follows) and `end PID status S` carry no event.
fn tcpserver(body: &str) -> Parse<'_> {
    let mut words = body.split(' ');
    let kind = match words.next() {
        Some("ok") => Kind::Connect,
        Some("deny") => Kind::Reject,
        _ => return Parse::Ignored,
    };
    let Some((host, ip)) = words.nth(2).and_then(tcp_remote) else {
        return Parse::Unknown;
    };
    let mut p = Parsed {
        proto: Some("smtp"),
        ..Parsed::new(kind)
    };
    p.src_ip = Some(Cow::Borrowed(ip.strip_prefix("::ffff:").unwrap_or(ip)));
    p.src_host = owned(Some(host));
    p.service = Some("tcpserver".into());
    if kind == Kind::Reject {
        p.status = Some("rejected".into());
        p.detail = Some("denied by tcprules".into());
    }
    Parse::Event(p)
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
    // splogger or a syslog tag naming the program, or the program's prefix in the line.
    match tag {
        "rblsmtpd" => return rblsmtpd(msg),
        "tcpserver" => return tcpserver(msg),
        _ => {}
    }
    if let Some(body) = msg.strip_prefix("rblsmtpd: ") {
        return rblsmtpd(body);
    }
    if let Some(body) = msg.strip_prefix("tcpserver: ") {
        return tcpserver(body);
    }
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

    /// ucspi-tcp 0.88's tcpserver and rblsmtpd (Debian 12) in front of notqmail's
    /// qmail-smtpd, through multilog and through splogger (`tests/fixtures/qmail/`).
    #[test]
    fn tcpserver_and_rblsmtpd_lines() {
        for (tag, msg, kind, ip) in [
            ("multilog", "tcpserver: ok 18401 mail1.example.org:192.0.2.25:25 :198.51.100.7::52195", Some(Kind::Connect), Some("198.51.100.7")),
            ("multilog", "rblsmtpd: 203.0.113.50 pid 18402: 451 Your address is listed at bl.example.org; see https://bl.example.org/lookup", Some(Kind::Reject), Some("203.0.113.50")),
            ("multilog", "rblsmtpd: 203.0.113.51 pid 18403: 553 Your address is blocked here", Some(Kind::Reject), Some("203.0.113.51")),
            ("multilog", "tcpserver: deny 18404 mail1.example.org:192.0.2.25:25 :203.0.113.66::58447", Some(Kind::Reject), Some("203.0.113.66")),
            ("qmail", "1796571750.166357 rblsmtpd: 203.0.113.50 pid 18402: 451 Your address is listed at bl.example.org; see https://bl.example.org/lookup", Some(Kind::Reject), Some("203.0.113.50")),
            ("qmail", "1796571750.168721 tcpserver: deny 18404 mail1.example.org:192.0.2.25:25 :203.0.113.66::58447", Some(Kind::Reject), Some("203.0.113.66")),
            ("qmail", "1796571750.165630 tcpserver: ok 18402 mail1.example.org:192.0.2.25:25 :203.0.113.50::37495", Some(Kind::Connect), Some("203.0.113.50")),
            // Chatter: counts, the pid line before `ok`/`deny`, the end of a session.
            ("multilog", "tcpserver: status: 1/20", None, None),
            ("multilog", "tcpserver: pid 18401 from 198.51.100.7", None, None),
            ("qmail", "1796571750.168779 tcpserver: end 18404 status 25600", None, None),
        ] {
            match parse(tag, msg) {
                Parse::Event(p) => assert_eq!(
                    (Some(p.kind), p.src_ip.as_deref()),
                    (Some(kind), ip),
                    "{msg}"
                ),
                Parse::Ignored => assert_eq!(kind, None, "{msg}"),
                Parse::Unknown => panic!("{msg}"),
            }
        }
        // Published forms of other setups (fail2ban's `fail2ban/tests/files/logs/qmail`): the
        // zone before the code, the older rblsmtpd's `blocked` line under its own tag.
        for (tag, msg, ip) in [
            ("qmail", "1157520813.485077 rblsmtpd: 198.51.100.77 pid 19597 sbl-xbl.spamhaus.org: 451 http://www.spamhaus.org/query/bl?ip=198.51.100.77", "198.51.100.77"),
            ("rblsmtpd", "relays.ordb.org blocked 193.111.120.47 ordb-test.null.dk -", "193.111.120.47"),
            ("qmail", "1157519909.633171 qmail-smtpd: 421 badiprbl: ip 198.51.100.54 rbl: example.com", "198.51.100.54"),
        ] {
            let p = ev(tag, msg);
            assert_eq!((p.kind, p.src_ip.as_deref()), (Some(Kind::Reject), Some(ip)), "{msg}");
        }
        for garbage in [
            "tcpserver: ok",
            "tcpserver: ok 1 a:b:c:d e",
            "tcpserver: deny 1 x :::",
            "rblsmtpd: ",
            "rblsmtpd: x blocked",
        ] {
            let _ = parse("multilog", garbage);
        }
    }
}
