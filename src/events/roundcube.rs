//! Roundcube webmail: login failures and successes, from syslog (`roundcube: …`,
//! `roundcube[pid]: …`) or its own log files (the prefix `[27-Jun-2026 12:00:00 +0200]: ` is read
//! by [`super::syslog`]):
//!
//! - `userlogins` (`log_logins = true`): `<sess> Failed login for u from ip in session s (error:
//!   n)`, `<sess> Successful login for u (ID: n) from ip in session s`; before 1.1 without the
//!   `<sess>` prefix, before 1.0 `FAILED login for u from ip`;
//! - `errors`: `<sess> IMAP Error: Login failed for u against host from ip. <the IMAP server's
//!   answer> in …/rcube_imap.php on line n (POST …)` (`against host` since 1.5): the IMAP
//!   server, Roundcube's authentication backend, refused. It is an `auth_backend_failure`: with
//!   `log_logins` on, `userlogins` (or syslog, where both go) has the same attempt as the
//!   `auth_failure`, and detection counts backend failures only for addresses with none (the
//!   default, `log_logins` off). A refusal the server could not give (`Could not connect`,
//!   `Empty startup greeting`) is a `service` event.
//!
//! Behind a reverse proxy Roundcube writes the peer that sent the request and the headers the
//! proxy added: `from 127.0.0.1 (X-Real-IP: 203.0.113.50,X-Forwarded-For: 203.0.113.50)`
//! (1.1–1.4: no space before the parenthesis). The client is `X-Real-IP` (nginx sets it to the
//! address it saw), else the last `X-Forwarded-For` entry (the one the nearest proxy appended;
//! the ones before it are the client's own claim); the peer goes to `proxy`. The headers are
//! believed only when the peer is a loopback or private address (a proxy on the host or the
//! LAN): a client on the Internet that sends its own `X-Forwarded-For` straight to Roundcube is
//! logged under the address it connected from (behind a proxy on a public address, a CDN, that
//! is the proxy's; the headers stay in `detail`). Roundcube logs the user name as typed, so a
//! name like `admin from 127.0.0.1` cannot move the address: the address is read from the end
//! of the line back (the last `from` followed by an address and nothing but the proxy headers),
//! never from the first `from`.

use std::borrow::Cow;
use std::net::IpAddr;

use super::fields::{find, owned, Parse};
use super::record::{Kind, Parsed};

/// Whether a syslog tag belongs to Roundcube.
pub fn is_roundcube(tag: &str) -> bool {
    tag == "roundcube" || tag == "roundcubemail"
}

/// Whether `s` is an IP address literal (what Roundcube's `REMOTE_ADDR` always is).
fn is_ip(s: &str) -> bool {
    s.parse::<IpAddr>().is_ok()
}

/// Whether the peer that sent a request can be a proxy of the site's own: loopback, a private
/// network (RFC 1918, shared address space 100.64/10, IPv6 unique local), link-local.
fn is_internal(s: &str) -> bool {
    match s.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => {
            let o = a.octets();
            a.is_loopback()
                || a.is_private()
                || a.is_link_local()
                || (o[0] == 100 && (64..128).contains(&o[1]))
        }
        Ok(IpAddr::V6(a)) => {
            let first = a.segments()[0];
            a.is_loopback()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || a.to_ipv4_mapped()
                    .is_some_and(|v4| v4.is_loopback() || v4.is_private() || v4.is_link_local())
        }
        Err(_) => false,
    }
}

/// The client and proxy of a `from` address spec that runs to the end of `spec`: `A`,
/// `A (X-Real-IP: B,X-Forwarded-For: C, D)` or `A(…)`. `None` unless `A` is an address and the
/// parenthesis (if any) is one group closing at the end.
fn from_spec(spec: &str) -> Option<(&str, Option<&str>)> {
    let end = spec.find([' ', '(']).unwrap_or(spec.len());
    let peer = &spec[..end];
    if !is_ip(peer) {
        return None;
    }
    let rest = spec[end..].trim_start_matches(' ');
    if rest.is_empty() {
        return Some((peer, None));
    }
    let group = rest.strip_prefix('(')?.strip_suffix(')')?;
    if !(group.starts_with("X-Real-IP: ") || group.starts_with("X-Forwarded-For: ")) {
        return None;
    }
    // One group: no parenthesis closes before the end.
    let mut depth = 1i32;
    for c in group.bytes() {
        match c {
            b'(' => depth += 1,
            b')' => depth -= 1,
            _ => {}
        }
        if depth == 0 {
            return None;
        }
    }
    let real = group
        .strip_prefix("X-Real-IP: ")
        .map(|v| v.split(',').next().unwrap_or(v).trim())
        .filter(|v| is_ip(v));
    let forwarded = find(group, "X-Forwarded-For: ").and_then(|i| {
        group[i + 17..]
            .rsplit(',')
            .map(str::trim)
            .find(|v| !v.is_empty())
            .filter(|v| is_ip(v))
    });
    match real.or(forwarded) {
        // Only a proxy of the site's own is believed: a client on the Internet that sends its
        // own forwarding header does not choose the address it is logged under.
        Some(client) if client != peer && is_internal(peer) => Some((client, Some(peer))),
        _ => Some((peer, None)),
    }
}

/// In `head` (`u … from <spec>`), the last ` from ` whose spec (up to the end of `head`)
/// is valid: (user part before it, client, proxy).
fn last_from(head: &str) -> Option<(&str, &str, Option<&str>)> {
    let b = head.as_bytes();
    let mut end = b.len();
    while let Some(at) = memchr::memmem::rfind(&b[..end], b" from ") {
        if let Some((client, proxy)) = from_spec(&head[at + 6..]) {
            return Some((&head[..at], client, proxy));
        }
        end = at;
    }
    None
}

/// What a `userlogins` failure's `(error: n)` says (Roundcube's `rcmail::ERROR_*`): `0` the
/// IMAP server refused the password, `-2` it could not be reached (`ERROR_STORAGE`), `4` the
/// account's `login_rate_limit` was hit, `1`–`3` the request was refused before any password
/// was tried (bad request token, host, cookies).
fn userlogin_kind(msg: &str) -> Kind {
    let code = memchr::memmem::rfind(msg.as_bytes(), b"(error: ")
        .map(|i| &msg[i + 8..])
        .and_then(|c| c.strip_suffix(')'));
    match code {
        Some("-2") => Kind::Service,
        Some("4") => Kind::RateLimit,
        Some("1" | "2" | "3") => Kind::Reject,
        _ => Kind::AuthFailure,
    }
}

/// The login line's user, client and proxy, and whether it was a success.
struct Login<'a> {
    ok: bool,
    /// The `errors` log's `IMAP Error: Login failed …`: the IMAP server (Roundcube's
    /// authentication backend) refused; `userlogins` has the same attempt.
    backend: bool,
    user: &'a str,
    client: Option<&'a str>,
    proxy: Option<&'a str>,
    /// The IMAP server could not answer: not a refusal of the password.
    fault: bool,
}

/// `Failed login for u from spec in session s (error: n)` / `Successful login for u (ID: n)
/// from spec in session s` (after the `<sess>` prefix).
fn userlogin(msg: &str) -> Option<Login<'_>> {
    let (ok, rest) = if let Some(r) = msg.strip_prefix("Successful login for ") {
        (true, r)
    } else {
        let r = [
            "Failed login for ",
            "FAILED login for ",
            "failed login for ",
        ]
        .iter()
        .find_map(|k| msg.strip_prefix(k))?;
        (false, r)
    };
    // Roundcube's own suffix: the session id names nobody and holds no space.
    let head = match memchr::memmem::rfind(rest.as_bytes(), b" in session ") {
        Some(i) => &rest[..i],
        None => rest,
    };
    let (user, client, proxy) = match last_from(head) {
        Some((u, c, p)) => (u, Some(c), p),
        None => (head, None, None),
    };
    let user = if ok {
        // `u (ID: 7)`
        match user.rsplit_once(" (ID: ") {
            Some((u, id)) if id.ends_with(')') => u,
            _ => user,
        }
    } else {
        user
    };
    Some(Login {
        ok,
        backend: false,
        user,
        client,
        proxy,
        fault: false,
    })
}

/// `[IMAP Error: ]Login failed for u [against host ]from spec. <answer> in … (POST …)`.
fn imap_error(msg: &str) -> Option<Login<'_>> {
    let at = find(msg, "Login failed for ")?;
    let rest = &msg[at + 17..];
    // The address ends before the IMAP server's answer, which may repeat the user name
    // (`user=admin from 127.0.0.1`): read only up to the answer's first words when they are
    // Roundcube's (`AUTHENTICATE PLAIN: …`, `LOGIN: …`).
    let answer = [
        ". AUTHENTICATE ",
        ". LOGIN: ",
        ". Could not connect",
        ". Empty startup",
    ]
    .iter()
    .filter_map(|m| find(rest, m))
    .min();
    let region = answer.map_or(rest, |i| &rest[..i + 1]);
    // The server gave no answer to the password: it was down or refused the connection.
    let fault = answer.is_some_and(|i| {
        rest[i + 2..].starts_with("Could not connect") || rest[i + 2..].starts_with("Empty startup")
    });
    // Candidates end with `.` (then the answer) or the region's end.
    let b = region.as_bytes();
    let mut end = b.len();
    let mut found = None;
    while let Some(i) = memchr::memmem::rfind(&b[..end], b" from ") {
        let spec = &region[i + 6..];
        let mut tail = spec.len();
        // The spec runs up to `. ` / `.` at the end of the region.
        while tail > 0 {
            let cut = &spec[..tail];
            let s = cut.strip_suffix('.').unwrap_or(cut);
            if let Some((c, p)) = from_spec(s) {
                let after = &spec[tail..];
                if after.is_empty() || after.starts_with(' ') {
                    found = Some((&region[..i], c, p));
                    break;
                }
            }
            match spec[..tail].rfind(". ") {
                Some(d) => tail = d + 1,
                None => break,
            }
        }
        if found.is_some() {
            break;
        }
        end = i;
    }
    let (user, client, proxy) = match found {
        Some((u, c, p)) => (u, Some(c), p),
        None => (rest.split(' ').next().unwrap_or(rest), None, None),
    };
    // `u against host` (1.5+): the host is a server name without spaces.
    let user = match user.rsplit_once(" against ") {
        Some((u, host)) if !host.contains(' ') => u,
        _ => user,
    };
    Some(Login {
        ok: false,
        backend: true,
        user,
        client,
        proxy,
        fault,
    })
}

/// Parses one Roundcube message.
pub fn parse<'a>(_tag: &'a str, msg: &'a str) -> Parse<'a> {
    // `<a1b2c3d4> ` (the first bytes of the session id, `log_session_id`).
    let body = match msg.strip_prefix('<').and_then(|r| r.split_once("> ")) {
        Some((sess, r)) if !sess.contains(' ') => r,
        _ => msg,
    };
    let login = if find(body, "Login failed for ").is_some() {
        imap_error(body)
    } else {
        userlogin(body)
    };
    let Some(l) = login else {
        return if find(msg, "Error").is_some() || find(msg, "session").is_some() {
            Parse::Ignored
        } else {
            Parse::Unknown
        };
    };
    let kind = if l.fault {
        Kind::Service
    } else if l.ok {
        Kind::AuthSuccess
    } else if l.backend {
        Kind::AuthBackendFailure
    } else {
        userlogin_kind(body)
    };
    let mut p = Parsed {
        proto: Some("http"),
        ..Parsed::new(kind)
    };
    // Even when the server was down, the line says who tried, from where.
    p.actor = owned(Some(l.user));
    if kind == Kind::AuthSuccess {
        // A webmail login opens that account's mailbox.
        p.mailbox = p.actor.clone();
    }
    p.src_ip = l.client.map(Cow::Borrowed);
    p.proxy = l.proxy.map(Cow::Borrowed);
    p.service = Some("roundcube".into());
    p.detail = Some(msg.into());
    Parse::Event(p)
}

#[cfg(test)]
mod tests {
    use super::super::fields::has;
    use super::*;

    fn ev<'a>(msg: &'a str) -> Parsed<'a> {
        match parse("roundcube", msg) {
            Parse::Event(p) => p,
            other => panic!("{msg}: {other:?}"),
        }
    }

    fn fields<'a>(
        p: &'a Parsed<'a>,
    ) -> (
        Option<Kind>,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
    ) {
        (
            p.kind,
            p.actor.as_deref(),
            p.src_ip.as_deref(),
            p.proxy.as_deref(),
        )
    }

    #[test]
    fn from_specs() {
        assert_eq!(from_spec("203.0.113.50"), Some(("203.0.113.50", None)));
        assert_eq!(
            from_spec(
                "127.0.0.1 (X-Real-IP: 203.0.113.50,X-Forwarded-For: 10.9.8.7, 203.0.113.50)"
            ),
            Some(("203.0.113.50", Some("127.0.0.1")))
        );
        assert_eq!(
            from_spec("127.0.0.1(X-Real-IP: 192.0.2.3,X-Forwarded-For: 192.0.2.4)"),
            Some(("192.0.2.3", Some("127.0.0.1")))
        );
        // A client on the Internet sending its own header: not believed.
        assert_eq!(
            from_spec("203.0.113.51 (X-Forwarded-For: 10.9.8.7)"),
            Some(("203.0.113.51", None))
        );
        assert_eq!(
            from_spec("10.0.0.5 (X-Forwarded-For: 203.0.113.9)"),
            Some(("203.0.113.9", Some("10.0.0.5")))
        );
        assert_eq!(
            from_spec("::1 (X-Forwarded-For: 2001:db8::7)"),
            Some(("2001:db8::7", Some("::1")))
        );
        // Not an address, or more than one group: not a spec.
        assert_eq!(from_spec("127.0.0.1 from 1.2.3.4"), None);
        assert_eq!(from_spec("x"), None);
        assert_eq!(
            from_spec("1.2.3.4 (X-Real-IP: 5.6.7.8) (X-Real-IP: 9.9.9.9)"),
            None
        );
        // A header that is no address: the peer is the client.
        assert_eq!(
            from_spec("198.51.100.20 (X-Forwarded-For: unknown)"),
            Some(("198.51.100.20", None))
        );
    }

    /// Lines Roundcube 1.6.5 (Debian 12) wrote in `tests/fixtures/roundcube/`, reached
    /// directly and through nginx as a reverse proxy: kind, user, client, proxy.
    #[test]
    fn userlogins_and_errors_with_proxies() {
        use Kind::*;
        for (msg, kind, user, ip, proxy) in [
            ("<1g22vr54> Successful login for mira (ID: 1) from 198.51.100.7 in session 1g22vr54gbtjpheo", AuthSuccess, "mira", "198.51.100.7", None),
            ("<s25qb8mv> Failed login for mira from 203.0.113.50 in session s25qb8mv6c9ca6rd (error: 0)", AuthFailure, "mira", "203.0.113.50", None),
            ("<s25qb8mv> IMAP Error: Login failed for mira against 192.0.2.25 from 203.0.113.50. AUTHENTICATE PLAIN: Authentication failed. in /usr/share/roundcube/program/lib/Roundcube/rcube_imap.php on line 211 (POST /?_task=login&_action=login)", AuthBackendFailure, "mira", "203.0.113.50", None),
            // Behind nginx (X-Real-IP and X-Forwarded-For set by it).
            ("<ktsrd74a> Successful login for tomas (ID: 2) from 127.0.0.1 (X-Real-IP: 198.51.100.7,X-Forwarded-For: 198.51.100.7) in session ktsrd74av68rjben", AuthSuccess, "tomas", "198.51.100.7", Some("127.0.0.1")),
            ("<j9nhd1t8> Failed login for tomas from 127.0.0.1 (X-Real-IP: 203.0.113.50,X-Forwarded-For: 203.0.113.50) in session j9nhd1t8jvf3s7q6 (error: 0)", AuthFailure, "tomas", "203.0.113.50", Some("127.0.0.1")),
            ("<j9nhd1t8> IMAP Error: Login failed for tomas against 192.0.2.25 from 127.0.0.1 (X-Real-IP: 203.0.113.50,X-Forwarded-For: 203.0.113.50). AUTHENTICATE PLAIN: Authentication failed. in /usr/share/roundcube/program/lib/Roundcube/rcube_imap.php on line 211 (POST /?_task=login&_action=login)", AuthBackendFailure, "tomas", "203.0.113.50", Some("127.0.0.1")),
            // The client sent its own X-Forwarded-For through nginx: nginx's X-Real-IP wins.
            ("<amsc0rsc> Failed login for sales from 127.0.0.1 (X-Real-IP: 203.0.113.50,X-Forwarded-For: 10.9.8.7, 203.0.113.50) in session amsc0rsclk45feej (error: 0)", AuthFailure, "sales", "203.0.113.50", Some("127.0.0.1")),
            // Sent straight to Roundcube from the Internet: the header is not believed.
            ("<9aerh24n> Failed login for info from 203.0.113.51 (X-Forwarded-For: 10.9.8.7) in session 9aerh24nojsnooqj (error: 0)", AuthFailure, "info", "203.0.113.51", None),
            ("<9aerh24n> IMAP Error: Login failed for info against 192.0.2.25 from 203.0.113.51 (X-Forwarded-For: 10.9.8.7). AUTHENTICATE PLAIN: Authentication failed. in /usr/share/roundcube/program/lib/Roundcube/rcube_imap.php on line 211 (POST /?_task=login&_action=login)", AuthBackendFailure, "info", "203.0.113.51", None),
            // The user name `admin from 127.0.0.1`, typed into the login form.
            ("<g5bllsd8> Failed login for admin from 127.0.0.1 from 203.0.113.51 in session g5bllsd809k88sqr (error: 0)", AuthFailure, "admin from 127.0.0.1", "203.0.113.51", None),
            ("<ucfcj0gn> Failed login for admin from 127.0.0.1 from 127.0.0.1 (X-Real-IP: 203.0.113.51,X-Forwarded-For: 203.0.113.51) in session ucfcj0gn4imnqaaf (error: 0)", AuthFailure, "admin from 127.0.0.1", "203.0.113.51", Some("127.0.0.1")),
            ("<ucfcj0gn> IMAP Error: Login failed for admin from 127.0.0.1 against 192.0.2.25 from 127.0.0.1 (X-Real-IP: 203.0.113.51,X-Forwarded-For: 203.0.113.51). AUTHENTICATE PLAIN: Authentication failed. in /usr/share/roundcube/program/lib/Roundcube/rcube_imap.php on line 211 (POST /?_task=login&_action=login)", AuthBackendFailure, "admin from 127.0.0.1", "203.0.113.51", Some("127.0.0.1")),
            // The IMAP server was down (`tests/fixtures/roundcube/down.*`): no password refused.
            ("<8lcvhad3> IMAP Error: Login failed for mira against 192.0.2.25 from 203.0.113.50. Could not connect to 192.0.2.25:1143: Connection refused in /usr/share/roundcube/program/lib/Roundcube/rcube_imap.php on line 211 (POST /?_task=login&_action=login)", Service, "mira", "203.0.113.50", None),
            ("<8lcvhad3> Failed login for mira from 203.0.113.50 in session 8lcvhad3k3phv0j4 (error: -2)", Service, "mira", "203.0.113.50", None),
            ("<o22gui70> Failed login for tomas from 127.0.0.1 (X-Real-IP: 203.0.113.50,X-Forwarded-For: 203.0.113.50) in session o22gui703du0hh50 (error: -2)", Service, "tomas", "203.0.113.50", Some("127.0.0.1")),
        ] {
            let p = ev(msg);
            assert_eq!(
                fields(&p),
                (Some(kind), Some(user), Some(ip), proxy),
                "{msg}"
            );
            assert_eq!(p.mailbox.is_some(), kind == AuthSuccess, "{msg}");
        }
    }

    /// Published lines of other Roundcube versions (fail2ban's test log
    /// `fail2ban/tests/files/logs/roundcube-auth`, see `tests/fixtures/roundcube/README.md`),
    /// the crafted user names among them.
    #[test]
    fn other_versions_and_crafted_names() {
        for (msg, user, ip) in [
            ("FAILED login for user1 from 192.0.43.10", "user1", "192.0.43.10"),
            ("IMAP Error: Login failed for admin from 1.2.3.4. AUTHENTICATE PLAIN: A0002 NO Login failed. in /usr/share/roundcube/program/include/rcube_imap.php on line 205 (POST /wmail/?_task=login&_action=login)", "admin", "1.2.3.4"),
            ("IMAP Error: Login failed for admin from 127.0.0.1 from 1.2.3.4. AUTHENTICATE PLAIN: A0002 NO Login failed. user=admin from 127.0.0.1 in /usr/share/roundcube/program/include/rcube_imap.php on line 205 (POST /wmail/?_task=login&_action=login)", "admin from 127.0.0.1", "1.2.3.4"),
            ("IMAP Error: Login failed for admin from 127.0.0.1. from 1.2.3.4. AUTHENTICATE PLAIN: A0002 NO Login failed. user=admin from 127.0.0.1. in /usr/share/roundcube/program/include/rcube_imap.php on line 205 (POST /wmail/?_task=login&_action=login)", "admin from 127.0.0.1.", "1.2.3.4"),
            ("IMAP Error: Login failed for admin from 127.0.0.1 from 1.2.3.4", "admin from 127.0.0.1", "1.2.3.4"),
            ("<4z506z6r> Failed login for admin@example.com from 1.2.3.4 in session 4z506z6rvddstv6k7jz08hxo27 (error: 0)", "admin@example.com", "1.2.3.4"),
            ("<j2pncet8> IMAP Error: Login failed for user@example.com from 192.0.2.2(X-Real-IP: 192.0.2.3,X-Forwarded-For: 192.0.2.4). AUTHENTICATE PLAIN: Authentication failed. in /usr/share/roundcubemail/program/lib/Roundcube/rcube_imap.php on line 197 (POST /?_task=login?_task=login&_action=login)", "user@example.com", "192.0.2.2"),
        ] {
            let p = ev(msg);
            let kind = if has(msg, "IMAP Error") {
                Kind::AuthBackendFailure
            } else {
                Kind::AuthFailure
            };
            assert_eq!(
                fields(&p),
                (Some(kind), Some(user), Some(ip), None),
                "{msg}"
            );
        }
        assert!(matches!(
            parse("roundcube", "<a1b2c3> PHP Error: x"),
            Parse::Ignored
        ));
        assert!(matches!(parse("roundcube", "weird"), Parse::Unknown));
        for garbage in [
            "Failed login for ",
            "Login failed for  from ",
            "Successful login for x (ID: ",
            "<> Failed login for a from (X-Real-IP: )",
        ] {
            let _ = parse("roundcube", garbage);
        }
    }
}
