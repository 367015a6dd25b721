//! `SHA256SUMS`: the `sha256sum -c` compatible list of every file in a bundle but itself.
//!
//! Lines are `<64 hex>  <name>` (two spaces: text mode). Names are the bundle's escaped names
//! (see [`super::pathname`]), so they never contain a newline or a backslash and need none of
//! `sha256sum`'s escaping. The reader also accepts `*` (binary mode) and tolerates a final
//! line without a newline; anything else is reported as a malformed line.

/// One parsed line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumLine {
    /// Lower-case hex digest.
    pub sha256: String,
    /// Bundle-relative name.
    pub name: String,
}

/// Renders the file from `(name, sha256)` pairs, in the given order.
pub fn render(entries: &[(String, String)]) -> String {
    let mut out = String::new();
    for (name, sha) in entries {
        out.push_str(sha);
        out.push_str("  ");
        out.push_str(name);
        out.push('\n');
    }
    out
}

/// Parses the file; malformed lines are returned as `Err((line_number, text))`.
#[cfg(test)]
pub fn parse(text: &str) -> Vec<Result<SumLine, (usize, String)>> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
        .map(|(i, line)| parse_line(line).ok_or((i + 1, line.to_string())))
        .collect()
}

/// One line of the file, if it is one (`HEX  name` or `HEX *name`).
pub fn parse_line(line: &str) -> Option<SumLine> {
    let (hex, rest) = line.split_at_checked(64)?;
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let name = rest
        .strip_prefix("  ")
        .or_else(|| rest.strip_prefix(" *"))?;
    if name.is_empty() {
        return None;
    }
    Some(SumLine {
        sha256: hex.to_ascii_lowercase(),
        name: name.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_malformed_lines() {
        let a = "a".repeat(64);
        let text = render(&[("files/etc/hosts".into(), a.clone())]);
        assert_eq!(text, format!("{a}  files/etc/hosts\n"));
        let parsed = parse(&format!("{text}garbage\n{} *x\n", "B".repeat(64)));
        assert_eq!(
            parsed[0],
            Ok(SumLine {
                sha256: a,
                name: "files/etc/hosts".into()
            })
        );
        assert_eq!(parsed[1], Err((2, "garbage".into())));
        assert_eq!(parsed[2].as_ref().map(|l| l.name.as_str()), Ok("x"));
        assert_eq!(
            parsed[2].as_ref().map(|l| l.sha256.as_str()),
            Ok("b".repeat(64).as_str())
        );
    }
}
