//! Roundcube webmail: login failures and successes, from syslog (`roundcube: …`) or its own
//! log files (`[27-Jun-2026 12:00:00 +0200]: <sess> IMAP Error: Login failed for …`; the
//! prefix is read by [`super::syslog`]).

use std::borrow::Cow;

use super::fields::{owned, Parse};
use super::record::{Kind, Parsed};

/// Whether a syslog tag belongs to Roundcube.
pub fn is_roundcube(tag: &str) -> bool {
    tag == "roundcube" || tag == "roundcubemail"
}

fn word_after<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    let at = s.find(key)? + key.len();
    s[at..]
        .split([' ', '('])
        .next()
        .map(|w| w.trim_end_matches(['.', ',']))
}

/// Parses one Roundcube message.
pub fn parse<'a>(_tag: &'a str, msg: &'a str) -> Parse<'a> {
    let failed = msg.contains("Login failed for ")
        || msg.contains("Failed login for ")
        || msg.contains("failed login for ");
    let ok = msg.contains("Successful login for ");
    if !failed && !ok {
        return if msg.contains("Error") || msg.contains("session") {
            Parse::Ignored
        } else {
            Parse::Unknown
        };
    }
    let mut p = Parsed {
        proto: Some("http"),
        ..Parsed::new(if failed {
            Kind::AuthFailure
        } else {
            Kind::AuthSuccess
        })
    };
    let user_key = [
        "Login failed for ",
        "Failed login for ",
        "failed login for ",
        "Successful login for ",
    ]
    .iter()
    .find(|k| msg.contains(*k))
    .copied()
    .unwrap_or("for ");
    p.actor = owned(word_after(msg, user_key));
    if p.kind == Some(Kind::AuthSuccess) {
        // A webmail login opens that account's mailbox.
        p.mailbox = p.actor.clone();
    }
    let ip = msg
        .find("X-Real-IP: ")
        .map(|i| &msg[i + 11..])
        .or_else(|| msg.find(" from ").map(|i| &msg[i + 6..]));
    p.src_ip = ip
        .and_then(|s| s.split([' ', ')', '(']).next())
        .map(|s| Cow::Borrowed(s.trim_end_matches(['.', ','])));
    p.service = Some("roundcube".into());
    p.detail = Some(msg.into());
    Parse::Event(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundcube_lines() {
        let Parse::Event(p) = parse("roundcube", "<a1b2c3> IMAP Error: Login failed for admin against localhost from 203.0.113.70. Could not connect") else { panic!() };
        assert_eq!(
            (p.kind, p.actor.as_deref(), p.src_ip.as_deref()),
            (Some(Kind::AuthFailure), Some("admin"), Some("203.0.113.70"))
        );
        let Parse::Event(p) = parse(
            "roundcube",
            "Successful login for bob@example.org (ID: 7) from 192.0.2.10 in session x",
        ) else {
            panic!()
        };
        assert_eq!(
            (p.kind, p.actor.as_deref(), p.src_ip.as_deref()),
            (
                Some(Kind::AuthSuccess),
                Some("bob@example.org"),
                Some("192.0.2.10")
            )
        );
    }
}
