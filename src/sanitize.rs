//! Escaping of attacker-controlled text before it reaches a terminal.
//!
//! File names and log text on a compromised host can carry ANSI escape sequences, carriage
//! returns, bidi overrides or zero-width characters that rewrite what the responder sees. Every
//! string that came from evidence goes through [`terminal`] before it is printed to stderr or
//! stdout. Other sinks (CSV, HTML) get their own escapers next to their renderers. Attacker
//! text is also bounded before it is kept: [`cut`] and [`capped`] shorten it on a character
//! boundary (every module that holds such text uses these two).

/// Whether `c` must not be shown raw on a terminal (nor stand in a path a command names).
pub fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}'   // zero-width and directional marks
            | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{FEFF}'              // zero-width no-break space
            | '\u{E0000}'..='\u{E007F}' // tag characters
        )
}

/// Returns `s` with every dangerous character replaced by a visible `\u{..}` escape.
pub fn terminal(s: &str) -> String {
    if !s.chars().any(needs_escape) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if needs_escape(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Returns `s` safe inside Markdown running text: dangerous characters escaped as for a
/// terminal, Markdown's own punctuation backslash-escaped and `<`/`>` as entities, so that
/// evidence text can neither format the report nor inject HTML into its rendering.
#[cfg(feature = "analysis")]
pub fn markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in terminal(s).chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '!' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            _ => out.push(c),
        }
    }
    out
}

/// `s` as a spreadsheet cell: controls, bidi and zero-width characters shown as `\u{…}` (so
/// no ESC, NUL or line break reaches the file raw), and a cell that a spreadsheet would read as
/// a formula — starting with `=`, `+`, `-` or `@` — prefixed with `'`. Every CSV mailir writes
/// (`parse --format csv`, the Timesketch CSV and l2tcsv timelines) uses it.
#[cfg(feature = "analysis")]
pub fn spreadsheet(s: &str) -> std::borrow::Cow<'_, str> {
    let formula = s.len() > 1 && s.starts_with(['=', '+', '-', '@']);
    if !formula && !s.chars().any(needs_escape) {
        return s.into();
    }
    let t = terminal(s);
    if formula {
        format!("'{t}").into()
    } else {
        t.into()
    }
}

/// `s` as a Markdown code span: dangerous characters escaped as for a terminal (so no line
/// break or control can end the span's line), fenced with more backticks than any run inside
/// it, so that the text shows exactly as it is — a backtick stays a backtick.
#[cfg(feature = "analysis")]
pub fn markdown_code(s: &str) -> String {
    let s = terminal(s);
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    // A space inside the fence keeps a leading or trailing backtick apart from it.
    if longest > 0 {
        format!("{fence} {s} {fence}")
    } else {
        format!("{fence}{s}{fence}")
    }
}

/// `s` cut to at most `max` bytes, on a character boundary.
pub fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `s` cut to at most `max` bytes on a character boundary, with a marker saying how much was
/// left out.
pub fn capped(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    let kept = cut(s, max);
    if kept.len() == s.len() {
        return s.into();
    }
    format!("{kept}…[{} more bytes]", s.len() - kept.len()).into()
}

#[cfg(test)]
mod tests {
    use super::terminal;

    #[cfg(feature = "analysis")]
    #[test]
    fn markdown_text_cannot_format_or_inject() {
        use super::markdown;
        assert_eq!(
            markdown("<script>x</script> *bold* [a](b) | `c`"),
            "&lt;script&gt;x&lt;/script&gt; \\*bold\\* \\[a\\](b) \\| \\`c\\`"
        );
        // The escape a terminal would show, its backslash escaped in turn.
        assert_eq!(markdown("a\u{1b}[31m"), "a\\\\u{1b}\\[31m");
    }

    #[cfg(feature = "analysis")]
    #[test]
    fn markdown_code_spans_keep_backticks_and_stay_on_their_line() {
        use super::markdown_code;
        assert_eq!(markdown_code("doveadm kick liwei"), "`doveadm kick liwei`");
        assert_eq!(
            markdown_code("doveadm kick 'a`id`'"),
            "`` doveadm kick 'a`id`' ``"
        );
        assert_eq!(markdown_code("x\n# heading"), "`x\\u{a}# heading`");
        assert!(!markdown_code("x\n# heading").contains('\n'));
    }

    #[cfg(feature = "analysis")]
    #[test]
    fn spreadsheet_cells_hold_no_formula_and_no_control() {
        use super::spreadsheet;
        assert_eq!(
            spreadsheet("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        assert_eq!(spreadsheet("+cmd|' /C calc'!A0"), "'+cmd|' /C calc'!A0");
        assert_eq!(spreadsheet("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(
            spreadsheet("a\u{1b}[2J\r\n\0"),
            "a\\u{1b}[2J\\u{d}\\u{a}\\u{0}"
        );
        assert_eq!(spreadsheet("\tx"), "\\u{9}x");
        assert_eq!(spreadsheet("-"), "-");
        assert_eq!(spreadsheet("alice@example.org"), "alice@example.org");
    }

    #[test]
    fn plain_text_is_unchanged() {
        assert_eq!(terminal("/etc/postfix/main.cf"), "/etc/postfix/main.cf");
    }

    #[test]
    fn escape_sequences_and_bidi_are_neutralised() {
        assert_eq!(terminal("a\x1b[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(terminal("x\u{202E}fdp.exe"), "x\\u{202e}fdp.exe");
        assert_eq!(terminal("line\nnext\r"), "line\\u{a}next\\u{d}");
    }
}
