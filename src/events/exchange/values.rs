//! Cell-level helpers shared by the Exchange / M365 readers: times, client addresses, mail
//! addresses, booleans, a quote-aware CSV line splitter and a row addressed by column name.
//!
//! Exchange and Microsoft 365 write UTC everywhere (`2021-03-03T06:49:42.162Z`, IIS
//! `2021-03-05 03:06:27`, the audit log's `2023-09-26T01:56:15` and Purview's
//! `9/26/2023 1:56:15 AM`), so a time without a zone is read as UTC.

use chrono::{DateTime, NaiveDateTime};
use rustc_hash::FxHashMap;

/// Microseconds since the epoch of an Exchange / M365 time text (UTC unless it says otherwise).
pub fn time_us(s: &str) -> Option<i64> {
    let s = s.trim().trim_matches('"');
    if s.is_empty() {
        return None;
    }
    if let Some(t) = plain_time(s.as_bytes()) {
        return Some(t);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_micros());
    }
    const FORMATS: &[&str] = &[
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%m/%d/%Y %I:%M:%S %p",
        "%m/%d/%Y %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.fZ",
    ];
    FORMATS.iter().find_map(|f| {
        NaiveDateTime::parse_from_str(s, f)
            .ok()
            .map(|t| t.and_utc().timestamp_micros())
    })
}

/// Microseconds since the epoch of a date and a time in two cells (a W3C log's `date` and
/// `time`): [`time_us`] of `"{date} {time}"`, joined on the stack when short.
pub fn date_time_us(date: &str, time: &str) -> Option<i64> {
    let mut buf = [0u8; 40];
    let n = date.len() + 1 + time.len();
    match buf.get_mut(..n) {
        Some(b) => {
            b[..date.len()].copy_from_slice(date.as_bytes());
            b[date.len()] = b' ';
            b[date.len() + 1..].copy_from_slice(time.as_bytes());
            // Two UTF-8 texts and a space are UTF-8.
            std::str::from_utf8(b).ok().and_then(time_us)
        }
        None => time_us(&format!("{date} {time}")),
    }
}

/// The common shape read without chrono's format machinery: `YYYY-MM-DD HH:MM:SS` or
/// `YYYY-MM-DDTHH:MM:SS`, an optional `.` and 1 to 9 digits, nothing after (the IIS and
/// zone-less audit times; with a zone it is RFC 3339's). The value is the one the formats of
/// [`time_us`] give; None for anything else (they are tried then).
fn plain_time(b: &[u8]) -> Option<i64> {
    if b.len() < 19 || !(b[10] == b' ' || b[10] == b'T') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    if b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            num(20..b.len())? * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    if sec > 59 {
        return None;
    }
    let date = chrono::NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, mo, d)?;
    let t = date.and_hms_nano_opt(h, mi, sec, nanos)?;
    Some(t.and_utc().timestamp_micros())
}

/// A client address as logged (`185.73.124.135:19823`, `[2001:db8::1]:443`,
/// `::ffff:192.0.2.7`) without port and IPv4-mapped prefix; None for empty or `-`.
pub fn client_ip(s: &str) -> Option<String> {
    let s = s.trim();
    if s.is_empty() || s == "-" {
        return None;
    }
    let s = if let Some(rest) = s.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else if s.matches(':').count() == 1 {
        s.split(':').next().unwrap_or(s)
    } else {
        s
    };
    let s = s
        .strip_prefix("::ffff:")
        .or_else(|| s.strip_prefix("::FFFF:"))
        .unwrap_or(s);
    // An IPv4 address that parses is already written as its text form (the parser takes
    // no leading zeros, no octal, no short forms): no need to write it again.
    if s.parse::<std::net::Ipv4Addr>().is_ok() {
        return Some(s.to_string());
    }
    s.parse::<std::net::IpAddr>().ok().map(|ip| ip.to_string())
}

/// The mail addresses in a cell: `smtp:a@b`, `"Name" [SMTP:a@b]`, `a@b;c@d`, a JSON-ish
/// list. Lower-cased, deduplicated, in order. A non-empty cell without any address that
/// names a recipient object (Exchange's `ForwardingAddress`) is kept as written.
pub fn addresses(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for tok in s.split(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                ';' | ',' | '[' | ']' | '"' | '\'' | '<' | '>' | '(' | ')'
            )
    }) {
        let tok = tok.trim_matches(|c: char| c == '.' || c == '{' || c == '}');
        let tok = tok
            .strip_prefix("smtp:")
            .or_else(|| tok.strip_prefix("SMTP:"))
            .unwrap_or(tok);
        let Some(at) = tok.find('@') else { continue };
        if at == 0 || !tok[at + 1..].contains('.') {
            continue;
        }
        let a = tok.to_ascii_lowercase();
        if !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

/// Addresses of a forwarding cell, or the recipient object it names when it holds none.
pub fn recipients(s: &str) -> Vec<String> {
    let a = addresses(s);
    let t = s.trim();
    if a.is_empty() && !t.is_empty() && !is_null(t) {
        return vec![t.to_string()];
    }
    a
}

/// Whether a cell says nothing (`""`, `$null`, `null`, `{}`, `-`).
pub fn is_null(s: &str) -> bool {
    null_trimmed(s.trim())
}

/// [`is_null`] of a cell already trimmed.
fn null_trimmed(s: &str) -> bool {
    matches!(s, "" | "$null" | "null" | "{}" | "-" | "[]")
}

/// A boolean cell (`True`, `$true`, `1`).
pub fn truth(s: &str) -> Option<bool> {
    match s
        .trim()
        .trim_start_matches('$')
        .to_ascii_lowercase()
        .as_str()
    {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// Splits one CSV line (double quotes, `""` inside quotes). Never fails: an unterminated
/// quote runs to the end of the line.
pub fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut at_start = true;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted => {
                if chars.peek() == Some(&'"') {
                    cur.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            }
            '"' if at_start => quoted = true,
            ',' if !quoted => {
                out.push(std::mem::take(&mut cur));
                at_start = true;
                continue;
            }
            c => cur.push(c),
        }
        at_start = false;
    }
    out.push(cur);
    out
}

/// A header's column names (lower-case), with where each one first sits, found once per
/// header rather than once per row and column.
#[derive(Debug, Clone, Default)]
pub struct Header {
    names: Vec<String>,
    at: FxHashMap<String, usize>,
}

impl Header {
    /// The header of these column names (lower-case).
    pub fn new(names: Vec<String>) -> Self {
        let mut at = FxHashMap::default();
        for (i, n) in names.iter().enumerate() {
            at.entry(n.clone()).or_insert(i);
        }
        Header { names, at }
    }

    /// The header of these fixed column names (lower-case).
    pub fn of(names: &[&str]) -> Self {
        Header::new(names.iter().map(|s| s.to_string()).collect())
    }

    /// The column names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Where these alternative column names sit, in their order of preference.
    pub fn pick(&self, names: &[&str]) -> Pick {
        Pick::new(names.iter().map(|n| self.at.get(*n).copied()))
    }

    /// One row of cells under this header.
    pub fn row<'a, C: AsRef<str>>(&'a self, cells: &'a [C]) -> Row<'a, C> {
        Row {
            names: &self.names,
            cells,
            at: Some(&self.at),
        }
    }
}

/// The places in a header of a set of alternative column names, in their order of
/// preference, found once: reading a row through a pick is then one index per name, no name
/// compared. At most [`Pick::MAX`] names (a test holds every list to it).
#[derive(Debug, Clone, Copy, Default)]
pub struct Pick {
    at: [u32; Pick::MAX],
    n: u8,
}

impl Pick {
    /// The most alternative names a pick holds.
    pub const MAX: usize = 8;

    fn new(places: impl Iterator<Item = Option<usize>>) -> Self {
        let mut p = Pick::default();
        for i in places.flatten() {
            if let (Ok(i), true) = (u32::try_from(i), usize::from(p.n) < Pick::MAX) {
                p.at[usize::from(p.n)] = i;
                p.n += 1;
            }
        }
        p
    }
}

/// One data row with its column names (lower-case); cells are owned strings or slices of
/// the record's text.
pub struct Row<'a, C = String> {
    /// Column names, lower-case.
    pub names: &'a [String],
    /// Cells.
    pub cells: &'a [C],
    /// Where each name sits, when the row came from a [`Header`] (else names are searched).
    pub at: Option<&'a FxHashMap<String, usize>>,
}

impl<'a, C: AsRef<str>> Row<'a, C> {
    /// A row of `cells` under `names`, searched by name.
    pub fn new(names: &'a [String], cells: &'a [C]) -> Self {
        Row {
            names,
            cells,
            at: None,
        }
    }

    /// The first non-empty cell among these column names (lower-case).
    pub fn get(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| self.cell(self.place(n)?))
    }

    /// The first non-empty cell among the places of `pick` ([`Header::pick`]).
    pub fn at(&self, pick: &Pick) -> Option<&str> {
        pick.at[..usize::from(pick.n)]
            .iter()
            .find_map(|&i| self.cell(usize::try_from(i).ok()?))
    }

    /// Where column `name` first sits.
    fn place(&self, name: &str) -> Option<usize> {
        match self.at {
            Some(at) => at.get(name).copied(),
            None => self.names.iter().position(|c| c == name),
        }
    }

    /// Cell `i`, trimmed, unless it says nothing.
    fn cell(&self, i: usize) -> Option<&str> {
        let v = self.cells.get(i)?.as_ref().trim();
        (!null_trimmed(v)).then_some(v)
    }

    /// A boolean column.
    pub fn flag(&self, names: &[&str]) -> Option<bool> {
        self.get(names).and_then(truth)
    }

    /// Addresses in a column.
    pub fn addresses(&self, names: &[&str]) -> Vec<String> {
        self.get(names).map(addresses).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_and_time_cells() {
        let t = 1_632_621_375_000_000; // 2021-09-26T01:56:15Z
        assert_eq!(date_time_us("2021-09-26", "01:56:15"), Some(t));
        assert_eq!(date_time_us("2021-09-26", "01:56:15.5"), Some(t + 500_000));
        let long = format!("01:56:15.{}", "0".repeat(40));
        assert_eq!(
            date_time_us("2021-09-26", &long),
            time_us(&format!("2021-09-26 {long}"))
        );
        assert_eq!(date_time_us("yesterday", "noon"), None);
    }

    #[test]
    fn times_of_every_export() {
        let t = 1_632_621_375_000_000; // 2021-09-26T01:56:15Z
        assert_eq!(time_us("2021-09-26T01:56:15Z"), Some(t));
        assert_eq!(time_us("2021-09-26T01:56:15"), Some(t));
        assert_eq!(time_us("2021-09-26 01:56:15"), Some(t));
        assert_eq!(time_us("9/26/2021 1:56:15 AM"), Some(t));
        assert_eq!(time_us("2021-09-26T01:56:15.500Z"), Some(t + 500_000));
        assert_eq!(time_us("yesterday"), None);
        // The shapes read without chrono's formats give what the formats give.
        for s in [
            "2021-09-26 01:56:15",
            "2021-09-26T01:56:15.5",
            "2021-09-26T01:56:15.123456789",
            "2021-09-26 01:56:15.1234567891",
            "2021-02-29 01:56:15",
            "2021-09-26 24:00:00",
            "2021-09-26 23:59:60",
            "2021-9-26 01:56:15",
            "2021-09-26 01:56:15Z",
            "2021-09-26 01:56:15.",
        ] {
            let slow = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
                .map(|t| t.and_utc().timestamp_micros());
            if let Some(fast) = plain_time(s.as_bytes()) {
                assert_eq!(Some(fast), slow, "{s}");
            }
        }
        assert_eq!(
            plain_time(b"2021-09-26T01:56:15.123456789"),
            Some(t + 123_456)
        );
    }

    #[test]
    fn client_addresses_are_normalised() {
        assert_eq!(
            client_ip("185.73.124.135:19823").as_deref(),
            Some("185.73.124.135")
        );
        assert_eq!(
            client_ip("[2001:db8::1]:443").as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(client_ip("::ffff:192.0.2.7").as_deref(), Some("192.0.2.7"));
        assert_eq!(client_ip("2001:db8::5").as_deref(), Some("2001:db8::5"));
        assert_eq!(client_ip("-"), None);
        assert_eq!(client_ip("servernavn"), None);
        // The IPv4 fast path keeps only what the text form writes back the same.
        for odd in [
            "010.1.1.1",
            "1.2.3",
            "0x7f.0.0.1",
            "1.2.3.4.5",
            "256.1.1.1",
            "01.2.3.4",
        ] {
            assert_eq!(client_ip(odd), None, "{odd}");
        }
        assert_eq!(client_ip("0.0.0.0").as_deref(), Some("0.0.0.0"));
    }

    #[test]
    fn addresses_in_exchange_cells() {
        assert_eq!(
            addresses(r#""hacker@gmail.com" [SMTP:hacker@gmail.com]"#),
            vec!["hacker@gmail.com"]
        );
        assert_eq!(
            addresses("smtp:Peter.Griffin@familyguy.com;bart@simpsons.com"),
            vec!["peter.griffin@familyguy.com", "bart@simpsons.com"]
        );
        assert_eq!(recipients("Peter Griffin"), vec!["Peter Griffin"]);
        assert!(recipients("$null").is_empty());
    }

    #[test]
    fn csv_lines_with_quotes() {
        assert_eq!(
            split_csv(r#"a,"b,c",,"d ""e""""#),
            vec!["a", "b,c", "", r#"d "e""#]
        );
    }
}
