//! Small byte-level helpers shared by the daemon parsers: client specs (`host[ip]:port`),
//! `key=<value>` and `key=value,` fields. No regex, no allocation until a value is kept.

/// What a daemon parser made of a message. Returned by value on the hot path, once per line:
/// boxing the event would cost an allocation per line for nothing.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Parse<'a> {
    /// An event.
    Event(super::record::Parsed<'a>),
    /// A known line that carries no event (TLS chatter, statistics, `removed`).
    Ignored,
    /// Not a line this parser knows: counted as unparsed.
    Unknown,
}

/// Substring search for the short needles and short lines of the parsers: `memchr` for the
/// needle's first byte, then a comparison. No searcher to build per call (std's two-way and
/// `memmem`'s searchers cost more to set up than a log line takes to scan).
pub fn find(haystack: &str, needle: &str) -> Option<usize> {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    let (&first, rest) = n.split_first()?;
    let mut from = 0;
    while let Some(p) = memchr::memchr(first, h.get(from..)?) {
        let at = from + p;
        // Needles are a few bytes: an inline comparison beats a call to `memcmp` per candidate.
        let tail = &h[at + 1..];
        if tail.len() >= rest.len() && rest.iter().zip(tail).all(|(a, b)| a == b) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// The text after the first `prefix`, up to the next `end` (or the end of `s`).
pub fn between<'a>(s: &'a str, prefix: &str, end: &str) -> Option<&'a str> {
    let at = find(s, prefix)? + prefix.len();
    let v = &s[at..];
    Some(&v[..find(v, end).unwrap_or(v.len())])
}

/// Whether `needle` occurs in `haystack` (see [`find`]).
pub fn has(haystack: &str, needle: &str) -> bool {
    find(haystack, needle).is_some()
}

/// Parses `host[ip]` / `host[ip]:port` / `[ip]:port` at the start of `s`;
/// returns (host, ip, rest after the spec).
pub fn client(s: &str) -> Option<(Option<&str>, &str, &str)> {
    let b = s.as_bytes();
    let open = memchr::memchr(b'[', b)?;
    let close = open + memchr::memchr(b']', &b[open..])?;
    let host = &s[..open];
    if memchr::memchr(b' ', host.as_bytes()).is_some() {
        return None;
    }
    let ip = &s[open + 1..close];
    let mut rest = &s[close + 1..];
    if let Some(r) = rest.strip_prefix(':') {
        let digits = r.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            rest = &r[digits..];
        }
    }
    Some(((!host.is_empty()).then_some(host), ip, rest))
}

/// Finds `client spec` after `marker` (`" from "`) anywhere in `s`.
pub fn client_after<'a>(s: &'a str, marker: &str) -> Option<(Option<&'a str>, &'a str, &'a str)> {
    let at = find(s, marker)? + marker.len();
    client(&s[at..])
}

/// Value of `key=<value>` (angle brackets), e.g. `from=<a@b>`; empty values allowed. Old
/// Postfix versions wrote `to=user@host,` without brackets: that form is accepted too.
pub fn angle<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    let v = after_key(s, key, b" ,;(")?;
    if let Some(v) = v.strip_prefix('<') {
        return memchr::memchr(b'>', v.as_bytes()).map(|e| &v[..e]);
    }
    let end = memchr::memchr3(b',', b' ', b';', v.as_bytes()).unwrap_or(v.len());
    Some(&v[..end])
}

/// The text after the first `key=` that starts the line or follows one of `boundaries`.
/// Lines hold few `=` signs: each is a candidate, checked for the key before it, which is
/// far fewer comparisons than every occurrence of the key's first letter.
fn after_key<'a>(s: &'a str, key: &str, boundaries: &[u8]) -> Option<&'a str> {
    let b = s.as_bytes();
    let k = key.as_bytes();
    memchr::memchr_iter(b'=', b).find_map(|eq| {
        let start = eq.checked_sub(k.len())?;
        let ok = &b[start..eq] == k && (start == 0 || boundaries.contains(&b[start - 1]));
        ok.then(|| &s[eq + 1..])
    })
}

/// Value of `key=value` ending at `,`, space or end, e.g. `status=sent`.
pub fn plain<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    let v = after_key(s, key, b" ,")?;
    let end = memchr::memchr2(b',', b' ', v.as_bytes()).unwrap_or(v.len());
    Some(&v[..end])
}

/// The value, borrowed from the line, unless empty.
pub fn owned(s: Option<&str>) -> Option<std::borrow::Cow<'_, str>> {
    s.filter(|v| !v.is_empty()).map(std::borrow::Cow::Borrowed)
}

/// A Postfix queue id prefix `QID: ` (hex short ids, or long ids with `z`-free base 52),
/// returning (id, rest). `NOQUEUE: ` gives `None` as id.
pub fn queue_id(s: &str) -> Option<(Option<&str>, &str)> {
    if let Some(rest) = s.strip_prefix("NOQUEUE: ") {
        return Some((None, rest));
    }
    let end = find(s, ": ")?;
    let id = &s[..end];
    // Short ids are upper-case hex (5 hex digits of microseconds, then the inode in hex: about
    // one in 80,000 has no decimal digit, `EEFEFEEFFA`); long ids mix cases and digits. Words
    // (`warning`) are not ids.
    let short_hex = id.len() >= 6 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'A'..=b'F'));
    if (5..=32).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric())
        && (short_hex || id.bytes().any(|b| b.is_ascii_digit()))
    {
        Some((Some(id), &s[end + 2..]))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_ids_with_or_without_a_digit() {
        assert_eq!(
            queue_id("EEFEFEEFFA: client=x"),
            Some((Some("EEFEFEEFFA"), "client=x"))
        );
        assert_eq!(
            queue_id("4Q3kLm2XyZz: to=<a>"),
            Some((Some("4Q3kLm2XyZz"), "to=<a>"))
        );
        assert_eq!(queue_id("warning: x"), None);
        assert_eq!(queue_id("ABCDEFG: x"), None);
    }

    #[test]
    fn client_specs() {
        assert_eq!(
            client("unknown[203.0.113.77]: SASL"),
            Some((Some("unknown"), "203.0.113.77", ": SASL"))
        );
        assert_eq!(
            client("unknown[192.0.2.237]:55729: SASL"),
            Some((Some("unknown"), "192.0.2.237", ": SASL"))
        );
        assert_eq!(
            client("[216.245.194.173]:60591: 550"),
            Some((None, "216.245.194.173", ": 550"))
        );
        assert_eq!(
            client("mail.example.org[2001:db8::1]"),
            Some((Some("mail.example.org"), "2001:db8::1", ""))
        );
    }

    #[test]
    fn find_matches_str_find() {
        for (h, n) in [
            ("abcabd", "abd"),
            ("aaa", "aa"),
            ("x", "xy"),
            ("", "a"),
            ("a: b: c", ": "),
            ("status=sent", "status="),
        ] {
            assert_eq!(find(h, n), h.find(n), "{h} / {n}");
        }
    }

    #[test]
    fn key_values() {
        let s = "to=<a@b>, orig_to=<c@d>, relay=local, delay=0.1, dsn=2.0.0, status=sent (x)";
        assert_eq!(angle(s, "to"), Some("a@b"));
        assert_eq!(angle(s, "orig_to"), Some("c@d"));
        assert_eq!(plain(s, "relay"), Some("local"));
        assert_eq!(plain(s, "status"), Some("sent"));
        assert_eq!(angle("from=<>, size=1", "from"), Some(""));
        assert_eq!(
            queue_id("8C3D2A1F07E: client=x"),
            Some((Some("8C3D2A1F07E"), "client=x"))
        );
        assert_eq!(
            queue_id("NOQUEUE: reject: RCPT"),
            Some((None, "reject: RCPT"))
        );
        assert_eq!(queue_id("connect from x[1.2.3.4]"), None);
        assert_eq!(queue_id("warning: dict_ldap: x"), None);
        assert_eq!(
            angle(
                "2A22C263F6: to=user@host.example.com, orig_to=root@localhost, relay=local",
                "to"
            ),
            Some("user@host.example.com")
        );
    }
}
