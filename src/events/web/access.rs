//! Web-server access lines → `http_request` events.
//!
//! Reads Apache `common`, `combined` and `vhost_combined`, nginx `combined` (also with a
//! leading `$host`, a client logged as `address:port` as Zimbra's proxy does, and extra fields
//! after the user agent such as an upstream address or Jetty's latency). The fields are
//! those of IIS and HttpProxy lines (`http.rs`): `src_ip` (the client; a client logged by name
//! goes to `src_host`), `actor` (`%u` / `$remote_user`, as logged: Apache logs the name a
//! refused client offered too, so look at `status`), `status` (3 digits), and in the detail
//! `method`, `url` (the path, percent-encoding as logged), `query` (after the first `?`, as
//! logged), `ua`, `referer`, `vhost` (without its port) and `bytes`. The servers' escapes of
//! printable characters are undone (Apache `\"`, nginx `\x22`), so both give the same text;
//! a control or non-ASCII byte stays escaped as logged (`\x16`).
//!
//! A request line that is not `METHOD target [HTTP/x]` (`-` for a connection closed before a
//! request, the bytes of a TLS hello sent to a plain port, junk) still gives an event with
//! its status and address but no method or URL; its text goes to the detail `note`.

use super::{cap, MAX_FIELD};
use crate::events::exchange::values::client_ip;
use crate::events::exchange::{Got, Rec};
use crate::events::record::Kind;
use crate::evidence::weblines::{self, unescape};

/// The service of access-log events: the file rarely says which server wrote it.
pub const SERVICE: &str = "web";

/// One access line.
pub fn line(text: &str) -> Got {
    let Some(a) = weblines::access(text) else {
        return Got::Unparsed;
    };
    let mut r = Rec::new(Kind::HttpRequest, a.ts_us, SERVICE);
    r.proto = Some("http");
    match client_ip(a.client) {
        Some(ip) => r.src_ip = Some(ip),
        None if a.client != "-" => r.src_host = Some(cap(a.client)),
        None => {}
    }
    r.actor = given(a.user).map(cap);
    r.status = Some(a.status.to_string());
    let d = &mut r.detail;
    d.vhost = a.vhost.and_then(vhost);
    d.bytes = a.bytes;
    d.referer = a.referer.and_then(given).map(|s| cap(&unescape(s)));
    d.ua = a.ua.and_then(given).map(|s| cap(&unescape(s)));
    let req = unescape(a.request);
    match request(&req) {
        Some((method, target)) => {
            d.method = Some(method.to_string());
            let (path, query) = match target.split_once('?') {
                Some((p, q)) => (p, Some(q)),
                None => (target, None),
            };
            d.url = Some(cap(path));
            d.query = query.filter(|q| !q.is_empty()).map(cap);
        }
        None => {
            d.note = given(&req)
                .map(|t| format!("request line: {}", crate::sanitize::capped(t, MAX_FIELD)));
        }
    }
    // A webmail request that read mail is what it did to the mailbox.
    if super::webmail::detail(&mut r.detail, a.status.parse().unwrap_or(0)) {
        r.kind = Kind::MailboxAccess;
    }
    Got::Events(vec![r])
}

/// A field's value unless empty or `-`.
fn given(s: &str) -> Option<&str> {
    (!s.is_empty() && s != "-").then_some(s)
}

/// The virtual host without its port (`mail.example.org:443` → `mail.example.org`).
fn vhost(v: &str) -> Option<String> {
    let v = given(v)?;
    let host = match v.rsplit_once(':') {
        Some((h, p))
            if !h.contains(':') && !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) =>
        {
            h
        }
        _ => v,
    };
    Some(cap(host))
}

/// Method and target of a request line `METHOD target [HTTP/x.y]`; None for anything else.
/// A target with spaces (nginx logs the raw line) keeps them.
fn request(line: &str) -> Option<(&str, &str)> {
    let (method, rest) = line.split_once(' ')?;
    let ok = !method.is_empty()
        && method.len() <= 32
        && method
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b == b'_' || b == b'-');
    if !ok {
        return None;
    }
    let target = match rest.rsplit_once(' ') {
        Some((t, proto)) if proto.starts_with("HTTP/") => t,
        _ => rest,
    };
    (!target.is_empty()).then_some((method, target))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(l: &str) -> Rec {
        match line(l) {
            Got::Events(mut v) => v.remove(0),
            _ => panic!("not read: {l}"),
        }
    }

    #[test]
    fn request_lines() {
        assert_eq!(request("GET /a?b HTTP/1.1"), Some(("GET", "/a?b")));
        assert_eq!(request("GET /"), Some(("GET", "/")));
        assert_eq!(request("GET /a b HTTP/1.0"), Some(("GET", "/a b")));
        assert_eq!(
            request(r"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
            None
        );
        assert_eq!(request("-"), None);
        assert_eq!(request("get / HTTP/1.1"), None);
    }

    #[test]
    fn apache_manual_combined_line() {
        // The Combined Log Format example of the Apache HTTP Server manual (log files).
        let r = one(
            r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#,
        );
        assert_eq!(r.kind, Kind::HttpRequest);
        assert_eq!(r.ts_us, 971_211_336_000_000);
        assert_eq!(r.src_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(r.actor.as_deref(), Some("frank"));
        assert_eq!(r.status.as_deref(), Some("200"));
        assert_eq!(r.detail.method.as_deref(), Some("GET"));
        assert_eq!(r.detail.url.as_deref(), Some("/apache_pb.gif"));
        assert_eq!(r.detail.query, None);
        assert_eq!(r.detail.bytes, Some(2326));
        assert_eq!(
            r.detail.referer.as_deref(),
            Some("http://www.example.com/start.html")
        );
    }

    #[test]
    fn client_with_port_and_name() {
        let r = one(r#"203.0.113.9:51234 - - [10/Aug/2022:10:11:12 +0000] "GET / HTTP/1.1" 200 5"#);
        assert_eq!(r.src_ip.as_deref(), Some("203.0.113.9"));
        let r =
            one(r#"client.example.net - - [10/Aug/2022:10:11:12 +0000] "GET / HTTP/1.1" 200 5"#);
        assert_eq!(r.src_ip, None);
        assert_eq!(r.src_host.as_deref(), Some("client.example.net"));
        assert_eq!(
            vhost("mail.example.org:443").as_deref(),
            Some("mail.example.org")
        );
        assert_eq!(vhost("-"), None);
    }

    const NGINX: &str = include_str!("../../../tests/fixtures/web/var/log/nginx/access.log");
    const PROXY: &str =
        include_str!("../../../tests/fixtures/web/var/log/nginx/zimbra-proxy.access.log");
    const APACHE: &str = include_str!("../../../tests/fixtures/web/var/log/apache2/access.log");
    const VHOSTS: &str =
        include_str!("../../../tests/fixtures/web/var/log/apache2/other_vhosts_access.log");

    /// The line of `log` holding `needle`, read.
    fn find(log: &str, needle: &str) -> Rec {
        one(log.lines().find(|l| l.contains(needle)).expect(needle))
    }

    /// Every line real nginx 1.22 and Apache 2.4 wrote (tests/fixtures/web) is a request;
    /// the Roundcube message views answered 200 are mailbox accesses.
    #[test]
    fn every_fixture_line_is_a_request() {
        for log in [NGINX, PROXY, APACHE, VHOSTS] {
            for l in log.lines() {
                let r = one(l);
                let reads = l.contains("_task=mail&") && l.contains("_action=show HTTP/1.1\" 200 ");
                let want = if reads {
                    Kind::MailboxAccess
                } else {
                    Kind::HttpRequest
                };
                assert_eq!(r.kind, want, "{l}");
                assert!(r.status.as_deref().is_some_and(|s| s.len() == 3), "{l}");
                assert!(r.src_ip.is_some(), "{l}");
            }
        }
    }

    #[test]
    fn a_webmail_message_view_is_a_mailbox_access() {
        let r = find(APACHE, "_action=show");
        assert_eq!(r.kind, Kind::MailboxAccess);
        assert_eq!(r.detail.action.as_deref(), Some("view"));
        assert_eq!(r.detail.folders, ["INBOX"]);
        assert_eq!(r.detail.messages, Some(1));
        assert_eq!(r.detail.bytes, Some(243));
        assert_eq!(r.src_ip.as_deref(), Some("127.0.1.10"));
    }

    #[test]
    fn fixture_attacks_and_oddities() {
        let r = find(NGINX, "/mapi/nspi/");
        assert_eq!(r.src_ip.as_deref(), Some("127.0.6.6"));
        assert_eq!(
            r.detail.url.as_deref(),
            Some("/autodiscover/autodiscover.json")
        );
        assert_eq!(
            r.detail.query.as_deref(),
            Some("@evil.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.com")
        );
        // nginx: a TLS hello on the plain port, and a request line of nothing.
        let r = find(NGINX, r#""\x16\x03\x01"#);
        assert_eq!(
            (r.status.as_deref(), r.detail.method.as_ref()),
            (Some("400"), None)
        );
        assert!(r
            .detail
            .note
            .as_deref()
            .unwrap()
            .starts_with(r"request line: \x16\x03\x01"));
        let r = find(NGINX, r#" "" 400"#);
        assert_eq!(
            (r.detail.method.as_ref(), r.detail.note.as_ref()),
            (None, None)
        );
        // Both servers' escapes give the same text.
        let n = find(NGINX, "quoted");
        let a = find(APACHE, "quoted");
        assert_eq!(n.detail.query.as_deref(), Some(r#"q="a\b""#));
        assert_eq!(a.detail.query.as_deref(), Some(r#"_task=mail&q="a\b""#));
        assert_eq!(
            n.detail.ua.as_deref(),
            Some(r#"Mozilla/5.0 "quoted" \xC3\xA9"#)
        );
        assert_eq!(
            a.detail.ua.as_deref(),
            Some(r#"Mozilla/5.0 "quoted" \xc3\xa9"#)
        );
        // An over-long request line, as the servers cut it (no `HTTP/x` left).
        let r = find(APACHE, "x=AAAA");
        assert_eq!(r.status.as_deref(), Some("414"));
        assert_eq!(r.detail.method.as_deref(), Some("GET"));
        assert!(r.detail.query.as_deref().unwrap().len() > 8000);
        // Longer still (a server that logs the whole line): the field is cut, with a marker.
        let l = APACHE.lines().find(|l| l.contains("x=AAAA")).unwrap();
        let longer = l.replacen("x=A", &format!("x={}", "A".repeat(20_000)), 1);
        let q = one(&longer).detail.query.unwrap();
        assert!(
            q.len() < MAX_FIELD + 64 && q.ends_with("more bytes]"),
            "{}",
            q.len()
        );
        // The client's port and the upstream of the proxy format; the vhost of Apache's.
        let r = find(PROXY, "ow=2&no-switch=1");
        assert_eq!(r.src_ip.as_deref(), Some("127.0.6.8"));
        assert_eq!(r.detail.vhost.as_deref(), Some("zimbra.example.test"));
        assert_eq!(r.detail.method.as_deref(), Some("POST"));
        assert_eq!(
            r.detail.url.as_deref(),
            Some("/service/extension/backup/mboximport")
        );
        let r = find(VHOSTS, "cat+/etc/passwd");
        assert_eq!(r.detail.vhost.as_deref(), Some("zimbra.example.test"));
        assert_eq!(r.src_ip.as_deref(), Some("127.0.6.8"));
        // IPv6 clients and a basic-auth user.
        assert_eq!(find(NGINX, "::1 - -").src_ip.as_deref(), Some("::1"));
        assert_eq!(find(NGINX, " admin [").actor.as_deref(), Some("admin"));
    }
}
